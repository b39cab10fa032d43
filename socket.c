// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp: the socket calls (struct proto, struct proto_ops) and the one
 * place where state machine transitions are carried out.
 */
#include <linux/bpf-cgroup.h>
#include <linux/inet_diag.h>
#include <linux/ioctl.h>
#include <asm/ioctls.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <net/inet_common.h>
#include <net/route.h>
#include <net/tcp_states.h>

#include "mini_tcp.h"

DEFINE_PER_CPU(unsigned int, mtcp_orphan_count);

/*
 * Socket memory accounting, as TCP's (and with its sizing): every queued
 * skb is charged to the protocol and to the owner's memory cgroup, and
 * given back when it is freed.  accept() charges the accepting
 * task's cgroup for data that arrived before accept(); only this
 * accounting ever returns that charge.
 */
static atomic_long_t mtcp_memory_allocated;
static DEFINE_PER_CPU(int, mtcp_memory_per_cpu_fw_alloc);
long sysctl_mtcp_mem[3];	/* pages: min, pressure, max (net.mini_tcp.mem) */

/*
 * Bytes, as tcp_rmem/tcp_wmem: [0] is what every socket may still queue
 * while the protocol is under pressure (read by the core's
 * __sk_mem_raise_allocated()); [1] is where a socket's buffers start;
 * autotuning grows them up to [2] (input.c), unless the user set them.
 */
int sysctl_mtcp_rmem[3] = { 4 * 1024, 128 * 1024, 6 * 1024 * 1024 };
int sysctl_mtcp_wmem[3] = { 4 * 1024, 16 * 1024, 4 * 1024 * 1024 };

/* jiffies when the pressure began (never 0), or 0: none. */
static unsigned long mtcp_memory_pressure;

/*
 * Sockets of the protocol, as tcp_sockets_allocated: under memory
 * pressure the core weighs mem[2] against how many sockets share it
 * (__sk_mem_raise_allocated), so a protocol with a pressure flag must
 * count them.  sk_clone_lock() counts children; destroy uncounts.
 */
static struct percpu_counter mtcp_sockets_allocated;

int mtcp_mem_init(void)
{
	unsigned long limit = max(nr_free_buffer_pages() / 16, 128UL);

	sysctl_mtcp_mem[0] = limit / 4 * 3;
	sysctl_mtcp_mem[1] = limit;
	sysctl_mtcp_mem[2] = sysctl_mtcp_mem[0] * 2;

	/* As tcp_init(): no socket more than 1/128 of memory. */
	limit = nr_free_buffer_pages() << (PAGE_SHIFT - 7);
	sysctl_mtcp_wmem[2] = max(64UL * 1024, min(4UL * 1024 * 1024, limit));
	sysctl_mtcp_rmem[2] = max(128UL * 1024, min(6UL * 1024 * 1024, limit));
	return percpu_counter_init(&mtcp_sockets_allocated, 0, GFP_KERNEL);
}

void mtcp_mem_exit(void)
{
	percpu_counter_destroy(&mtcp_sockets_allocated);
}

/*
 * The core calls these when the protocol's memory passes mem[1] and when
 * it falls below mem[0] again, from any context (softirq too): count the
 * episodes and their length, as TCP's MemoryPressures counters.
 */
static void mtcp_enter_memory_pressure(struct sock *sk)
{
	unsigned long val;

	if (READ_ONCE(mtcp_memory_pressure))
		return;
	val = jiffies ? : -1UL;
	if (!cmpxchg(&mtcp_memory_pressure, 0, val))
		MTCP_INC_STATS(sock_net(sk), MTCP_MIB_MEMORYPRESSURES);
}

static void mtcp_leave_memory_pressure(struct sock *sk)
{
	unsigned long val;

	if (!READ_ONCE(mtcp_memory_pressure))
		return;
	val = xchg(&mtcp_memory_pressure, 0);
	if (val)
		MTCP_ADD_STATS(sock_net(sk), MTCP_MIB_MEMORYPRESSURESCHRONO,
			       jiffies_to_msecs(jiffies - val));
}

/*
 * Every state change goes through here: it fires the inet_sock_set_state
 * tracepoint, wakes whoever waits for a state (connect, linger), counts
 * resets, arms an orphan's FIN_WAIT_2 timer, and releases the hash slots
 * and the port when the connection is over.
 */
void mtcp_set_state(struct sock *sk, int state)
{
	int old = sk->sk_state;

	if (old == state)
		return;

	if (state == TCP_CLOSE) {
		/* Only an abort or a reset leaves these straight for CLOSED. */
		if (old == TCP_ESTABLISHED || old == TCP_CLOSE_WAIT)
			MTCP_INC_STATS(sock_net(sk), MTCP_MIB_ESTABRESETS);
		/*
		 * Unhash while the state still says where from: mtcp_unhash()
		 * takes a listener out of lhash2 under its bucket lock and out
		 * of its SO_REUSEPORT group only when it sees TCP_LISTEN.
		 */
		sk->sk_prot->unhash(sk);
		if (!(sk->sk_userlocks & SOCK_BINDPORT_LOCK))
			mtcp_put_port(sk);
	}
	inet_sk_set_state(sk, state);

	switch (state) {
	case TCP_FIN_WAIT2:
		if (sock_flag(sk, SOCK_DEAD))
			mtcp_arm_fin_wait2(sk);
		break;
	}
	if (!sock_flag(sk, SOCK_DEAD))
		sk->sk_state_change(sk);
}

/*
 * The connection is over: stop the timers, wake or release the owner.
 * Called with the socket locked; an orphan is freed here.
 */
void mtcp_done(struct sock *sk)
{
	if (sk->sk_state == TCP_SYN_SENT || sk->sk_state == TCP_SYN_RECV)
		MTCP_INC_STATS(sock_net(sk), MTCP_MIB_ATTEMPTFAILS);
	mtcp_set_state(sk, TCP_CLOSE);
	mtcp_clear_xmit_timers(sk);
	mtcp_delete_keepalive_timer(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);

	if (!sock_flag(sk, SOCK_DEAD))
		sk->sk_state_change(sk);
	else
		mtcp_csk_destroy(sk);
}

static void mtcp_report_error(struct sock *sk, int err)
{
	WRITE_ONCE(sk->sk_err, err);
	/* Make the error visible before the state change wakes anyone. */
	smp_wmb();
	sk_error_report(sk);
}

/*
 * As tcp_rcv_state_process() when SYN_RECEIVED becomes ESTABLISHED: a
 * shutdown(SHUT_WR) from before the socket was synchronized (ENOTCONN on
 * a CLOSED socket, but SEND_SHUTDOWN stays set; a listener's, before
 * listen(), is copied into every child) takes effect now, so a
 * simultaneous open (a self-connect among them) or such a child sends its
 * FIN.  TCP does not do this for SYN_SENT.
 */
