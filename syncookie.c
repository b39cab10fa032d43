// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp: initial sequence numbers and SYN cookies, keyed with secrets
 * of our own.
 *
 * Both are keyed hashes of the 4-tuple (RFC 6528).  TCP's functions for
 * them (secure_tcp_seq(), __cookie_v4_init_sequence()) would compute the
 * same values under TCP's keys, and those keys leak to anyone who can
 * complete a TCP handshake with this host: the ISN of a TCP connection on
 * a 4-tuple, less a clock he can estimate, is that 4-tuple's hash, so he
 * would know mini_tcp's ISN for it too, and a cookie TCP sends him is the
 * cookie mini_tcp sends for the same SYN.  Blind spoofing of mini_tcp
 * connections, from a 4-tuple he can also use with TCP, would be easy.
 * Our keys are drawn at module load and never leave this file.
 *
 * ISN (RFC 9293 3.4.1): siphash(4-tuple; isn key) + a clock of 64 ns ticks,
 * as TCP's (the sequence space turns in 274 s, more than an MSL).
 *
 * SYN cookie, D. J. Bernstein's scheme in TCP's layout, so that its
 * properties are the ones TCP users know:
 *
 *	cookie = H1(4-tuple) + their ISN + (count << 24)
 *		 + ((H2(4-tuple, count) + mss index) mod 2^24)
 *
 * count: minutes of jiffies (TCP_SYNCOOKIE_PERIOD); H1, H2: siphash under
 * two more keys; mss index: 2 bits into mtcp_cookie_mss[].  The check
 * takes away H1 and their ISN, reads count from the top 8 bits (valid for
 * MAX_SYNCOOKIE_AGE minutes), then H2 for that count from the low 24
 * bits: what is left must be an index of the table.
 */
#include <linux/random.h>
#include <linux/siphash.h>
#include <net/tcp.h>

#include "mini_tcp.h"

#define MTCP_COOKIE_BITS	24	/* below the count */
#define MTCP_COOKIE_MASK	((1U << MTCP_COOKIE_BITS) - 1)

/* The MSS values a cookie can carry, sorted: TCP's (net/ipv4/syncookies.c). */
static const u16 mtcp_cookie_mss[] = { 536, 1300, 1440, 1460 };

enum { MTCP_KEY_ISN, MTCP_KEY_COOKIE1, MTCP_KEY_COOKIE2, MTCP_KEYS };
static siphash_aligned_key_t mtcp_keys[MTCP_KEYS] __read_mostly;

/* At module load, before any socket exists. */
void mtcp_secret_init(void)
{
	get_random_bytes(mtcp_keys, sizeof(mtcp_keys));
}

static u32 mtcp_hash(int key, __be32 saddr, __be32 daddr, __be16 sport,
		     __be16 dport, u32 extra)
{
	return siphash_4u32((__force u32)saddr, (__force u32)daddr,
			    (__force u32)sport << 16 | (__force u32)dport,
			    extra, &mtcp_keys[key]);
}

/* Our ISN for a connection from saddr:sport to daddr:dport (ours first). */
u32 mtcp_secure_seq(__be32 saddr, __be32 daddr, __be16 sport, __be16 dport)
{
	return mtcp_hash(MTCP_KEY_ISN, saddr, daddr, sport, dport, 0) +
	       (u32)(ktime_get_real_ns() >> 6);
}

/* The cookie clock: minutes of jiffies, as TCP's tcp_cookie_time(). */
static u32 mtcp_cookie_count(void)
{
	u64 t = get_jiffies_64();

	do_div(t, TCP_SYNCOOKIE_PERIOD);
	return t;
}

/*
 * H1 and H2 of a cookie, over the 4-tuple of the SYN or, the same in that
 * direction, of the ACK that returns it.
 */
static u32 mtcp_cookie_base(const struct iphdr *iph, const struct tcphdr *th)
{
	return mtcp_hash(MTCP_KEY_COOKIE1, iph->saddr, iph->daddr, th->source,
			 th->dest, 0);
}

static u32 mtcp_cookie_low(const struct iphdr *iph, const struct tcphdr *th,
			   u32 count)
{
	return mtcp_hash(MTCP_KEY_COOKIE2, iph->saddr, iph->daddr, th->source,
			 th->dest, count);
}

/* The cookie ISN for this SYN; *mss is rounded down to the table. */
u32 mtcp_cookie_init_seq(struct sk_buff *skb, u16 *mss)
{
	const struct iphdr *iph = ip_hdr(skb);
	const struct tcphdr *th = mtcp_hdr(skb);
	u32 count = mtcp_cookie_count();
	u32 idx = ARRAY_SIZE(mtcp_cookie_mss) - 1;

	while (idx && *mss < mtcp_cookie_mss[idx])
		idx--;
	*mss = mtcp_cookie_mss[idx];

	return mtcp_cookie_base(iph, th) + ntohl(th->seq) +
	       (count << MTCP_COOKIE_BITS) +
	       ((mtcp_cookie_low(iph, th, count) + idx) & MTCP_COOKIE_MASK);
}

