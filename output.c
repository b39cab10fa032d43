// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp: building and sending segments.
 *
 * The write queue holds what the peer has not acknowledged yet: our SYN,
 * data and FIN, each skb covering [seq, end_seq).  Transmission copies an
 * skb's payload into a fresh segment, so the queued skb is never shared
 * with the device and retransmission is the same call as transmission.
 * Checksums are computed here in full: there is no offload for a protocol
 * the stack does not know.
 */
#include <linux/bitops.h>	/* before checksum.h, which needs ror32() */
#include <net/checksum.h>
#include <net/ip.h>
#include <net/route.h>

#include "mini_tcp.h"

/*
 * The MSS we announce: the route's, or less if TCP_MAXSEG on @sk (one of
 * ours, or NULL for a reply without a socket) says so.
 */
u16 mtcp_route_advmss(const struct sock *sk, const struct dst_entry *dst)
{
	unsigned int mss = dst ? dst_metric_advmss(dst) : MTCP_MSS_DEFAULT;
	u16 user_mss = sk ? READ_ONCE(mtcp_sk(sk)->user_mss) : 0;

	if (user_mss && user_mss < mss)
		mss = user_mss;
	return clamp_t(unsigned int, mss, 88, 65535 - MTCP_HDR_MIN - 20);
}

/*
 * The segment size we send: what the peer accepts (its MSS option), what
 * the path carries less our IP options (icsk_pmtu_cookie, 0 while no
 * route is known: then the MSS we announce), and TCP_MAXSEG.
 */
static void mtcp_update_mss(struct sock *sk)
{
	const struct inet_connection_sock *icsk = inet_csk(sk);
	struct mini_sock *ms = mtcp_sk(sk);
	int mss = ms->peer_mss ? : MTCP_MSS_DEFAULT;

	if (icsk->icsk_pmtu_cookie)
		mss = min_t(int, mss, icsk->icsk_pmtu_cookie -
				      icsk->icsk_af_ops->net_header_len -
				      icsk->icsk_ext_hdr_len - MTCP_HDR_MIN);
	else
		mss = min_t(int, mss, ms->advmss);
	if (ms->user_mss)
		mss = min_t(int, mss, ms->user_mss);
	ms->mss = max(mss, 48);		/* TCP's tcp_min_snd_mss */
}

void mtcp_sync_mss(struct sock *sk, u16 peer_mss)
{
	mtcp_sk(sk)->peer_mss = peer_mss;
	mtcp_update_mss(sk);
}

/*
 * icsk_sync_mss: the inet core calls it when the IP options of a socket
 * change (setsockopt(IP_OPTIONS), CIPSO/NetLabel) with the path MTU it
 * last knew, after adjusting icsk_ext_hdr_len.  Returns the new MSS.
 */
unsigned int mtcp_sync_mss_pmtu(struct sock *sk, u32 pmtu)
{
	if (pmtu)
		inet_csk(sk)->icsk_pmtu_cookie = pmtu;
	mtcp_update_mss(sk);
	return mtcp_sk(sk)->mss;
}

/*
 * The window we offer, in bytes: half of the free receive buffer (the
 * other half is skb overhead), at most what the 16-bit field can say
 * once shifted, and a multiple of the scale so that the field says it
 * exactly (RFC 7323 §2.3).
 */
u32 mtcp_select_window(struct sock *sk)
{
	int free_space = READ_ONCE(sk->sk_rcvbuf) - atomic_read(&sk->sk_rmem_alloc);
	u8 wscale = mtcp_sk(sk)->rcv_wscale;

	if (free_space <= 0)
		return 0;
	return round_down(min_t(u32, free_space / 2, MTCP_MAX_WINDOW << wscale),
			  1U << wscale);
}

/*
 * The shift for our windows (RFC 7323 §2.2), fixed for the connection by
 * our SYN: large enough for the window of the largest receive buffer the
 * socket may grow to - the one the user set, or autotuning's limit.
 */
u8 mtcp_select_wscale(const struct sock *sk)
{
	u32 space;
	u8 wscale = 0;

	if (sk->sk_userlocks & SOCK_RCVBUF_LOCK)
		space = READ_ONCE(sk->sk_rcvbuf);
	else
		space = max_t(u32, READ_ONCE(sysctl_mtcp_rmem[2]),
			      READ_ONCE(sysctl_rmem_max));
	space /= 2;
	while (space > MTCP_MAX_WINDOW && wscale < MTCP_MAX_WSCALE) {
		space >>= 1;
		wscale++;
	}
	return wscale;
}

/*
 * Push the header in front of the payload already in @skb.  A SYN carries
 * @mss and, unless @wscale is negative, the window scale option, laid out
 * as TCP's: MSS, NOP, WS.
 */
static void mtcp_build_header(struct sk_buff *skb, __be16 sport, __be16 dport,
			      u32 seq, u32 ack, u8 flags, u16 window, u16 mss,
			      int wscale)
{
	unsigned int hlen = MTCP_HDR_MIN + (mss ? TCPOLEN_MSS : 0) +
			    (wscale >= 0 ? TCPOLEN_WSCALE_ALIGNED : 0);
	struct tcphdr *th;
	__be32 *opt;

	th = skb_push(skb, hlen);
	skb_reset_transport_header(skb);
	memset(th, 0, hlen);
	th->source = sport;
	th->dest = dport;
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = hlen / 4;
	tcp_flag_byte(th) = flags;
	th->window = htons(window);
	opt = (__be32 *)(th + 1);
	if (mss)
		*opt++ = htonl((TCPOPT_MSS << 24) | (TCPOLEN_MSS << 16) | mss);
	if (wscale >= 0)
		*opt++ = htonl((TCPOPT_NOP << 24) | (TCPOPT_WINDOW << 16) |
			       (TCPOLEN_WINDOW << 8) | wscale);
}