void mtcp_pending_shutdown(struct sock *sk)
{
	if (sk->sk_shutdown & SEND_SHUTDOWN)
		mtcp_fsm_event(sk, MTCP_EV_CLOSE);
}

/*
 * Carry out a transition of the state machine on a full socket, in the
 * order a reader of RFC 9293 expects: new state, segments, errors, then
 * TIME_WAIT or release.  @old is the state the transition starts from.
 *
 * Called with the socket locked.  After MTCP_ACT_DESTROY or
 * MTCP_ACT_TIME_WAIT an orphan may be gone: the caller must not touch sk
 * beyond its state (a reference keeps the memory valid, not the socket).
 *
 * Returns 0, or the error of a SYN that could not be queued (no memory):
 * connect() undoes the transition and fails with it, as TCP's does.
 */
int mtcp_fsm_run(struct sock *sk, int old, struct mtcp_transition t)
{
	unsigned int a = t.actions;
	int err = 0;

	if (t.next != TCP_CLOSE && t.next != TCP_TIME_WAIT)
		mtcp_set_state(sk, t.next);

	if (a & MTCP_ACT_SEND_SYN)
		err = mtcp_send_syn(sk);
	if (a & MTCP_ACT_SEND_SYNACK)
		mtcp_send_synack(sk);
	if (a & MTCP_ACT_SEND_FIN)
		mtcp_send_fin(sk);
	if (a & MTCP_ACT_SEND_ACK)
		mtcp_send_ack(sk);
	if (a & MTCP_ACT_SEND_DELACK) {
		/*
		 * As tcp_fin(): pingpong, so the close() that usually follows
		 * carries the ACK on its FIN.  TCP's delayed-ACK engine starts
		 * with the first data (tcp_event_data_recv sets ato): on a
		 * connection that never received any, its delay is zero.
		 */
		inet_csk_enter_pingpong_mode(sk);
		if (mtcp_sk(sk)->rcv_nxt - mtcp_sk(sk)->irs > 2)
			mtcp_ack_snd_check(sk);
		else
			mtcp_send_ack(sk);
	}
	if (a & MTCP_ACT_CHALLENGE_ACK)
		mtcp_send_challenge_ack(sk);
	if (a & MTCP_ACT_SEND_RST)
		mtcp_send_active_rst(sk, gfp_any());

	if (a & MTCP_ACT_CONNECTED) {
		mtcp_init_buffer_space(sk);
		mtcp_arm_keepalive(sk);
		sk_wake_async(sk, SOCK_WAKE_IO, POLL_OUT);
	}
	if ((a & MTCP_ACT_CONNECTED) && old == TCP_SYN_RECV)
		mtcp_pending_shutdown(sk);
	if (a & MTCP_ACT_EOF) {
		WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | RCV_SHUTDOWN);
		sock_set_flag(sk, SOCK_DONE);
		if (!sock_flag(sk, SOCK_DEAD)) {
			sk->sk_state_change(sk);
			if (sk->sk_shutdown == SHUTDOWN_MASK)
				sk_wake_async(sk, SOCK_WAKE_WAITD, POLL_HUP);
			else
				sk_wake_async(sk, SOCK_WAKE_WAITD, POLL_IN);
		}
	}
	if (a & MTCP_ACT_ERR_REFUSED)
		mtcp_report_error(sk, ECONNREFUSED);
	if (a & MTCP_ACT_ERR_RESET)
		/* As TCP: a reset in CLOSE_WAIT means the peer has gone. */
		mtcp_report_error(sk, old == TCP_CLOSE_WAIT ? EPIPE : ECONNRESET);
	if (a & MTCP_ACT_ERR_TIMEDOUT) {
		mtcp_report_error(sk, READ_ONCE(sk->sk_err_soft) ? : ETIMEDOUT);
		if (old != TCP_SYN_SENT && old != TCP_SYN_RECV)
			MTCP_INC_STATS(sock_net(sk), MTCP_MIB_ABORTONTIMEOUT);
	}

	if (a & MTCP_ACT_TIME_WAIT)
		mtcp_time_wait(sk, TCP_TIME_WAIT,
			       READ_ONCE(mtcp_pernet(sock_net(sk))->sysctl_tw_timeout));
	else if (a & MTCP_ACT_DESTROY)
		mtcp_done(sk);
	return err;
}

/*
 * Look an event up in the table (fsm.c) and carry it out.  Returns -EINVAL
 * if the event is not valid in the current state; callers map that to
 * TCP's errno.
 */
int mtcp_fsm_event(struct sock *sk, enum mtcp_event ev)
{
	struct mtcp_transition t = mtcp_fsm_lookup(sk->sk_state, ev);

	if (!t.valid)
		return -EINVAL;
	mtcp_fsm_run(sk, sk->sk_state, t);
	return 0;
}

/* ------------------------------------------------------------ connect */

