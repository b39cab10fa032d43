/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mini_tcp: TCP's connection management as a transport of its own.
 *
 * Internal API between the files of the module:
 *   mini_tcp.c   module init/exit, registration, per-netns state, sysctls
 *   socket.c     struct proto and struct proto_ops: the socket calls
 *   input.c      receive path: checksum, lookup, state processing
 *   output.c     building and sending segments
 *   timer.c      retransmission, FIN_WAIT_2 and TIME_WAIT
 *   syncookie.c  ISNs and SYN cookies (own keys)
 *   proc.c       /proc/net/mini_tcp and /proc/net/mini_tcp_stat
 *   diag.c       sock_diag handler: a module of its own, mini_tcp_diag.ko
 *   fsm.c        the state machine as a table (see fsm.h)
 *
 * Locking follows TCP: a full socket is processed under its socket lock
 * (bh_lock_sock in softirq, or lock_sock and the backlog in process
 * context); request socks and TIME_WAIT socks are looked up under RCU and
 * handled without the listener lock, as inet_connection_sock expects.
 */
#ifndef _MINI_TCP_H
#define _MINI_TCP_H

#include <linux/percpu.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/inet_connection_sock.h>
#include <net/inet_hashtables.h>
#include <net/inet_timewait_sock.h>
#include <net/ip.h>
#include <net/netns/generic.h>
#include <net/request_sock.h>
#include <net/tcp.h>	/* before(), after(), TCPHDR_*, TCPOPT_*: the header is TCP's */
#include <net/sock.h>

#include "compat.h"
#include "fsm.h"

/* The wire header is TCP's (RFC 9293 §3.1), bit for bit. */
#define MTCP_HDR_MIN		((unsigned int)sizeof(struct tcphdr))
#define MTCP_HDR_MAX		60U
#define MTCP_MSS_DEFAULT	536U	/* RFC 9293 §3.7.1, no MSS option */
#define MTCP_MAX_WINDOW		65535U	/* the header's window field */
#define MTCP_MAX_WSCALE		14U	/* RFC 7323 §2.3 */
#define MTCP_MAX_HEADER		(MTCP_HDR_MAX + MAX_HEADER)
/*
 * GSO (offload.c): a data segment's header is 20 bytes, the core counts
 * the 12 of an SCTP header for SKB_GSO_SCTP: gso_size carries the
 * difference.  At most this much payload in one skb: its IP length must
 * fit in 16 bits.
 */
#define MTCP_GSO_PAD		(MTCP_HDR_MIN - 12U)
#define MTCP_GSO_MAX_PAYLOAD	(65535U - MTCP_HDR_MAX - 60U)
#define MTCP_TIMEOUT_INIT	((unsigned int)HZ)	/* RFC 6298 initial RTO */
#define MTCP_RTO_MIN		((unsigned int)(HZ / 5))
#define MTCP_RTO_MAX		((unsigned int)(120 * HZ))
/* Retry after an allocation failure, as TCP's TCP_RESOURCE_PROBE_INTERVAL. */
#define MTCP_RESOURCE_PROBE	((unsigned int)(HZ / 2))

/* Work an ICMP error found the socket busy with: done in release_cb. */
#define MTCP_MTU_REDUCED_DEFERRED	0

/* Congestion control states, as TCP_CA_*: the values TCP_INFO reports. */
#define MTCP_CA_OPEN		0
#define MTCP_CA_RECOVERY	3	/* fast recovery (NewReno) */
#define MTCP_CA_LOSS		4	/* after an RTO: go-back-N */
#define MTCP_INIT_CWND		10U	/* RFC 6928 */
#define MTCP_INFINITE_SSTHRESH	0x7fffffffU
#define MTCP_DELACK		((unsigned int)(HZ / 25))	/* 40 ms, TCP_DELACK_MIN */
#define MTCP_MAX_QUICKACKS	16U