/*
 * The checksum over the pseudo-header with our own protocol number.  Where
 * the device in front of us checksums any protocol (NETIF_F_HW_CSUM: lo,
 * veth, virtio-net), leave it partial, seeded with our pseudo-header, for
 * the device (or skb_checksum_help() on the way) to finish.  Never for a
 * device that only checksums TCP and UDP (NETIF_F_IP_CSUM): it would take
 * the checksum field's offset for TCP's and compute TCP's pseudo-header.
 * There, and for the control socket's replies, compute it here.
 */
static void mtcp_csum(struct sk_buff *skb, netdev_features_t caps,
		      __be32 saddr, __be32 daddr)
{
	struct tcphdr *th = mtcp_hdr(skb);

	if (caps & NETIF_F_HW_CSUM) {
		th->check = ~csum_tcpudp_magic(saddr, daddr, skb->len,
					       mtcp_ipproto, 0);
		skb->ip_summed = CHECKSUM_PARTIAL;
		skb->csum_start = skb_transport_header(skb) - skb->head;
		skb->csum_offset = offsetof(struct tcphdr, check);
		return;
	}
	th->check = 0;
	th->check = csum_tcpudp_magic(saddr, daddr, skb->len, mtcp_ipproto,
				      skb_checksum(skb, 0, skb->len, 0));
	skb->ip_summed = CHECKSUM_NONE;
}

static void mtcp_count_out(struct net *net, u8 flags, unsigned int segs)
{
	MTCP_ADD_STATS(net, MTCP_MIB_OUTSEGS, segs);
	if (flags & TCPHDR_RST)
		MTCP_INC_STATS(net, MTCP_MIB_OUTRSTS);
}

/*
 * Bytes one write-queue skb may hold, as tcp_xmit_size_goal(): one
 * segment, or with GSO (offload.c) several whole segments: as many as
 * fit in one IP packet's length, no more than half the largest window
 * the peer offered (a small window would keep splitting them), and no
 * more than a quarter of the congestion window, at least two.  The last
 * stands in for TCP's pacing-rate bound (tcp_tso_autosize()): a loss on
 * a virtual link (or a qdisc such as netem) takes a whole skb, and a
 * small window recovers from small bursts only.
 */
unsigned int mtcp_size_goal(struct sock *sk)
{
	const struct mini_sock *ms = mtcp_sk(sk);
	unsigned int mss = max_t(unsigned int, ms->mss, 64);
	unsigned int segs;

	if (!READ_ONCE(mtcp_pernet(sock_net(sk))->sysctl_gso))
		return mss;
	segs = min3(MTCP_GSO_MAX_PAYLOAD / mss, ms->max_window / 2 / mss,
		    max(ms->snd_cwnd / 4, 2U));
	return max(segs, 1U) * mss;
}

/*
 * A data skb of more than one MSS leaves marked for segmentation: GSO type
 * and size as offload.c expects them, the segment count for the IP ID
 * and the statistics.  A shorter one has whatever an earlier, longer
 * transmission of its skb left cleared.  @skb's shared info is its own or
 * shared with the write queue's skb alone (mtcp_transmit() copies when
 * another clone is out).  Returns the number of segments.
 */
static unsigned int mtcp_set_gso(struct sk_buff *skb, unsigned int mss)
{
	struct skb_shared_info *shinfo = skb_shinfo(skb);

	if (skb->len <= mss) {
		shinfo->gso_size = 0;
		shinfo->gso_segs = 0;
		shinfo->gso_type = 0;
		return 1;
	}
	shinfo->gso_size = mss + MTCP_GSO_PAD;
	shinfo->gso_segs = DIV_ROUND_UP(skb->len, mss);
	shinfo->gso_type = SKB_GSO_SCTP;
	return shinfo->gso_segs;
}

/*
 * Send one segment of a full socket: @seq and @flags, the payload of
 * @oskb (a write-queue skb, or NULL for a bare ACK, RST or probe), our
 * current ACK and window.  A queued skb goes out as a clone sharing its
 * pages, the header pushed into its headroom, as __tcp_transmit_skb();
 * if an earlier clone is still out (in a qdisc, or in the receive queue
 * of a peer on this host), a copy of the head takes the header instead.
 */