static int mtcp_v4_connect(struct sock *sk, struct mtcp_sockaddr *uaddr,
			   int addr_len)
{
	struct mtcp_transition t = mtcp_fsm_lookup(sk->sk_state, MTCP_EV_CONNECT);
	struct sockaddr_in *usin = (struct sockaddr_in *)uaddr;
	struct inet_sock *inet = inet_sk(sk);
	struct mini_sock *ms = mtcp_sk(sk);
	struct ip_options_rcu *inet_opt;
	struct net *net = sock_net(sk);
	__be16 orig_sport, orig_dport;
	__be32 daddr, nexthop;
	struct flowi4 *fl4;
	struct rtable *rt;
	int err;

	if (!t.valid)
		return -EISCONN;
	if (addr_len < sizeof(struct sockaddr_in))
		return -EINVAL;
	if (usin->sin_family != AF_INET)
		return -EAFNOSUPPORT;

	nexthop = usin->sin_addr.s_addr;
	daddr = nexthop;
	orig_sport = inet->inet_sport;
	orig_dport = usin->sin_port;
	fl4 = &inet->cork.fl.u.ip4;
	/* Our protocol in the flow: `ip rule ipproto 253` and IPsec apply. */
	rt = ip_route_connect(fl4, nexthop, inet->inet_saddr,
			      sk->sk_bound_dev_if, sk->sk_protocol, orig_sport,
			      orig_dport, sk);
	if (IS_ERR(rt))
		return PTR_ERR(rt);

	if (rt->rt_flags & (RTCF_MULTICAST | RTCF_BROADCAST)) {
		ip_rt_put(rt);
		return -ENETUNREACH;
	}

	if (!inet->inet_saddr)
		mtcp_set_saddr(sk, fl4->saddr);
	else
		sk_rcv_saddr_set(sk, inet->inet_saddr);

	inet->inet_dport = usin->sin_port;
	sk_daddr_set(sk, daddr);

	/*
	 * Hash into the connection table with an ephemeral port if none is
	 * bound; the state must say SYN_SENT (the table's answer) first, as
	 * for TCP, so that a lookup never finds a hashed socket in CLOSED.
	 */
	mtcp_set_state(sk, t.next);
	err = mtcp_hash_connect(sk);
	if (err)
		goto failure;

	sk_set_txhash(sk);
	rt = ip_route_newports(fl4, rt, orig_sport, orig_dport,
			       inet->inet_sport, inet->inet_dport, sk);
	if (IS_ERR(rt)) {
		err = PTR_ERR(rt);
		rt = NULL;
		goto failure;
	}
	sk->sk_gso_type = 0;
	sk_setup_caps(sk, &rt->dst);
	/*
	 * No GSO for this protocol: segments are built at the MSS.  The
	 * checksum features stay: mtcp_csum() leaves the checksum to a
	 * device with NETIF_F_HW_CSUM.
	 */
	sk->sk_route_caps &= ~NETIF_F_GSO_MASK;
	rt = NULL;

	inet_csk(sk)->icsk_ext_hdr_len = 0;
	inet_opt = rcu_dereference_protected(inet->inet_opt,
					     lockdep_sock_is_held(sk));
	if (inet_opt)
		inet_csk(sk)->icsk_ext_hdr_len = inet_opt->opt.optlen;
	ms->advmss = mtcp_route_advmss(sk, __sk_dst_get(sk));
	ms->peer_mss = MTCP_MSS_DEFAULT;	/* until their SYN says more */
	mtcp_sync_mss_pmtu(sk, dst_mtu(__sk_dst_get(sk)));
	/* A new connection: the last one's errors are not its own. */
	WRITE_ONCE(sk->sk_err, 0);
	WRITE_ONCE(sk->sk_err_soft, 0);
	ms->iss = mtcp_secure_seq(inet->inet_saddr, inet->inet_daddr,
				  inet->inet_sport, usin->sin_port);
	atomic_set(&inet->inet_id, get_random_u16());

	/* The rest of CLOSED + CONNECT: send the SYN (-ENOBUFS without one). */
	err = mtcp_fsm_run(sk, TCP_CLOSE, t);
	if (err)
		goto failure;
	MTCP_INC_STATS(net, MTCP_MIB_ACTIVEOPENS);
	return 0;

failure:
	mtcp_set_state(sk, TCP_CLOSE);
	mtcp_reset_saddr(sk);
	ip_rt_put(rt);
	sk->sk_route_caps = 0;
	inet->inet_dport = 0;
	return err;
}

/* ------------------------------------------------------------- listen */

/*
 * Our own listen, like inet_dccp_listen: inet_listen would pull in TCP
 * fastopen and its BPF hooks, which know nothing of this protocol.
 */
static int mtcp_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	struct mtcp_transition t;
	int err;

	lock_sock(sk);
	err = -EINVAL;
	if (sock->state != SS_UNCONNECTED || sock->type != SOCK_STREAM)
		goto out;

	t = mtcp_fsm_lookup(sk->sk_state, MTCP_EV_LISTEN);
	if (!t.valid)
		goto out;

	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	if (sk->sk_state != TCP_LISTEN) {
		/* Request socks retransmit SYN-ACKs this many times. */
		inet_csk(sk)->icsk_syn_retries =
			READ_ONCE(mtcp_pernet(sock_net(sk))->sysctl_synack_retries);
		err = mtcp_listen_start(sk, t.next);	/* hashed */
		if (err)
			goto out;
	}
	err = 0;
out:
	release_sock(sk);
	return err;
}

/* ------------------------------------------------------ close, shutdown */

static void mtcp_purge_write_queue(struct sock *sk)
{
	struct sk_buff *skb;

	while ((skb = __skb_dequeue(&sk->sk_write_queue)) != NULL)
		mtcp_wqueue_free(sk, skb);
}

/*
 * SO_LINGER: wait up to @timeout for our FIN to be acknowledged (the state
 * to leave FIN_WAIT_1, CLOSING and LAST_ACK), or a signal.
 */
static void mtcp_wait_close(struct sock *sk, long timeout)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);

	if (!timeout)
		return;
	add_wait_queue(sk_sleep(sk), &wait);
	do {
		if (sk_wait_event(sk, &timeout,
				  !((1 << READ_ONCE(sk->sk_state)) &
				    (TCPF_FIN_WAIT1 | TCPF_CLOSING |
				     TCPF_LAST_ACK)), &wait))
			break;
	} while (!signal_pending(current) && timeout);
	remove_wait_queue(sk_sleep(sk), &wait);
}

static void mtcp_close(struct sock *sk, long timeout)
{
	bool data_was_unread = false;
	struct sk_buff *skb;
	int state;

	lock_sock(sk);
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);

	if (sk->sk_state == TCP_LISTEN) {
		mtcp_set_state(sk, TCP_CLOSE);
		/* Resets the children waiting in the accept queue. */
		mtcp_listen_stop(sk);
		goto adjudge_to_death;
	}

	while ((skb = __skb_dequeue(&sk->sk_receive_queue)) != NULL) {
		if (MTCP_SKB_CB(skb)->end_seq != mtcp_sk(sk)->copied_seq)
			data_was_unread = true;
		__kfree_skb(skb);
	}
	__skb_queue_purge(&mtcp_sk(sk)->ooo_queue);

	if (sk->sk_state == TCP_CLOSE) {
		/* Nothing to tell anyone. */
	} else if (data_was_unread) {
		/* RFC 9293 §3.10.4 leaves this open; TCP resets (RFC 2525). */
		MTCP_INC_STATS(sock_net(sk), MTCP_MIB_ABORTONDATA);
		mtcp_fsm_event(sk, MTCP_EV_ABORT);
	} else if (sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime) {
		/* SO_LINGER {1, 0}: abort, no TIME_WAIT. */
		sk->sk_prot->disconnect(sk, 0);
	} else if (mtcp_fsm_event(sk, MTCP_EV_CLOSE) == 0) {
		/* FIN queued; wait for it to go out if lingering. */
		mtcp_wait_close(sk, timeout);
	}

