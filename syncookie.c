// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp: SYN cookies.
 *
 * The cookie is the kernel's own (__cookie_v4_init_sequence and
 * __cookie_v4_check, net/ipv4/syncookies.c): a keyed hash of the 4-tuple
 * and the peer's ISN, a one-minute time counter and a 2-bit index into an
 * MSS table.  We use it rather than a siphash of our own because our
 * header is TCP's bit for bit (the helpers read ports and sequence number
 * at TCP's offsets), its key is per-boot random, its age check (two
 * minutes) and MSS table are the ones TCP users already know, and a
 * second implementation of a security primitive is a second place for
 * bugs.  The key is shared with TCP, which is harmless: a cookie for
 * protocol 6 is useless for protocol 253 only in that the ACK must come
 * back under the same protocol to reach us.
 */
#include <net/tcp.h>

#include "mini_tcp.h"

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

/* The cookie ISN for this SYN; *mss is rounded down to the table. */
u32 mtcp_cookie_init_seq(struct sk_buff *skb, u16 *mss)
{
	return __cookie_v4_init_sequence(ip_hdr(skb), mtcp_hdr(skb), mss);
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

	mss = __cookie_v4_check(ip_hdr(skb), th, cb->ack_seq - 1);
	if (!mss) {
		MTCP_INC_STATS(net, MTCP_MIB_SYNCOOKIESFAILED);
		return sk;
	}
	MTCP_INC_STATS(net, MTCP_MIB_SYNCOOKIESRECV);

	req = inet_reqsk_alloc(&mtcp_request_sock_ops, sk, false);
	if (!req)
		return NULL;
	mtcp_init_req(req, sk, skb);
	req->syncookie = 1;
	/* The LSM labels the request (and so the child) as for a SYN. */
	if (security_inet_conn_request(sk, skb, req)) {
		reqsk_free(req);
		return NULL;
	}
	mreq = mtcp_rsk(req);
	mreq->irs = cb->seq - 1;
	mreq->iss = cb->ack_seq - 1;
	mreq->snt_synack = 0;
	mreq->mss = mss;

	child = mtcp_v4_syn_recv_sock(sk, skb, req, NULL, NULL, &own_req, NULL);
	if (child) {
		__acquire(child);	/* locked by inet_csk_clone_lock() */
		refcount_set(&req->rsk_refcnt, 1);
		if (inet_csk_reqsk_queue_add(sk, req, child)) {
			__release(child);	/* the caller unlocks it */
			return child;
		}
		bh_unlock_sock(child);
		sock_put(child);
	}
	__reqsk_free(req);
	return NULL;
}