static int mtcp_transmit(struct sock *sk, struct sk_buff *oskb, u32 seq,
			 u8 flags, gfp_t gfp)
{
	struct inet_sock *inet = inet_sk(sk);
	struct mini_sock *ms = mtcp_sk(sk);
	netdev_features_t caps = sk->sk_route_caps;
	unsigned int segs = 1;
	struct sk_buff *skb;
	u16 window;
	int err;

	if (oskb) {
		if (unlikely(skb_cloned(oskb)))
			skb = pskb_copy(oskb, gfp);
		else
			skb = skb_clone(oskb, gfp);
		if (!skb)
			return -ENOBUFS;
		/* Our control block is no business of the IP layer's. */
		memset(skb->cb, 0, sizeof(struct inet_skb_parm));
		segs = mtcp_set_gso(skb, ms->mss);
		/* Segments get their checksums in offload.c, by the device. */
		if (segs > 1)
			caps = NETIF_F_HW_CSUM;
	} else {
		skb = alloc_skb(MTCP_MAX_HEADER, gfp);
		if (!skb)
			return -ENOBUFS;
		skb_reserve(skb, MTCP_MAX_HEADER);
	}

	/*
	 * Never shrink the window: what we offered stays offered (rounded
	 * up to what the scaled field can say).  A SYN's window is never
	 * scaled (RFC 7323 §2.2).
	 */
	if (!(flags & TCPHDR_RST)) {
		u32 cur = ALIGN(ms->rcv_wnd, 1U << ms->rcv_wscale);

		ms->rcv_wnd = max(mtcp_select_window(sk), cur);
		if (flags & TCPHDR_SYN)
			ms->rcv_wnd = min(ms->rcv_wnd, MTCP_MAX_WINDOW);
	}
	if (flags & TCPHDR_ACK) {
		/* This ACK is the one a delayed ACK was waiting to send. */
		struct inet_connection_sock *icsk = inet_csk(sk);

		if (icsk->icsk_ack.quick && !(flags & TCPHDR_SYN))
			icsk->icsk_ack.quick--;
		inet_csk_clear_xmit_timer(sk, ICSK_TIME_DACK);
		ms->rcv_wup = ms->rcv_nxt;
	}
	if (flags & TCPHDR_RST)
		window = 0;
	else if (flags & TCPHDR_SYN)
		window = ms->rcv_wnd;
	else
		window = min(ms->rcv_wnd >> ms->rcv_wscale, MTCP_MAX_WINDOW);
	mtcp_build_header(skb, inet->inet_sport, inet->inet_dport, seq,
			  (flags & TCPHDR_ACK) ? ms->rcv_nxt : 0, flags, window,
			  (flags & TCPHDR_SYN) ? ms->advmss : 0,
			  (flags & TCPHDR_SYN) && ms->wscale_ok ? ms->rcv_wscale : -1);
	mtcp_csum(skb, caps, inet->inet_saddr, inet->inet_daddr);
	skb_set_owner_w(skb, sk);

	mtcp_count_out(sock_net(sk), flags, segs);
	err = ip_queue_xmit(sk, skb, &inet->cork.fl);
	return net_xmit_eval(err);
}

/*
 * Send a write-queue skb: first time or again.  Its flags carry PSH when
 * it ends what a writer gave us (mtcp_mark_push()).
 */
static int mtcp_transmit_skb(struct sock *sk, struct sk_buff *skb)
{
	MTCP_SKB_CB(skb)->when = jiffies;
	return mtcp_transmit(sk, skb, MTCP_SKB_CB(skb)->seq,
			     MTCP_SKB_CB(skb)->flags, GFP_ATOMIC);
}

/*
 * A write ends here, or stops to wait for memory: PSH on the data that
 * ends it, as tcp_mark_push().  sendmsg takes it off an skb it appends
 * to; a split leaves it on the second half (mtcp_fragment()).
 */
void mtcp_mark_push(struct sock *sk)
{
	struct sk_buff *tail = skb_peek_tail(&sk->sk_write_queue);

	if (tail && tail->len)
		MTCP_SKB_CB(tail)->flags |= TCPHDR_PSH;
}

/*
 * A write-queue skb: room for the headers only; payload goes into page
 * fragments (sendmsg).  Fast-clone, since each is sent as a clone.
 */
struct sk_buff *mtcp_alloc_wqueue_skb(gfp_t gfp)
{
	struct sk_buff *skb = alloc_skb_fclone(MTCP_MAX_HEADER, gfp);

	if (!skb)
		return NULL;
	skb_reserve(skb, MTCP_MAX_HEADER);
	/* Checksummed at transmission (mtcp_csum), not folded into the copy. */
	skb->ip_summed = CHECKSUM_PARTIAL;
	return skb;
}

/* Queue a bare SYN or FIN: charged even over the memory limits. */
static struct sk_buff *mtcp_queue_ctl(struct sock *sk, u8 flags, gfp_t gfp)
{
	struct mini_sock *ms = mtcp_sk(sk);
	struct sk_buff *skb = mtcp_alloc_wqueue_skb(gfp | __GFP_NOWARN);

	if (!skb)
		return NULL;
	MTCP_SKB_CB(skb)->seq = ms->write_seq;
	MTCP_SKB_CB(skb)->end_seq = ms->write_seq + 1;
	MTCP_SKB_CB(skb)->flags = flags;
	MTCP_SKB_CB(skb)->sacked = 0;
	mtcp_forced_mem_schedule(sk, skb->truesize, SK_MEM_SEND);
	mtcp_wqueue_tail(sk, skb);
	ms->write_seq++;
	return skb;
}