adjudge_to_death:
	state = sk->sk_state;
	sock_hold(sk);
	sock_orphan(sk);
	/*
	 * Count the orphan while we still own the socket.  The backlog that
	 * release_sock() processes, or a softirq right after it, may destroy
	 * the socket, and mtcp_csk_destroy() uncounts it: counting after
	 * that would let the count go below zero.  TCP counts after
	 * __release_sock() under the spinlock, which a module cannot call
	 * (not exported); counting first, under the owner lock, is as good.
	 */
	this_cpu_inc(mtcp_orphan_count);
	release_sock(sk);

	/* Now the socket is an orphan: only softirq and timers touch it. */
	local_bh_disable();
	bh_lock_sock(sk);

	/* Did a segment in the backlog close it while we released? */
	if (state != TCP_CLOSE && sk->sk_state == TCP_CLOSE)
		goto out;

	if (sk->sk_state == TCP_FIN_WAIT2)
		mtcp_orphan_fin_wait2(sk);	/* may free it */
	else if (sk->sk_state == TCP_CLOSE)
		mtcp_csk_destroy(sk);
out:
	bh_unlock_sock(sk);
	local_bh_enable();
	sock_put(sk);
}

static void mtcp_shutdown(struct sock *sk, int how)
{
	if (!(how & SEND_SHUTDOWN))
		return;
	/* ESTABLISHED, SYN_RECEIVED, CLOSE_WAIT send FIN; others: nothing. */
	mtcp_fsm_event(sk, MTCP_EV_CLOSE);
}

/*
 * Back to a fresh CLOSED socket: connect(AF_UNSPEC), SO_LINGER {1,0},
 * a failed connect, and children reset by a closing listener.
 */
static int mtcp_disconnect(struct sock *sk, int flags)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct inet_sock *inet = inet_sk(sk);
	struct mini_sock *ms = mtcp_sk(sk);
	int old = sk->sk_state;

	if (old == TCP_LISTEN) {
		mtcp_set_state(sk, TCP_CLOSE);
		mtcp_listen_stop(sk);
	} else if (old != TCP_CLOSE) {
		struct mtcp_transition t = mtcp_fsm_lookup(old, MTCP_EV_ABORT);

		if (t.valid && (t.actions & MTCP_ACT_SEND_RST))
			mtcp_send_active_rst(sk, gfp_any());
		if (old != TCP_SYN_SENT)
			WRITE_ONCE(sk->sk_err, ECONNRESET);
		mtcp_set_state(sk, TCP_CLOSE);
	}

	mtcp_clear_xmit_timers(sk);
	mtcp_delete_keepalive_timer(sk);
	__skb_queue_purge(&sk->sk_receive_queue);
	__skb_queue_purge(&ms->ooo_queue);
	mtcp_purge_write_queue(sk);
	inet->inet_dport = 0;
	mtcp_reset_saddr(sk);
	WRITE_ONCE(sk->sk_shutdown, 0);
	sock_reset_flag(sk, SOCK_DONE);
	icsk->icsk_backoff = 0;
	icsk->icsk_retransmits = 0;
	icsk->icsk_probes_out = 0;
	icsk->icsk_rto = MTCP_TIMEOUT_INIT;
	ms->fin_queued = 0;
	ms->srtt_us = 0;
	ms->max_window = 0;
	ms->snd_una = 0;
	ms->snd_nxt = 0;
	ms->write_seq = 0;
	/*
	 * The page fragment is copied into every child should this socket
	 * listen next (sock_copy()): let go of it, as tcp_disconnect().
	 */
	if (sk->sk_frag.page) {
		put_page(sk->sk_frag.page);
		sk->sk_frag.page = NULL;
		sk->sk_frag.offset = 0;
	}
	__sk_dst_reset(sk);
	sk->sk_error_report(sk);
	return 0;
}

/* ---------------------------------------------------------- send, receive */

/* The tail of the write queue takes more bytes while it is unsent data. */
static bool mtcp_can_append(struct sock *sk, struct sk_buff *skb,
			    unsigned int goal)
{
	return skb && !(MTCP_SKB_CB(skb)->flags & (TCPHDR_SYN | TCPHDR_FIN)) &&
	       !after(mtcp_sk(sk)->snd_nxt, MTCP_SKB_CB(skb)->seq) &&
	       skb->len < goal;
}

/*
 * A new, empty data skb, charged as it is queued.  Allocate first, then
 * schedule what it really takes: skb->truesize includes the allocator's
 * rounding.
 */
static struct sk_buff *mtcp_new_data_skb(struct sock *sk)
{
	struct mini_sock *ms = mtcp_sk(sk);
	struct sk_buff *skb;

	skb = mtcp_alloc_wqueue_skb(sk->sk_allocation | __GFP_NOWARN);
	if (!skb)
		return NULL;
	if (!sk_wmem_schedule(sk, skb->truesize)) {
		__kfree_skb(skb);
		return NULL;
	}
	MTCP_SKB_CB(skb)->seq = ms->write_seq;
	MTCP_SKB_CB(skb)->end_seq = ms->write_seq;
	MTCP_SKB_CB(skb)->flags = TCPHDR_ACK;
	MTCP_SKB_CB(skb)->sacked = 0;
	mtcp_wqueue_tail(sk, skb);
	return skb;
}

/* A data skb queued for a write that then failed or waits: drop it. */
static void mtcp_remove_empty_skb(struct sock *sk)
{
	struct sk_buff *skb = skb_peek_tail(&sk->sk_write_queue);

	if (skb && !skb->len &&
	    !(MTCP_SKB_CB(skb)->flags & (TCPHDR_SYN | TCPHDR_FIN)) &&
	    !after(mtcp_sk(sk)->snd_nxt, MTCP_SKB_CB(skb)->seq)) {
		__skb_unlink(skb, &sk->sk_write_queue);
		mtcp_wqueue_free(sk, skb);
	}
}

/* A write ends or stops to wait: PSH on its last byte, then send. */
static void mtcp_push_write(struct sock *sk)
{
	mtcp_mark_push(sk);
	mtcp_push(sk);
}

