// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp_diag: the sock_diag (inet_diag) handler of mini_tcp, so that
 * NETLINK_SOCK_DIAG dumps with sdiag_protocol = 253 list its sockets as
 * `ss -t` lists TCP's: listeners, request socks (SYN_RECV), connections and
 * TIME_WAIT socks, with queues, timers, uid, inode and struct tcp_info.
 *
 * A module of its own, as dccp_diag.ko and tcp_diag.ko are, so that
 * mini_tcp.ko does not depend on inet_diag.ko: it loads with a plain insmod,
 * and inet_diag stays unloadable.  inet_diag autoloads this module on the
 * first dump for the protocol (the alias below) when it is installed;
 * otherwise insmod it after mini_tcp.ko and inet_diag.ko.
 *
 * The walk is ours, as tcp_diag's is TCP's: inet_diag's generic walker of
 * a struct inet_hashinfo left with DCCP (6.16).  inet_diag parses the
 * request, checks the filter bytecode and owns the netlink dump; this
 * module walks mini_tcp's tables (table.c: the listeners in lhash2, then
 * connections, request and TIME_WAIT socks in ehash), keeps to the
 * caller's network namespace, applies the state mask, the ports and the
 * bytecode, and resumes across netlink messages; an exact request finds
 * its socket with table.c's own lookups.  inet_sk_diag_fill() reports a full
 * socket and calls back for its queues and tcp_info; the request and
 * TIME_WAIT socks are reported here.
 */
#include <linux/inet_diag.h>
#include <linux/module.h>
#include <linux/sock_diag.h>
#include <net/inet_hashtables.h>
#include <net/inet_timewait_sock.h>
#include <net/ipv6.h>
#include <net/netlink.h>
#include <net/request_sock.h>

#include "mini_tcp.h"
#include "uapi/mini_tcp.h"

/*
 * Queues as /proc/net/mini_tcp shows them (and tcp_diag for TCP): for a
 * listener the accept queue and its limit, else the unread and the
 * unacknowledged bytes.  tcp_info as getsockopt(TCP_INFO) fills it.
 *
 * A dump reports a listener under its lhash2 bucket's spinlock: it must
 * not sleep.  A listener is unhashed before it leaves TCP_LISTEN, so a
 * socket seen in that state here stays a listener; other sockets are
 * reported from process context with a reference held, and are locked
 * (fast) for a consistent tcp_info, as tcp_get_info() does.
 */
static void mtcp_diag_get_info(struct sock *sk, struct inet_diag_msg *r,
			       void *info)
{
	const struct mini_sock *ms = mtcp_sk(sk);
	bool slow;

	if (inet_sk_state_load(sk) == TCP_LISTEN) {
		r->idiag_rqueue = READ_ONCE(sk->sk_ack_backlog);
		r->idiag_wqueue = READ_ONCE(sk->sk_max_ack_backlog);
		if (info)
			mtcp_get_info(sk, info);
		return;
	}
	r->idiag_rqueue = max_t(int, READ_ONCE(ms->rcv_nxt) -
				     READ_ONCE(ms->copied_seq), 0);
	r->idiag_wqueue = READ_ONCE(ms->write_seq) - READ_ONCE(ms->snd_una);
	if (info) {
		slow = lock_sock_fast(sk);
		mtcp_get_info(sk, info);
		unlock_sock_fast(sk, slow);
	}
}

/*
 * A request sock or a TIME_WAIT sock, as tcp_diag reports TCP's: no
 * socket, so no queues, owner or inode.  A TIME_WAIT sock reports its
 * substate (TIME_WAIT, or FIN_WAIT2 for an orphan that waits as one) and
 * timer 3 ("timewait"); a request sock SYN_RECV, timer 1 ("on": the SYN-ACK
 * retransmission) and the SYN-ACKs it retransmitted.
 */