/* Active open: the SYN is the first skb of the write queue. */
int mtcp_send_syn(struct sock *sk)
{
	struct mini_sock *ms = mtcp_sk(sk);
	struct sk_buff *skb;

	ms->snd_una = ms->iss;
	ms->snd_nxt = ms->iss;
	ms->write_seq = ms->iss;
	ms->snd_wnd = MTCP_MSS_DEFAULT;
	ms->rcv_nxt = 0;
	ms->rcv_wnd = 0;
	/* We offer a window scale; the peer's SYN decides if it is used. */
	ms->wscale_ok = !!READ_ONCE(mtcp_pernet(sock_net(sk))->sysctl_window_scaling);
	ms->rcv_wscale = ms->wscale_ok ? mtcp_select_wscale(sk) : 0;
	ms->snd_wscale = 0;
	ms->total_retrans = 0;
	mtcp_init_cwnd(sk);
	skb = mtcp_queue_ctl(sk, TCPHDR_SYN, sk->sk_allocation);
	if (!skb)
		return -ENOBUFS;
	ms->snd_nxt = MTCP_SKB_CB(skb)->end_seq;
	inet_csk(sk)->icsk_rto = MTCP_TIMEOUT_INIT;
	mtcp_transmit_skb(sk, skb);
	mtcp_reset_rto(sk);
	return 0;
}

/*
 * Simultaneous open: SYN_SENT got a bare SYN.  Our SYN, still at the head
 * of the write queue, now goes out (and is retransmitted) as SYN-ACK.
 */
int mtcp_send_synack(struct sock *sk)
{
	struct sk_buff *skb = skb_peek(&sk->sk_write_queue);

	if (!skb || !(MTCP_SKB_CB(skb)->flags & TCPHDR_SYN))
		return -EINVAL;
	MTCP_SKB_CB(skb)->flags |= TCPHDR_ACK;
	mtcp_transmit_skb(sk, skb);
	mtcp_reset_rto(sk);
	return 0;
}

void mtcp_send_ack(struct sock *sk)
{
	mtcp_transmit(sk, NULL, mtcp_sk(sk)->snd_nxt, TCPHDR_ACK, GFP_ATOMIC);
}

/*
 * Quick ACKs (the start of a connection, TCP_QUICKACK, a filled hole):
 * the next segments are ACKed at once, as tcp_enter_quickack_mode().
 */
void mtcp_enter_quickack_mode(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);

	icsk->icsk_ack.quick = MTCP_MAX_QUICKACKS;
	inet_csk_exit_pingpong_mode(sk);
}

/*
 * In-order data came (RFC 1122 §4.2.3.2, RFC 5681 §4.2): ACK at once
 * every second full segment, in quick-ACK mode, when reading opened the
 * window or when the receive path asked for it (ICSK_ACK_NOW: a filled
 * hole); otherwise within 40 ms, in the hope that a reply or a second
 * segment carries it (pingpong: an interactive exchange).
 */
void mtcp_ack_snd_check(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct mini_sock *ms = mtcp_sk(sk);

	if (ms->rcv_nxt - ms->rcv_wup > icsk->icsk_ack.rcv_mss ||
	    (icsk->icsk_ack.quick && !inet_csk_in_pingpong_mode(sk)) ||
	    (icsk->icsk_ack.pending & ICSK_ACK_NOW)) {
		mtcp_send_ack(sk);
		return;
	}
	if (!(icsk->icsk_ack.pending & ICSK_ACK_TIMER))
		inet_csk_reset_xmit_timer(sk, ICSK_TIME_DACK, MTCP_DELACK,
					  MTCP_RTO_MAX);
	icsk->icsk_ack.pending |= ICSK_ACK_SCHED;
}

/*
 * Zero-window probe: an old sequence number makes the peer answer with
 * its current window (RFC 9293 §3.8.6.1, the way Linux probes).
 */
void mtcp_send_probe(struct sock *sk)
{
	mtcp_transmit(sk, NULL, mtcp_sk(sk)->snd_una - 1, TCPHDR_ACK, GFP_ATOMIC);
}

/* Abort: RST at snd_nxt, acknowledging what we received (RFC 9293 §3.10.5). */
void mtcp_send_active_rst(struct sock *sk, gfp_t gfp)
{
	mtcp_transmit(sk, NULL, mtcp_sk(sk)->snd_nxt, TCPHDR_RST | TCPHDR_ACK, gfp);
}

/*
 * Queue our FIN behind the data, on the last unsent skb if there is one.
 * The state machine has already moved on (FIN_WAIT_1, LAST_ACK): if not
 * even a bare skb can be allocated, the retransmission timer tries again
 * (mtcp_fin_due(), timer.c) rather than leave the connection waiting for
 * a FIN that never comes.
 */
void mtcp_send_fin(struct sock *sk)
{
	struct sk_buff *tail = skb_peek_tail(&sk->sk_write_queue);
	struct mini_sock *ms = mtcp_sk(sk);

	if (ms->fin_queued)
		return;
	if (tail && !after(ms->snd_nxt, MTCP_SKB_CB(tail)->seq) &&
	    !(MTCP_SKB_CB(tail)->flags & (TCPHDR_SYN | TCPHDR_FIN))) {
		MTCP_SKB_CB(tail)->flags |= TCPHDR_FIN;
		MTCP_SKB_CB(tail)->end_seq++;
		ms->write_seq++;
	} else if (!mtcp_queue_ctl(sk, TCPHDR_FIN | TCPHDR_ACK, gfp_any())) {
		if (!inet_csk(sk)->icsk_pending)
			inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS,
						  MTCP_RESOURCE_PROBE,
						  MTCP_RTO_MAX);
		return;
	}
	ms->fin_queued = 1;
	mtcp_push(sk);
}

