// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp: timers.
 *
 *   icsk_retransmit_timer  RTO: retransmit the oldest unacknowledged skb
 *                          (SYN, SYN-ACK, data or FIN) with exponential
 *                          backoff; give up after the retries; probe a
 *                          closed window, or retry data that could not
 *                          be sent, as many times
 *   icsk_keepalive_timer   an orphan's FIN_WAIT_2 lifetime (fin_timeout),
 *                          or keepalive probes (SO_KEEPALIVE), as TCP's
 *   inet_timewait_sock     TIME_WAIT (tw_timeout), run by the inet core
 *   request sock timer     SYN-ACK retransmission, run by the inet core
 *
 * A timer that fires while the user holds the socket lock tries again a
 * little later, as DCCP's do.  Every armed timer holds a socket reference
 * (sk_reset_timer), dropped at the end of its handler.
 */
#include "mini_tcp.h"

#define MTCP_TIMER_RETRY	(HZ / 20)

void mtcp_reset_rto(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);

	inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, icsk->icsk_rto,
				  MTCP_RTO_MAX);
}

/*
 * TCP_USER_TIMEOUT: how long transmitted data (or a window probe) may stay
 * unacknowledged before the connection is given up, whatever the count of
 * retransmissions (RFC 5482, as tcp_retransmit_timer and tcp_probe_timer).
 */
static bool mtcp_user_timeout_expired(struct sock *sk, u32 since)
{
	int tmo = READ_ONCE(mtcp_sk(sk)->user_timeout);

	return tmo && (s32)((u32)jiffies - since) >= (s32)msecs_to_jiffies(tmo);
}

static int mtcp_retries_limit(struct sock *sk)
{
	struct mtcp_net *mn = mtcp_pernet(sock_net(sk));

	switch (sk->sk_state) {
	case TCP_SYN_SENT:
		return inet_csk(sk)->icsk_syn_retries ? :
		       READ_ONCE(mn->sysctl_syn_retries);
	case TCP_SYN_RECV:
		return READ_ONCE(mn->sysctl_synack_retries);
	default:
		return sock_flag(sk, SOCK_DEAD) ?
		       READ_ONCE(mn->sysctl_orphan_retries) :
		       READ_ONCE(mn->sysctl_retries2);
	}
}

/*
 * Nothing in flight, yet unsent data (or our FIN) waits: on a closed
 * window, or because sending it failed (no route).  Try the data again,
 * else probe the window; either way count the attempt, as TCP's probe
 * timer does: an unanswered peer is given up on after retries2 (an ACK
 * resets the count), an orphan after orphan_retries.
 */
static void mtcp_probe_timer(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct mini_sock *ms = mtcp_sk(sk);
	int limit = mtcp_retries_limit(sk);

	bool alive;

	if (!icsk->icsk_probes_out)
		icsk->icsk_probes_tstamp = (u32)jiffies;
	/*
	 * An orphan whose probes the peer answers (a zero window that never
	 * opens) is given up on once the backed-off interval reaches
	 * MTCP_RTO_MAX, as tcp_probe_timer(); an unanswered one after
	 * orphan_retries probes like any socket after its limit.
	 */
	alive = inet_csk_rto_backoff(icsk, MTCP_RTO_MAX) < MTCP_RTO_MAX;
	if (icsk->icsk_probes_out >= limit ||
	    (sock_flag(sk, SOCK_DEAD) && !alive && icsk->icsk_backoff >= limit) ||
	    mtcp_user_timeout_expired(sk, icsk->icsk_probes_tstamp)) {
		mtcp_fsm_event(sk, MTCP_EV_RETRIES);
		return;
	}
	icsk->icsk_probes_out++;
	mtcp_push(sk);
	if (ms->snd_una == ms->snd_nxt)
		mtcp_write_wakeup(sk);	/* what a small window allows */
	if (ms->snd_una != ms->snd_nxt)
		return;		/* data went out: the RTO runs now */
	mtcp_send_probe(sk);
	if (icsk->icsk_backoff < 15)
		icsk->icsk_backoff++;
	inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS,
				  min_t(unsigned long,
					icsk->icsk_rto << icsk->icsk_backoff,
					MTCP_RTO_MAX), MTCP_RTO_MAX);
}

