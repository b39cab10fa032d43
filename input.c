// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp: the receive path, in softirq.
 *
 * mtcp_v4_rcv() validates a segment (length, data offset, checksum over the
 * pseudo-header with our protocol number, options), looks up its socket
 * and dispatches it:
 *   - nobody's:       RST (RFC 9293 §3.10.7.1), output.c
 *   - a listener:     SYN -> request sock or cookie; ACK -> cookie check
 *   - a request sock: the final ACK creates the child (lockless, as TCP)
 *   - TIME_WAIT:      re-ACK a FIN, let a newer SYN through, die on RST
 *   - a full socket:  under the socket lock, RFC 9293 §3.10.7.4 step by step
 * Each step turns what it sees into events for the state machine table
 * (fsm.c) and lets mtcp_fsm_event() carry out the transition.
 */
#include <linux/icmp.h>
#include <net/icmp.h>
#include <net/inet_hashtables.h>
#include <net/xfrm.h>

#include "mini_tcp.h"

/*
 * The options of a SYN (MSS, window scale), as tcp_parse_options() reads
 * them: unknown kinds are skipped by their length, an option of the wrong
 * length is ignored, and a malformed list ends the parsing - the segment
 * itself is still processed, as TCP processes it.  @opt holds the
 * defaults on entry.
 */
void mtcp_parse_options(const struct net *net, const struct tcphdr *th,
			struct mtcp_options *opt)
{
	const u8 *p = (const u8 *)(th + 1);
	int left = th->doff * 4 - MTCP_HDR_MIN;

	if (!th->syn)
		return;
	while (left > 0) {
		u8 kind = *p;
		u8 len;

		if (kind == TCPOPT_EOL)
			return;
		if (kind == TCPOPT_NOP) {
			p++;
			left--;
			continue;
		}
		if (left < 2)
			return;
		len = p[1];
		if (len < 2 || len > left)
			return;		/* malformed: stop, as TCP does */
		if (kind == TCPOPT_MSS && len == TCPOLEN_MSS)
			opt->mss = max_t(u16, get_unaligned_be16(p + 2), 88);
		if (kind == TCPOPT_WINDOW && len == TCPOLEN_WINDOW &&
		    READ_ONCE(mtcp_pernet(net)->sysctl_window_scaling)) {
			/* RFC 7323 §2.3: a larger shift is taken as 14. */
			opt->wscale_ok = 1;
			opt->snd_wscale = min_t(u8, p[2], MTCP_MAX_WSCALE);
		}
		p += len;
		left -= len;
	}
}

/* ------------------------------------------------------ RFC 5961 §7 limits */

/*
 * At most one out-of-window ACK per invalid_ratelimit for @last (a socket,
 * request or TIME_WAIT sock): a blind attacker, or two ends that disagree
 * about the sequence space, must not turn us into an ACK storm.  As
 * tcp_oow_rate_limited(), only pure ACKs and SYNs are limited: data is
 * unlikely to be part of a loop.  @last may be written without the
 * socket lock (request and TIME_WAIT socks).
 */
static bool __mtcp_oow_rate_limited(struct net *net, int mib, u32 *last)
{
	u32 val = READ_ONCE(*last);
	u32 now = (u32)jiffies;

	if (val) {
		s32 elapsed = (s32)(now - val);

		if (elapsed >= 0 &&
		    elapsed < READ_ONCE(mtcp_pernet(net)->sysctl_invalid_ratelimit)) {
			MTCP_INC_STATS(net, mib);
			return true;
		}
	}
	WRITE_ONCE(*last, now ? : 1);
	return false;
}

static bool mtcp_oow_rate_limited(struct net *net, const struct sk_buff *skb,
				  int mib, u32 *last)
{
	if (mtcp_seg_len(skb) && !mtcp_hdr(skb)->syn)
		return false;
	return __mtcp_oow_rate_limited(net, mib, last);
}

/*
 * The per-namespace quota of challenge ACKs (tcp_challenge_ack_limit).  As
 * in Linux since 6.0 it is off by default (INT_MAX): a counter shared by
 * every connection is a side channel (CVE-2016-5696); the per-socket
 * limit above is what stops a flood of bad segments.
 */
static bool mtcp_challenge_allowed(struct net *net)
{
	struct mtcp_net *mn = mtcp_pernet(net);
	int limit = READ_ONCE(mn->sysctl_challenge_ack_limit);
	u32 now, count;

	if (limit == INT_MAX)
		return true;
	now = jiffies / HZ;
	if (now != READ_ONCE(mn->challenge_timestamp)) {
		WRITE_ONCE(mn->challenge_timestamp, now);
		WRITE_ONCE(mn->challenge_count,
			   (limit + 1) / 2 + get_random_u32_below(limit + 1));
	}
	count = READ_ONCE(mn->challenge_count);
	if (!count)
		return false;
	WRITE_ONCE(mn->challenge_count, count - 1);
	return true;
}

/* RFC 5961 §3.2, §4.2, §5.2: the challenge ACK, rate-limited (§7). */
void mtcp_send_challenge_ack(struct sock *sk)
{
	struct net *net = sock_net(sk);

	if (__mtcp_oow_rate_limited(net, MTCP_MIB_ACKSKIPPEDCHALLENGE,
				    &mtcp_sk(sk)->last_oow_ack_time))
		return;
	if (!mtcp_challenge_allowed(net))
		return;
	MTCP_INC_STATS(net, MTCP_MIB_CHALLENGEACK);
	mtcp_send_ack(sk);
}

/* ----------------------------------------------------------- ACK handling */

/* RTO = SRTT + 4 RTTVAR (RFC 6298 §2.3), 200 ms at least, as Linux. */
static void mtcp_set_rto(struct sock *sk)
{
	struct mini_sock *ms = mtcp_sk(sk);
	unsigned long rto;

	if (!ms->srtt_us)
		return;
	rto = usecs_to_jiffies((ms->srtt_us >> 3) + ms->rttvar_us);
	inet_csk(sk)->icsk_rto = clamp_t(unsigned long, rto, MTCP_RTO_MIN,
					 MTCP_RTO_MAX);
}

/* RFC 6298 with one sample per flight, never from a retransmission. */
void mtcp_rtt_sample(struct sock *sk, u32 sent)
{
	struct mini_sock *ms = mtcp_sk(sk);
	long m = max_t(long, jiffies_to_usecs(jiffies - sent), 1);

	if (!ms->srtt_us) {
		ms->srtt_us = m << 3;
		ms->rttvar_us = m << 1;
	} else {
		long delta = m - (ms->srtt_us >> 3);

		ms->srtt_us += delta;
		ms->rttvar_us += abs(delta) - (ms->rttvar_us >> 2);
	}
	mtcp_set_rto(sk);
}

/*
 * RFC 5681 §3.1: slow start below ssthresh (one segment per segment
 * ACKed), congestion avoidance above (one segment per window).
 */
static void mtcp_cong_avoid(struct mini_sock *ms, u32 acked)
{
	if (ms->snd_cwnd < ms->snd_ssthresh) {
		u32 cwnd = min(ms->snd_cwnd + acked, ms->snd_ssthresh);

		acked -= cwnd - ms->snd_cwnd;
		ms->snd_cwnd = cwnd;
		if (!acked)
			return;
	}
	ms->snd_cwnd_cnt += acked;
	if (ms->snd_cwnd_cnt >= ms->snd_cwnd) {
		ms->snd_cwnd_cnt -= ms->snd_cwnd;
		ms->snd_cwnd = min(ms->snd_cwnd + 1, 65535U);
	}
}

/*
 * RFC 5681 §3.2 and RFC 6582: the third duplicate ACK retransmits the
 * head and enters fast recovery; each further one inflates the window
 * by the segment that has left the network.
 */
static void mtcp_dupack(struct sock *sk)
{
	struct mini_sock *ms = mtcp_sk(sk);

	ms->dupacks = min(ms->dupacks + 1, 255);
	if (ms->ca_state == MTCP_CA_RECOVERY) {
		ms->snd_cwnd++;
		return;
	}
	if (ms->ca_state != MTCP_CA_OPEN || ms->dupacks != 3)
		return;
	/* RFC 6582 §3.2 step 2: not again for losses of the same window. */
	if (before(ms->snd_una, ms->high_seq))
		return;
	ms->snd_ssthresh = max(mtcp_in_flight(ms) / ms->mss / 2, 2U);
	ms->snd_cwnd = ms->snd_ssthresh + 3;
	ms->snd_cwnd_cnt = 0;
	ms->high_seq = ms->snd_nxt;
	ms->ca_state = MTCP_CA_RECOVERY;
	MTCP_INC_STATS(sock_net(sk), MTCP_MIB_FASTRETRANS);
	mtcp_retransmit_head(sk);
	mtcp_reset_rto(sk);
}

/* A new cumulative ACK of @segs segments: the congestion window's answer. */
static void mtcp_ack_cwnd(struct sock *sk, u32 ack, u32 segs)
{
	struct mini_sock *ms = mtcp_sk(sk);

	switch (ms->ca_state) {
	case MTCP_CA_RECOVERY:
		if (!before(ack, ms->high_seq)) {
			/* Full ACK (RFC 6582 §3.2 step 3, option 1). */
			ms->snd_cwnd = min(ms->snd_ssthresh,
					   max(mtcp_in_flight(ms) / ms->mss, 1U) + 1);
			ms->ca_state = MTCP_CA_OPEN;
			break;
		}
		/* Partial ACK: the next hole is lost too; deflate by what left. */
		mtcp_retransmit_head(sk);
		ms->snd_cwnd = ms->snd_cwnd > segs ? ms->snd_cwnd - segs + 1 : 1;
		return;
	case MTCP_CA_LOSS:
		if (before(ms->rtx_nxt, ack))
			ms->rtx_nxt = ack;
		if (!before(ack, ms->high_seq)) {
			ms->ca_state = MTCP_CA_OPEN;
			ms->rtx_nxt = ms->snd_nxt;
		}
		fallthrough;
	default:
		mtcp_cong_avoid(ms, segs);
	}
}