/* ------------------------------------------------- congestion window */

/*
 * Bytes in flight (RFC 5681 FlightSize).  After an RTO everything past
 * rtx_nxt is taken as lost, as TCP marks it: only what was sent again
 * since counts.
 */
u32 mtcp_in_flight(const struct mini_sock *ms)
{
	if (ms->ca_state == MTCP_CA_LOSS)
		return ms->rtx_nxt - ms->snd_una;
	return ms->snd_nxt - ms->snd_una;
}

/* A connection starts with an initial window of ten segments (RFC 6928). */
void mtcp_init_cwnd(struct sock *sk)
{
	struct mini_sock *ms = mtcp_sk(sk);

	ms->snd_cwnd = MTCP_INIT_CWND;
	ms->snd_cwnd_cnt = 0;
	ms->snd_ssthresh = MTCP_INFINITE_SSTHRESH;
	ms->ca_state = MTCP_CA_OPEN;
	ms->dupacks = 0;
	ms->lsndtime = 0;
	ms->high_seq = ms->snd_una;
	ms->rtx_nxt = ms->snd_nxt;
}

/*
 * RFC 5681 §4.1: after an idle period longer than the RTO the ACK clock is
 * gone; restart from no more than the initial window.
 */
static void mtcp_cwnd_restart(struct sock *sk)
{
	struct mini_sock *ms = mtcp_sk(sk);

	if (ms->lsndtime && ms->snd_una == ms->snd_nxt &&
	    (s32)((u32)jiffies - ms->lsndtime) > (s32)inet_csk(sk)->icsk_rto)
		ms->snd_cwnd = min(ms->snd_cwnd, MTCP_INIT_CWND);
}

/* What the congestion window still allows to send, in bytes. */
static u32 mtcp_cwnd_room(const struct mini_sock *ms)
{
	u64 cwnd = (u64)ms->snd_cwnd * ms->mss;
	u32 flight = mtcp_in_flight(ms);

	return cwnd > flight ? min_t(u64, cwnd - flight, U32_MAX) : 0;
}

/*
 * A clone may still be out, sharing the fragment array that splitting or
 * trimming @skb rewrites: take a private head first.  Its truesize stays
 * what the queue was charged (what skb_unclone_keeptruesize() guarantees
 * in the core; the allocator's rounding may differ by a few bytes).
 */
static int mtcp_unclone_keep_truesize(struct sk_buff *skb)
{
	unsigned int truesize = skb->truesize;

	if (!skb_cloned(skb))
		return 0;
	if (pskb_expand_head(skb, 0, 0, GFP_ATOMIC))
		return -ENOMEM;
	skb->truesize = truesize;
	return 0;
}

/*
 * Split a write-queue skb so that its first @len bytes go out alone (the
 * window or the congestion window allows no more), as tso_fragment() does.
 * The tail keeps the FIN and the PSH; both halves stay on the queue.
 */
static int mtcp_fragment(struct sock *sk, struct sk_buff *skb, unsigned int len)
{
	struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb), *ncb;
	unsigned int nlen = skb->len - len;
	struct sk_buff *buff;

	if (mtcp_unclone_keep_truesize(skb))
		return -ENOMEM;
	buff = mtcp_alloc_wqueue_skb(GFP_ATOMIC | __GFP_NOWARN);
	if (!buff)
		return -ENOMEM;
	/* (Payload in the linear part, should there be any, needs room.) */
	if (skb_headlen(skb) > len &&
	    pskb_expand_head(buff, 0, skb_headlen(skb) - len, GFP_ATOMIC)) {
		kfree_skb(buff);
		return -ENOMEM;
	}
	if (!sk_wmem_schedule(sk, buff->truesize)) {
		kfree_skb(buff);
		return -ENOMEM;
	}
	sk_wmem_queued_add(sk, buff->truesize);
	sk_mem_charge(sk, buff->truesize);
	/* The pages move, and the truesize with them; the charge stays. */
	skb_split(skb, buff, len);
	buff->truesize += nlen;
	skb->truesize -= nlen;
	ncb = MTCP_SKB_CB(buff);
	*ncb = *cb;
	ncb->seq = cb->seq + len;
	cb->end_seq = ncb->seq;
	cb->flags &= ~(TCPHDR_FIN | TCPHDR_PSH);
	__skb_queue_after(&sk->sk_write_queue, skb, buff);
	return 0;
}

/*
 * How much of @skb may go now: the peer's window and the congestion
 * window, in whole segments (one skb carries several with GSO), with
 * sender-side silly window avoidance (RFC 9293 §3.8.6.2.1): a partial
 * segment only if it is at least half the largest window the peer ever
 * offered, or the whole rest.  0: nothing now.
 */
