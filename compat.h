/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mini_tcp: what differs between the kernels the module builds for
 * (Debian 12's 6.1, Debian 13's 6.12, trixie-backports' 7.3), each
 * difference behind one small helper so that the .c files have no #ifdef.
 *
 * The MTCP_HAVE_* macros come from Kbuild, which greps the target kernel's
 * headers for the interface itself (a version number would lie about
 * stable backports), and its Module.symvers for what it still exports.
 * Without one the 6.1 interface is used.
 */
#ifndef _MINI_TCP_COMPAT_H
#define _MINI_TCP_COMPAT_H

#include <linux/bpf-cgroup.h>
#include <linux/sysctl.h>
#include <linux/uaccess.h>
#include <net/inet_sock.h>
#include <net/inet_timewait_sock.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#ifdef MTCP_HAVE_PROTO_MEMORY_H
/* sk_under_memory_pressure(), sk_memory_allocated() left net/sock.h (6.10) */
#include <net/proto_memory.h>
#endif
#ifdef MTCP_HAVE_SKBUFF_REF_H
/* skb_frag_unref() left linux/skbuff.h (6.11) */
#include <linux/skbuff_ref.h>
#endif

/* sysctl handlers take a const table (6.11). */
#ifdef MTCP_HAVE_CONST_CTL_TABLE
#define mtcp_ctl_const const
#else
#define mtcp_ctl_const
#endif

/*
 * Register @n entries of @table (its terminating empty entry not counted):
 * by its size where the kernel takes one (6.6), else up to the empty entry.
 */
static inline struct ctl_table_header *
mtcp_register_net_sysctl(struct net *net, const char *path,
			 struct ctl_table *table, size_t n)
{
#ifdef MTCP_HAVE_REGISTER_NET_SYSCTL_SZ
	return register_net_sysctl_sz(net, path, table, n);
#else
	return register_net_sysctl(net, path, table);
#endif
}

/* The inet flags became bits in inet->inet_flags (6.6). */
static inline bool mtcp_inet_transparent(const struct sock *sk)
{
#ifdef MTCP_HAVE_INET_TEST_BIT
	return inet_test_bit(TRANSPARENT, sk);
#else
	return inet_sk(sk)->transparent;
#endif
}

static inline bool mtcp_inet_recverr(const struct sock *sk)
{
#ifdef MTCP_HAVE_INET_TEST_BIT
	return inet_test_bit(RECVERR, sk);
#else
	return inet_sk(sk)->recverr;
#endif
}

/* The cgroup connect4 hook also gets the address length (6.7). */
#ifdef MTCP_HAVE_BPF_CONNECT_ADDRLEN
#define mtcp_bpf_inet4_connect(sk, uaddr, addr_len) \
	BPF_CGROUP_RUN_PROG_INET4_CONNECT(sk, uaddr, &(addr_len))
#else
#define mtcp_bpf_inet4_connect(sk, uaddr, addr_len) \
	BPF_CGROUP_RUN_PROG_INET4_CONNECT(sk, uaddr)
#endif

/* Symbol namespaces: a string literal from 6.13, a bare name before. */
#ifdef MTCP_HAVE_NS_STRING
#define MTCP_NS "MINI_TCP"
#else
#define MTCP_NS MINI_TCP
#endif

/* from_timer() was renamed timer_container_of() (6.16). */
#ifdef MTCP_HAVE_TIMER_CONTAINER_OF
#define mtcp_from_timer timer_container_of
#else
#define mtcp_from_timer from_timer
#endif

/* The owner of a full socket: sock_i_uid() became sk_uid() (6.16). */
static inline kuid_t mtcp_sk_uid(const struct sock *sk)
{
#ifdef MTCP_HAVE_SK_UID
	return sk_uid(sk);
#else
	return sock_i_uid((struct sock *)sk);
#endif
}

/*
 * The retransmit timer: in struct sock from 6.16 (icsk_retransmit_timer
 * before), and its expiry is read from it (icsk_timeout is gone).
 */
static inline struct timer_list *mtcp_rtx_timer(struct sock *sk)
{
#ifdef MTCP_HAVE_SK_RTX_TIMER
	return &sk->tcp_retransmit_timer;
#else
	return &inet_csk(sk)->icsk_retransmit_timer;
#endif
}

static inline unsigned long mtcp_rtx_timeout(const struct sock *sk)
{
#ifdef MTCP_HAVE_SK_RTX_TIMER
	return READ_ONCE(sk->tcp_retransmit_timer.expires);
#else
	return READ_ONCE(inet_csk(sk)->icsk_timeout);
#endif
}

static inline unsigned long mtcp_delack_timeout(const struct sock *sk)
{
#ifdef MTCP_HAVE_SK_RTX_TIMER
	return READ_ONCE(inet_csk(sk)->icsk_delack_timer.expires);
#else
	return READ_ONCE(inet_csk(sk)->icsk_ack.timeout);
#endif
}

/* The socket a fired retransmit timer belongs to. */
#ifdef MTCP_HAVE_SK_RTX_TIMER
#define mtcp_rtx_timer_sk(t) \
	mtcp_from_timer((struct sock *)NULL, t, tcp_retransmit_timer)
#else
#define mtcp_rtx_timer_sk(t) \
	(&mtcp_from_timer((struct inet_connection_sock *)NULL, t, \
			  icsk_retransmit_timer)->icsk_inet.sk)
#endif

/* A connection's route lookup: TOS and scope (6.x), or both in the TOS. */
#ifdef MTCP_HAVE_IP_SOCK_RT_TOS
#define mtcp_conn_tos(sk)	ip_sock_rt_tos(sk)
#define mtcp_conn_scope(sk)	ip_sock_rt_scope(sk)
#else
#define mtcp_conn_tos(sk)	RT_CONN_FLAGS(sk)
#define mtcp_conn_scope(sk)	RT_SCOPE_UNIVERSE
#endif

/* proto.accept: the kernel's while exported (minisocks.c says why). */
#ifdef MTCP_HAVE_EXPORT_INET_CSK_ACCEPT
#define mtcp_proto_accept	inet_csk_accept
#else
#define mtcp_proto_accept	mtcp_csk_accept
#endif

/* connect() takes a struct sockaddr_unsized (7.x). */
#ifdef MTCP_HAVE_SOCKADDR_UNSIZED
#define mtcp_sockaddr sockaddr_unsized
#else
#define mtcp_sockaddr sockaddr
#endif

/*
 * proto.recvmsg's parameters: without the address length from 7.x, which
 * inet_recv_error() (MSG_ERRQUEUE) lost too.
 */
#ifdef MTCP_HAVE_RECV_ERROR_NO_ADDRLEN
#define MTCP_RECVMSG_PARAMS \
	struct sock *sk, struct msghdr *msg, size_t len, int flags
#define mtcp_inet_recv_error(sk, msg, len) inet_recv_error(sk, msg, len)
#else
#define MTCP_RECVMSG_PARAMS \
	struct sock *sk, struct msghdr *msg, size_t len, int flags, \
	int *addr_len
#define mtcp_inet_recv_error(sk, msg, len) \
	inet_recv_error(sk, msg, len, addr_len)
#endif

/* request_sock_ops.send_reset: with the reason for the reset (6.10). */
void mtcp_v4_send_reset(struct net *net, struct sk_buff *rxskb);

#ifdef MTCP_HAVE_RST_REASON
static inline void mtcp_reqsk_send_reset(const struct sock *sk,
					 struct sk_buff *skb,
					 enum sk_rst_reason reason)
#else
static inline void mtcp_reqsk_send_reset(const struct sock *sk,
					 struct sk_buff *skb)
#endif
{
	mtcp_v4_send_reset(sock_net(sk), skb);
}

/*
 * proto.ioctl: mtcp_ioctl() answers in *@karg, as the kernel's does since
 * 6.4; before, proto.ioctl copied the answer to user space itself.
 */
int mtcp_ioctl(struct sock *sk, int cmd, int *karg);

#ifdef MTCP_HAVE_IOCTL_KARG
#define mtcp_proto_ioctl mtcp_ioctl
#else
static inline int mtcp_proto_ioctl(struct sock *sk, int cmd, unsigned long arg)
{
	int karg;
	int err = mtcp_ioctl(sk, cmd, &karg);

	return err ?: put_user(karg, (int __user *)arg);
}
#endif

/*
 * sock_diag: inet_diag holds the handler's module during each call from
 * 6.9 (struct inet_diag_handler.owner); before, it called the handler
 * under its table mutex, which inet_diag_unregister() takes too.
 */
#ifdef MTCP_HAVE_DIAG_OWNER
#define mtcp_diag_set_owner(handler) ((handler)->owner = THIS_MODULE)
#else
#define mtcp_diag_set_owner(handler) do { } while (0)
#endif

/* The filter bytecode test: given the dump's data in 7.x, its attribute before. */
#ifdef MTCP_HAVE_DIAG_BC_DUMP_DATA
#define mtcp_inet_diag_bc_sk(dump_data, sk) inet_diag_bc_sk(dump_data, sk)
#else
#define mtcp_inet_diag_bc_sk(dump_data, sk) \
	inet_diag_bc_sk((dump_data)->inet_diag_nla_bc, sk)
#endif

#endif /* _MINI_TCP_COMPAT_H */