/* Keepalive defaults, TCP's: 2 h idle, 75 s between probes, 9 probes. */
#define MTCP_KEEPALIVE_TIME	7200
#define MTCP_KEEPALIVE_INTVL	75
#define MTCP_KEEPALIVE_PROBES	9

/* The IP protocol number we registered (module parameter ipproto). */
extern int mtcp_ipproto;

/* Per-skb state, behind the IP layer's own so that it survives it. */
struct mtcp_skb_cb {
	struct inet_skb_parm	h4;
	u32			seq;		/* first sequence number */
	u32			end_seq;	/* seq + SYN + FIN + payload */
	u32			ack_seq;
	u8			flags;		/* TCPHDR_* of the segment */
	u8			sacked;		/* transmitted before (Karn) */
	u32			when;		/* jiffies of the last send */
	u32			tw_isn;		/* ISN for a SYN that reuses TIME_WAIT, 0: none */
};

#define MTCP_SKB_CB(skb)	((struct mtcp_skb_cb *)&((skb)->cb[0]))

static inline struct tcphdr *mtcp_hdr(const struct sk_buff *skb)
{
	return (struct tcphdr *)skb_transport_header(skb);
}

/* The transmission control block. */
struct mini_sock {
	struct inet_connection_sock icsk;	/* must be first */
	u32	iss;		/* our initial sequence number */
	u32	irs;		/* their initial sequence number */
	u32	snd_una;	/* oldest unacknowledged */
	u32	snd_nxt;	/* next to send */
	u32	write_seq;	/* next to queue (end of the write queue) */
	u32	snd_wnd;	/* peer's window */
	u32	max_window;	/* largest window the peer offered (RFC 5961 §5) */
	u32	snd_wl1;	/* seq of the last window update */
	u32	snd_wl2;	/* ack of the last window update */
	u32	rcv_nxt;	/* next expected */
	u32	rcv_wnd;	/* window left of what we last advertised */
	u32	rcv_wup;	/* rcv_nxt when we last sent an ACK */
	u32	snd_sml;	/* end of the last small segment sent (Nagle) */
	u32	last_data_rcv;	/* jiffies of the last in-order data (quick ACKs) */
	u32	copied_seq;	/* next byte the reader gets */
	u32	srtt_us;	/* smoothed RTT << 3 (RFC 6298), 0: none yet */
	u32	rttvar_us;	/* RTT variation << 2 */
	/* Congestion control (RFC 5681) and loss recovery (RFC 6582). */
	u32	snd_cwnd;	/* congestion window, segments */
	u32	snd_cwnd_cnt;	/* segments ACKed towards the next increase */
	u32	snd_ssthresh;	/* slow start threshold, segments */
	u32	high_seq;	/* snd_nxt when recovery began (RFC 6582 "recover") */
	u32	rtx_nxt;	/* after an RTO: next sequence to resend (go-back-N) */
	u32	lsndtime;	/* jiffies of the last data sent (idle restart) */
	u32	total_retrans;	/* segments retransmitted over the connection */
	u8	ca_state;	/* MTCP_CA_* */
	u8	dupacks;	/* duplicate ACKs in a row */
	struct sk_buff_head ooo_queue;	/* out-of-order segments, by sequence */
	u32	mtu_info;	/* next-hop MTU of the last "fragmentation needed" */
	unsigned long	deferred;	/* MTCP_MTU_REDUCED_DEFERRED: for release_cb */
	u16	mss;		/* effective send MSS */
	u16	advmss;		/* MSS we announce */
	u16	user_mss;	/* TCP_MAXSEG, 0: none */
	u16	peer_mss;	/* the peer's MSS option, or the default */
	u8	fin_queued:1,	/* our FIN is in the write queue */
		nodelay:1,
		cork:1,
		wscale_ok:1;	/* both SYNs carried a window scale */
	u8	snd_wscale;	/* shift of the peer's window fields (RFC 7323) */
	u8	rcv_wscale;	/* shift of ours */
	/* Receive buffer autotuning, as tcp_rcv_space_adjust(). */
	struct {
		u32	space;	/* bytes the reader took in the last round trip */
		u32	seq;	/* copied_seq when this measurement began */
		u64	time;	/* and when, us */
	} rcvq_space;
	/* The receiver's RTT: the time one window of data takes to arrive. */
	struct {
		u32	rtt_us;	/* smoothed << 3, 0: none yet */
		u32	seq;	/* rcv_nxt that ends this measurement */
		u64	time;	/* when it began, us */
	} rcv_rtt;
	unsigned long	last_overflow;	/* listener: jiffies of SYN queue overflow */
	u32	last_oow_ack_time;	/* jiffies of the last out-of-window ACK */
	int	linger2;	/* TCP_LINGER2, seconds; 0: sysctl fin_timeout */
	int	keepalive_time;	/* TCP_KEEPIDLE etc., seconds; 0: default */
	int	keepalive_intvl;
	int	keepalive_probes;
	int	user_timeout;	/* TCP_USER_TIMEOUT, ms, 0: the retries count */
	u32	retrans_stamp;	/* first send of the head being retransmitted */
	struct mtcp_bind_bucket *bind_bucket;	/* our port, table.c */
};