static unsigned int mtcp_send_limit(struct sock *sk, struct sk_buff *skb)
{
	struct mini_sock *ms = mtcp_sk(sk);
	u32 seq = MTCP_SKB_CB(skb)->seq;
	u32 wnd_end = ms->snd_una + ms->snd_wnd;
	u32 room = mtcp_cwnd_room(ms);
	u32 limit;

	if (!skb->len)			/* a bare FIN needs no window */
		return room || ms->snd_una == ms->snd_nxt ? 1 : 0;
	if (!after(wnd_end, seq))
		return 0;
	/* (An skb queued before the MSS or the window fell may be longer.) */
	limit = min3(wnd_end - seq, room, mtcp_size_goal(sk));
	if (limit >= skb->len) {
		/*
		 * Nagle (RFC 896, Minshall's variant as TCP): a small
		 * segment that more writes could still fill waits while an
		 * earlier small one is unacknowledged; TCP_CORK holds it
		 * until it is full or the cork comes off.  A FIN never waits.
		 */
		if (skb->len < ms->mss && skb_queue_is_last(&sk->sk_write_queue, skb) &&
		    !(MTCP_SKB_CB(skb)->flags & TCPHDR_FIN) &&
		    (ms->cork || (!ms->nodelay && after(ms->snd_sml, ms->snd_una))))
			return 0;
		return skb->len;
	}
	if (limit >= ms->mss)
		return rounddown(limit, ms->mss);
	if (limit && limit >= ms->max_window / 2)
		return limit;
	return 0;
}

/* Send one unsent skb, or as much of it as @limit allows. */
static int mtcp_send_new(struct sock *sk, struct sk_buff *skb,
			 unsigned int limit)
{
	struct mini_sock *ms = mtcp_sk(sk);
	int err;

	if (skb->len && limit < skb->len) {
		err = mtcp_fragment(sk, skb, limit);
		if (err)
			return err;
	}
	err = mtcp_transmit_skb(sk, skb);
	if (err)
		return err;
	ms->snd_nxt = MTCP_SKB_CB(skb)->end_seq;
	if (ms->ca_state != MTCP_CA_LOSS)
		ms->rtx_nxt = ms->snd_nxt;
	if (skb->len < ms->mss)
		ms->snd_sml = ms->snd_nxt;
	if (skb->len) {
		/* Data soon after data came in: an interactive exchange. */
		if ((u32)jiffies - ms->last_data_rcv < MTCP_DELACK)
			inet_csk_enter_pingpong_mode(sk);
		ms->lsndtime = jiffies;
	}
	if (!inet_csk(sk)->icsk_pending)
		mtcp_reset_rto(sk);
	return 0;
}

/*
 * Drop the acknowledged first @len bytes of a write-queue skb, as
 * tcp_trim_head(): a skb of several segments (GSO) may be acknowledged
 * in part.  The payload is in page fragments (sendmsg); the memory stays
 * charged until the rest is acknowledged.
 */
static int mtcp_trim_head(struct sk_buff *skb, unsigned int len)
{
	struct skb_shared_info *shinfo;
	unsigned int head, eat;
	int i, k = 0;

	if (mtcp_unclone_keep_truesize(skb))
		return -ENOMEM;
	head = min(len, skb_headlen(skb));
	__skb_pull(skb, head);
	eat = len - head;
	shinfo = skb_shinfo(skb);
	for (i = 0; i < shinfo->nr_frags; i++) {
		unsigned int size = skb_frag_size(&shinfo->frags[i]);

		if (size <= eat) {
			skb_frag_unref(skb, i);
			eat -= size;
			continue;
		}
		shinfo->frags[k] = shinfo->frags[i];
		if (eat) {
			skb_frag_off_add(&shinfo->frags[k], eat);
			skb_frag_size_sub(&shinfo->frags[k], eat);
			eat = 0;
		}
		k++;
	}
	shinfo->nr_frags = k;
	skb->data_len -= len - head;
	skb->len -= len - head;
	return 0;
}

/*
 * Resend @skb (loss recovery): count it, and take no RTT sample from it.
 * What the peer acknowledged of it goes first; one longer than the MSS
 * (GSO, or sent before the path MTU fell) is cut to the MSS.
 */
static int mtcp_retransmit_skb(struct sock *sk, struct sk_buff *skb)
{
	struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
	u32 una = mtcp_sk(sk)->snd_una;
	int err;

	if (before(cb->seq, una) && una - cb->seq < skb->len) {
		err = mtcp_trim_head(skb, una - cb->seq);
		if (err)
			return err;
		cb->seq = una;
	}
	if (skb->len > mtcp_sk(sk)->mss) {
		err = mtcp_fragment(sk, skb, mtcp_sk(sk)->mss);
		if (err)
			return err;
	}
	MTCP_SKB_CB(skb)->sacked = 1;
	err = mtcp_transmit_skb(sk, skb);
	if (!err) {
		MTCP_INC_STATS(sock_net(sk), MTCP_MIB_RETRANSSEGS);
		mtcp_sk(sk)->total_retrans++;
	}
	return err;
}

/*
 * Send what the windows allow: after an RTO first the segments from
 * rtx_nxt on again (go-back-N, as the congestion window grows back),
 * then the unsent part of the write queue, split to the windows.
 */