/* ------------------------------------------------------ buffer autotuning */

/*
 * Let the send buffer hold two congestion windows of full segments, as
 * tcp_sndbuf_expand(): a writer must never be what keeps the window from
 * filling.  Not if the user fixed SO_SNDBUF, nor while the protocol is
 * short of memory; never beyond wmem[2].
 */
static void mtcp_sndbuf_expand(struct sock *sk)
{
	const struct mini_sock *ms = mtcp_sk(sk);
	u64 sndmem;

	if (sk->sk_userlocks & SOCK_SNDBUF_LOCK)
		return;
	if (sk_under_memory_pressure(sk) ||
	    sk_memory_allocated(sk) >= sk_prot_mem_limits(sk, 0))
		return;
	sndmem = (u64)roundup_pow_of_two(SKB_TRUESIZE(ms->mss + MTCP_MAX_HEADER)) *
		 max(ms->snd_cwnd, MTCP_INIT_CWND) * 2;
	sndmem = min_t(u64, sndmem, READ_ONCE(sysctl_mtcp_wmem[2]));
	if (sndmem > READ_ONCE(sk->sk_sndbuf))
		WRITE_ONCE(sk->sk_sndbuf, sndmem);
}

/*
 * The receiver's RTT, as tcp_rcv_rtt_measure(): the time it takes a
 * window of data to arrive, which is at least one round trip; the
 * smallest such time seen.  Called for in-order data.
 */
static void mtcp_rcv_rtt_measure(struct mini_sock *ms)
{
	u64 now = tcp_clock_us();

	if (ms->rcv_rtt.time) {
		u32 sample;

		if (before(ms->rcv_nxt, ms->rcv_rtt.seq))
			return;
		sample = max_t(u64, now - ms->rcv_rtt.time, 1);
		if (!ms->rcv_rtt.rtt_us || sample < ms->rcv_rtt.rtt_us)
			ms->rcv_rtt.rtt_us = sample;
	}
	ms->rcv_rtt.seq = ms->rcv_nxt + max(ms->rcv_wnd, 1U);
	ms->rcv_rtt.time = now;
}

/*
 * Receive buffer autotuning, as tcp_rcv_space_adjust(): once per receiver
 * RTT, if the reader took more than in the round trip before, let the
 * buffer hold a window twice that (the sender may be in slow start),
 * more when the rate grows fast; the window follows the buffer
 * (mtcp_select_window).  Up to rmem[2]; not if the user set SO_RCVBUF.
 * Called by recvmsg with the socket locked.
 */
void mtcp_rcv_space_adjust(struct sock *sk)
{
	struct mini_sock *ms = mtcp_sk(sk);
	u64 now = tcp_clock_us();
	u32 copied, space;

	if (!ms->rcv_rtt.rtt_us ||
	    now - ms->rcvq_space.time < ms->rcv_rtt.rtt_us)
		return;
	copied = ms->copied_seq - ms->rcvq_space.seq;
	space = ms->rcvq_space.space;
	if (copied > space) {
		if (READ_ONCE(mtcp_pernet(sock_net(sk))->sysctl_moderate_rcvbuf) &&
		    !(sk->sk_userlocks & SOCK_RCVBUF_LOCK)) {
			u64 rcvwin = 2ULL * copied + 16 * ms->advmss;
			u64 rcvbuf;

			if (space)
				rcvwin += 2 * div_u64(rcvwin * (copied - space), space);
			/* The window is half the buffer: mtcp_select_window(). */
			rcvbuf = min_t(u64, 2 * rcvwin, READ_ONCE(sysctl_mtcp_rmem[2]));
			if (rcvbuf > READ_ONCE(sk->sk_rcvbuf))
				WRITE_ONCE(sk->sk_rcvbuf, rcvbuf);
		}
		ms->rcvq_space.space = copied;
	}
	ms->rcvq_space.seq = ms->copied_seq;
	ms->rcvq_space.time = now;
}

/* A connection is established: start its buffers' tuning. */
void mtcp_init_buffer_space(struct sock *sk)
{
	struct mini_sock *ms = mtcp_sk(sk);

	mtcp_sndbuf_expand(sk);
	ms->rcvq_space.space = min_t(u32, ms->rcv_wnd,
				     MTCP_INIT_CWND * ms->advmss);
	ms->rcvq_space.seq = ms->copied_seq;
	ms->rcvq_space.time = tcp_clock_us();
	/* The handshake's round trip, if we timed it, until data tells. */
	ms->rcv_rtt.rtt_us = ms->srtt_us >> 3;
	ms->rcv_rtt.seq = ms->rcv_nxt;
	ms->rcv_rtt.time = 0;
}

/* Free what @ack covers and advance snd_una. */
static void mtcp_ack_advance(struct sock *sk, u32 ack)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct mini_sock *ms = mtcp_sk(sk);
	bool rtx_acked = false;
	u32 first_sent = 0;
	struct sk_buff *skb;

	while ((skb = skb_peek(&sk->sk_write_queue)) != NULL) {
		struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);

		if (after(cb->end_seq, ack))
			break;
		if (cb->sacked)
			rtx_acked = true;
		else if (!first_sent)
			first_sent = cb->when ? : 1;
		__skb_unlink(skb, &sk->sk_write_queue);
		mtcp_wqueue_free(sk, skb);
	}
	/* A skb of several segments (GSO) acknowledged in part samples too. */
	if (skb && !first_sent && !rtx_acked && !MTCP_SKB_CB(skb)->sacked &&
	    MTCP_SKB_CB(skb)->when && after(ack, MTCP_SKB_CB(skb)->seq))
		first_sent = MTCP_SKB_CB(skb)->when;
	/*
	 * Karn's rule (RFC 6298 §3): an ACK that covers a retransmission
	 * cannot tell which transmission it answers - no sample at all,
	 * even from the never-retransmitted segments it also covers.
	 */
	if (first_sent && !rtx_acked)
		mtcp_rtt_sample(sk, first_sent);
	ms->snd_una = ack;
	icsk->icsk_retransmits = 0;
	if (icsk->icsk_backoff) {
		/* The peer answers: the RTO comes back down (RFC 6298 §5.7). */
		icsk->icsk_backoff = 0;
		mtcp_set_rto(sk);
	}

	if (ms->snd_una == ms->snd_nxt)
		inet_csk_clear_xmit_timer(sk, ICSK_TIME_RETRANS);
	else
		mtcp_reset_rto(sk);

	/* A writer waits for room: maybe the buffer should grow instead. */
	if (sk->sk_socket && test_bit(SOCK_NOSPACE, &sk->sk_socket->flags))
		mtcp_sndbuf_expand(sk);
	sk->sk_write_space(sk);
}

/*
 * RFC 9293 §3.10.7.4 "fifth": the ACK field.  Returns false when the
 * segment must be dropped.  May change the state (our SYN or FIN acked).
 */
static bool mtcp_rcv_ack(struct sock *sk, struct sk_buff *skb)
{
	const struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	struct mini_sock *ms = mtcp_sk(sk);
	u32 old_wnd = ms->snd_wnd;
	u32 ack = cb->ack_seq;
	u32 prior_una;

	if (after(ack, ms->snd_nxt)) {
		/* Acknowledges something not yet sent. */
		if (sk->sk_state == TCP_SYN_RECV)
			mtcp_v4_send_reset(sock_net(sk), skb);
		else if (!mtcp_oow_rate_limited(sock_net(sk), skb,
						MTCP_MIB_ACKSKIPPEDSEQ,
						&ms->last_oow_ack_time))
			mtcp_send_ack(sk);
		return false;
	}
	if (sk->sk_state == TCP_SYN_RECV && !after(ack, ms->snd_una)) {
		mtcp_v4_send_reset(sock_net(sk), skb);
		return false;
	}
	/*
	 * RFC 5961 §5.2: an ACK older than anything the peer could still
	 * legitimately acknowledge (SND.UNA - MAX.SND.WND) is a blind
	 * injection: challenge it and drop the segment, data and all.
	 */
	if (before(ack, ms->snd_una - ms->max_window)) {
		mtcp_send_challenge_ack(sk);
		return false;
	}

	/* Window update from a newer segment, or a newer ack of the same. */
	if (!before(ack, ms->snd_una) &&
	    (before(ms->snd_wl1, cb->seq) ||
	     (ms->snd_wl1 == cb->seq && !before(ack, ms->snd_wl2)))) {
		ms->snd_wnd = ntohs(mtcp_hdr(skb)->window) << ms->snd_wscale;
		ms->max_window = max(ms->max_window, ms->snd_wnd);
		ms->snd_wl1 = cb->seq;
		ms->snd_wl2 = ack;
	}

	/* The peer is alive: window probes start counting afresh. */
	inet_csk(sk)->icsk_probes_out = 0;

	if (!after(ack, ms->snd_una)) {
		/* RFC 5681 §2: a duplicate ACK carries nothing, changes nothing. */
		if (ack == ms->snd_una && ms->snd_una != ms->snd_nxt &&
		    !mtcp_seg_len(skb) && ms->snd_wnd == old_wnd &&
		    sk->sk_state != TCP_SYN_RECV)
			mtcp_dupack(sk);
		return true;		/* duplicate or old: nothing new */
	}

	prior_una = ms->snd_una;
	mtcp_ack_advance(sk, ack);
	ms->dupacks = 0;
	if (sk->sk_state != TCP_SYN_RECV)
		mtcp_ack_cwnd(sk, ack, DIV_ROUND_UP(ack - prior_una, ms->mss));

	if (sk->sk_state == TCP_SYN_RECV)
		mtcp_fsm_event(sk, MTCP_EV_RCV_ACK_SYN);
	if (ms->fin_queued && ms->snd_una == ms->write_seq)
		mtcp_fsm_event(sk, MTCP_EV_RCV_ACK_FIN);
	return true;
}