static inline struct mini_sock *mtcp_sk(const struct sock *sk)
{
	return (struct mini_sock *)sk;
}

/*
 * Queue an skb on the write queue, charged to the socket as TCP's are
 * (mtcp_wqueue_free() returns the charge when it is acknowledged).  The
 * caller scheduled skb->truesize: sk_wmem_schedule(), or
 * mtcp_forced_mem_schedule() for what must go out whatever the limits.
 */
static inline void mtcp_wqueue_tail(struct sock *sk, struct sk_buff *skb)
{
	__skb_queue_tail(&sk->sk_write_queue, skb);
	sk_wmem_queued_add(sk, skb->truesize);
	sk_mem_charge(sk, skb->truesize);
}

/* Free an skb that left the write queue (acknowledged, or purged). */
static inline void mtcp_wqueue_free(struct sock *sk, struct sk_buff *skb)
{
	sk_wmem_queued_add(sk, -skb->truesize);
	sk_mem_uncharge(sk, skb->truesize);
	__kfree_skb(skb);
}

/*
 * Make room for a charge of @size that must succeed over the memory
 * limits: a SYN or FIN (or connect() and close() would never finish), and
 * a receive skb on an empty receive queue (or a connection could stall
 * for good while other sockets hold the memory).  TCP forces these with
 * sk_forced_mem_schedule(), which a module cannot call: it is not
 * exported, nor is the memory cgroup charge it makes with __GFP_NOFAIL,
 * and sk_memory_allocated_add() reads the unexported sysctl_mem_pcpu_rsv.
 * So: schedule what the limits allow; if they refuse, the charge that
 * follows takes sk_forward_alloc below zero: a debt of an skb or two (a
 * SYN or FIN, a received skb), which the socket's next schedule pays to
 * the protocol's (and the cgroup's) counters, or freeing the skb cancels.
 * Charges and uncharges stay paired, so sk_forward_alloc ends at zero.
 */
static inline void mtcp_forced_mem_schedule(struct sock *sk, int size, int kind)
{
	if (size > sk->sk_forward_alloc)
		__sk_mem_schedule(sk, size - sk->sk_forward_alloc, kind);
}

static inline int mtcp_keepalive_time(const struct mini_sock *ms)
{
	return (ms->keepalive_time ? : MTCP_KEEPALIVE_TIME) * HZ;
}

static inline int mtcp_keepalive_intvl(const struct mini_sock *ms)
{
	return (ms->keepalive_intvl ? : MTCP_KEEPALIVE_INTVL) * HZ;
}

static inline int mtcp_keepalive_probes(const struct mini_sock *ms)
{
	return ms->keepalive_probes ? : MTCP_KEEPALIVE_PROBES;
}

