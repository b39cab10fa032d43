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
#include <net/secure_seq.h>
#include <net/xfrm.h>

#include "mini_tcp.h"

int mtcp_parse_options(const struct tcphdr *th, u16 *mss)
{
	const u8 *opt = (const u8 *)(th + 1);
	int left = th->doff * 4 - MTCP_HDR_MIN;

	while (left > 0) {
		u8 kind = *opt;
		u8 len;

		if (kind == TCPOPT_EOL)
			return 0;
		if (kind == TCPOPT_NOP) {
			opt++;
			left--;
			continue;
		}
		if (left < 2)
			return -EINVAL;
		len = opt[1];
		if (len < 2 || len > left)
			return -EINVAL;
		if (kind == TCPOPT_MSS) {
			if (len != TCPOLEN_MSS)
				return -EINVAL;
			if (mss)
				*mss = max_t(u16, get_unaligned_be16(opt + 2), 88);
		}
		/* Unknown options are skipped by their length. */
		opt += len;
		left -= len;
	}
	return 0;
}

/* ----------------------------------------------------------- ACK handling */

/* RFC 6298 with one sample per flight, never from a retransmission. */
void mtcp_rtt_sample(struct sock *sk, u32 sent)
{
	struct mini_sock *ms = mtcp_sk(sk);
	long m = max_t(long, jiffies_to_usecs(jiffies - sent), 1);
	unsigned long rto;

	if (!ms->srtt_us) {
		ms->srtt_us = m << 3;
		ms->rttvar_us = m << 1;
	} else {
		long delta = m - (ms->srtt_us >> 3);

		ms->srtt_us += delta;
		ms->rttvar_us += abs(delta) - (ms->rttvar_us >> 2);
	}
	rto = usecs_to_jiffies((ms->srtt_us >> 3) + ms->rttvar_us);
	inet_csk(sk)->icsk_rto = clamp_t(unsigned long, rto, MTCP_RTO_MIN,
					 MTCP_RTO_MAX);
}

/* Free what @ack covers and advance snd_una. */
static void mtcp_ack_advance(struct sock *sk, u32 ack)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct mini_sock *ms = mtcp_sk(sk);
	struct sk_buff *skb;
	bool sampled = false;

	while ((skb = skb_peek(&sk->sk_write_queue)) != NULL) {
		struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);

		if (after(cb->end_seq, ack))
			break;
		if (!cb->sacked && !sampled) {
			mtcp_rtt_sample(sk, cb->when);
			sampled = true;
		}
		__skb_unlink(skb, &sk->sk_write_queue);
		mtcp_wqueue_free(sk, skb);
	}
	ms->snd_una = ack;
	icsk->icsk_retransmits = 0;
	icsk->icsk_backoff = 0;

	if (ms->snd_una == ms->snd_nxt)
		inet_csk_clear_xmit_timer(sk, ICSK_TIME_RETRANS);
	else
		mtcp_reset_rto(sk);

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
	u32 ack = cb->ack_seq;

	if (after(ack, ms->snd_nxt)) {
		/* Acknowledges something not yet sent. */
		if (sk->sk_state == TCP_SYN_RECV)
			mtcp_v4_send_reset(sock_net(sk), skb);
		else
			mtcp_send_ack(sk);
		return false;
	}
	if (sk->sk_state == TCP_SYN_RECV && !after(ack, ms->snd_una)) {
		mtcp_v4_send_reset(sock_net(sk), skb);
		return false;
	}

	/* Window update from a newer segment, or a newer ack of the same. */
	if (!before(ack, ms->snd_una) &&
	    (before(ms->snd_wl1, cb->seq) ||
	     (ms->snd_wl1 == cb->seq && !before(ack, ms->snd_wl2)))) {
		ms->snd_wnd = ntohs(mtcp_hdr(skb)->window);
		ms->snd_wl1 = cb->seq;
		ms->snd_wl2 = ack;
	}

	/* The peer is alive: window probes start counting afresh. */
	inet_csk(sk)->icsk_probes_out = 0;

	if (!after(ack, ms->snd_una))
		return true;		/* duplicate or old: nothing new */

	mtcp_ack_advance(sk, ack);

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
static bool mtcp_sequence_ok(const struct mini_sock *ms,
			     const struct mtcp_skb_cb *cb)
{
	u32 len = cb->end_seq - cb->seq;
	u32 wnd = ms->rcv_wnd;

	if (!len)
		return wnd ? !before(cb->seq, ms->rcv_nxt) &&
			     before(cb->seq, ms->rcv_nxt + wnd) :
			     cb->seq == ms->rcv_nxt;
	/* Accept a segment that starts at rcv_nxt even into a closed window. */
	if (cb->seq == ms->rcv_nxt)
		return true;
	if (!wnd)
		return false;
	return (!before(cb->seq, ms->rcv_nxt) &&
		before(cb->seq, ms->rcv_nxt + wnd)) ||
	       (!before(cb->end_seq - 1, ms->rcv_nxt) &&
		before(cb->end_seq - 1, ms->rcv_nxt + wnd));
}

