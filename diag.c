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
 * The generic inet_diag code does the work: it walks mini_tcp's tables
 * (listeners, then the established hash with request and TIME_WAIT socks),
 * keeps to the caller's network namespace, and applies the state mask and
 * the filter bytecode (ports, addresses) as for TCP.  What is ours: the
 * queue lengths and tcp_info of a full socket.
 */
#include <linux/inet_diag.h>
#include <linux/module.h>
#include <linux/sock_diag.h>

#include "mini_tcp.h"
#include "uapi/mini_tcp.h"

/*
 * Queues as /proc/net/mini_tcp shows them (and tcp_diag for TCP): for a
 * listener the accept queue and its limit, else the unread and the
 * unacknowledged bytes.  tcp_info as getsockopt(TCP_INFO) fills it.
 *
 * A listener is reported under its lhash2 bucket's spinlock: it must not
 * sleep.  A listener is unhashed before it leaves TCP_LISTEN, so a socket
 * seen in that state here stays a listener; other sockets are reported
 * from process context with a reference held, and are locked (fast) for
 * a consistent tcp_info, as tcp_get_info() does.
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

static void mtcp_diag_dump(struct sk_buff *skb, struct netlink_callback *cb,
			   const struct inet_diag_req_v2 *r)
{
	inet_diag_dump_icsk(&mtcp_hashinfo, skb, cb, r);
}

static int mtcp_diag_dump_one(struct netlink_callback *cb,
			      const struct inet_diag_req_v2 *req)
{
	return inet_diag_dump_one_icsk(&mtcp_hashinfo, cb, req);
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
	 * mutex, which this takes.
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