/* ------------------------------------------------------------ data, FIN */

/*
 * RFC 9293 §3.10.7.4 "first": is the segment in the receive window?  A
 * segment wholly before rcv_nxt (a retransmission) is not; its answer is
 * the ACK that the peer evidently missed.
 */
static bool mtcp_seq_acceptable(u32 rcv_nxt, u32 wnd,
				const struct mtcp_skb_cb *cb)
{
	u32 len = cb->end_seq - cb->seq;

	if (!len)
		return wnd ? !before(cb->seq, rcv_nxt) &&
			     before(cb->seq, rcv_nxt + wnd) :
			     cb->seq == rcv_nxt;
	/* Accept a segment that starts at rcv_nxt even into a closed window. */
	if (cb->seq == rcv_nxt)
		return true;
	if (!wnd)
		return false;
	return (!before(cb->seq, rcv_nxt) && before(cb->seq, rcv_nxt + wnd)) ||
	       (!before(cb->end_seq - 1, rcv_nxt) &&
		before(cb->end_seq - 1, rcv_nxt + wnd));
}

static bool mtcp_sequence_ok(const struct mini_sock *ms,
			     const struct mtcp_skb_cb *cb)
{
	return mtcp_seq_acceptable(ms->rcv_nxt, ms->rcv_wnd, cb);
}

/*
 * The receive queue's unread bytes copied into skbs of a page each, as
 * tcp_collapse(): when data the window invited finds sk_rcvbuf taken by
 * skbs that are mostly overhead (small segments in buffers of a kilobyte
 * or more that could not be merged).  Only when that frees a quarter of
 * the queue's truesize at least: the next collapse then waits for that
 * much new overhead, so a peer's tiny segments cost a bounded copy each.
 * The old skbs go once the new ones are charged; on no memory nothing
 * changes.  Returns true if it collapsed.  Under the socket's lock
 * (softirq, or its backlog): no reader is in the queue.
 */
static bool mtcp_collapse_rcv_queue(struct sock *sk)
{
	const unsigned int room = SKB_MAX_ORDER(0, 0);
	struct mini_sock *ms = mtcp_sk(sk);
	u32 seq = ms->copied_seq, len = ms->rcv_nxt - ms->copied_seq;
	struct sk_buff *skb, *nskb = NULL;
	unsigned int old_true = 0, nr = 0;
	struct sk_buff_head q;
	u8 fin = 0;

	skb_queue_walk(&sk->sk_receive_queue, skb) {
		old_true += skb->truesize;
		fin |= MTCP_SKB_CB(skb)->flags & TCPHDR_FIN;
		nr++;
	}
	if (!len || 4ULL * ((len / room) * SKB_TRUESIZE(room) +
			     SKB_TRUESIZE(len % room)) > 3ULL * old_true)
		return false;

	__skb_queue_head_init(&q);
	skb_queue_walk(&sk->sk_receive_queue, skb) {
		struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);

		while (before(seq, cb->end_seq)) {
			unsigned int n;

			if (!nskb || !skb_tailroom(nskb)) {
				nskb = alloc_skb(min(room, ms->rcv_nxt - seq),
						 GFP_ATOMIC | __GFP_NOWARN);
				if (!nskb)
					goto fail;
				MTCP_SKB_CB(nskb)->seq = seq;
				MTCP_SKB_CB(nskb)->end_seq = seq;
				MTCP_SKB_CB(nskb)->flags = 0;
				MTCP_SKB_CB(nskb)->sacked = 0;
				__skb_queue_tail(&q, nskb);
			}
			n = min_t(u32, cb->end_seq - seq, skb_tailroom(nskb));
			if (skb_copy_bits(skb, seq - cb->seq, skb_put(nskb, n), n))
				goto fail;
			seq += n;
			MTCP_SKB_CB(nskb)->end_seq = seq;
		}
	}
	if (nskb)
		MTCP_SKB_CB(nskb)->flags |= fin;

	/* The new ones charged first: the old ones' charge covers them. */
	skb_queue_walk(&q, nskb) {
		mtcp_forced_mem_schedule(sk, nskb->truesize, SK_MEM_RECV);
		skb_set_owner_r(nskb, sk);
	}
	while ((skb = __skb_dequeue(&sk->sk_receive_queue)) != NULL)
		__kfree_skb(skb);
	skb_queue_splice(&q, &sk->sk_receive_queue);
	MTCP_ADD_STATS(sock_net(sk), MTCP_MIB_RCVCOLLAPSED, nr);
	return true;
fail:
	__skb_queue_purge(&q);
	return false;
}

/*
 * Room for @skb in the receive buffer (and the protocol's memory), after
 * collapsing the receive queue if that is what it takes.
 */
static bool mtcp_rmem_room(struct sock *sk, struct sk_buff *skb)
{
	if (atomic_read(&sk->sk_rmem_alloc) + skb->truesize <=
	    READ_ONCE(sk->sk_rcvbuf) && sk_rmem_schedule(sk, skb, skb->truesize))
		return true;
	return mtcp_collapse_rcv_queue(sk) &&
	       atomic_read(&sk->sk_rmem_alloc) + skb->truesize <=
	       READ_ONCE(sk->sk_rcvbuf) &&
	       sk_rmem_schedule(sk, skb, skb->truesize);
}

/*
 * Out-of-order segments wait in ooo_queue, sorted by sequence number,
 * header already pulled, charged to the socket like the receive queue;
 * the queue is bounded by the receive buffer.  A FIN stays in the
 * control block's flags until its turn comes.
 */
static bool mtcp_ooo_insert(struct sock *sk, struct sk_buff *skb)
{
	struct mini_sock *ms = mtcp_sk(sk);
	struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	struct sk_buff *p, *prev = NULL;

	skb_queue_reverse_walk(&ms->ooo_queue, p) {
		if (!after(MTCP_SKB_CB(p)->seq, cb->seq)) {
			prev = p;
			break;
		}
	}
	/* Wholly covered by what is queued already: a duplicate. */
	if (prev && !before(MTCP_SKB_CB(prev)->end_seq, cb->end_seq) &&
	    (MTCP_SKB_CB(prev)->flags & TCPHDR_FIN) >= (cb->flags & TCPHDR_FIN))
		return false;
	if (!mtcp_rmem_room(sk, skb)) {
		MTCP_INC_STATS(sock_net(sk), MTCP_MIB_OFODROP);
		atomic_inc(&sk->sk_drops);
		return false;
	}
	skb_dst_drop(skb);
	skb_set_owner_r(skb, sk);
	if (prev)
		__skb_queue_after(&ms->ooo_queue, prev, skb);
	else
		__skb_queue_head(&ms->ooo_queue, skb);
	MTCP_INC_STATS(sock_net(sk), MTCP_MIB_OFOQUEUE);
	return true;
}

/*
 * Into @to, the tail of the receive queue, as tcp_try_coalesce(): a small
 * segment then costs its bytes (copied into the tail's room, or its
 * buffer added as a fragment) instead of an skb of a kilobyte or more.
 * @from is charged to the socket: the part of its truesize that @to took
 * (delta) stays charged, now as @to's, and the rest goes back as @from is
 * freed.  The caller's @from is gone if this returns true.
 */
static bool mtcp_try_coalesce(struct sock *sk, struct sk_buff *to,
			      struct sk_buff *from)
{
	bool stolen;
	int delta;

	if (MTCP_SKB_CB(from)->seq != MTCP_SKB_CB(to)->end_seq ||
	    ((MTCP_SKB_CB(to)->flags | MTCP_SKB_CB(from)->flags) & TCPHDR_FIN))
		return false;
	if (!skb_try_coalesce(to, from, &stolen, &delta))
		return false;
	MTCP_SKB_CB(to)->end_seq = MTCP_SKB_CB(from)->end_seq;
	from->truesize -= delta;	/* sock_rfree() gives back the rest */
	kfree_skb_partial(from, stolen);
	MTCP_INC_STATS(sock_net(sk), MTCP_MIB_RCVCOALESCE);
	return true;
}

/*
 * Append in-sequence payload (header pulled, charged to @sk) to the
 * receive queue, less what came already; into the queue's tail skb where
 * it can go.  Returns false if what came already could not be cut off (no
 * memory to linearise it): the caller drops the skb; it will come again.
 * On true the skb is the queue's (it may be freed already).
 */
static bool mtcp_queue_rcv(struct sock *sk, struct sk_buff *skb)
{
	struct mini_sock *ms = mtcp_sk(sk);
	struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	u32 trim = ms->rcv_nxt - cb->seq;
	struct sk_buff *tail;
	u32 end_seq;

	if (trim) {
		if (!pskb_pull(skb, trim))
			return false;
		cb->seq = ms->rcv_nxt;
	}
	end_seq = cb->end_seq;
	tail = skb_peek_tail(&sk->sk_receive_queue);
	if (!tail || !mtcp_try_coalesce(sk, tail, skb))
		__skb_queue_tail(&sk->sk_receive_queue, skb);
	ms->rcv_wnd -= min(ms->rcv_wnd, end_seq - ms->rcv_nxt);
	ms->rcv_nxt = end_seq;
	mtcp_rcv_rtt_measure(ms);
	return true;
}