static int mtcp_minisock_diag_fill(struct sock *sk, struct sk_buff *skb,
				   struct netlink_callback *cb,
				   u16 nlmsg_flags, bool net_admin)
{
	struct inet_diag_msg *r;
	unsigned long expires;
	struct nlmsghdr *nlh;
	u32 mark;

	nlh = nlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			cb->nlh->nlmsg_type, sizeof(*r), nlmsg_flags);
	if (!nlh)
		return -EMSGSIZE;
	r = nlmsg_data(nlh);
	inet_diag_msg_common_fill(r, sk);
	if (sk->sk_state == TCP_TIME_WAIT) {
		const struct inet_timewait_sock *tw = inet_twsk(sk);

		r->idiag_state = READ_ONCE(tw->tw_substate);
		r->idiag_timer = 3;
		r->idiag_retrans = 0;
		expires = READ_ONCE(tw->tw_timer.expires);
		mark = tw->tw_mark;
	} else {
		const struct request_sock *req = inet_reqsk(sk);

		r->idiag_state = TCP_SYN_RECV;
		r->idiag_timer = 1;
		r->idiag_retrans = READ_ONCE(req->num_retrans);
		expires = READ_ONCE(req->rsk_timer.expires);
		mark = inet_rsk(req)->ir_mark;
	}
	r->idiag_expires = jiffies_delta_to_msecs((long)(expires - jiffies));
	r->idiag_rqueue = 0;
	r->idiag_wqueue = 0;
	r->idiag_uid = 0;
	r->idiag_inode = 0;
	if (net_admin && nla_put_u32(skb, INET_DIAG_MARK, mark)) {
		nlmsg_cancel(skb, nlh);
		return -EMSGSIZE;
	}
	nlmsg_end(skb, nlh);
	return 0;
}

/* One row for @sk: a full socket through inet_diag, else a mini-sock. */
static int mtcp_diag_fill(struct sock *sk, struct sk_buff *skb,
			  struct netlink_callback *cb,
			  const struct inet_diag_req_v2 *req,
			  u16 nlmsg_flags, bool net_admin)
{
	if (!sk_fullsock(sk))
		return mtcp_minisock_diag_fill(sk, skb, cb, nlmsg_flags,
					       net_admin);
	return inet_sk_diag_fill(sk, inet_csk(sk), skb, cb, req, nlmsg_flags,
				 net_admin);
}

/* ---------------------------------------------------------------- dump */

/* One call of a dump: the request, and what every socket is tested with. */
struct mtcp_diag_walk {
	struct sk_buff				*skb;
	struct netlink_callback			*cb;
	const struct inet_diag_req_v2		*req;
	const struct inet_diag_dump_data	*data;	/* the bytecode */
	struct net				*net;	/* the caller's */
	u32					states;	/* TCPF_* */
	bool					net_admin;
};

/*
 * Where a dump stands between netlink messages, in cb->args: the table,
 * the chain in it, and how many of the namespace's sockets on that chain
 * were passed (reported or filtered out).  As TCP's, a dump is not a
 * snapshot: a socket added to or removed from a chain between two
 * messages may make one of its neighbours be reported twice or not at all.
 */
enum { MTCP_DIAG_LISTENERS, MTCP_DIAG_EHASH, MTCP_DIAG_DONE };
#define MTCP_DIAG_TABLE	0
#define MTCP_DIAG_CHAIN	1
#define MTCP_DIAG_POS	2

/* The state a row reports: a TIME_WAIT sock's substate. */
static int mtcp_diag_state(const struct sock *sk)
{
	if (sk->sk_state == TCP_TIME_WAIT)
		return READ_ONCE(inet_twsk(sk)->tw_substate);
	return sk->sk_state;
}

/* Does the request want @sk, which reports @state? */
static bool mtcp_diag_wanted(const struct mtcp_diag_walk *w, struct sock *sk,
			     int state)
{
	const struct inet_diag_req_v2 *req = w->req;

	if (!(w->states & BIT(state)))
		return false;
	if (req->sdiag_family != AF_UNSPEC &&
	    sk->sk_family != req->sdiag_family)
		return false;
	if (req->id.idiag_sport && req->id.idiag_sport != htons(sk->sk_num))
		return false;
	if (req->id.idiag_dport && req->id.idiag_dport != sk->sk_dport)
		return false;
	return mtcp_inet_diag_bc_sk(w->data, sk);
}