static int mtcp_sendmsg(struct sock *sk, struct msghdr *msg, size_t size)
{
	struct mini_sock *ms = mtcp_sk(sk);
	int flags = msg->msg_flags;
	unsigned int new_skbs = 0;
	struct page_frag *pfrag;
	size_t copied = 0;
	bool merge;
	long timeo;
	int err, i;

	lock_sock(sk);
	timeo = sock_sndtimeo(sk, flags & MSG_DONTWAIT);

	/* As TCP: wait for the handshake, then fail on errors or shutdown. */
	if ((1 << sk->sk_state) & ~(TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)) {
		err = sk_stream_wait_connect(sk, &timeo);
		if (err)
			goto out_err;
	}

	while (copied < size) {
		struct sk_buff *skb = skb_peek_tail(&sk->sk_write_queue);
		unsigned int goal = mtcp_size_goal(sk);
		size_t chunk;

		err = -EPIPE;
		if (sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN))
			goto out_err;

		if (!mtcp_can_append(sk, skb, goal)) {
new_skb:
			if (!sk_stream_memory_free(sk))
				goto wait_for_space;
			/*
			 * A long write holds the socket while ACKs wait in
			 * the backlog: process them now and then, so that
			 * the windows open and the backlog does not overflow
			 * (tcp_sendmsg_locked() does it every 16 skbs).
			 */
			if (++new_skbs % 16 == 0 && sk_flush_backlog(sk))
				continue;	/* an error, a shutdown, a new MSS */
			skb = mtcp_new_data_skb(sk);
			if (!skb)
				goto wait_for_space;
		}

		/*
		 * Into the socket's page fragment, coalesced with the skb's
		 * last fragment when it continues it (tcp_sendmsg_locked()):
		 * a small write costs its bytes, not an MSS-sized buffer.
		 */
		pfrag = sk_page_frag(sk);
		if (!sk_page_frag_refill(sk, pfrag))
			goto wait_for_space;
		i = skb_shinfo(skb)->nr_frags;
		merge = skb_can_coalesce(skb, i, pfrag->page, pfrag->offset);
		if (!merge && i >= MAX_SKB_FRAGS)
			goto new_skb;
		chunk = min_t(size_t, size - copied, goal - skb->len);
		chunk = min_t(size_t, chunk, pfrag->size - pfrag->offset);
		if (!sk_wmem_schedule(sk, chunk))
			goto wait_for_space;
		err = skb_copy_to_page_nocache(sk, &msg->msg_iter, skb,
					       pfrag->page, pfrag->offset, chunk);
		if (err)
			goto out_err;
		if (merge) {
			skb_frag_size_add(&skb_shinfo(skb)->frags[i - 1], chunk);
		} else {
			skb_fill_page_desc(skb, i, pfrag->page, pfrag->offset,
					   chunk);
			get_page(pfrag->page);
		}
		pfrag->offset += chunk;
		MTCP_SKB_CB(skb)->flags &= ~TCPHDR_PSH;	/* the write goes on */
		MTCP_SKB_CB(skb)->end_seq += chunk;
		ms->write_seq += chunk;
		copied += chunk;
		/*
		 * A full skb leaves now, while the rest of the write is
		 * copied, as TCP's: the link does not wait for the copy
		 * (and the skb carries no PSH).
		 */
		if (skb->len >= goal && copied < size)
			mtcp_push(sk);
		continue;

wait_for_space:
		mtcp_remove_empty_skb(sk);
		set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
		mtcp_push_write(sk);
		err = sk_stream_wait_memory(sk, &timeo);
		if (err)
			goto out_err;
	}

	mtcp_push_write(sk);
	release_sock(sk);
	return copied;

out_err:
	mtcp_remove_empty_skb(sk);
	if (copied) {
		mtcp_push_write(sk);
		release_sock(sk);
		return copied;
	}
	err = sk_stream_error(sk, flags, err);
	release_sock(sk);
	return err;
}

/*
 * After reading @copied bytes, as tcp_cleanup_rbuf(): send the ACK a
 * delayed ACK holds if it covers two segments, or if the reader emptied
 * the queue of data the sender pushed (a sender under Nagle waits for
 * exactly this ACK; in an interactive exchange only after two pushes,
 * since the reply will carry it); and tell the peer the window opened
 * once reading freed enough of it.
 */
static void mtcp_cleanup_rbuf(struct sock *sk, int copied)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct mini_sock *ms = mtcp_sk(sk);
	u32 clamp, wnd;

	if (!((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_FIN_WAIT1 |
				     TCPF_FIN_WAIT2)))
		return;
	if (inet_csk_ack_scheduled(sk) &&
	    (ms->rcv_nxt - ms->rcv_wup > icsk->icsk_ack.rcv_mss ||
	     (copied > 0 && !atomic_read(&sk->sk_rmem_alloc) &&
	      ((icsk->icsk_ack.pending & ICSK_ACK_PUSHED2) ||
	       ((icsk->icsk_ack.pending & ICSK_ACK_PUSHED) &&
		!inet_csk_in_pingpong_mode(sk)))))) {
		mtcp_send_ack(sk);
		return;
	}
	/*
	 * When what is left of the offered window is at most half of what
	 * it can be, and reading has at least doubled it, say so - whatever
	 * the MSS (a 2 KiB buffer behind a 64 KiB MSS must not wait for the
	 * sender's window probe).
	 */
	clamp = min_t(u32, READ_ONCE(sk->sk_rcvbuf) / 2,
		      MTCP_MAX_WINDOW << ms->rcv_wscale);
	wnd = mtcp_select_window(sk);
	if (wnd && 2 * ms->rcv_wnd <= clamp && wnd >= 2 * ms->rcv_wnd)
		mtcp_send_ack(sk);
}

static int mtcp_recvmsg(MTCP_RECVMSG_PARAMS)
{
	struct mini_sock *ms = mtcp_sk(sk);
	u32 peek_seq, *seq;
	int copied = 0;
	int target;
	long timeo;
	int err;

	if (flags & MSG_OOB)
		return -EINVAL;
	if (flags & MSG_ERRQUEUE)
		return mtcp_inet_recv_error(sk, msg, len);

	lock_sock(sk);
	err = -ENOTCONN;
	if (sk->sk_state == TCP_LISTEN)
		goto out;

	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);
	seq = &ms->copied_seq;
	if (flags & MSG_PEEK) {
		/* SO_PEEK_OFF: peeks start that far past what was read */
		peek_seq = ms->copied_seq + max(sk_peek_offset(sk, flags), 0);
		seq = &peek_seq;
	}

	while (copied < len) {
		struct sk_buff *skb, *last = NULL;
		u32 offset;
		size_t used;

		skb_queue_walk(&sk->sk_receive_queue, skb) {
			last = skb;
			if (before(*seq, MTCP_SKB_CB(skb)->end_seq))
				goto found;
		}

		if (copied >= target)
			break;
		if (copied) {
			if (sk->sk_err || sk->sk_state == TCP_CLOSE ||
			    (sk->sk_shutdown & RCV_SHUTDOWN) || !timeo ||
			    signal_pending(current))
				break;
		} else {
			if (sock_flag(sk, SOCK_DONE))
				break;
			if (sk->sk_err) {
				copied = sock_error(sk);
				break;
			}
			if (sk->sk_shutdown & RCV_SHUTDOWN)
				break;
			if (sk->sk_state == TCP_CLOSE) {
				copied = -ENOTCONN;
				break;
			}
			if (!timeo) {
				copied = -EAGAIN;
				break;
			}
			if (signal_pending(current)) {
				copied = sock_intr_errno(timeo);
				break;
			}
		}
		mtcp_cleanup_rbuf(sk, copied);
		sk_wait_data(sk, &timeo, last);
		continue;

found:
		offset = *seq - MTCP_SKB_CB(skb)->seq;
		used = min_t(size_t, skb->len - offset, len - copied);
		err = skb_copy_datagram_msg(skb, offset, msg, used);
		if (err) {
			if (!copied)
				copied = -EFAULT;
			break;
		}
		*seq += used;
		copied += used;
		if (flags & MSG_PEEK)
			sk_peek_offset_fwd(sk, used);
		else
			sk_peek_offset_bwd(sk, used);
		if (!(flags & MSG_PEEK) &&
		    !before(*seq, MTCP_SKB_CB(skb)->end_seq)) {
			__skb_unlink(skb, &sk->sk_receive_queue);
			__kfree_skb(skb);
		}
	}

	if (!(flags & MSG_PEEK)) {
		mtcp_rcv_space_adjust(sk);
		mtcp_cleanup_rbuf(sk, copied);
	}
	err = copied;