/*
 * The hole before the head of ooo_queue is filled: move what is now in
 * sequence to the receive queue.  Returns true if a FIN came due.
 */
static bool mtcp_ooo_drain(struct sock *sk)
{
	struct mini_sock *ms = mtcp_sk(sk);
	struct sk_buff *skb;

	while ((skb = skb_peek(&ms->ooo_queue)) != NULL) {
		struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
		bool fin = cb->flags & TCPHDR_FIN;

		if (after(cb->seq, ms->rcv_nxt))
			return false;
		__skb_unlink(skb, &ms->ooo_queue);
		if (after(cb->end_seq, ms->rcv_nxt)) {
			if (!mtcp_queue_rcv(sk, skb)) {
				kfree_skb(skb);
				fin = false;
			}
		} else {
			fin = fin && cb->end_seq == ms->rcv_nxt;
			kfree_skb(skb);		/* all of it came already */
		}
		if (fin) {
			/* Nothing can follow a FIN. */
			skb_queue_purge(&ms->ooo_queue);
			return true;
		}
	}
	return false;
}

/*
 * RFC 9293 §3.10.7.4 "seventh": the segment's text.  In-order payload goes
 * to the reader (and may fill the hole before queued out-of-order
 * segments); out-of-order payload waits in ooo_queue and draws an
 * immediate duplicate ACK, so that the sender's fast retransmit can fill
 * the hole.  In-window data is not refused for the receive buffer: the
 * window we advertised is a promise (only the protocol's memory limits
 * refuse it).  Returns MTCP_DATA_*; *fin_due when a queued FIN came due.
 */
/*
 * What "a full segment" is for delayed ACKs (icsk_ack.rcv_mss), from the
 * in-order payload @skb, as tcp_measure_rcv_mss(): the largest segment
 * seen, or the size of two same-sized segments in a row, which is what a
 * sender whose writes are smaller than the MSS sends.  A smaller segment
 * means the sender pushed what it had: mark it (ICSK_ACK_PUSHED, twice:
 * PUSHED2), so that the reader who takes it all ACKs at once
 * (mtcp_cleanup_rbuf) instead of leaving a Nagle-bound sender waiting
 * for the delayed ACK.
 */
static void mtcp_measure_rcv_mss(struct sock *sk, const struct sk_buff *skb)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	unsigned int lss = icsk->icsk_ack.last_seg_size;
	unsigned int len = skb->len;

	icsk->icsk_ack.last_seg_size = 0;
	if (len >= icsk->icsk_ack.rcv_mss) {
		icsk->icsk_ack.rcv_mss = min_t(unsigned int, len,
					       mtcp_sk(sk)->advmss);
		return;
	}
	if (len >= MTCP_MSS_DEFAULT) {
		icsk->icsk_ack.last_seg_size = len;
		if (len == lss) {
			icsk->icsk_ack.rcv_mss = len;
			return;
		}
	}
	if (icsk->icsk_ack.pending & ICSK_ACK_PUSHED)
		icsk->icsk_ack.pending |= ICSK_ACK_PUSHED2;
	icsk->icsk_ack.pending |= ICSK_ACK_PUSHED;
}

enum { MTCP_DATA_NONE, MTCP_DATA_OOO, MTCP_DATA_INORDER };

static int mtcp_rcv_data(struct sock *sk, struct sk_buff *skb, bool *acked,
			 bool *fin_due)
{
	struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	const struct tcphdr *th = mtcp_hdr(skb);
	struct mini_sock *ms = mtcp_sk(sk);
	unsigned int hlen = th->doff * 4;
	bool fin = th->fin;	/* th may move with pskb_pull() */
	u32 data_end = cb->end_seq - fin;

	if (skb->len <= hlen || !after(data_end, ms->rcv_nxt))
		return MTCP_DATA_NONE;
	if (!((1 << sk->sk_state) &
	      (TCPF_ESTABLISHED | TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2)))
		return MTCP_DATA_NONE;	/* their FIN came already: ignore the text */

	/* A closed window takes no data, even at rcv_nxt (tcp_data_queue). */
	if (!ms->rcv_wnd && !after(cb->seq, ms->rcv_nxt)) {
		MTCP_INC_STATS(sock_net(sk), MTCP_MIB_RCVQDROP);
		goto ack;
	}
	if (!pskb_pull(skb, hlen))
		return MTCP_DATA_NONE;
	/* The FIN is no byte of the stream.  (The skb may be paged.) */
	if (fin && pskb_trim(skb, data_end - cb->seq))
		return MTCP_DATA_NONE;
	cb->end_seq = data_end;
	cb->flags = fin ? TCPHDR_FIN : 0;

	if (after(cb->seq, ms->rcv_nxt)) {
		bool queued = mtcp_ooo_insert(sk, skb);

		mtcp_enter_quickack_mode(sk);	/* until the hole fills */
		mtcp_send_ack(sk);	/* duplicate ACK, at once */
		*acked = true;
		return queued ? MTCP_DATA_OOO : MTCP_DATA_NONE;
	}

	/*
	 * Charged to the socket (and its cgroup) from here to recvmsg(),
	 * within sk_rcvbuf (the window offers half of what is free, the
	 * rest is for skb overhead: a sender that keeps to it fits).  Over
	 * the limits, as TCP: an empty receive queue still takes one skb,
	 * or a reader could wait forever on memory other sockets hold.
	 */
	if (skb_queue_empty(&sk->sk_receive_queue)) {
		mtcp_forced_mem_schedule(sk, skb->truesize, SK_MEM_RECV);
	} else if (!mtcp_rmem_room(sk, skb)) {
		MTCP_INC_STATS(sock_net(sk), MTCP_MIB_RCVQDROP);
		atomic_inc(&sk->sk_drops);
		goto ack;
	}
	skb_dst_drop(skb);
	skb_set_owner_r(skb, sk);
	/*
	 * Data after a silence longer than the RTO: the sender is starting
	 * over (slow start), ACK at once for a while (tcp_event_data_recv).
	 */
	if ((u32)jiffies - ms->last_data_rcv > inet_csk(sk)->icsk_rto)
		inet_csk(sk)->icsk_ack.quick = MTCP_MAX_QUICKACKS;
	ms->last_data_rcv = (u32)jiffies;
	mtcp_measure_rcv_mss(sk, skb);
	if (!mtcp_queue_rcv(sk, skb))
		return MTCP_DATA_NONE;		/* the caller frees it */
	if (fin)		/* as tcp_fin(): nothing can follow it */
		skb_queue_purge(&ms->ooo_queue);
	if (!skb_queue_empty(&ms->ooo_queue)) {
		/*
		 * A filled hole is ACKed at once (RFC 5681 §4.2), by the
		 * FIN's ACK if one came: that one must not wait either.
		 */
		*fin_due = mtcp_ooo_drain(sk);
		if (!*fin_due) {
			mtcp_send_ack(sk);
			*acked = true;
		} else {
			inet_csk(sk)->icsk_ack.pending |= ICSK_ACK_NOW;
		}
	}
	return MTCP_DATA_INORDER;
ack:
	mtcp_send_ack(sk);
	*acked = true;
	return MTCP_DATA_NONE;
}

/* ------------------------------------------------------------ SYN_SENT */

/* RFC 9293 §3.10.7.3. */
static void mtcp_rcv_synsent(struct sock *sk, struct sk_buff *skb)
{
	const struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	const struct tcphdr *th = mtcp_hdr(skb);
	struct mini_sock *ms = mtcp_sk(sk);
	struct mtcp_options opt = { .mss = MTCP_MSS_DEFAULT };

	if (th->ack && (!after(cb->ack_seq, ms->iss) ||
			after(cb->ack_seq, ms->snd_nxt))) {
		mtcp_v4_send_reset(sock_net(sk), skb);
		return;
	}
	if (th->rst) {
		if (th->ack)
			mtcp_fsm_event(sk, MTCP_EV_RCV_RST);
		return;
	}
	if (!th->syn)
		return;

	mtcp_parse_options(sock_net(sk), th, &opt);
	mtcp_sync_mss(sk, opt.mss);
	/* Scaling is on only if both SYNs carry the option (RFC 7323 §2.2). */
	ms->wscale_ok &= opt.wscale_ok;
	ms->snd_wscale = ms->wscale_ok ? opt.snd_wscale : 0;
	if (!ms->wscale_ok)
		ms->rcv_wscale = 0;
	ms->irs = cb->seq;
	ms->rcv_nxt = cb->seq + 1;
	ms->copied_seq = ms->rcv_nxt;
	ms->snd_wnd = ntohs(th->window);
	ms->max_window = ms->snd_wnd;
	ms->snd_wl1 = cb->seq;
	ms->snd_wl2 = cb->ack_seq;
	inet_csk(sk)->icsk_ack.lrcvtime = (u32)jiffies;

	ms->rcv_wup = ms->rcv_nxt;
	ms->snd_sml = ms->snd_una;
	inet_csk(sk)->icsk_ack.rcv_mss = min_t(u32, ms->mss, 536);
	mtcp_enter_quickack_mode(sk);
	if (th->ack) {
		mtcp_ack_advance(sk, cb->ack_seq);
		mtcp_fsm_event(sk, MTCP_EV_RCV_SYNACK);
	} else {
		/* Simultaneous open. */
		mtcp_fsm_event(sk, MTCP_EV_RCV_SYN);
	}
}