/*
 * The MSS that cookie (the ACK's ack_seq - 1) carries for the ACK iph/th
 * whose sender's ISN was isn, or 0 when it is no valid cookie of ours.
 */
static u16 mtcp_cookie_mss_of(const struct iphdr *iph, const struct tcphdr *th,
			      u32 cookie, u32 isn)
{
	u32 now = mtcp_cookie_count();
	u32 age, idx;

	cookie -= mtcp_cookie_base(iph, th) + isn;
	/* count mod 2^8 in the top bits */
	age = (now - (cookie >> MTCP_COOKIE_BITS)) &
	      (U32_MAX >> MTCP_COOKIE_BITS);
	if (age >= MAX_SYNCOOKIE_AGE)
		return 0;
	idx = (cookie - mtcp_cookie_low(iph, th, now - age)) & MTCP_COOKIE_MASK;
	return idx < ARRAY_SIZE(mtcp_cookie_mss) ? mtcp_cookie_mss[idx] : 0;
}

/*
 * The SYN queue overflowed (or syncookies=2): decide whether to answer
 * with a cookie.  Counts the drop when cookies are off, and says once per
 * listener, as TCP does, that cookies are in use.
 */
bool mtcp_want_cookie(struct sock *sk)
{
	struct mtcp_net *mn = mtcp_pernet(sock_net(sk));
	struct request_sock_queue *queue = &inet_csk(sk)->icsk_accept_queue;
	int mode = READ_ONCE(mn->sysctl_syncookies);

	if (!mode)
		return false;

	WRITE_ONCE(mtcp_sk(sk)->last_overflow, jiffies);
	if (mode != 2 && !READ_ONCE(queue->synflood_warned)) {
		WRITE_ONCE(queue->synflood_warned, 1);
		net_info_ratelimited("Possible SYN flooding on port %pI4:%u. Sending cookies.\n",
				     &inet_sk(sk)->inet_rcv_saddr,
				     inet_sk(sk)->inet_num);
	}
	return true;
}

/*
 * An ACK reached a listener without a request sock.  Returns the listener
 * itself when it is no cookie of ours (the caller resets), NULL when it is
 * consumed, or the new child, locked.
 */
struct sock *mtcp_cookie_check(struct sock *sk, struct sk_buff *skb)
{
	struct mtcp_net *mn = mtcp_pernet(sock_net(sk));
	const struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	const struct tcphdr *th = mtcp_hdr(skb);
	struct mtcp_request_sock *mreq;
	struct request_sock *req;
	struct net *net = sock_net(sk);
	struct sock *child;
	bool own_req;
	int mode;
	u16 mss;

	mode = READ_ONCE(mn->sysctl_syncookies);
	if (!mode || th->rst || th->syn || !th->ack)
		return sk;
	/* Only after a recent overflow, unless cookies are always on. */
	if (mode != 2 &&
	    time_after(jiffies, READ_ONCE(mtcp_sk(sk)->last_overflow) +
				TCP_SYNCOOKIE_VALID))
		return sk;

	mss = mtcp_cookie_mss_of(ip_hdr(skb), th, cb->ack_seq - 1,
				 cb->seq - 1);
	if (!mss) {
		MTCP_INC_STATS(net, MTCP_MIB_SYNCOOKIESFAILED);
		return sk;
	}
	MTCP_INC_STATS(net, MTCP_MIB_SYNCOOKIESRECV);

	req = mtcp_reqsk_alloc(sk, false);
	if (!req)
		return NULL;
	mtcp_init_req(req, sk, skb);
	req->syncookie = 1;
	/* The LSM labels the request (and so the child) as for a SYN. */
	if (security_inet_conn_request(sk, skb, req)) {
		mtcp_reqsk_free(req);
		return NULL;
	}
	mreq = mtcp_rsk(req);
	mreq->irs = cb->seq - 1;
	mreq->iss = cb->ack_seq - 1;
	mreq->snt_synack = 0;
	mreq->mss = mss;

	child = mtcp_v4_syn_recv_sock(sk, skb, req, NULL, NULL, &own_req, NULL);
	if (child) {
		__acquire(child);	/* locked by mtcp_csk_clone_lock() */
		refcount_set(&req->rsk_refcnt, 1);
		if (mtcp_accept_queue_add(sk, req, child)) {
			__release(child);	/* the caller unlocks it */
			return child;
		}
		bh_unlock_sock(child);
		sock_put(child);
	}
	mtcp_reqsk_free(req);
	return NULL;
}