out:
	release_sock(sk);
	return err;
}

/* ---------------------------------------------------------------- poll */

static __poll_t mtcp_poll(struct file *file, struct socket *sock,
			  poll_table *wait)
{
	struct sock *sk = sock->sk;
	__poll_t mask = 0;
	u8 shutdown;
	int state;

	sock_poll_wait(file, sock, wait);

	state = inet_sk_state_load(sk);
	if (state == TCP_LISTEN)
		return inet_csk_listen_poll(sk);

	shutdown = READ_ONCE(sk->sk_shutdown);
	if (shutdown == SHUTDOWN_MASK || state == TCP_CLOSE)
		mask |= EPOLLHUP;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;

	/* Connected or half-closed: readable and writable as TCP is. */
	if (state != TCP_SYN_SENT && state != TCP_SYN_RECV) {
		if (!skb_queue_empty_lockless(&sk->sk_receive_queue))
			mask |= EPOLLIN | EPOLLRDNORM;

		if (!(shutdown & SEND_SHUTDOWN)) {
			if (sk_stream_is_writeable(sk)) {
				mask |= EPOLLOUT | EPOLLWRNORM;
			} else {
				sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
				set_bit(SOCK_NOSPACE, &sk->sk_socket->flags);
				/* Race with the ACK freeing space. */
				smp_mb__after_atomic();
				if (sk_stream_is_writeable(sk))
					mask |= EPOLLOUT | EPOLLWRNORM;
			}
		} else {
			mask |= EPOLLOUT | EPOLLWRNORM;
		}
	}
	/* Pairs with the smp_wmb() in mtcp_report_error(). */
	smp_rmb();
	if (READ_ONCE(sk->sk_err) ||
	    !skb_queue_empty_lockless(&sk->sk_error_queue))
		mask |= EPOLLERR;
	return mask;
}

int mtcp_ioctl(struct sock *sk, int cmd, int *karg)
{
	struct mini_sock *ms = mtcp_sk(sk);
	int answ;

	switch (cmd) {
	case SIOCINQ:
		if (sk->sk_state == TCP_LISTEN)
			return -EINVAL;
		lock_sock(sk);
		answ = ms->rcv_nxt - ms->copied_seq;
		if (sock_flag(sk, SOCK_DONE) && answ > 0)
			answ--;		/* the FIN is no byte */
		release_sock(sk);
		break;
	case SIOCOUTQ:
		if (sk->sk_state == TCP_LISTEN)
			return -EINVAL;
		answ = READ_ONCE(ms->write_seq) - READ_ONCE(ms->snd_una);
		break;
	case SIOCOUTQNSD:
		if (sk->sk_state == TCP_LISTEN)
			return -EINVAL;
		answ = READ_ONCE(ms->write_seq) - READ_ONCE(ms->snd_nxt);
		break;
	default:
		return -ENOIOCTLCMD;
	}
	*karg = answ;
	return 0;
}

/* ------------------------------------------------------- socket options */

/*
 * Options at level IPPROTO_TCP that unmodified TCP programs set, with
 * TCP's meaning: NODELAY and CORK steer Nagle (output.c), QUICKACK the
 * delayed ACKs, the keepalive ones and USER_TIMEOUT timer.c's give-up
 * rules, MAXSEG the MSS.  Others TCP has are refused with ENOPROTOOPT.
 */