/* -------------------------------------------------- synchronized states */

static void mtcp_rcv_state_process(struct sock *sk, struct sk_buff *skb)
{
	const struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	const struct tcphdr *th = mtcp_hdr(skb);
	struct mini_sock *ms = mtcp_sk(sk);
	bool queued = false, acked = false, fin_due = false;
	u32 fin_seq = cb->end_seq - 1;	/* where a FIN on this segment sits */
	int data;
	bool fin = th->fin;

	switch (sk->sk_state) {
	case TCP_CLOSE:
		goto discard;
	case TCP_SYN_SENT:
		mtcp_rcv_synsent(sk, skb);
		goto discard;
	}

	/*
	 * Simultaneous open, the other half: their SYN-ACK acknowledging our
	 * SYN in SYN_RECEIVED completes the handshake (as Linux lets it).
	 */
	if (sk->sk_state == TCP_SYN_RECV && th->syn && th->ack && !th->rst &&
	    cb->seq + 1 == ms->rcv_nxt && cb->ack_seq == ms->snd_nxt) {
		ms->snd_wnd = ntohs(th->window);
		ms->max_window = max(ms->max_window, ms->snd_wnd);
		mtcp_ack_advance(sk, cb->ack_seq);
		mtcp_fsm_event(sk, MTCP_EV_RCV_SYNACK);
		goto discard;
	}

	/*
	 * first: sequence number.  Out of window: the ACK the peer evidently
	 * missed, rate-limited; a SYN is challenged (RFC 5961 §4.2).
	 */
	if (!mtcp_sequence_ok(ms, cb)) {
		if (th->syn && !th->rst)
			mtcp_send_challenge_ack(sk);
		else if (!th->rst &&
			 !mtcp_oow_rate_limited(sock_net(sk), skb,
						MTCP_MIB_ACKSKIPPEDSEQ,
						&ms->last_oow_ack_time))
			mtcp_send_ack(sk);
		goto discard;
	}

	/* second: RST, exact sequence number or a challenge (RFC 5961 §3.2) */
	if (th->rst) {
		if (cb->seq == ms->rcv_nxt)
			mtcp_fsm_event(sk, MTCP_EV_RCV_RST);
		else
			mtcp_send_challenge_ack(sk);
		goto discard;
	}

	/* fourth: SYN in a synchronized state: challenge ACK (RFC 5961 §4) */
	if (th->syn) {
		mtcp_fsm_event(sk, th->ack ? MTCP_EV_RCV_SYNACK : MTCP_EV_RCV_SYN);
		goto discard;
	}

	/* fifth: ACK */
	if (!th->ack || !mtcp_rcv_ack(sk, skb))
		goto discard;
	/*
	 * An acceptable segment: the peer is heard from, and keepalive
	 * measures idleness from here.  (Segments dropped above must not
	 * count: a blind attacker could keep a dead peer's socket alive.)
	 */
	inet_csk(sk)->icsk_ack.lrcvtime = (u32)jiffies;
	if (sk->sk_state == TCP_CLOSE || sk->sk_state == TCP_TIME_WAIT)
		goto discard;	/* LAST_ACK done, or CLOSING -> TIME_WAIT */

	/* seventh: text; data after our close() aborts, as TCP (RFC 2525) */
	if ((sk->sk_shutdown & RCV_SHUTDOWN) && sock_flag(sk, SOCK_DEAD) &&
	    ((1 << sk->sk_state) & (TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2)) &&
	    after(cb->end_seq - th->fin, ms->rcv_nxt)) {
		MTCP_INC_STATS(sock_net(sk), MTCP_MIB_ABORTONDATA);
		mtcp_fsm_event(sk, MTCP_EV_ABORT);
		goto discard;
	}
	data = mtcp_rcv_data(sk, skb, &acked, &fin_due);
	queued = data != MTCP_DATA_NONE;

	/*
	 * eighth: FIN, once everything before it is in: on this segment, or
	 * on an out-of-order one whose hole it filled.  (mtcp_rcv_data() may
	 * have queued the skb and moved its header: use what we kept.)
	 */
	if ((fin && fin_seq == ms->rcv_nxt) || fin_due) {
		ms->rcv_nxt++;
		mtcp_fsm_event(sk, MTCP_EV_RCV_FIN);	/* sends the ACK */
		acked = true;
	}
	if (data == MTCP_DATA_INORDER && !acked)
		mtcp_ack_snd_check(sk);		/* now, or delayed */
	if (data == MTCP_DATA_INORDER && !sock_flag(sk, SOCK_DEAD))
		sk->sk_data_ready(sk);

	/* The ACK may have opened their window for more of our data. */
	if (sk->sk_state != TCP_CLOSE)
		mtcp_push(sk);
	/* Our FIN is acked and nobody reads: wait for theirs as a mini-sock. */
	if (sk->sk_state == TCP_FIN_WAIT2 && sock_flag(sk, SOCK_DEAD))
		mtcp_orphan_fin_wait2(sk);	/* may free it */
	if (queued)
		return;
discard:
	kfree_skb(skb);
}

/* ---------------------------------------------------- listen, requests */

/* Addresses, ports and marks of a request sock, from the segment. */
void mtcp_init_req(struct request_sock *req, const struct sock *sk,
		   struct sk_buff *skb)
{
	struct inet_request_sock *ireq = inet_rsk(req);
	const struct tcphdr *th = mtcp_hdr(skb);
	const struct iphdr *iph = ip_hdr(skb);

	sk_rcv_saddr_set(req_to_sk(req), iph->daddr);
	sk_daddr_set(req_to_sk(req), iph->saddr);
	ireq->ir_rmt_port = th->source;
	ireq->ir_num = ntohs(th->dest);
	ireq->ir_iif = inet_request_bound_dev_if(sk, skb);
	ireq->ir_mark = inet_request_mark(sk, skb);
	/*
	 * mtcp_reqsk_alloc() leaves the option bits as the slab had them:
	 * none of TCP's options is negotiated here, and only a transparent
	 * listener may answer from a foreign address (mtcp_route_req).
	 */
	ireq->snd_wscale = 0;
	ireq->rcv_wscale = 0;
	ireq->tstamp_ok = 0;
	ireq->sack_ok = 0;
	ireq->wscale_ok = 0;
	ireq->ecn_ok = 0;
	ireq->acked = 0;
	ireq->smc_ok = 0;
	ireq->no_srccheck = mtcp_inet_transparent(sk);
	mtcp_rsk(req)->last_oow_ack_time = 0;
}

/* A SYN for a listener (RFC 9293 §3.10.7.2 "third"). */
static void mtcp_conn_request(struct sock *sk, struct sk_buff *skb)
{
	const struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	const struct tcphdr *th = mtcp_hdr(skb);
	const struct iphdr *iph = ip_hdr(skb);
	struct mtcp_net *mn = mtcp_pernet(sock_net(sk));
	struct net *net = sock_net(sk);
	struct mtcp_transition t;
	struct request_sock *req;
	struct mtcp_request_sock *mreq;
	struct mtcp_options opt = { .mss = MTCP_MSS_DEFAULT };
	u16 mss;
	int syn_backlog;
	bool full;

	t = mtcp_fsm_lookup(TCP_LISTEN, MTCP_EV_RCV_SYN);
	if (!t.valid || !(t.actions & MTCP_ACT_SEND_SYNACK))
		return;
	if (skb_rtable(skb)->rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST))
		return;
	/* SYN+FIN makes no sense: drop it, as TCP does. */
	if (th->fin)
		return;

	mtcp_parse_options(net, th, &opt);
	mss = opt.mss;

	/* The SYN queue is bounded by the backlog and max_syn_backlog. */
	syn_backlog = min_t(int, READ_ONCE(sk->sk_max_ack_backlog),
			    READ_ONCE(mn->sysctl_max_syn_backlog));
	full = inet_csk_reqsk_queue_len(sk) >= max(syn_backlog, 1);
	if ((full || READ_ONCE(mn->sysctl_syncookies) == 2) &&
	    mtcp_want_cookie(sk)) {
		/* Their MSS, rounded down to the table, goes into the ISN. */
		u32 isn = mtcp_cookie_init_seq(skb, &mss);

		/* A cookie SYN-ACK allocates nothing: the ISN is the state. */
		mtcp_v4_send_reply(net, sk, skb, TCPHDR_SYN | TCPHDR_ACK, isn,
				   cb->seq + 1,
				   min_t(unsigned int, READ_ONCE(sk->sk_rcvbuf) / 2,
					 MTCP_MAX_WINDOW));
		MTCP_INC_STATS(net, MTCP_MIB_SYNCOOKIESSENT);
		return;
	}
	if (full)
		goto drop;
	if (sk_acceptq_is_full(sk)) {
		MTCP_INC_STATS(net, MTCP_MIB_LISTENOVERFLOWS);
		goto drop;
	}

	req = mtcp_reqsk_alloc(sk, true);
	if (!req)
		goto drop;
	mtcp_init_req(req, sk, skb);
	mreq = mtcp_rsk(req);
	mreq->irs = cb->seq;
	/*
	 * A SYN that ended a TIME_WAIT starts its sequence space well above
	 * the old incarnation's (as TCP: tw_snd_nxt + 65535 + 2), so that
	 * old duplicates cannot fall into the new window.
	 */
	mreq->iss = cb->tw_isn ? :
		    mtcp_secure_seq(iph->daddr, iph->saddr, th->dest, th->source);
	mreq->snt_synack = 0;
	mreq->mss = mss;
	if (opt.wscale_ok) {
		inet_rsk(req)->wscale_ok = 1;
		inet_rsk(req)->snd_wscale = opt.snd_wscale;
		inet_rsk(req)->rcv_wscale = mtcp_select_wscale(sk);
	}

	if (security_inet_conn_request(sk, skb, req) ||
	    !mtcp_reqsk_hash_add(sk, req, MTCP_TIMEOUT_INIT)) {
		mtcp_reqsk_free(req);
		goto drop;
	}
	mtcp_v4_rtx_synack(sk, req);
	mtcp_reqsk_put(req);
	return;