/* A request sock: the passive SYN_RECEIVED, without a full socket. */
struct mtcp_request_sock {
	struct inet_request_sock ireq;	/* must be first */
	u32	iss;
	u32	irs;
	u32	snt_synack;	/* jiffies of the first SYN-ACK, 0: none (cookie) */
	u32	last_oow_ack_time;	/* SYN-ACK resent for a repeated SYN */
	u16	mss;		/* peer's MSS option, or the default */
};

/* What the options of a SYN say (mtcp_parse_options). */
struct mtcp_options {
	u16	mss;		/* the peer's MSS, or MTCP_MSS_DEFAULT */
	u8	wscale_ok:1;	/* a window scale option came */
	u8	snd_wscale;	/* its shift, at most MTCP_MAX_WSCALE */
};

static inline struct mtcp_request_sock *mtcp_rsk(const struct request_sock *req)
{
	return (struct mtcp_request_sock *)req;
}

/* TIME_WAIT keeps just what it needs to re-ACK a retransmitted FIN. */
struct mtcp_timewait_sock {
	struct inet_timewait_sock tw;	/* must be first */
	u32	rcv_nxt;
	u32	snd_nxt;
	u32	rcv_wnd;
	u8	rcv_wscale;
	u32	last_oow_ack_time;	/* jiffies of the last ACK we sent */
	struct mtcp_bind_bucket *bind_bucket;	/* the port it holds */
};

static inline struct mtcp_timewait_sock *mtcp_twsk(const struct sock *sk)
{
	return (struct mtcp_timewait_sock *)sk;
}

/* Counters, as /proc/net/netstat's: one per-netns, per-cpu array. */
enum mtcp_mib {
	MTCP_MIB_INSEGS,
	MTCP_MIB_OUTSEGS,
	MTCP_MIB_RETRANSSEGS,
	MTCP_MIB_INERRS,
	MTCP_MIB_INCSUMERRORS,
	MTCP_MIB_OUTRSTS,
	MTCP_MIB_ACTIVEOPENS,
	MTCP_MIB_PASSIVEOPENS,
	MTCP_MIB_ATTEMPTFAILS,
	MTCP_MIB_ESTABRESETS,
	MTCP_MIB_LISTENOVERFLOWS,
	MTCP_MIB_LISTENDROPS,
	MTCP_MIB_SYNCOOKIESSENT,
	MTCP_MIB_SYNCOOKIESRECV,
	MTCP_MIB_SYNCOOKIESFAILED,
	MTCP_MIB_TIMEWAITRECYCLED,
	MTCP_MIB_TIMEWAITKILLED,
	MTCP_MIB_ABORTONDATA,
	MTCP_MIB_ABORTONTIMEOUT,
	MTCP_MIB_CHALLENGEACK,		/* RFC 5961 challenge ACKs sent */
	MTCP_MIB_ACKSKIPPEDSEQ,		/* out-of-window ACKs rate-limited */
	MTCP_MIB_ACKSKIPPEDCHALLENGE,	/* challenge ACKs rate-limited */
	MTCP_MIB_ACKSKIPPEDSYNRECV,	/* SYN-ACK resends rate-limited */
	MTCP_MIB_ACKSKIPPEDTIMEWAIT,	/* TIME_WAIT ACKs rate-limited */
	MTCP_MIB_FASTRETRANS,		/* fast retransmits (3 duplicate ACKs) */
	MTCP_MIB_TIMEOUTS,		/* retransmission timeouts on data */
	MTCP_MIB_OFOQUEUE,		/* segments queued out of order */
	MTCP_MIB_OFODROP,		/* out-of-order segments dropped (memory) */
	MTCP_MIB_RCVQDROP,		/* in-order data dropped (memory) */
	MTCP_MIB_BACKLOGDROP,		/* dropped: the owner's backlog was full */
	MTCP_MIB_DELAYEDACKS,		/* ACKs sent by the delayed-ACK timer */
	MTCP_MIB_RCVCOALESCE,		/* segments merged into the queue's tail */
	MTCP_MIB_RCVCOLLAPSED,		/* skbs copied into fewer by a collapse */
	MTCP_MIB_MEMORYPRESSURES,	/* times the protocol entered pressure */
	MTCP_MIB_MEMORYPRESSURESCHRONO,	/* milliseconds it spent in pressure */
	MTCP_MIB_NR
};

