/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mini_tcp connection state machine, as data.
 *
 * The table in fsm.c maps (state, event) to (next state, actions).  It holds
 * no sk_buff or socket code, so the same file is compiled three times: into
 * the module (the receive path and the socket calls ask it), into a host-side
 * unit test that checks every pair against RFC 9293, and into a generator of
 * the Graphviz state diagram.
 *
 * States are the kernel's TCP_* values (net/tcp_states.h; glibc exports the
 * same numbers in <netinet/tcp.h>), because the inet core compares
 * sk->sk_state against them.  TCP_CLOSE is RFC 9293's CLOSED.
 */
#ifndef MTCP_FSM_H
#define MTCP_FSM_H

#ifdef __KERNEL__
#include <linux/kernel.h>
#include <linux/types.h>
#include <net/tcp_states.h>
#else
#include <linux/types.h>
#include <netinet/tcp.h>
typedef __u8 u8;
typedef __u16 u16;
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* The RFC 9293 states are TCP_ESTABLISHED (1) .. TCP_CLOSING (11). */
#define MTCP_FSM_FIRST_STATE	TCP_ESTABLISHED
#define MTCP_FSM_LAST_STATE	TCP_CLOSING

/*
 * Events.  A received segment raises, in this order, at most one of the
 * RST/SYN events, then the ACK events its acknowledgment number covers, then
 * RCV_FIN: the order of RFC 9293 §3.10.7.4 (fourth: SYN, fifth: ACK,
 * eighth: FIN).  A FIN that also acknowledges our FIN is therefore
 * RCV_ACK_FIN followed by RCV_FIN.
 */
enum mtcp_event {
	MTCP_EV_CONNECT,	/* connect(): RFC "active OPEN" */
	MTCP_EV_LISTEN,		/* listen(): RFC "passive OPEN" */
	MTCP_EV_CLOSE,		/* close() or shutdown(SHUT_WR): RFC "CLOSE" */
	MTCP_EV_ABORT,		/* SO_LINGER {1,0}, close() with unread data */
	MTCP_EV_RCV_SYN,	/* SYN without ACK */
	MTCP_EV_RCV_SYNACK,	/* SYN+ACK whose ACK covers our SYN */
	MTCP_EV_RCV_ACK_SYN,	/* ACK that covers our SYN (SYN_RECEIVED) */
	MTCP_EV_RCV_ACK_FIN,	/* ACK that covers our FIN */
	MTCP_EV_RCV_FIN,	/* in-sequence FIN */
	MTCP_EV_RCV_RST,	/* acceptable RST */
	MTCP_EV_RETRIES,	/* SYN, SYN-ACK, FIN or data retries exhausted */
	MTCP_EV_FIN_WAIT2_TIMEOUT, /* orphan FIN_WAIT_2 reaped (fin_timeout) */
	MTCP_EV_2MSL_TIMEOUT,	/* TIME_WAIT expired */
	MTCP_EV_NR
};

/* Actions, a bit mask: what the caller must do on the transition. */
enum mtcp_action {
	MTCP_ACT_SEND_SYN	= 1 << 0,  /* SYN with a fresh ISN, arm retransmit */
	MTCP_ACT_SEND_SYNACK	= 1 << 1,  /* SYN-ACK (from LISTEN: via request sock) */
	MTCP_ACT_SEND_ACK	= 1 << 2,  /* ACK rcv_nxt */
	MTCP_ACT_SEND_FIN	= 1 << 3,  /* FIN after queued data, arm retransmit */
	MTCP_ACT_SEND_RST	= 1 << 4,  /* RST at snd_nxt */
	MTCP_ACT_ERR_REFUSED	= 1 << 5,  /* report ECONNREFUSED */
	MTCP_ACT_ERR_RESET	= 1 << 6,  /* report ECONNRESET */
	MTCP_ACT_ERR_TIMEDOUT	= 1 << 7,  /* report ETIMEDOUT */
	MTCP_ACT_CONNECTED	= 1 << 8,  /* wake connect()/accept() waiters */
	MTCP_ACT_EOF		= 1 << 9,  /* peer sent FIN: readers see EOF */
	MTCP_ACT_TIME_WAIT	= 1 << 10, /* hand over to a timewait sock, arm 2MSL */
	MTCP_ACT_DESTROY	= 1 << 11, /* connection over: unhash, release */
	MTCP_ACT_REQSK_DROP	= 1 << 12, /* passive SYN_RECEIVED: drop the request */
	MTCP_ACT_TW_REUSE	= 1 << 13, /* TIME_WAIT: a newer SYN may open a new incarnation */
	MTCP_ACT_CHALLENGE_ACK	= 1 << 14, /* RFC 5961 challenge ACK (rate-limited, §7) */
	MTCP_ACT_SEND_DELACK	= 1 << 15, /* ACK rcv_nxt within the delayed-ACK time */
};

/*
 * A transition.  @valid is 0 when the event has no meaning in the state: a
 * socket call then fails (the caller picks TCP's errno) and a segment event
 * is ignored.  A valid entry may keep the state (next == state).
 */
struct mtcp_transition {
	u8 valid;
	u8 next;
	u16 actions;
};

/*
 * The state a passive SYN_RECEIVED returns to on RST is LISTEN (RFC 9293
 * §3.10.7.4); for an active (simultaneous-open) SYN_RECEIVED it is CLOSED.
 * The table describes the active one; a request sock takes
 * MTCP_ACT_REQSK_DROP from mtcp_fsm_lookup_passive().
 */
struct mtcp_transition mtcp_fsm_lookup(int state, enum mtcp_event ev);
struct mtcp_transition mtcp_fsm_lookup_passive(enum mtcp_event ev);

const char *mtcp_state_name(int state);
const char *mtcp_event_name(enum mtcp_event ev);
const char *mtcp_action_name(unsigned int action_bit);

#endif /* MTCP_FSM_H */