drop:
	MTCP_INC_STATS(net, MTCP_MIB_LISTENDROPS);
}

/* The child: a full socket in ESTABLISHED, from a request sock or a cookie. */
struct sock *mtcp_v4_syn_recv_sock(const struct sock *sk, struct sk_buff *skb,
				   struct request_sock *req,
				   struct dst_entry *dst,
				   struct request_sock *req_unhash,
				   bool *own_req,
				   void (*opt_child_init)(struct sock *newsk,
							  const struct sock *sk))
{
	struct inet_request_sock *ireq = inet_rsk(req);
	struct mtcp_request_sock *mreq = mtcp_rsk(req);
	const struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	struct ip_options_rcu *inet_opt;
	struct net *net = sock_net(sk);
	struct mtcp_transition t;
	struct inet_sock *newinet;
	bool found_dup_sk = false;
	struct mini_sock *ms;
	struct sock *newsk;

	if (sk_acceptq_is_full(sk)) {
		MTCP_INC_STATS(net, MTCP_MIB_LISTENOVERFLOWS);
		goto exit_nonewsk;
	}

	newsk = mtcp_csk_clone_lock(sk, req, GFP_ATOMIC);	/* SYN_RECV */
	if (!newsk)
		goto exit_nonewsk;
	mtcp_sk(newsk)->bind_bucket = NULL;	/* the listener's, copied */

	newinet = inet_sk(newsk);
	sk_daddr_set(newsk, ireq->ir_rmt_addr);
	sk_rcv_saddr_set(newsk, ireq->ir_loc_addr);
	newinet->inet_saddr = ireq->ir_loc_addr;
	RCU_INIT_POINTER(newinet->inet_opt, rcu_dereference(ireq->ireq_opt));
	newinet->mc_index = inet_iif(skb);
	newinet->mc_ttl = ip_hdr(skb)->ttl;
	atomic_set(&newinet->inet_id, get_random_u16());

	mtcp_init_xmit_timers(newsk);
	ms = mtcp_sk(newsk);
	ms->iss = mreq->iss;
	ms->irs = mreq->irs;
	ms->snd_una = mreq->iss + 1;
	ms->snd_nxt = ms->snd_una;
	ms->write_seq = ms->snd_una;
	ms->rcv_nxt = mreq->irs + 1;
	ms->copied_seq = ms->rcv_nxt;
	/* A cookie's request has no window scale (mtcp_init_req). */
	ms->wscale_ok = ireq->wscale_ok;
	ms->snd_wscale = ireq->snd_wscale;
	ms->rcv_wscale = ireq->rcv_wscale;
	ms->rcv_wnd = mtcp_select_window(newsk);
	ms->snd_wnd = ntohs(mtcp_hdr(skb)->window) << ms->snd_wscale;
	ms->max_window = ms->snd_wnd;
	ms->last_oow_ack_time = 0;
	ms->snd_wl1 = cb->seq;
	ms->snd_wl2 = cb->ack_seq;
	ms->srtt_us = 0;
	ms->fin_queued = 0;
	ms->total_retrans = 0;
	ms->rcv_wup = ms->rcv_nxt;
	ms->snd_sml = ms->snd_una;
	mtcp_init_cwnd(newsk);
	skb_queue_head_init(&ms->ooo_queue);	/* not the listener's */
	ms->last_overflow = 0;
	inet_csk(newsk)->icsk_rto = MTCP_TIMEOUT_INIT;

	if (!dst) {
		dst = mtcp_route_child_sock(sk, newsk, req);
		if (!dst)
			goto put_and_exit;
	}
	sk_setup_caps(newsk, dst);
	newsk->sk_route_caps &= ~NETIF_F_GSO_MASK;
	inet_opt = rcu_dereference_protected(newinet->inet_opt, 1);
	inet_csk(newsk)->icsk_ext_hdr_len = inet_opt ? inet_opt->opt.optlen : 0;
	inet_csk(newsk)->icsk_pmtu_cookie = dst_mtu(dst);
	ms->advmss = mtcp_route_advmss(newsk, dst);
	mtcp_sync_mss(newsk, mreq->mss);
	/* Delayed ACKs start afresh: quick ACKs first (tcp_init_transfer). */
	inet_csk(newsk)->icsk_ack.pending = 0;
	inet_csk(newsk)->icsk_ack.rcv_mss = min_t(u32, ms->mss, 536);
	mtcp_enter_quickack_mode(newsk);
	/* The handshake's round trip seeds the RTO, as TCP's does (Karn). */
	if (mreq->snt_synack && !req->num_retrans)
		mtcp_rtt_sample(newsk, mreq->snt_synack);

	if (mtcp_inherit_port(sk, newsk) < 0)
		goto put_and_exit;
	*own_req = mtcp_ehash_nolisten(newsk, req_to_sk(req_unhash),
				       &found_dup_sk);
	if (!*own_req) {
		/*
		 * Another CPU completed this request first (or, for a cookie,
		 * the 4-tuple is taken): mtcp_ehash_nolisten() destroyed
		 * newsk; only our reference and lock remain, for the caller.
		 */
		newinet->inet_opt = NULL;
		if (!req_unhash && found_dup_sk) {
			__acquire(newsk);	/* locked by mtcp_csk_clone_lock() */
			bh_unlock_sock(newsk);
			sock_put(newsk);
			return NULL;
		}
		return newsk;
	}
	ireq->ireq_opt = NULL;

	/* The passive SYN_RECEIVED's ACK: ESTABLISHED (fsm.c decides). */
	t = mtcp_fsm_lookup_passive(MTCP_EV_RCV_ACK_SYN);
	mtcp_set_state(newsk, t.next);
	mtcp_init_buffer_space(newsk);
	inet_csk(newsk)->icsk_ack.lrcvtime = (u32)jiffies;
	mtcp_arm_keepalive(newsk);	/* SO_KEEPALIVE is inherited */
	MTCP_INC_STATS(net, MTCP_MIB_PASSIVEOPENS);
	return newsk;

exit_nonewsk:
	dst_release(dst);
	MTCP_INC_STATS(net, MTCP_MIB_LISTENDROPS);
	return NULL;
put_and_exit:
	newinet->inet_opt = NULL;
	mtcp_prepare_forced_close(newsk);
	mtcp_done(newsk);
	MTCP_INC_STATS(net, MTCP_MIB_LISTENDROPS);
	return NULL;
}

/*
 * A segment for a request sock, without the listener lock (the ehash
 * insertion in mtcp_ehash_nolisten() decides who owns the request).
 * Returns the new child, locked, or NULL when the segment is consumed.
 */
static struct sock *mtcp_check_req(struct sock *sk, struct sk_buff *skb,
				   struct request_sock *req)
{
	const struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	const struct tcphdr *th = mtcp_hdr(skb);
	struct mtcp_request_sock *mreq = mtcp_rsk(req);
	struct mtcp_transition t;
	struct sock *child;
	bool own_req;

	if (th->rst) {
		/* RFC 5961: only the exact next sequence number resets. */
		t = mtcp_fsm_lookup_passive(MTCP_EV_RCV_RST);
		if (cb->seq == mreq->irs + 1 && (t.actions & MTCP_ACT_REQSK_DROP))
			mtcp_reqsk_drop(sk, req);
		return NULL;
	}
	if (th->syn) {
		t = mtcp_fsm_lookup_passive(MTCP_EV_RCV_SYN);
		/* Their SYN again: our SYN-ACK was lost (at most one per limit). */
		if (!th->ack && cb->seq == mreq->irs &&
		    (t.actions & MTCP_ACT_SEND_SYNACK) &&
		    !mtcp_oow_rate_limited(sock_net(sk), skb,
					   MTCP_MIB_ACKSKIPPEDSYNRECV,
					   &mreq->last_oow_ack_time))
			mtcp_rtx_syn_ack(sk, req);
		return NULL;
	}
	if (!th->ack)
		return NULL;
	if (cb->ack_seq != mreq->iss + 1) {
		/* RFC 9293 §3.10.7.4: unacceptable ACK in SYN-RECEIVED. */
		mtcp_v4_send_reset(sock_net(sk), skb);
		return NULL;
	}
	/* In the window we offered (a first data segment may come first). */
	if (before(cb->seq, mreq->irs + 1) ||
	    !before(cb->seq, mreq->irs + 1 + MTCP_MAX_WINDOW))
		return NULL;

	child = mtcp_v4_syn_recv_sock(sk, skb, req, NULL, req, &own_req, NULL);
	if (!child) {
		/* Accept queue full: as TCP, keep the request, drop the ACK. */
		inet_rsk(req)->acked = 1;
		return NULL;
	}
	return mtcp_complete_hashdance(sk, child, req, own_req);
}

/* Hand the rest of the segment (data, FIN) to the new child. */
static void mtcp_child_process(struct sock *parent, struct sock *child,
			       struct sk_buff *skb)
	__releases(child)
{
	if (!sock_owned_by_user(child)) {
		/* It is ESTABLISHED (mtcp_v4_syn_recv_sock): before the rest. */
		mtcp_pending_shutdown(child);
		mtcp_rcv_state_process(child, skb);
	} else {
		__sk_add_backlog(child, skb);	/* accepted and busy already */
	}
	/* The child is in the accept queue: wake accept(). */
	parent->sk_data_ready(parent);
	bh_unlock_sock(child);
	sock_put(child);
}