/*
 * Our FIN is due (the state machine moved to FIN_WAIT_1, CLOSING or
 * LAST_ACK) but mtcp_send_fin() could not allocate it.
 */
static bool mtcp_fin_due(const struct sock *sk)
{
	return !mtcp_sk(sk)->fin_queued &&
	       ((1 << sk->sk_state) &
		(TCPF_FIN_WAIT1 | TCPF_CLOSING | TCPF_LAST_ACK));
}

static void mtcp_retransmit_timer(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct mini_sock *ms = mtcp_sk(sk);

	if (mtcp_fin_due(sk)) {
		/* Counted as retransmissions: a FIN that never fits gives up. */
		if (icsk->icsk_retransmits >= mtcp_retries_limit(sk)) {
			mtcp_fsm_event(sk, MTCP_EV_RETRIES);
			return;
		}
		icsk->icsk_retransmits++;
		mtcp_send_fin(sk);
		if (icsk->icsk_pending)
			return;	/* sent (its RTO runs), or the retry is armed */
	}

	if (ms->snd_una == ms->snd_nxt) {
		if (ms->snd_nxt == ms->write_seq)
			return;
		mtcp_probe_timer(sk);
		return;
	}

	if (!icsk->icsk_retransmits) {
		struct sk_buff *head = skb_peek(&sk->sk_write_queue);

		ms->retrans_stamp = head ? MTCP_SKB_CB(head)->when : (u32)jiffies;
	}
	if (icsk->icsk_retransmits >= mtcp_retries_limit(sk) ||
	    mtcp_user_timeout_expired(sk, ms->retrans_stamp)) {
		/* ETIMEDOUT and CLOSED: the table says so for every state. */
		mtcp_fsm_event(sk, MTCP_EV_RETRIES);
		return;
	}

	/* Data or FIN: the congestion window's answer, then go-back-N. */
	if (!((1 << sk->sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV)))
		mtcp_enter_loss(sk);
	mtcp_retransmit_head(sk);
	icsk->icsk_retransmits++;
	icsk->icsk_backoff++;
	icsk->icsk_rto = min(icsk->icsk_rto << 1, MTCP_RTO_MAX);
	if (ms->user_timeout) {
		/* Wake up when the user timeout ends, not a backoff later. */
		s32 left = (s32)(ms->retrans_stamp +
				 msecs_to_jiffies(ms->user_timeout) - (u32)jiffies);

		inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS,
					  clamp_t(s32, left, 1, icsk->icsk_rto),
					  MTCP_RTO_MAX);
		return;
	}
	mtcp_reset_rto(sk);
}

/*
 * The start of the retransmission and delayed-ACK handlers, under the
 * socket's spinlock: is the event @pending and due at @timeout?  A busy
 * owner (or an early wakeup) re-arms @t instead.
 */
static bool mtcp_timer_due(struct sock *sk, struct timer_list *t, bool pending,
			   unsigned long timeout)
{
	if (sock_owned_by_user(sk)) {
		sk_reset_timer(sk, t, jiffies + MTCP_TIMER_RETRY);
		return false;
	}
	if (sk->sk_state == TCP_CLOSE || !pending)
		return false;
	if (time_after(timeout, jiffies)) {
		sk_reset_timer(sk, t, timeout);
		return false;
	}
	return true;
}

static void mtcp_write_timer(struct timer_list *t)
{
	struct sock *sk = mtcp_rtx_timer_sk(t);
	struct inet_connection_sock *icsk = inet_csk(sk);

	bh_lock_sock(sk);
	if (mtcp_timer_due(sk, t, icsk->icsk_pending, mtcp_rtx_timeout(sk))) {
		icsk->icsk_pending = 0;
		mtcp_retransmit_timer(sk);
	}
	bh_unlock_sock(sk);
	sock_put(sk);
}

/*
 * The delayed ACK is due (40 ms after in-order data nobody answered).  An
 * interactive exchange that let it expire was not one: leave pingpong
 * mode, as TCP's delack timer does.
 */