struct mtcp_mib_cpu {
	unsigned long mibs[MTCP_MIB_NR];
};

extern const char *const mtcp_mib_names[MTCP_MIB_NR];

/* Per network namespace. */
struct mtcp_net {
	struct sock			*ctl_sk;	/* RST, cookie SYN-ACK */
	struct inet_timewait_death_row	tw_death_row;
	struct mtcp_mib_cpu __percpu	*mib;
	struct ctl_table_header		*sysctl_hdr;
	int	sysctl_syncookies;
	int	sysctl_max_syn_backlog;
	int	sysctl_syn_retries;
	int	sysctl_synack_retries;
	int	sysctl_retries2;
	int	sysctl_orphan_retries;
	int	sysctl_fin_timeout;	/* jiffies */
	int	sysctl_tw_timeout;	/* jiffies */
	int	sysctl_invalid_ratelimit;	/* jiffies between out-of-window ACKs */
	int	sysctl_challenge_ack_limit;	/* per second, INT_MAX: off */
	int	sysctl_window_scaling;		/* RFC 7323 window scale option */
	int	sysctl_moderate_rcvbuf;		/* receive buffer autotuning */
	int	sysctl_gso;			/* multi-segment skbs (offload.c) */
	u32	challenge_timestamp;	/* second of the current quota */
	u32	challenge_count;	/* challenge ACKs left in it */
};

extern unsigned int mtcp_net_id;
extern struct inet_hashinfo mtcp_hashinfo;
extern struct proto mtcp_prot;

static inline struct mtcp_net *mtcp_pernet(const struct net *net)
{
	return net_generic(net, mtcp_net_id);
}

#define MTCP_INC_STATS(net, field) \
	this_cpu_inc(mtcp_pernet(net)->mib->mibs[field])
#define MTCP_ADD_STATS(net, field, val) \
	this_cpu_add(mtcp_pernet(net)->mib->mibs[field], val)

/* socket.c */
DECLARE_PER_CPU(unsigned int, mtcp_orphan_count);
extern long sysctl_mtcp_mem[3];
extern int sysctl_mtcp_rmem[3];
extern int sysctl_mtcp_wmem[3];
int mtcp_mem_init(void);
void mtcp_mem_exit(void);
void mtcp_set_state(struct sock *sk, int state);
void mtcp_done(struct sock *sk);
int mtcp_fsm_event(struct sock *sk, enum mtcp_event ev);
void mtcp_pending_shutdown(struct sock *sk);
int mtcp_fsm_run(struct sock *sk, int old, struct mtcp_transition t);
void mtcp_get_info(struct sock *sk, struct tcp_info *info);	/* TCP_INFO */
extern const struct proto_ops mtcp_stream_ops, mtcp_stream_peek_off_ops;
extern struct request_sock_ops mtcp_request_sock_ops;
extern struct timewait_sock_ops mtcp_timewait_sock_ops;

/* input.c */
void mtcp_init_req(struct request_sock *req, const struct sock *sk,
		   struct sk_buff *skb);
int mtcp_v4_rcv(struct sk_buff *skb);
int mtcp_v4_err(struct sk_buff *skb, u32 info);
void mtcp_mtu_reduced(struct sock *sk);
void mtcp_release_cb(struct sock *sk);
int mtcp_v4_do_rcv(struct sock *sk, struct sk_buff *skb);
void mtcp_send_challenge_ack(struct sock *sk);
struct sock *mtcp_v4_syn_recv_sock(const struct sock *sk, struct sk_buff *skb,
				   struct request_sock *req,
				   struct dst_entry *dst,
				   struct request_sock *req_unhash,
				   bool *own_req,
				   void (*opt_child_init)(struct sock *newsk,
							  const struct sock *sk));