/* Segments for a listener, in softirq without its lock (as TCP's). */
static void mtcp_listen_rcv(struct sock *sk, struct sk_buff *skb)
{
	const struct tcphdr *th = mtcp_hdr(skb);

	if (th->rst)
		goto discard;
	if (th->ack) {
		/* An ACK for no request sock may carry a SYN cookie. */
		struct sock *child = th->syn ? sk : mtcp_cookie_check(sk, skb);

		if (!child)
			goto discard;		/* consumed or no memory */
		if (child != sk) {
			__acquire(child);	/* locked by mtcp_csk_clone_lock() */
			mtcp_child_process(sk, child, skb);
			return;
		}
		/* RFC 9293: any acknowledgment is bad in LISTEN. */
		mtcp_v4_send_reset(sock_net(sk), skb);
		goto discard;
	}
	if (th->syn)
		mtcp_conn_request(sk, skb);
discard:
	consume_skb(skb);
}

/* The segment's sequence space, from its header and (trimmed) length. */
static void mtcp_fill_cb(struct sk_buff *skb, const struct tcphdr *th)
{
	struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);

	cb->seq = ntohl(th->seq);
	cb->end_seq = cb->seq + th->syn + th->fin + skb->len - th->doff * 4;
	cb->ack_seq = ntohl(th->ack_seq);
	cb->flags = tcp_flag_byte(th);
	cb->sacked = 0;
}

/*
 * Segments for a full socket, under its lock: softirq, or the owner's
 * backlog in release_sock().  mtcp_v4_rcv() hands listeners to
 * mtcp_listen_rcv() without their lock; but a socket found as a
 * connection may have become a listener (connect(AF_UNSPEC), listen())
 * before its lock was ours: its segment is then a listener's.
 */
int mtcp_v4_do_rcv(struct sock *sk, struct sk_buff *skb)
{
	/* A socket filter may have trimmed the payload since mtcp_v4_rcv(). */
	mtcp_fill_cb(skb, mtcp_hdr(skb));
	if (unlikely(sk->sk_state == TCP_LISTEN)) {
		/* As in softirq: a child is bh-locked while it is set up. */
		local_bh_disable();
		mtcp_listen_rcv(sk, skb);
		local_bh_enable();
		return 0;
	}
	mtcp_rcv_state_process(sk, skb);
	return 0;
}

/*
 * A segment for a connection, from softirq: processed now under the
 * socket's spinlock, or parked in the backlog while the owner holds the
 * socket (recvmsg copying, sendmsg), to be processed in release_sock().
 *
 * Not __sk_receive_skb(): it drops once the receive queue and the backlog
 * together reach sk_rcvbuf, before looking at the segment.  A receiver
 * whose reader is copying a full window out of the queue would then drop
 * in-window data that the window it advertised invites (a whole GSO skb
 * at a time, which NewReno without SACK repairs only by a retransmission
 * timeout).  As tcp_add_backlog(), the backlog may hold twice the receive
 * buffer, half the send buffer and 64 KiB more; in-window data that finds
 * no room in the queue is dropped, and counted, where it is queued
 * (mtcp_data_queue()).
 */
static int mtcp_v4_rcv_locked(struct sock *sk, struct sk_buff *skb,
			      bool refcounted)
{
	u64 limit;

	if (sk_filter_trim_cap(sk, skb, mtcp_hdr(skb)->doff * 4))
		goto discard;
	skb->dev = NULL;	/* the device may go away while it is queued */

	bh_lock_sock_nested(sk);
	if (!sock_owned_by_user(sk)) {
		mtcp_v4_do_rcv(sk, skb);
	} else {
		limit = ((u64)READ_ONCE(sk->sk_rcvbuf) << 1) +
			(READ_ONCE(sk->sk_sndbuf) >> 1) + SZ_64K;
		if (unlikely(sk_add_backlog(sk, skb, min_t(u64, limit, UINT_MAX)))) {
			bh_unlock_sock(sk);
			atomic_inc(&sk->sk_drops);
			MTCP_INC_STATS(sock_net(sk), MTCP_MIB_BACKLOGDROP);
			goto discard;
		}
	}
	bh_unlock_sock(sk);
	goto out;

discard:
	kfree_skb(skb);
out:
	if (refcounted)
		sock_put(sk);
	return NET_RX_SUCCESS;
}

/* ------------------------------------------------------------ TIME_WAIT */

enum mtcp_tw_verdict {
	MTCP_TW_DROP, MTCP_TW_ACK, MTCP_TW_SYN, MTCP_TW_KILL, MTCP_TW_RST
};

/*
 * An orphan's FIN_WAIT_2 as a mini-sock (mtcp_orphan_fin_wait2()): the
 * checks of mtcp_rcv_state_process() for what it can still receive, and
 * the table's FIN_WAIT_2 row for what follows.  Lockless, as TIME_WAIT.
 */
static enum mtcp_tw_verdict mtcp_tw_fin_wait2_rcv(struct sock *sk,
						  struct sk_buff *skb)
{
	struct mtcp_timewait_sock *mtw = mtcp_twsk(sk);
	const struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	const struct tcphdr *th = mtcp_hdr(skb);
	struct mtcp_transition t;

	/* first: sequence number; out of window, the ACK they missed */
	if (!mtcp_seq_acceptable(mtw->rcv_nxt, mtw->rcv_wnd, cb))
		return th->rst ? MTCP_TW_DROP : MTCP_TW_ACK;
	/* second: RST, exact sequence number or a challenge (RFC 5961 §3.2) */
	if (th->rst) {
		t = mtcp_fsm_lookup(TCP_FIN_WAIT2, MTCP_EV_RCV_RST);
		if (cb->seq != mtw->rcv_nxt)
			return MTCP_TW_ACK;
		return (t.actions & MTCP_ACT_DESTROY) ? MTCP_TW_KILL : MTCP_TW_DROP;
	}
	/* fourth: SYN, challenged */
	if (th->syn) {
		t = mtcp_fsm_lookup(TCP_FIN_WAIT2, th->ack ? MTCP_EV_RCV_SYNACK :
							     MTCP_EV_RCV_SYN);
		return (t.actions & MTCP_ACT_CHALLENGE_ACK) ? MTCP_TW_ACK :
							       MTCP_TW_DROP;
	}
	if (!th->ack)
		return MTCP_TW_DROP;
	/* seventh: data after our close() aborts, as TCP (RFC 2525) */
	if (after(cb->end_seq - th->fin, mtw->rcv_nxt)) {
		t = mtcp_fsm_lookup(TCP_FIN_WAIT2, MTCP_EV_ABORT);
		MTCP_INC_STATS(twsk_net(inet_twsk(sk)), MTCP_MIB_ABORTONDATA);
		return (t.actions & MTCP_ACT_SEND_RST) ? MTCP_TW_RST :
							 MTCP_TW_KILL;
	}
	/* eighth: their FIN, and TIME_WAIT proper */
	if (th->fin && cb->seq == mtw->rcv_nxt) {
		t = mtcp_fsm_lookup(TCP_FIN_WAIT2, MTCP_EV_RCV_FIN);
		inet_twsk(sk)->tw_substate = t.next;
		mtw->rcv_nxt = cb->end_seq;
		if (t.actions & MTCP_ACT_TIME_WAIT)
			mtcp_tw_rearm(inet_twsk(sk));
		return (t.actions & MTCP_ACT_SEND_ACK) ? MTCP_TW_ACK :
							 MTCP_TW_DROP;
	}
	return MTCP_TW_DROP;	/* a duplicate ACK */
}

static enum mtcp_tw_verdict mtcp_tw_rcv(struct sock *sk, struct sk_buff *skb)
{
	struct mtcp_timewait_sock *mtw = mtcp_twsk(sk);
	const struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	const struct tcphdr *th = mtcp_hdr(skb);
	struct mtcp_transition t;

	if (inet_twsk(sk)->tw_substate == TCP_FIN_WAIT2)
		return mtcp_tw_fin_wait2_rcv(sk, skb);

	if (th->rst) {
		t = mtcp_fsm_lookup(TCP_TIME_WAIT, MTCP_EV_RCV_RST);
		return cb->seq == mtw->rcv_nxt && (t.actions & MTCP_ACT_DESTROY) ?
		       MTCP_TW_KILL : MTCP_TW_DROP;
	}
	if (th->syn && !th->ack) {
		/* A newer incarnation may start; an old SYN is re-ACKed. */
		t = mtcp_fsm_lookup(TCP_TIME_WAIT, MTCP_EV_RCV_SYN);
		if ((t.actions & MTCP_ACT_TW_REUSE) && after(cb->seq, mtw->rcv_nxt)) {
			MTCP_SKB_CB(skb)->tw_isn = mtw->snd_nxt + 65535 + 2 ? : 1;
			return MTCP_TW_SYN;
		}
		return MTCP_TW_ACK;
	}
	if (th->syn) {
		t = mtcp_fsm_lookup(TCP_TIME_WAIT, MTCP_EV_RCV_SYNACK);
		return (t.actions & MTCP_ACT_SEND_ACK) ? MTCP_TW_ACK : MTCP_TW_DROP;
	}
	if (th->fin && cb->end_seq == mtw->rcv_nxt) {
		/* Their FIN again: our last ACK was lost.  Re-ACK, restart. */
		t = mtcp_fsm_lookup(TCP_TIME_WAIT, MTCP_EV_RCV_FIN);
		if (t.actions & MTCP_ACT_TIME_WAIT)
			mtcp_tw_rearm(inet_twsk(sk));
		return (t.actions & MTCP_ACT_SEND_ACK) ? MTCP_TW_ACK : MTCP_TW_DROP;
	}
	/* Anything else out of window is answered with an ACK (RFC 9293). */
	if (cb->seq != mtw->rcv_nxt)
		return MTCP_TW_ACK;
	return MTCP_TW_DROP;
}