static void mtcp_delack_timer(struct timer_list *t)
{
	struct inet_connection_sock *icsk =
		mtcp_from_timer(icsk, t, icsk_delack_timer);
	struct sock *sk = &icsk->icsk_inet.sk;

	bh_lock_sock(sk);
	if (mtcp_timer_due(sk, t, icsk->icsk_ack.pending & ICSK_ACK_TIMER,
			   mtcp_delack_timeout(sk))) {
		icsk->icsk_ack.pending &= ~ICSK_ACK_TIMER;
		if (icsk->icsk_ack.pending & ICSK_ACK_SCHED) {
			inet_csk_exit_pingpong_mode(sk);
			mtcp_send_ack(sk);
			MTCP_INC_STATS(sock_net(sk), MTCP_MIB_DELAYEDACKS);
		}
	}
	bh_unlock_sock(sk);
	sock_put(sk);
}

/*
 * SO_KEEPALIVE: after keepalive_time without a segment from the peer, and
 * with nothing of ours outstanding (the RTO watches that), send a probe
 * every keepalive_intvl; an ACK (mtcp_rcv_ack) resets the count.  After
 * keepalive_probes unanswered probes: RST and ETIMEDOUT, as TCP.
 */
static void mtcp_keepalive(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct mini_sock *ms = mtcp_sk(sk);
	u32 idle = (u32)jiffies - icsk->icsk_ack.lrcvtime;

	if (ms->snd_una != ms->write_seq) {
		mtcp_reset_keepalive_timer(sk, mtcp_keepalive_time(ms));
		return;
	}
	if (idle < mtcp_keepalive_time(ms) && !icsk->icsk_probes_out) {
		mtcp_reset_keepalive_timer(sk, mtcp_keepalive_time(ms) - idle);
		return;
	}
	/* TCP_USER_TIMEOUT, if set, replaces the probe count (as TCP). */
	if ((ms->user_timeout && icsk->icsk_probes_out &&
	     idle >= msecs_to_jiffies(ms->user_timeout)) ||
	    (!ms->user_timeout &&
	     icsk->icsk_probes_out >= mtcp_keepalive_probes(ms))) {
		mtcp_send_active_rst(sk, GFP_ATOMIC);
		mtcp_fsm_event(sk, MTCP_EV_RETRIES);
		return;
	}
	mtcp_send_probe(sk);
	icsk->icsk_probes_out++;
	mtcp_reset_keepalive_timer(sk, mtcp_keepalive_intvl(ms));
}

/* How long an orphan waits in FIN_WAIT_2: TCP_LINGER2, else fin_timeout. */
static int mtcp_fin_time(const struct sock *sk)
{
	return mtcp_sk(sk)->linger2 ? mtcp_sk(sk)->linger2 * HZ :
	       READ_ONCE(mtcp_pernet(sock_net(sk))->sysctl_fin_timeout);
}

/*
 * Orphan in FIN_WAIT_2 for longer than fin_timeout - tw_timeout: a
 * mini-sock for the rest (or reaped); or keepalive.
 */
static void mtcp_keepalive_timer(struct timer_list *t)
{
	struct inet_connection_sock *icsk =
		mtcp_from_timer(icsk, t, icsk_keepalive_timer);
	struct sock *sk = &icsk->icsk_inet.sk;

	bh_lock_sock(sk);
	if (sock_owned_by_user(sk)) {
		mtcp_reset_keepalive_timer(sk, MTCP_TIMER_RETRY);
		goto out;
	}
	if (sk->sk_state == TCP_FIN_WAIT2 && sock_flag(sk, SOCK_DEAD)) {
		int tw_timeout = READ_ONCE(mtcp_pernet(sock_net(sk))->sysctl_tw_timeout);

		/* The last tw_timeout of a long TCP_LINGER2, as a mini-sock. */
		if (mtcp_fin_time(sk) > tw_timeout)
			mtcp_time_wait(sk, TCP_FIN_WAIT2, tw_timeout);
		else
			mtcp_fsm_event(sk, MTCP_EV_FIN_WAIT2_TIMEOUT);
	} else if (sock_flag(sk, SOCK_KEEPOPEN) &&
		 ((1 << sk->sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)))
		mtcp_keepalive(sk);
out:
	bh_unlock_sock(sk);
	sock_put(sk);
}