/* output.c */
int mtcp_send_syn(struct sock *sk);
int mtcp_send_synack(struct sock *sk);
int mtcp_v4_rtx_synack(const struct sock *sk, struct request_sock *req);
void mtcp_send_ack(struct sock *sk);
void mtcp_ack_snd_check(struct sock *sk);
void mtcp_enter_quickack_mode(struct sock *sk);
void mtcp_send_probe(struct sock *sk);
void mtcp_send_active_rst(struct sock *sk, gfp_t gfp);
void mtcp_send_fin(struct sock *sk);
void mtcp_push(struct sock *sk);
void mtcp_mark_push(struct sock *sk);
unsigned int mtcp_size_goal(struct sock *sk);
int mtcp_offload_init(void);
void mtcp_offload_exit(void);
int mtcp_retransmit_head(struct sock *sk);
void mtcp_write_wakeup(struct sock *sk);
void mtcp_enter_loss(struct sock *sk);
u32 mtcp_in_flight(const struct mini_sock *ms);
void mtcp_init_cwnd(struct sock *sk);
void mtcp_v4_send_reply(struct net *net, const struct sock *sk,
			struct sk_buff *rxskb, u8 flags, u32 seq, u32 ack,
			u16 window);
void mtcp_v4_send_reset(struct net *net, struct sk_buff *rxskb);
u32 mtcp_select_window(struct sock *sk);
struct sk_buff *mtcp_alloc_wqueue_skb(gfp_t gfp);
u8 mtcp_select_wscale(const struct sock *sk);
void mtcp_rcv_space_adjust(struct sock *sk);
void mtcp_init_buffer_space(struct sock *sk);
u16 mtcp_route_advmss(const struct sock *sk, const struct dst_entry *dst);
void mtcp_sync_mss(struct sock *sk, u16 peer_mss);
unsigned int mtcp_sync_mss_pmtu(struct sock *sk, u32 pmtu);

/* timer.c */
void mtcp_init_xmit_timers(struct sock *sk);
void mtcp_clear_xmit_timers(struct sock *sk);
void mtcp_reset_keepalive_timer(struct sock *sk, unsigned long len);
void mtcp_delete_keepalive_timer(struct sock *sk);
void mtcp_reset_rto(struct sock *sk);
void mtcp_arm_fin_wait2(struct sock *sk);
void mtcp_arm_keepalive(struct sock *sk);
void mtcp_time_wait(struct sock *sk, int substate, int timeo);
void mtcp_orphan_fin_wait2(struct sock *sk);
void mtcp_tw_rearm(struct inet_timewait_sock *tw);

/* table.c */
struct mtcp_bind_bucket;
int mtcp_tables_init(unsigned int ehash_entries);
void mtcp_tables_free(void);
int mtcp_get_port(struct sock *sk, unsigned short snum);
void mtcp_put_port(struct sock *sk);
int mtcp_inherit_port(const struct sock *sk, struct sock *child);
void mtcp_set_saddr(struct sock *sk, __be32 saddr);
void mtcp_reset_saddr(struct sock *sk);
int mtcp_hash_connect(struct sock *sk);
int mtcp_hash_sk(struct sock *sk);
void mtcp_unhash(struct sock *sk);
bool mtcp_ehash_insert(struct sock *sk, struct sock *osk,
		       bool *found_dup);
bool mtcp_ehash_nolisten(struct sock *sk, struct sock *osk,
			 bool *found_dup);
bool mtcp_ehash_remove_req(struct request_sock *req);
bool mtcp_bind_twsk_add(struct inet_timewait_sock *tw, struct sock *sk);
void mtcp_ehash_twsk_replace(struct inet_timewait_sock *tw, struct sock *sk);
void mtcp_twsk_unhash(struct inet_timewait_sock *tw);
struct sock *mtcp_lookup_established(struct net *net, __be32 saddr,
				     __be16 sport, __be32 daddr, u16 hnum,
				     int dif, int sdif);