/*
 * RFC 9293 §3.10.7.4 "seventh": queue in-order payload for the reader.
 * Out-of-order segments are dropped and draw a duplicate ACK: the sender
 * retransmits from its head.  Returns true if the skb was queued.
 */
static bool mtcp_rcv_data(struct sock *sk, struct sk_buff *skb, bool *acked)
{
	struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	const struct tcphdr *th = mtcp_hdr(skb);
	struct mini_sock *ms = mtcp_sk(sk);
	unsigned int hlen = th->doff * 4;
	bool fin = th->fin;	/* th may move with pskb_pull() */
	u32 data_end = cb->end_seq - fin;
	u32 trim;

	if (skb->len <= hlen || !after(data_end, ms->rcv_nxt))
		return false;
	if (!((1 << sk->sk_state) &
	      (TCPF_ESTABLISHED | TCPF_FIN_WAIT1 | TCPF_FIN_WAIT2)))
		return false;	/* their FIN came already: ignore the text */

	if (after(cb->seq, ms->rcv_nxt)) {
		mtcp_send_ack(sk);
		*acked = true;
		return false;
	}
	if (atomic_read(&sk->sk_rmem_alloc) + skb->truesize > READ_ONCE(sk->sk_rcvbuf)) {
		atomic_inc(&sk->sk_drops);
		mtcp_send_ack(sk);
		*acked = true;
		return false;
	}

	trim = ms->rcv_nxt - cb->seq;
	if (!pskb_pull(skb, hlen + trim))
		return false;
	/*
	 * Charged to the socket (and its cgroup) from here to recvmsg().
	 * Over the limits, as TCP: an empty receive queue still takes one
	 * skb, or a reader could wait forever on memory other sockets hold.
	 */
	if (skb_queue_empty(&sk->sk_receive_queue)) {
		mtcp_forced_mem_schedule(sk, skb->truesize, SK_MEM_RECV);
	} else if (!sk_rmem_schedule(sk, skb, skb->truesize)) {
		atomic_inc(&sk->sk_drops);
		mtcp_send_ack(sk);
		*acked = true;
		return false;
	}
	if (fin)	/* the FIN is no byte of the stream */
		skb_trim(skb, data_end - ms->rcv_nxt);
	cb->seq = ms->rcv_nxt;
	cb->end_seq = data_end;
	skb_dst_drop(skb);
	skb_set_owner_r(skb, sk);
	__skb_queue_tail(&sk->sk_receive_queue, skb);
	ms->rcv_nxt = data_end;
	ms->rcv_wnd -= min(ms->rcv_wnd, data_end - cb->seq);
	return true;
}

/* ------------------------------------------------------------ SYN_SENT */