/*
 * The listeners, chain by chain, each reported under its lhash2 bucket's
 * spinlock (table.c takes it in process context only, as this does): a
 * listener cannot be unhashed, so not freed, meanwhile, and
 * mtcp_diag_get_info() does not sleep for one.  Returns 0 when done, or
 * the error of the row that did not fit (the next message starts there).
 */
static int mtcp_diag_dump_listeners(const struct mtcp_diag_walk *w)
{
	struct inet_listen_hashbucket *ilb2;
	struct hlist_nulls_node *node;
	long *args = w->cb->args;
	unsigned int chain;
	struct sock *sk;
	int err = 0;
	long pos;

	for (chain = args[MTCP_DIAG_CHAIN]; chain <= mtcp_hashinfo.lhash2_mask;
	     chain++, args[MTCP_DIAG_POS] = 0) {
		ilb2 = &mtcp_hashinfo.lhash2[chain];
		if (hlist_nulls_empty(&ilb2->nulls_head))
			continue;
		pos = 0;
		spin_lock(&ilb2->lock);
		sk_nulls_for_each(sk, node, &ilb2->nulls_head) {
			if (!net_eq(sock_net(sk), w->net))
				continue;
			if (pos++ < args[MTCP_DIAG_POS] ||
			    !mtcp_diag_wanted(w, sk, TCP_LISTEN))
				continue;
			err = inet_sk_diag_fill(sk, inet_csk(sk), w->skb, w->cb,
						w->req, NLM_F_MULTI,
						w->net_admin);
			if (err) {
				args[MTCP_DIAG_POS] = pos - 1;
				break;
			}
		}
		spin_unlock(&ilb2->lock);
		if (err)
			break;
	}
	args[MTCP_DIAG_CHAIN] = chain;
	return err;
}

/*
 * At most this many sockets are taken from an ehash chain per hold of its
 * lock, to be reported after it is released: BHs are off under it, and
 * mtcp_diag_get_info() locks a connection.
 */
#define MTCP_DIAG_BATCH	16

/*
 * Take the wanted sockets of ehash chain @chain from position
 * args[MTCP_DIAG_POS] on, up to MTCP_DIAG_BATCH, each with a reference
 * (one whose count is zero is going away: skipped), and the position of
 * each.  Under the chain's lock, which the receive path takes with BHs off:
 * no socket leaves or moves from the chain meanwhile.  Returns how many.
 */
static int mtcp_diag_collect(const struct mtcp_diag_walk *w,
			     unsigned int chain, struct sock **batch,
			     long *batch_pos)
{
	struct inet_ehash_bucket *head = &mtcp_hashinfo.ehash[chain];
	spinlock_t *lock = inet_ehash_lockp(&mtcp_hashinfo, chain);
	struct hlist_nulls_node *node;
	long pos = 0;
	struct sock *sk;
	int n = 0;

	spin_lock_bh(lock);
	sk_nulls_for_each(sk, node, &head->chain) {
		if (!net_eq(sock_net(sk), w->net))
			continue;
		if (pos++ < w->cb->args[MTCP_DIAG_POS] ||
		    !mtcp_diag_wanted(w, sk, mtcp_diag_state(sk)) ||
		    !refcount_inc_not_zero(&sk->sk_refcnt))
			continue;
		batch_pos[n] = pos - 1;
		batch[n++] = sk;
		if (n == MTCP_DIAG_BATCH)
			break;
	}
	spin_unlock_bh(lock);
	return n;
}

/*
 * Connections, request socks and TIME_WAIT socks, chain by chain, a batch
 * at a time, reported without the chain's lock; every reference
 * mtcp_diag_collect() took is put, reported or not.  Returns as
 * mtcp_diag_dump_listeners().
 */