struct sock *mtcp_lookup_listener(const struct net *net, struct sk_buff *skb,
				  int doff, __be32 saddr, __be16 sport,
				  __be32 daddr, u16 hnum, int dif, int sdif);
struct sock *mtcp_lookup_skb(struct net *net, struct sk_buff *skb, int doff,
			     __be16 sport, __be16 dport, int sdif,
			     bool *refcounted);

/* ipv4.c */
struct dst_entry *mtcp_route_req(const struct sock *sk, struct flowi4 *fl4,
				 const struct request_sock *req);
struct dst_entry *mtcp_route_child_sock(const struct sock *sk,
					struct sock *newsk,
					const struct request_sock *req);
struct dst_entry *mtcp_update_pmtu(struct sock *sk, u32 mtu);
int mtcp_ip_send(struct sk_buff *skb, const struct sock *sk, __be32 saddr,
		 __be32 daddr, u8 tos);

/* minisocks.c */
struct request_sock *mtcp_reqsk_alloc(struct sock *sk, bool attach);
void mtcp_reqsk_free(struct request_sock *req);
void mtcp_reqsk_put(struct request_sock *req);
struct sock *mtcp_csk_clone_lock(const struct sock *sk,
				 const struct request_sock *req, gfp_t prio);
struct proto_accept_arg;
struct sock *mtcp_csk_accept(struct sock *sk, struct proto_accept_arg *arg);
void mtcp_csk_destroy(struct sock *sk);
void mtcp_prepare_forced_close(struct sock *sk);
int mtcp_rtx_syn_ack(const struct sock *sk, struct request_sock *req);
bool mtcp_reqsk_hash_add(struct sock *sk, struct request_sock *req,
			 unsigned long timeout);
bool mtcp_reqsk_drop(struct sock *sk, struct request_sock *req);
void mtcp_reqsk_drop_and_put(struct sock *sk, struct request_sock *req);
struct sock *mtcp_accept_queue_add(struct sock *sk, struct request_sock *req,
				   struct sock *child);
struct sock *mtcp_complete_hashdance(struct sock *sk, struct sock *child,
				     struct request_sock *req, bool own_req);
int mtcp_listen_start(struct sock *sk, int next_state);
void mtcp_listen_stop(struct sock *sk);
struct inet_timewait_sock *mtcp_twsk_alloc(const struct sock *sk, int substate);
void mtcp_twsk_hashdance(struct inet_timewait_sock *tw, struct sock *sk,
			 int timeo);
void mtcp_twsk_reschedule(struct inet_timewait_sock *tw, int timeo);
void mtcp_twsk_deschedule_put(struct inet_timewait_sock *tw);
void mtcp_twsk_purge(void);
void mtcp_twsk_put(struct inet_timewait_sock *tw);
void mtcp_sock_gen_put(struct sock *sk);

/* syncookie.c */
void mtcp_secret_init(void);
u32 mtcp_secure_seq(__be32 saddr, __be32 daddr, __be16 sport, __be16 dport);
bool mtcp_want_cookie(struct sock *sk);
u32 mtcp_cookie_init_seq(struct sk_buff *skb, u16 *mss);
struct sock *mtcp_cookie_check(struct sock *sk, struct sk_buff *skb);

/* proc.c */
int mtcp_proc_init_net(struct net *net);
void mtcp_proc_exit_net(struct net *net);

/* Segment helpers. */
static inline u32 mtcp_seg_len(const struct sk_buff *skb)
{
	return MTCP_SKB_CB(skb)->end_seq - MTCP_SKB_CB(skb)->seq;
}

void mtcp_rtt_sample(struct sock *sk, u32 sent);

/* Options: MSS is the only one we send or read. */
void mtcp_parse_options(const struct net *net, const struct tcphdr *th,
			struct mtcp_options *opt);

#endif /* _MINI_TCP_H */