/* RFC 9293 §3.10.7.3. */
static void mtcp_rcv_synsent(struct sock *sk, struct sk_buff *skb)
{
	const struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	const struct tcphdr *th = mtcp_hdr(skb);
	struct mini_sock *ms = mtcp_sk(sk);
	u16 peer_mss = MTCP_MSS_DEFAULT;

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

	mtcp_parse_options(th, &peer_mss);
	mtcp_sync_mss(sk, peer_mss);
	ms->irs = cb->seq;
	ms->rcv_nxt = cb->seq + 1;
	ms->copied_seq = ms->rcv_nxt;
	ms->snd_wnd = ntohs(th->window);
	ms->snd_wl1 = cb->seq;
	ms->snd_wl2 = cb->ack_seq;
	inet_csk(sk)->icsk_ack.lrcvtime = (u32)jiffies;

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
	bool queued = false, acked = false;
	u32 fin_seq = cb->end_seq - 1;	/* where a FIN on this segment sits */
	bool fin = th->fin;

	switch (sk->sk_state) {
	case TCP_CLOSE:
		goto discard;
	case TCP_SYN_SENT:
		mtcp_rcv_synsent(sk, skb);
		goto discard;
	}
	/* The peer is heard from: keepalive measures idleness from here. */
	inet_csk(sk)->icsk_ack.lrcvtime = (u32)jiffies;

	/*
	 * Simultaneous open, the other half: their SYN-ACK acknowledging our
	 * SYN in SYN_RECEIVED completes the handshake (as Linux lets it).
	 */
	if (sk->sk_state == TCP_SYN_RECV && th->syn && th->ack && !th->rst &&
	    cb->seq + 1 == ms->rcv_nxt && cb->ack_seq == ms->snd_nxt) {
		ms->snd_wnd = ntohs(th->window);
		mtcp_ack_advance(sk, cb->ack_seq);
		mtcp_fsm_event(sk, MTCP_EV_RCV_SYNACK);
		goto discard;
	}

	/* first: sequence number */
	if (!mtcp_sequence_ok(ms, cb)) {
		if (!th->rst)
			mtcp_send_ack(sk);
		goto discard;
	}

	/* second: RST, exact sequence number or a challenge (RFC 5961 §3.2) */
	if (th->rst) {
		if (cb->seq == ms->rcv_nxt)
			mtcp_fsm_event(sk, MTCP_EV_RCV_RST);
		else
			mtcp_send_ack(sk);
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
	queued = mtcp_rcv_data(sk, skb, &acked);

	/*
	 * eighth: FIN, once everything before it is in.  (mtcp_rcv_data() may
	 * have queued the skb and moved its header: use what we kept.)
	 */
	if (fin && fin_seq == ms->rcv_nxt) {
		ms->rcv_nxt++;
		mtcp_fsm_event(sk, MTCP_EV_RCV_FIN);	/* sends the ACK */
		acked = true;
	}
	if (queued && !acked)
		mtcp_send_ack(sk);
	if (queued && !sock_flag(sk, SOCK_DEAD))
		sk->sk_data_ready(sk);

	/* The ACK may have opened their window for more of our data. */
	if (sk->sk_state != TCP_CLOSE)
		mtcp_push(sk);
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
	u16 mss = MTCP_MSS_DEFAULT;
	int syn_backlog;
	bool full;

	t = mtcp_fsm_lookup(TCP_LISTEN, MTCP_EV_RCV_SYN);
	if (!t.valid || !(t.actions & MTCP_ACT_SEND_SYNACK))
		return;
	if (skb_rtable(skb)->rt_flags & (RTCF_BROADCAST | RTCF_MULTICAST))
		return;

	mtcp_parse_options(th, &mss);

	/* The SYN queue is bounded by the backlog and max_syn_backlog. */
	syn_backlog = min_t(int, READ_ONCE(sk->sk_max_ack_backlog),
			    READ_ONCE(mn->sysctl_max_syn_backlog));
	full = inet_csk_reqsk_queue_len(sk) >= max(syn_backlog, 1);
	if ((full || READ_ONCE(mn->sysctl_syncookies) == 2) &&
	    mtcp_want_cookie(sk)) {
		/* Their MSS, rounded down to the table, goes into the ISN. */
		u32 isn = mtcp_cookie_init_seq(skb, &mss);

		/* A cookie SYN-ACK allocates nothing: the ISN is the state. */
		mtcp_v4_send_reply(net, skb, TCPHDR_SYN | TCPHDR_ACK, isn,
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

	req = inet_reqsk_alloc(&mtcp_request_sock_ops, sk, true);
	if (!req)
		goto drop;
	mtcp_init_req(req, sk, skb);
	mreq = mtcp_rsk(req);
	mreq->irs = cb->seq;
	mreq->iss = secure_tcp_seq(iph->daddr, iph->saddr, th->dest, th->source);
	mreq->snt_synack = 0;
	mreq->mss = mss;

	if (security_inet_conn_request(sk, skb, req) ||
	    !inet_csk_reqsk_queue_hash_add(sk, req, MTCP_TIMEOUT_INIT)) {
		reqsk_free(req);
		goto drop;
	}
	mtcp_v4_rtx_synack(sk, req);
	reqsk_put(req);
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

	newsk = inet_csk_clone_lock(sk, req, GFP_ATOMIC);	/* SYN_RECV */
	if (!newsk)
		goto exit_nonewsk;

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
	ms->rcv_wnd = mtcp_select_window(newsk);
	ms->snd_wnd = ntohs(mtcp_hdr(skb)->window);
	ms->snd_wl1 = cb->seq;
	ms->snd_wl2 = cb->ack_seq;
	ms->srtt_us = 0;
	ms->fin_queued = 0;
	ms->last_overflow = 0;
	inet_csk(newsk)->icsk_rto = MTCP_TIMEOUT_INIT;

	if (!dst) {
		dst = inet_csk_route_child_sock(sk, newsk, req);
		if (!dst)
			goto put_and_exit;
	}
	sk_setup_caps(newsk, dst);
	newsk->sk_route_caps &= ~(NETIF_F_GSO_MASK | NETIF_F_CSUM_MASK);
	ms->advmss = mtcp_route_advmss(newsk, dst);
	mtcp_sync_mss(newsk, mreq->mss);
	/* The handshake's round trip seeds the RTO, as TCP's does (Karn). */
	if (mreq->snt_synack && !req->num_retrans)
		mtcp_rtt_sample(newsk, mreq->snt_synack);

	if (__inet_inherit_port(sk, newsk) < 0)
		goto put_and_exit;
	*own_req = inet_ehash_nolisten(newsk, req_to_sk(req_unhash), &found_dup_sk);
	if (!*own_req) {
		/*
		 * Another CPU completed this request first (or, for a cookie,
		 * the 4-tuple is taken): inet_ehash_nolisten() destroyed
		 * newsk; only our reference and lock remain, for the caller.
		 */
		newinet->inet_opt = NULL;
		if (!req_unhash && found_dup_sk) {
			__acquire(newsk);	/* locked by inet_csk_clone_lock() */
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
	inet_csk_prepare_forced_close(newsk);
	mtcp_done(newsk);
	MTCP_INC_STATS(net, MTCP_MIB_LISTENDROPS);
	return NULL;
}

/*
 * A segment for a request sock, without the listener lock (the ehash
 * insertion in inet_ehash_nolisten() decides who owns the request).
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
			inet_csk_reqsk_queue_drop(sk, req);
		return NULL;
	}
	if (th->syn) {
		t = mtcp_fsm_lookup_passive(MTCP_EV_RCV_SYN);
		if (!th->ack && cb->seq == mreq->irs &&
		    (t.actions & MTCP_ACT_SEND_SYNACK))
			inet_rtx_syn_ack(sk, req);	/* their SYN-ACK was lost */
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
	return inet_csk_complete_hashdance(sk, child, req, own_req);
}

/* Hand the rest of the segment (data, FIN) to the new child. */
static void mtcp_child_process(struct sock *parent, struct sock *child,
			       struct sk_buff *skb)
	__releases(child)
{
	if (!sock_owned_by_user(child))
		mtcp_rcv_state_process(child, skb);
	else
		__sk_add_backlog(child, skb);	/* accepted and busy already */
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
			__acquire(child);	/* locked by inet_csk_clone_lock() */
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
 * backlog in release_sock().  (Listeners never get here: mtcp_v4_rcv()
 * handles them without their lock.)
 */
int mtcp_v4_do_rcv(struct sock *sk, struct sk_buff *skb)
{
	/* A socket filter may have trimmed the payload since mtcp_v4_rcv(). */
	mtcp_fill_cb(skb, mtcp_hdr(skb));
	mtcp_rcv_state_process(sk, skb);
	return 0;
}

/* ------------------------------------------------------------ TIME_WAIT */

enum mtcp_tw_verdict { MTCP_TW_DROP, MTCP_TW_ACK, MTCP_TW_SYN, MTCP_TW_KILL };

static enum mtcp_tw_verdict mtcp_tw_rcv(struct sock *sk, struct sk_buff *skb)
{
	struct mtcp_timewait_sock *mtw = mtcp_twsk(sk);
	const struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	const struct tcphdr *th = mtcp_hdr(skb);
	struct mtcp_transition t;

	if (th->rst) {
		t = mtcp_fsm_lookup(TCP_TIME_WAIT, MTCP_EV_RCV_RST);
		return cb->seq == mtw->rcv_nxt && (t.actions & MTCP_ACT_DESTROY) ?
		       MTCP_TW_KILL : MTCP_TW_DROP;
	}
	if (th->syn && !th->ack) {
		/* A newer incarnation may start; an old SYN is re-ACKed. */
		t = mtcp_fsm_lookup(TCP_TIME_WAIT, MTCP_EV_RCV_SYN);
		if ((t.actions & MTCP_ACT_TW_REUSE) && after(cb->seq, mtw->rcv_nxt))
			return MTCP_TW_SYN;
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
	if (mtcp_parse_options(th, NULL))
		goto bad_packet;
	iph = ip_hdr(skb);
	mtcp_fill_cb(skb, th);

lookup:
	sk = __inet_lookup_skb(&mtcp_hashinfo, skb, th->doff * 4, th->source,
			       th->dest, inet_sdif(skb), &refcounted);
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
			reqsk_put(req);
			goto discard_it;
		}
		if (unlikely(sk->sk_state != TCP_LISTEN)) {
			inet_csk_reqsk_queue_drop_and_put(sk, req);
			goto lookup;
		}
		sock_hold(sk);
		nf_reset_ct(skb);
		nsk = mtcp_check_req(sk, skb, req);
		if (nsk) {
			/* Our reference on req went to the accept queue. */
			__acquire(nsk);		/* locked by inet_csk_clone_lock() */
			mtcp_child_process(sk, nsk, skb);
		} else {
			reqsk_put(req);
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
	return __sk_receive_skb(sk, skb, 0, th->doff * 4, refcounted);

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
		inet_twsk_put(inet_twsk(sk));
		goto discard_it;
	}
	verdict = mtcp_tw_rcv(sk, skb);
	if (verdict == MTCP_TW_SYN) {
		struct sock *sk2;

		sk2 = inet_lookup_listener(net, &mtcp_hashinfo, skb, th->doff * 4,
					   iph->saddr, th->source, iph->daddr,
					   th->dest, inet_iif(skb), inet_sdif(skb));
		if (sk2) {
			MTCP_INC_STATS(net, MTCP_MIB_TIMEWAITRECYCLED);
			inet_twsk_deschedule_put(inet_twsk(sk));
			sk = sk2;
			refcounted = false;
			goto process;
		}
		verdict = MTCP_TW_ACK;
	}
	if (verdict == MTCP_TW_ACK) {
		struct mtcp_timewait_sock *mtw = mtcp_twsk(sk);

		mtcp_v4_send_reply(net, skb, TCPHDR_ACK, mtw->snd_nxt,
				   mtw->rcv_nxt, mtw->rcv_wnd);
		inet_twsk_put(inet_twsk(sk));
	} else if (verdict == MTCP_TW_DROP) {
		inet_twsk_put(inet_twsk(sk));
	} else {	/* MTCP_TW_KILL */
		/* An acceptable RST ends TIME_WAIT (Linux, tcp_rfc1337 = 0). */
		MTCP_INC_STATS(net, MTCP_MIB_TIMEWAITKILLED);
		inet_twsk_deschedule_put(inet_twsk(sk));
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

	sk = __inet_lookup_established(net, &mtcp_hashinfo, iph->daddr, th->dest,
				       iph->saddr, ntohs(th->source),
				       inet_iif(skb), 0);
	if (!sk)
		return -ENOENT;
	if (sk->sk_state == TCP_TIME_WAIT) {
		inet_twsk_put(inet_twsk(sk));
		return 0;
	}
	if (sk->sk_state == TCP_NEW_SYN_RECV) {
		reqsk_put(inet_reqsk(sk));
		return 0;
	}

	switch (type) {
	case ICMP_DEST_UNREACH:
		if (code > NR_ICMP_UNREACH || code == ICMP_FRAG_NEEDED)
			goto out_put;	/* PMTU: our segments are small */
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
		if (!sock_owned_by_user(sk) && inet_sk(sk)->recverr) {
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