void mtcp_push(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct mini_sock *ms = mtcp_sk(sk);
	struct sk_buff *skb;

	if ((1 << sk->sk_state) & (TCPF_CLOSE | TCPF_SYN_SENT | TCPF_SYN_RECV |
				   TCPF_LISTEN))
		return;
	mtcp_cwnd_restart(sk);

	skb_queue_walk(&sk->sk_write_queue, skb) {
		struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);
		unsigned int limit;

		if (before(cb->seq, ms->snd_nxt)) {
			/* Sent before: resend only in go-back-N. */
			if (ms->ca_state != MTCP_CA_LOSS ||
			    !after(cb->end_seq, ms->rtx_nxt))
				continue;
			if (!mtcp_cwnd_room(ms) || mtcp_retransmit_skb(sk, skb))
				break;
			ms->rtx_nxt = cb->end_seq;
			continue;
		}
		if (ms->ca_state == MTCP_CA_LOSS && before(ms->rtx_nxt, ms->snd_nxt))
			break;		/* the resends come first */
		limit = mtcp_send_limit(sk, skb);
		if (!limit || mtcp_send_new(sk, skb, limit))
			break;
	}

	/* Data waits on a closed window: probe it from the timer. */
	if (ms->snd_nxt != ms->write_seq && ms->snd_una == ms->snd_nxt &&
	    !icsk->icsk_pending)
		mtcp_reset_rto(sk);
}

/*
 * The probe timer's turn (nothing in flight, data waits): send what the
 * window allows even below the silly-window threshold, as
 * tcp_write_wakeup() does; 0 when the window is closed (then probe).
 */
void mtcp_write_wakeup(struct sock *sk)
{
	struct mini_sock *ms = mtcp_sk(sk);
	struct sk_buff *skb;
	u32 wnd_end = ms->snd_una + ms->snd_wnd;

	skb_queue_walk(&sk->sk_write_queue, skb) {
		struct mtcp_skb_cb *cb = MTCP_SKB_CB(skb);

		if (before(cb->seq, ms->snd_nxt))
			continue;
		if (skb->len && !after(wnd_end, cb->seq))
			return;
		mtcp_send_new(sk, skb, skb->len ? min(wnd_end - cb->seq, skb->len) : 1);
		return;
	}
}

/*
 * RTO on data (RFC 5681 §3.1, RFC 6298 §5): halve ssthresh (once per
 * episode), one segment of window, and go back to SND.UNA.
 */
void mtcp_enter_loss(struct sock *sk)
{
	struct mini_sock *ms = mtcp_sk(sk);

	if (ms->ca_state != MTCP_CA_LOSS)
		ms->snd_ssthresh = max(mtcp_in_flight(ms) / ms->mss / 2, 2U);
	ms->snd_cwnd = 1;
	ms->snd_cwnd_cnt = 0;
	ms->ca_state = MTCP_CA_LOSS;
	ms->high_seq = ms->snd_nxt;
	ms->rtx_nxt = ms->snd_una;
	ms->dupacks = 0;
	MTCP_INC_STATS(sock_net(sk), MTCP_MIB_TIMEOUTS);
}

/*
 * ICMP "fragmentation needed" (RFC 1191): learn the path MTU, shrink the
 * MSS, and resend what was lost at the old size, without taking it for
 * congestion (as tcp_simple_retransmit()).
 */
void mtcp_mtu_reduced(struct sock *sk)
{
	struct inet_connection_sock *icsk = inet_csk(sk);
	struct mini_sock *ms = mtcp_sk(sk);
	struct dst_entry *dst;

	if ((1 << sk->sk_state) & (TCPF_LISTEN | TCPF_CLOSE))
		return;
	dst = mtcp_update_pmtu(sk, READ_ONCE(ms->mtu_info));
	if (!dst || icsk->icsk_pmtu_cookie <= dst_mtu(dst))
		return;
	mtcp_sync_mss_pmtu(sk, dst_mtu(dst));
	if (ms->snd_una == ms->snd_nxt)
		return;
	if (ms->ca_state != MTCP_CA_LOSS) {
		ms->ca_state = MTCP_CA_LOSS;
		ms->high_seq = ms->snd_nxt;
	}
	ms->rtx_nxt = ms->snd_una;
	mtcp_push(sk);
}

/* release_sock(): the work softirq found the owner busy with. */
void mtcp_release_cb(struct sock *sk)
{
	if (test_and_clear_bit(MTCP_MTU_REDUCED_DEFERRED, &mtcp_sk(sk)->deferred)) {
		mtcp_mtu_reduced(sk);
		__sock_put(sk);
	}
}

/* Retransmit the oldest unacknowledged skb (RTO, fast retransmit). */
int mtcp_retransmit_head(struct sock *sk)
{
	struct mini_sock *ms = mtcp_sk(sk);
	struct sk_buff *skb = skb_peek(&sk->sk_write_queue);
	int err;

	if (!skb || !before(MTCP_SKB_CB(skb)->seq, ms->snd_nxt))
		return -EAGAIN;
	err = mtcp_retransmit_skb(sk, skb);
	if (!err && ms->ca_state == MTCP_CA_LOSS &&
	    after(MTCP_SKB_CB(skb)->end_seq, ms->rtx_nxt))
		ms->rtx_nxt = MTCP_SKB_CB(skb)->end_seq;
	return err;
}