/* Start keepalive on a connected socket that asked for it. */
void mtcp_arm_keepalive(struct sock *sk)
{
	if (sock_flag(sk, SOCK_KEEPOPEN))
		mtcp_reset_keepalive_timer(sk, mtcp_keepalive_time(mtcp_sk(sk)));
}

void mtcp_init_xmit_timers(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);

	timer_setup(mtcp_rtx_timer(sk), mtcp_write_timer, 0);
	timer_setup(&icsk->icsk_delack_timer, mtcp_delack_timer, 0);
	timer_setup(&icsk->icsk_keepalive_timer, mtcp_keepalive_timer, 0);
	icsk->icsk_pending = 0;
	icsk->icsk_ack.pending = 0;
}

/* Stop the retransmit and delayed-ACK timers (each holds a reference). */
void mtcp_clear_xmit_timers(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);

	WRITE_ONCE(icsk->icsk_pending, 0);
	WRITE_ONCE(icsk->icsk_ack.pending, 0);
	sk_stop_timer(sk, mtcp_rtx_timer(sk));
	sk_stop_timer(sk, &icsk->icsk_delack_timer);
}

void mtcp_reset_keepalive_timer(struct sock *sk, unsigned long len)
{
	sk_reset_timer(sk, &inet_csk(sk)->icsk_keepalive_timer, jiffies + len);
}

void mtcp_delete_keepalive_timer(struct sock *sk)
{
	sk_stop_timer(sk, &inet_csk(sk)->icsk_keepalive_timer);
}

/* Called when an orphan reaches FIN_WAIT_2, or a FIN_WAIT_2 socket is orphaned. */
void mtcp_arm_fin_wait2(struct sock *sk)
{
	mtcp_reset_keepalive_timer(sk, mtcp_fin_time(sk));
}

/*
 * An orphan in FIN_WAIT_2 has nothing left to send and nobody to read:
 * all it waits for is the peer's FIN.  As TCP's (tcp_close()), it waits
 * as a TIME_WAIT mini-sock in substate FIN_WAIT_2 for the last tw_timeout
 * of its fin_timeout, a fraction of a full socket's memory; before that,
 * if the wait is longer, as itself.  Called with the socket locked, at a
 * point where it may be freed (the caller holds a reference).
 */
void mtcp_orphan_fin_wait2(struct sock *sk)
{
	int tw_timeout = READ_ONCE(mtcp_pernet(sock_net(sk))->sysctl_tw_timeout);
	int tmo = mtcp_fin_time(sk);

	if (tmo > tw_timeout)
		mtcp_reset_keepalive_timer(sk, tmo - tw_timeout);
	else
		mtcp_time_wait(sk, TCP_FIN_WAIT2, tmo);
}

/*
 * Move a full socket into TIME_WAIT (or an orphan's FIN_WAIT_2, @substate):
 * a small inet_timewait_sock takes over its hash slot and port for @timeo,
 * the full socket goes.
 */
void mtcp_time_wait(struct sock *sk, int substate, int timeo)
{
	struct mini_sock *ms = mtcp_sk(sk);
	struct inet_timewait_sock *tw;

	tw = mtcp_twsk_alloc(sk, substate);
	if (tw) {
		struct mtcp_timewait_sock *mtw = mtcp_twsk((struct sock *)tw);

		mtw->rcv_nxt = ms->rcv_nxt;
		mtw->snd_nxt = ms->snd_nxt;
		mtw->rcv_wnd = ms->rcv_wnd;
		mtw->rcv_wscale = ms->rcv_wscale;
		mtw->last_oow_ack_time = 0;
		/* tw is not ours to touch after the dance. */
		mtcp_twsk_hashdance(tw, sk, timeo);
	}
	/* Without memory for it, the connection just closes (as TCP). */
	mtcp_done(sk);
}

void mtcp_tw_rearm(struct inet_timewait_sock *tw)
{
	struct mtcp_net *mn = mtcp_pernet(twsk_net(tw));

	mtcp_twsk_reschedule(tw, READ_ONCE(mn->sysctl_tw_timeout));
}