static int mtcp_diag_dump_ehash(const struct mtcp_diag_walk *w)
{
	long batch_pos[MTCP_DIAG_BATCH];
	struct sock *batch[MTCP_DIAG_BATCH];
	long *args = w->cb->args;
	unsigned int chain;
	int i, n, err = 0;

	for (chain = args[MTCP_DIAG_CHAIN]; chain <= mtcp_hashinfo.ehash_mask;
	     chain++, args[MTCP_DIAG_POS] = 0) {
		if (hlist_nulls_empty(&mtcp_hashinfo.ehash[chain].chain))
			continue;
		do {
			n = mtcp_diag_collect(w, chain, batch, batch_pos);
			for (i = 0; i < n; i++) {
				if (!err) {
					err = mtcp_diag_fill(batch[i], w->skb,
							     w->cb, w->req,
							     NLM_F_MULTI,
							     w->net_admin);
					if (err)
						args[MTCP_DIAG_POS] = batch_pos[i];
				}
				mtcp_sock_gen_put(batch[i]);
			}
			if (err)
				goto out;
			if (n)
				args[MTCP_DIAG_POS] = batch_pos[n - 1] + 1;
			cond_resched();
		} while (n == MTCP_DIAG_BATCH);
	}
out:
	args[MTCP_DIAG_CHAIN] = chain;
	return err;
}

/*
 * handler->dump: called by inet_diag for each netlink message of the dump
 * until one stays empty; cb->args start at zero.  The caller's namespace
 * is the netlink socket's.
 */
static void mtcp_diag_dump(struct sk_buff *skb, struct netlink_callback *cb,
			   const struct inet_diag_req_v2 *req)
{
	struct mtcp_diag_walk w = {
		.skb		= skb,
		.cb		= cb,
		.req		= req,
		.data		= cb->data,
		.net		= sock_net(skb->sk),
		.states		= req->idiag_states,
		.net_admin	= netlink_net_capable(cb->skb, CAP_NET_ADMIN),
	};
	long *args = cb->args;

	/* A request sock is TCP_NEW_SYN_RECV, reported as SYN_RECV. */
	if (w.states & TCPF_SYN_RECV)
		w.states |= TCPF_NEW_SYN_RECV;

	if (args[MTCP_DIAG_TABLE] == MTCP_DIAG_LISTENERS) {
		/* A listener has no peer: a destination port excludes it. */
		if ((w.states & TCPF_LISTEN) && !req->id.idiag_dport &&
		    mtcp_diag_dump_listeners(&w))
			return;
		args[MTCP_DIAG_TABLE] = MTCP_DIAG_EHASH;
		args[MTCP_DIAG_CHAIN] = 0;
		args[MTCP_DIAG_POS] = 0;
	}
	if (args[MTCP_DIAG_TABLE] == MTCP_DIAG_EHASH) {
		if ((w.states & ~TCPF_LISTEN) && mtcp_diag_dump_ehash(&w))
			return;
		args[MTCP_DIAG_TABLE] = MTCP_DIAG_DONE;
	}
}

/* ------------------------------------------------------------ dump_one */

/*
 * The socket of an exact request, with a reference, as TCP's lookup: the
 * request's source is the socket's local end.  mini_tcp is IPv4 only: an
 * AF_INET6 request finds a socket by v4-mapped addresses or none.
 */
static struct sock *mtcp_diag_find(struct net *net,
				   const struct inet_diag_req_v2 *req)
{
	const struct inet_diag_sockid *id = &req->id;
	__be32 laddr, raddr;
	struct sock *sk;

	switch (req->sdiag_family) {
	case AF_INET:
		laddr = id->idiag_src[0];
		raddr = id->idiag_dst[0];
		break;
	case AF_INET6:
		if (!ipv6_addr_v4mapped((const struct in6_addr *)id->idiag_src) ||
		    !ipv6_addr_v4mapped((const struct in6_addr *)id->idiag_dst))
			return ERR_PTR(-ENOENT);
		laddr = id->idiag_src[3];
		raddr = id->idiag_dst[3];
		break;
	default:
		return ERR_PTR(-EINVAL);
	}
	/* What a segment from the peer, arriving on idiag_if, would reach. */
	sk = mtcp_lookup_established(net, raddr, id->idiag_dport, laddr,
				     ntohs(id->idiag_sport), id->idiag_if, 0);
	if (!sk) {
		rcu_read_lock();
		sk = mtcp_lookup_listener(net, NULL, 0, raddr, id->idiag_dport,
					  laddr, ntohs(id->idiag_sport),
					  id->idiag_if, 0);
		/* A listener is freed after a grace period (SOCK_RCU_FREE). */
		if (sk && !refcount_inc_not_zero(&sk->sk_refcnt))
			sk = NULL;
		rcu_read_unlock();
	}
	if (!sk)
		return ERR_PTR(-ENOENT);
	if (sock_diag_check_cookie(sk, id->idiag_cookie)) {
		mtcp_sock_gen_put(sk);
		return ERR_PTR(-ENOENT);
	}
	return sk;
}