/* ------------------------------------------------------------- entry */

int mtcp_v4_rcv(struct sk_buff *skb)
{
	struct net *net = dev_net(skb->dev);
	const struct tcphdr *th;
	const struct iphdr *iph;
	bool refcounted;
	struct sock *sk;
	int verdict;

	if (skb->pkt_type != PACKET_HOST)
		goto discard_it;

	MTCP_INC_STATS(net, MTCP_MIB_INSEGS);

	/* Length, data offset, checksum, options: drop and count if bad. */
	if (!pskb_may_pull(skb, MTCP_HDR_MIN))
		goto bad_packet;
	th = (const struct tcphdr *)skb->data;
	if (th->doff < MTCP_HDR_MIN / 4 || th->doff * 4 > skb->len)
		goto bad_packet;
	if (!pskb_may_pull(skb, th->doff * 4))
		goto bad_packet;
	if (skb_checksum_validate(skb, mtcp_ipproto, inet_compute_pseudo))
		goto csum_error;
	th = mtcp_hdr(skb);
	iph = ip_hdr(skb);
	mtcp_fill_cb(skb, th);
	MTCP_SKB_CB(skb)->tw_isn = 0;	/* set by a TIME_WAIT that lets a SYN by */

lookup:
	sk = mtcp_lookup_skb(net, skb, th->doff * 4, th->source, th->dest,
			     inet_sdif(skb), &refcounted);
	if (!sk)
		goto no_socket;

process:
	if (sk->sk_state == TCP_TIME_WAIT)
		goto do_time_wait;

	if (sk->sk_state == TCP_NEW_SYN_RECV) {
		struct request_sock *req = inet_reqsk(sk);
		struct sock *nsk;

		sk = req->rsk_listener;
		if (!xfrm4_policy_check(sk, XFRM_POLICY_IN, skb)) {
			mtcp_reqsk_put(req);
			goto discard_it;
		}
		if (unlikely(sk->sk_state != TCP_LISTEN)) {
			mtcp_reqsk_drop_and_put(sk, req);
			goto lookup;
		}
		sock_hold(sk);
		nf_reset_ct(skb);
		nsk = mtcp_check_req(sk, skb, req);
		if (nsk) {
			/* Our reference on req went to the accept queue. */
			__acquire(nsk);		/* locked by mtcp_csk_clone_lock() */
			mtcp_child_process(sk, nsk, skb);
		} else {
			mtcp_reqsk_put(req);
			consume_skb(skb);
		}
		sock_put(sk);
		return 0;
	}

	if (!xfrm4_policy_check(sk, XFRM_POLICY_IN, skb))
		goto discard_and_relse;
	nf_reset_ct(skb);

	/*
	 * Listeners are handled without their lock, as TCP's: the request
	 * queue and the accept queue have locks of their own, and a busy
	 * owner (accept, setsockopt) must not park SYNs in a backlog.
	 */
	if (sk->sk_state == TCP_LISTEN) {
		if (sk_filter_trim_cap(sk, skb, th->doff * 4))
			goto discard_and_relse;
		mtcp_fill_cb(skb, mtcp_hdr(skb));	/* the filter may trim */
		mtcp_listen_rcv(sk, skb);
		if (refcounted)
			sock_put(sk);
		return 0;
	}
	return mtcp_v4_rcv_locked(sk, skb, refcounted);

no_socket:
	if (!xfrm4_policy_check(NULL, XFRM_POLICY_IN, skb))
		goto discard_it;
	mtcp_v4_send_reset(net, skb);
	goto discard_it;

bad_packet:
	MTCP_INC_STATS(net, MTCP_MIB_INERRS);
	goto discard_it;
csum_error:
	MTCP_INC_STATS(net, MTCP_MIB_INCSUMERRORS);
	MTCP_INC_STATS(net, MTCP_MIB_INERRS);
discard_it:
	kfree_skb(skb);
	return 0;

discard_and_relse:
	if (refcounted)
		sock_put(sk);
	goto discard_it;

do_time_wait:
	if (!xfrm4_policy_check(NULL, XFRM_POLICY_IN, skb)) {
		mtcp_twsk_put(inet_twsk(sk));
		goto discard_it;
	}
	verdict = mtcp_tw_rcv(sk, skb);
	if (verdict == MTCP_TW_SYN) {
		struct sock *sk2;

		sk2 = mtcp_lookup_listener(net, skb, th->doff * 4, iph->saddr,
					   th->source, iph->daddr,
					   ntohs(th->dest), inet_iif(skb),
					   inet_sdif(skb));
		if (sk2) {
			MTCP_INC_STATS(net, MTCP_MIB_TIMEWAITRECYCLED);
			mtcp_twsk_deschedule_put(inet_twsk(sk));
			sk = sk2;
			refcounted = false;
			goto process;
		}
		verdict = MTCP_TW_ACK;
	}
	if (verdict == MTCP_TW_ACK) {
		struct mtcp_timewait_sock *mtw = mtcp_twsk(sk);

		if (!mtcp_oow_rate_limited(net, skb, MTCP_MIB_ACKSKIPPEDTIMEWAIT,
					   &mtw->last_oow_ack_time))
			mtcp_v4_send_reply(net, NULL, skb, TCPHDR_ACK, mtw->snd_nxt,
					   mtw->rcv_nxt,
					   min(mtw->rcv_wnd >> mtw->rcv_wscale,
					       MTCP_MAX_WINDOW));
		mtcp_twsk_put(inet_twsk(sk));
	} else if (verdict == MTCP_TW_DROP) {
		mtcp_twsk_put(inet_twsk(sk));
	} else if (verdict == MTCP_TW_RST) {
		mtcp_v4_send_reset(net, skb);
		mtcp_twsk_deschedule_put(inet_twsk(sk));
	} else {	/* MTCP_TW_KILL */
		/* An acceptable RST ends TIME_WAIT (Linux, tcp_rfc1337 = 0). */
		MTCP_INC_STATS(net, MTCP_MIB_TIMEWAITKILLED);
		mtcp_twsk_deschedule_put(inet_twsk(sk));
	}
	goto discard_it;
}

/* ---------------------------------------------------------------- ICMP */

int mtcp_v4_err(struct sk_buff *skb, u32 info)
{
	const struct iphdr *iph = (const struct iphdr *)skb->data;
	const struct tcphdr *th = (const struct tcphdr *)(skb->data + (iph->ihl << 2));
	const int type = icmp_hdr(skb)->type;
	const int code = icmp_hdr(skb)->code;
	struct net *net = dev_net(skb->dev);
	struct mini_sock *ms;
	struct sock *sk;
	int err;
	u32 seq;

	sk = mtcp_lookup_established(net, iph->daddr, th->dest, iph->saddr,
				     ntohs(th->source), inet_iif(skb), 0);
	if (!sk)
		return -ENOENT;
	if (sk->sk_state == TCP_TIME_WAIT) {
		mtcp_twsk_put(inet_twsk(sk));
		return 0;
	}
	if (sk->sk_state == TCP_NEW_SYN_RECV) {
		mtcp_reqsk_put(inet_reqsk(sk));
		return 0;
	}

	switch (type) {
	case ICMP_DEST_UNREACH:
		if (code > NR_ICMP_UNREACH)
			goto out_put;
		if (code == ICMP_FRAG_NEEDED) {
			err = 0;	/* path MTU discovery, not an error */
			break;
		}
		err = icmp_err_convert[code].errno;
		break;
	case ICMP_PARAMETERPROB:
		err = EPROTO;
		break;
	case ICMP_TIME_EXCEEDED:
		err = EHOSTUNREACH;
		break;
	default:
		goto out_put;
	}

	bh_lock_sock(sk);
	ms = mtcp_sk(sk);
	seq = ntohl(th->seq);
	if (sk->sk_state == TCP_CLOSE ||
	    (sk->sk_state != TCP_LISTEN &&
	     (before(seq, ms->snd_una) || !before(seq, ms->snd_nxt))))
		goto out;	/* not about anything in flight */

	if (!err) {
		/* RFC 1191: a router on the path needs smaller segments. */
		if (sk->sk_state == TCP_LISTEN)
			goto out;
		WRITE_ONCE(ms->mtu_info, info);
		if (!sock_owned_by_user(sk))
			mtcp_mtu_reduced(sk);
		else if (!test_and_set_bit(MTCP_MTU_REDUCED_DEFERRED, &ms->deferred))
			sock_hold(sk);		/* dropped by release_cb */
		goto out;
	}

	switch (sk->sk_state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
		/* As TCP: an error while connecting ends the attempt. */
		if (!sock_owned_by_user(sk)) {
			WRITE_ONCE(sk->sk_err, err);
			sk_error_report(sk);
			mtcp_done(sk);
		} else {
			WRITE_ONCE(sk->sk_err_soft, err);
		}
		break;
	default:
		if (!sock_owned_by_user(sk) && mtcp_inet_recverr(sk)) {
			WRITE_ONCE(sk->sk_err, err);
			sk_error_report(sk);
		} else {
			WRITE_ONCE(sk->sk_err_soft, err);
		}
	}
out:
	bh_unlock_sock(sk);
out_put:
	sock_put(sk);
	return 0;
}