static int mtcp_setsockopt(struct sock *sk, int level, int optname,
			   sockptr_t optval, unsigned int optlen)
{
	struct mini_sock *ms = mtcp_sk(sk);
	int val, err = 0;

	if (level != SOL_TCP)
		return ip_setsockopt(sk, level, optname, optval, optlen);

	/*
	 * TCP's string and key options are read before the int check; we
	 * have none of them: refuse them before their value is looked at.
	 */
	if (optname == TCP_CONGESTION || optname == TCP_ULP ||
	    optname == TCP_FASTOPEN_KEY)
		return -ENOPROTOOPT;
	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;

	lock_sock(sk);
	switch (optname) {
	case TCP_NODELAY:
		ms->nodelay = !!val;
		if (val)
			mtcp_push(sk);	/* what Nagle held goes now */
		break;
	case TCP_CORK:
		ms->cork = !!val;
		if (!val)
			mtcp_push(sk);
		break;
	case TCP_MAXSEG:
		/* As TCP: bounds the MSS we announce and send (0: the route's). */
		if (val && (val < 88 || val > MAX_TCP_WINDOW)) {
			err = -EINVAL;
		} else {
			WRITE_ONCE(ms->user_mss, val);
			mtcp_sync_mss_pmtu(sk, 0);
		}
		break;
	case TCP_KEEPIDLE:
		if (val < 1 || val > MAX_TCP_KEEPIDLE) {
			err = -EINVAL;
		} else {
			ms->keepalive_time = val;
			if (!((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN)))
				mtcp_arm_keepalive(sk);
		}
		break;
	case TCP_KEEPINTVL:
		if (val < 1 || val > MAX_TCP_KEEPINTVL)
			err = -EINVAL;
		else
			ms->keepalive_intvl = val;
		break;
	case TCP_KEEPCNT:
		if (val < 1 || val > MAX_TCP_KEEPCNT)
			err = -EINVAL;
		else
			ms->keepalive_probes = val;
		break;
	case TCP_SYNCNT:
		if (val < 1 || val > MAX_TCP_SYNCNT)
			err = -EINVAL;
		else
			inet_csk(sk)->icsk_syn_retries = val;
		break;
	case TCP_LINGER2:
		ms->linger2 = val < 0 ? 0 : min(val, 600);
		break;
	case TCP_USER_TIMEOUT:
		if (val < 0)
			err = -EINVAL;
		else
			ms->user_timeout = val;
		break;
	case TCP_QUICKACK:
		/*
		 * As TCP: 1 leaves the interactive (pingpong) mode and sends a
		 * pending delayed ACK now; 0 enters it (ACKs wait for replies).
		 */
		if (val) {
			inet_csk_exit_pingpong_mode(sk);
			if (inet_csk(sk)->icsk_ack.pending & ICSK_ACK_SCHED &&
			    ((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
				mtcp_send_ack(sk);
		} else {
			inet_csk_enter_pingpong_mode(sk);
		}
		break;
	case TCP_DEFER_ACCEPT:
		break;
	default:
		err = -ENOPROTOOPT;
		break;
	}
	release_sock(sk);
	return err;
}

void mtcp_get_info(struct sock *sk, struct tcp_info *info)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	struct mini_sock *ms = mtcp_sk(sk);
	int state = inet_sk_state_load(sk);

	memset(info, 0, sizeof(*info));
	info->tcpi_state = state;
	if (state == TCP_LISTEN) {
		info->tcpi_unacked = READ_ONCE(sk->sk_ack_backlog);
		info->tcpi_sacked = READ_ONCE(sk->sk_max_ack_backlog);
		return;
	}
	info->tcpi_ca_state = ms->ca_state;
	info->tcpi_retransmits = icsk->icsk_retransmits;
	info->tcpi_total_retrans = ms->total_retrans;
	info->tcpi_snd_ssthresh = ms->snd_ssthresh;
	info->tcpi_backoff = icsk->icsk_backoff;
	info->tcpi_rto = jiffies_to_usecs(icsk->icsk_rto);
	info->tcpi_snd_mss = ms->mss;
	info->tcpi_rcv_mss = ms->advmss;
	info->tcpi_advmss = ms->advmss;
	info->tcpi_unacked = ms->snd_nxt - ms->snd_una;
	info->tcpi_rtt = ms->srtt_us >> 3;
	info->tcpi_rttvar = ms->rttvar_us >> 2;
	info->tcpi_snd_cwnd = ms->snd_cwnd;
	info->tcpi_rcv_space = ms->rcvq_space.space;
	info->tcpi_rcv_rtt = ms->rcv_rtt.rtt_us;
	info->tcpi_snd_wnd = ms->snd_wnd;
	if (ms->wscale_ok) {
		info->tcpi_options |= TCPI_OPT_WSCALE;
		info->tcpi_snd_wscale = ms->snd_wscale;
		info->tcpi_rcv_wscale = ms->rcv_wscale;
	}
	info->tcpi_notsent_bytes = ms->write_seq - ms->snd_nxt;
}
EXPORT_SYMBOL_NS_GPL(mtcp_get_info, MTCP_NS);	/* mini_tcp_diag */

static int mtcp_getsockopt(struct sock *sk, int level, int optname,
			   char __user *optval, int __user *optlen)
{
	struct mini_sock *ms = mtcp_sk(sk);
	int val, len;

	if (level != SOL_TCP)
		return ip_getsockopt(sk, level, optname, optval, optlen);

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;

	switch (optname) {
	case TCP_INFO: {
		struct tcp_info info;

		lock_sock(sk);
		mtcp_get_info(sk, &info);
		release_sock(sk);
		len = min_t(unsigned int, len, sizeof(info));
		if (put_user(len, optlen) || copy_to_user(optval, &info, len))
			return -EFAULT;
		return 0;
	}
	case TCP_NODELAY:
		val = ms->nodelay;
		break;
	case TCP_CORK:
		val = ms->cork;
		break;
	case TCP_MAXSEG:
		val = ms->user_mss && ((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN)) ?
		      ms->user_mss : ms->mss;
		break;
	case TCP_KEEPIDLE:
		val = mtcp_keepalive_time(ms) / HZ;
		break;
	case TCP_KEEPINTVL:
		val = mtcp_keepalive_intvl(ms) / HZ;
		break;
	case TCP_KEEPCNT:
		val = mtcp_keepalive_probes(ms);
		break;
	case TCP_SYNCNT:
		val = inet_csk(sk)->icsk_syn_retries ? :
		      READ_ONCE(mtcp_pernet(sock_net(sk))->sysctl_syn_retries);
		break;
	case TCP_LINGER2:
		val = ms->linger2 ? :
		      READ_ONCE(mtcp_pernet(sock_net(sk))->sysctl_fin_timeout) / HZ;
		break;
	case TCP_USER_TIMEOUT:
		val = ms->user_timeout;
		break;
	case TCP_QUICKACK:
		val = !inet_csk_in_pingpong_mode(sk);
		break;
	case TCP_DEFER_ACCEPT:
		val = 0;
		break;
	default:
		return -ENOPROTOOPT;
	}
	len = min_t(unsigned int, len, sizeof(int));
	if (put_user(len, optlen) || copy_to_user(optval, &val, len))
		return -EFAULT;
	return 0;
}

/* SO_KEEPALIVE, under the socket lock (sk_setsockopt). */
static void mtcp_set_keepalive(struct sock *sk, int val)
{
	if ((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_LISTEN))
		return;		/* armed when the connection is established */
	if (val && !sock_flag(sk, SOCK_KEEPOPEN))
		mtcp_reset_keepalive_timer(sk, mtcp_keepalive_time(mtcp_sk(sk)));
	else if (!val && !sock_flag(sk, SOCK_DEAD))
		mtcp_delete_keepalive_timer(sk);
}

/* ------------------------------------------------------- init, destroy */

/* An ACK freed write-queue space: wake writers and pollers for POLLOUT. */
static void mtcp_write_space(struct sock *sk)
{
	struct socket *sock = sk->sk_socket;
	struct socket_wq *wq;

	if (!sock || !sk_stream_is_writeable(sk))
		return;
	clear_bit(SOCK_NOSPACE, &sock->flags);
	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLOUT | EPOLLWRNORM);
	if (wq && wq->fasync_list && !(sk->sk_shutdown & SEND_SHUTDOWN))
		sock_wake_async(wq, SOCK_WAKE_SPACE, POLL_OUT);
	rcu_read_unlock();
}

static int mtcp_init_sock(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct mini_sock *ms = mtcp_sk(sk);

	sk_sockets_allocated_inc(sk);
	mtcp_init_xmit_timers(sk);
	skb_queue_head_init(&ms->ooo_queue);
	icsk->icsk_rto = MTCP_TIMEOUT_INIT;
	ms->mss = MTCP_MSS_DEFAULT;
	ms->snd_cwnd = MTCP_INIT_CWND;
	ms->snd_ssthresh = MTCP_INFINITE_SSTHRESH;
	ms->advmss = MTCP_MSS_DEFAULT;
	sk->sk_state = TCP_CLOSE;
	/* TCP's starting sizes; they grow with the connection (input.c). */
	WRITE_ONCE(sk->sk_sndbuf, READ_ONCE(sysctl_mtcp_wmem[1]));
	WRITE_ONCE(sk->sk_rcvbuf, READ_ONCE(sysctl_mtcp_rmem[1]));
	sk->sk_write_space = mtcp_write_space;
	sock_set_flag(sk, SOCK_USE_WRITE_QUEUE);
	sk->sk_route_caps = 0;
	return 0;
}

static void mtcp_destroy_sock(struct sock *sk)
{
	sk_sockets_allocated_dec(sk);
	mtcp_clear_xmit_timers(sk);
	mtcp_delete_keepalive_timer(sk);
	mtcp_purge_write_queue(sk);
	__skb_queue_purge(&sk->sk_receive_queue);
	__skb_queue_purge(&mtcp_sk(sk)->ooo_queue);
	mtcp_put_port(sk);
}

/* ------------------------------------------------------------- tables */

static void mtcp_v4_reqsk_destructor(struct request_sock *req)
{
	kfree(rcu_dereference_protected(inet_rsk(req)->ireq_opt, 1));
}

struct request_sock_ops mtcp_request_sock_ops __read_mostly = {
	.family		= PF_INET,
	.obj_size	= sizeof(struct mtcp_request_sock),
	.send_reset	= mtcp_reqsk_send_reset,
	.destructor	= mtcp_v4_reqsk_destructor,
};

struct timewait_sock_ops mtcp_timewait_sock_ops = {
	.twsk_obj_size	= sizeof(struct mtcp_timewait_sock),
};

static const struct inet_connection_sock_af_ops mtcp_ipv4_af_ops = {
	.queue_xmit	= ip_queue_xmit,
	/* No .conn_request: only TCP's and DCCP's own input code calls it. */
	.syn_recv_sock	= mtcp_v4_syn_recv_sock,
	.net_header_len	= sizeof(struct iphdr),
	.setsockopt	= ip_setsockopt,
	.getsockopt	= ip_getsockopt,
#ifdef MTCP_HAVE_AF_OPS_ADDR2SOCKADDR
	.addr2sockaddr	= inet_csk_addr2sockaddr,
	.sockaddr_len	= sizeof(struct sockaddr_in),
#endif
};

static int mtcp_v4_init_sock(struct sock *sk)
{
	inet_csk(sk)->icsk_af_ops = &mtcp_ipv4_af_ops;
	inet_csk(sk)->icsk_sync_mss = mtcp_sync_mss_pmtu;
	return mtcp_init_sock(sk);
}

/*
 * Before connect() takes the socket lock: cgroup connect4 BPF programs see
 * (and may rewrite or refuse) the address, as for TCP.
 */
static int mtcp_v4_pre_connect(struct sock *sk, struct mtcp_sockaddr *uaddr,
			       int addr_len)
{
	/* Before the program reads the address, as tcp_v4_pre_connect(). */
	if (addr_len < sizeof(struct sockaddr_in))
		return -EINVAL;
	sock_owned_by_me(sk);
	return mtcp_bpf_inet4_connect(sk, uaddr, addr_len);
}

struct proto mtcp_prot = {
	.name			= "MINI_TCP",
	.owner			= THIS_MODULE,
	.close			= mtcp_close,
	.pre_connect		= mtcp_v4_pre_connect,
	.connect		= mtcp_v4_connect,
	.disconnect		= mtcp_disconnect,
	.accept			= mtcp_proto_accept,
	.ioctl			= mtcp_proto_ioctl,
	.init			= mtcp_v4_init_sock,
	.destroy		= mtcp_destroy_sock,
	.shutdown		= mtcp_shutdown,
	.keepalive		= mtcp_set_keepalive,
	.setsockopt		= mtcp_setsockopt,
	.getsockopt		= mtcp_getsockopt,
	.sendmsg		= mtcp_sendmsg,
	.recvmsg		= mtcp_recvmsg,
	.backlog_rcv		= mtcp_v4_do_rcv,
	.release_cb		= mtcp_release_cb,
	.hash			= mtcp_hash_sk,
	.unhash			= mtcp_unhash,
	.get_port		= mtcp_get_port,
#ifdef MTCP_HAVE_PROTO_ORPHAN_COUNT
	.orphan_count		= &mtcp_orphan_count,
#endif
	.memory_allocated	= &mtcp_memory_allocated,
	.per_cpu_fw_alloc	= &mtcp_memory_per_cpu_fw_alloc,
	.sysctl_mem		= sysctl_mtcp_mem,
	.sysctl_rmem		= sysctl_mtcp_rmem,
	.sysctl_wmem		= sysctl_mtcp_wmem,
	.memory_pressure	= &mtcp_memory_pressure,
	.sockets_allocated	= &mtcp_sockets_allocated,
	.enter_memory_pressure	= mtcp_enter_memory_pressure,
	.leave_memory_pressure	= mtcp_leave_memory_pressure,
	.no_autobind		= true,
	.max_header		= MTCP_MAX_HEADER,
	.obj_size		= sizeof(struct mini_sock),
	.slab_flags		= SLAB_TYPESAFE_BY_RCU,
	.rsk_prot		= &mtcp_request_sock_ops,
	.twsk_prot		= &mtcp_timewait_sock_ops,
};

/*
 * The socket calls, in two versions that differ in .set_peek_off only:
 * SO_PEEK_OFF answers as TCP's does on the kernel the module runs on
 * (accepted from 6.10 on, EOPNOTSUPP before), and mtcp_init() registers
 * the version that matches inet_stream_ops.  Without .set_peek_off,
 * sk_peek_off stays -1 and recvmsg's peek offsets are 0.
 */
#define MTCP_STREAM_OPS(name, peek_off)				\
const struct proto_ops name = {					\
	.family		= PF_INET,				\
	.owner		= THIS_MODULE,				\
	.release	= inet_release,				\
	.bind		= inet_bind,				\
	.connect	= inet_stream_connect,			\
	.socketpair	= sock_no_socketpair,			\
	.accept		= inet_accept,				\
	.getname	= inet_getname,				\
	.poll		= mtcp_poll,				\
	.ioctl		= inet_ioctl,				\
	.gettstamp	= sock_gettstamp,			\
	.listen		= mtcp_listen,				\
	.shutdown	= inet_shutdown,			\
	.setsockopt	= sock_common_setsockopt,		\
	.getsockopt	= sock_common_getsockopt,		\
	.sendmsg	= inet_sendmsg,				\
	.recvmsg	= sock_common_recvmsg,			\
	.mmap		= sock_no_mmap,				\
	.set_peek_off	= peek_off,				\
}

MTCP_STREAM_OPS(mtcp_stream_ops, NULL);
MTCP_STREAM_OPS(mtcp_stream_peek_off_ops, sk_set_peek_off);