/* The payload of one row with everything inet_sk_diag_fill() may add. */
static size_t mtcp_diag_row_size(void)
{
	return NLMSG_ALIGN(sizeof(struct inet_diag_msg)) +
	       inet_diag_msg_attrs_size() +
	       nla_total_size(sizeof(struct inet_diag_meminfo)) +
	       nla_total_size(SK_MEMINFO_VARS * sizeof(u32)) +
	       nla_total_size_64bit(sizeof(struct tcp_info)) +
	       nla_total_size(TCP_CA_NAME_MAX) +
	       nla_total_size(sizeof(union tcp_cc_info));
}

/*
 * handler->dump_one: the row of the socket with the request's 4-tuple
 * (and cookie, unless INET_DIAG_NOCOOKIE), in a message of its own.
 */
static int mtcp_diag_dump_one(struct netlink_callback *cb,
			      const struct inet_diag_req_v2 *req)
{
	struct sk_buff *in_skb = cb->skb;
	struct net *net = sock_net(in_skb->sk);
	struct sk_buff *rep;
	struct sock *sk;
	int err;

	sk = mtcp_diag_find(net, req);
	if (IS_ERR(sk))
		return PTR_ERR(sk);
	rep = nlmsg_new(mtcp_diag_row_size(), GFP_KERNEL);
	if (!rep) {
		err = -ENOMEM;
		goto out;
	}
	err = mtcp_diag_fill(sk, rep, cb, req, 0,
			     netlink_net_capable(in_skb, CAP_NET_ADMIN));
	if (err) {
		WARN_ON_ONCE(err == -EMSGSIZE);	/* mtcp_diag_row_size() */
		nlmsg_free(rep);
		goto out;
	}
	err = nlmsg_unicast(net->diag_nlsk, rep, NETLINK_CB(in_skb).portid);
out:
	mtcp_sock_gen_put(sk);
	return err;
}

/* inet_diag indexes handlers by protocol: idiag_type is set at load. */
static struct inet_diag_handler mtcp_diag_handler = {
	.dump		 = mtcp_diag_dump,
	.dump_one	 = mtcp_diag_dump_one,
	.idiag_get_info	 = mtcp_diag_get_info,
	.idiag_info_size = sizeof(struct tcp_info),
};

static int __init mtcp_diag_init(void)
{
	mtcp_diag_handler.idiag_type = mtcp_ipproto;
	mtcp_diag_set_owner(&mtcp_diag_handler);
	return inet_diag_register(&mtcp_diag_handler);
}

static void __exit mtcp_diag_exit(void)
{
	/*
	 * No call of the handler is in progress past this: from 6.9 each
	 * holds this module (.owner), before each held inet_diag's table
	 * mutex, which this takes.  A dump spanning several messages keeps
	 * no state of ours between them but cb->args.
	 */
	inet_diag_unregister(&mtcp_diag_handler);
}

module_init(mtcp_diag_init);
module_exit(mtcp_diag_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mini_tcp: sock_diag (inet_diag) handler");
MODULE_IMPORT_NS(MTCP_NS);
/* Autoloaded by inet_diag as net-pf-16-proto-4-type-2-253 (NETLINK_SOCK_DIAG,
 * AF_INET, the default protocol number): for another ipproto, insmod it.
 */
MODULE_ALIAS("net-pf-" __stringify(PF_NETLINK) "-proto-" __stringify(NETLINK_SOCK_DIAG)
	     "-type-" __stringify(AF_INET) "-" __stringify(IPPROTO_MINI_TCP));