/* The request sock's SYN-ACK; also the reqsk timer's retransmission. */
int mtcp_v4_rtx_synack(const struct sock *sk, struct request_sock *req)
{
	const struct inet_request_sock *ireq = inet_rsk(req);
	struct mtcp_request_sock *mreq = mtcp_rsk(req);
	struct net *net = sock_net(sk);
	struct dst_entry *dst;
	struct sk_buff *skb;
	struct flowi4 fl4;
	u16 window;
	int err;

	dst = mtcp_route_req(sk, &fl4, req);
	if (!dst)
		return -EHOSTUNREACH;

	skb = alloc_skb(MTCP_MAX_HEADER, GFP_ATOMIC);
	if (!skb) {
		dst_release(dst);
		return -ENOBUFS;
	}
	skb_reserve(skb, MTCP_MAX_HEADER);
	window = min_t(unsigned int, READ_ONCE(sk->sk_rcvbuf) / 2, MTCP_MAX_WINDOW);
	mtcp_build_header(skb, htons(ireq->ir_num), ireq->ir_rmt_port,
			  mreq->iss, mreq->irs + 1, TCPHDR_SYN | TCPHDR_ACK,
			  window, mtcp_route_advmss(sk, dst),
			  ireq->wscale_ok ? ireq->rcv_wscale : -1);
	mtcp_csum(skb, 0, ireq->ir_loc_addr, ireq->ir_rmt_addr);
	skb_dst_set(skb, dst);

	mtcp_count_out(net, TCPHDR_SYN | TCPHDR_ACK, 1);
	if (req->num_retrans)
		MTCP_INC_STATS(net, MTCP_MIB_RETRANSSEGS);
	else
		mreq->snt_synack = jiffies;	/* an RTT sample, if never resent */
	err = mtcp_ip_send(skb, sk, ireq->ir_loc_addr, ireq->ir_rmt_addr,
			   READ_ONCE(inet_sk(sk)->tos));
	return net_xmit_eval(err);
}

/*
 * Answer a segment without a socket of ours: RST for nobody's ports, the
 * cookie SYN-ACK of a listener under flood.  Goes out through the
 * namespace's control socket, addressed back to where @rxskb came from.
 */
void mtcp_v4_send_reply(struct net *net, const struct sock *sk,
			struct sk_buff *rxskb, u8 flags, u32 seq, u32 ack,
			u16 window)
{
	const struct iphdr *iph = ip_hdr(rxskb);
	const struct tcphdr *th = mtcp_hdr(rxskb);
	struct sock *ctl_sk = mtcp_pernet(net)->ctl_sk;
	struct sk_buff *skb;
	struct flowi4 fl4;
	struct rtable *rt;

	/*
	 * Never answer a broadcast or multicast segment.  (From the backlog
	 * the input route may be gone: then do not answer either.)
	 */
	if (!skb_rtable(rxskb) || skb_rtable(rxskb)->rt_type != RTN_LOCAL)
		return;

	memset(&fl4, 0, sizeof(fl4));
	flowi4_init_output(&fl4, inet_iif(rxskb), rxskb->mark,
			   RT_TOS(iph->tos), RT_SCOPE_UNIVERSE, mtcp_ipproto,
			   0, iph->saddr, iph->daddr, th->source, th->dest,
			   sock_net_uid(net, NULL));
	rt = ip_route_output_flow(net, &fl4, ctl_sk);
	if (IS_ERR(rt))
		return;

	skb = alloc_skb(MTCP_MAX_HEADER, GFP_ATOMIC);
	if (!skb) {
		ip_rt_put(rt);
		return;
	}
	skb_reserve(skb, MTCP_MAX_HEADER);
	/*
	 * A SYN-ACK announces what we can receive: our route's MSS, or the
	 * listener's TCP_MAXSEG if smaller.  A cookie SYN-ACK has no window
	 * scale: the cookie has no room to remember it (TCP's, without
	 * timestamps, has none either), so the connection runs unscaled.
	 */
	mtcp_build_header(skb, th->dest, th->source, seq, ack, flags, window,
			  (flags & TCPHDR_SYN) ? mtcp_route_advmss(sk, &rt->dst) : 0,
			  -1);
	mtcp_csum(skb, 0, iph->daddr, iph->saddr);
	skb_dst_set(skb, &rt->dst);

	mtcp_count_out(net, flags, 1);
	/*
	 * The control socket is shared by every CPU; serialize on it with BHs
	 * off: we may be in process context (a backlog), and transmitting
	 * runs softirqs that may want the same lock on this CPU.
	 */
	local_bh_disable();
	bh_lock_sock(ctl_sk);
	mtcp_ip_send(skb, ctl_sk, iph->daddr, iph->saddr,
		     iph->tos & ~INET_ECN_MASK);
	bh_unlock_sock(ctl_sk);
	local_bh_enable();
}

/*
 * RST for a segment nobody owns (RFC 9293 §3.10.7.1): with ACK set, seq is
 * its ack; otherwise seq 0 and we acknowledge the whole segment.  Never in
 * reply to a RST.  @rxskb's control block must be filled in (input.c).
 */
void mtcp_v4_send_reset(struct net *net, struct sk_buff *rxskb)
{
	const struct tcphdr *th = mtcp_hdr(rxskb);
	const struct mtcp_skb_cb *cb = MTCP_SKB_CB(rxskb);

	if (th->rst)
		return;
	if (th->ack)
		mtcp_v4_send_reply(net, NULL, rxskb, TCPHDR_RST, cb->ack_seq, 0, 0);
	else
		mtcp_v4_send_reply(net, NULL, rxskb, TCPHDR_RST | TCPHDR_ACK, 0,
				   cb->end_seq, 0);
}
