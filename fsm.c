// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp connection state machine: RFC 9293 Figure 5 and §3.10 as one table.
 *
 * This file must stay free of socket and sk_buff code: it is also compiled
 * on the host into selftests/fsm_test (checked pair by pair against an
 * independently written table) and scripts/fsm_dot (the state diagram).
 *
 * Where RFC 9293 leaves a choice, the table follows Linux TCP:
 *  - a SYN-ACK that acknowledges our SYN in an active SYN_RECEIVED
 *    (simultaneous open) completes the handshake instead of drawing a
 *    challenge ACK (tcp_validate_incoming() lets it pass the same way);
 *  - a SYN in TIME_WAIT may open a new incarnation (TW_REUSE; the caller
 *    checks that its sequence number is newer, else it is re-ACKed);
 *  - a RST in TIME_WAIT ends it (Linux's default, tcp_rfc1337 = 0);
 *  - an orphan in FIN_WAIT_2 is reaped after fin_timeout;
 *  - a duplicate SYN for a request sock is answered by a SYN-ACK again;
 *  - the ACK of a FIN that moves to CLOSE_WAIT is a delayed ACK (RFC 1122
 *    §4.2.3.2 allows it; tcp_fin() enters pingpong mode): an application
 *    that closes at once sends its FIN on the same segment, and the
 *    teardown takes three segments instead of four.
 */
#include "fsm.h"

#define T(next_state, acts) { .valid = 1, .next = (next_state), .actions = (acts) }

#define SYN	MTCP_ACT_SEND_SYN
#define SYNACK	MTCP_ACT_SEND_SYNACK
#define ACK	MTCP_ACT_SEND_ACK
#define FIN	MTCP_ACT_SEND_FIN
#define RST	MTCP_ACT_SEND_RST
#define REFUSED	MTCP_ACT_ERR_REFUSED
#define RESET	MTCP_ACT_ERR_RESET
#define TIMEDOUT MTCP_ACT_ERR_TIMEDOUT
#define CONN	MTCP_ACT_CONNECTED
#define EOF_	MTCP_ACT_EOF
#define TW	MTCP_ACT_TIME_WAIT
#define DESTROY	MTCP_ACT_DESTROY
#define DELACK	MTCP_ACT_SEND_DELACK

/*
 * A SYN (with or without ACK) in a synchronized state: RFC 9293 §3.10.7.4
 * "fourth" with RFC 5961 §4: answer with a challenge ACK, keep the state.
 */
#define CHALLENGE(state)	T(state, MTCP_ACT_CHALLENGE_ACK)

static const struct mtcp_transition fsm[MTCP_FSM_LAST_STATE + 1][MTCP_EV_NR] = {
	/* CLOSED: only the user can make something happen (Figure 5). */
	[TCP_CLOSE][MTCP_EV_CONNECT]		= T(TCP_SYN_SENT, SYN),
	[TCP_CLOSE][MTCP_EV_LISTEN]		= T(TCP_LISTEN, 0),

	/* LISTEN: a SYN is answered from a request sock (§3.10.7.2). */
	[TCP_LISTEN][MTCP_EV_LISTEN]		= T(TCP_LISTEN, 0),
	[TCP_LISTEN][MTCP_EV_CLOSE]		= T(TCP_CLOSE, DESTROY),
	[TCP_LISTEN][MTCP_EV_ABORT]		= T(TCP_CLOSE, DESTROY),
	[TCP_LISTEN][MTCP_EV_RCV_SYN]		= T(TCP_SYN_RECV, SYNACK),

	/* SYN_SENT (§3.10.7.3). */
	[TCP_SYN_SENT][MTCP_EV_CLOSE]		= T(TCP_CLOSE, DESTROY),
	[TCP_SYN_SENT][MTCP_EV_ABORT]		= T(TCP_CLOSE, DESTROY),
	[TCP_SYN_SENT][MTCP_EV_RCV_SYN]		= T(TCP_SYN_RECV, SYNACK),
	[TCP_SYN_SENT][MTCP_EV_RCV_SYNACK]	= T(TCP_ESTABLISHED, ACK | CONN),
	[TCP_SYN_SENT][MTCP_EV_RCV_RST]		= T(TCP_CLOSE, REFUSED | DESTROY),
	[TCP_SYN_SENT][MTCP_EV_RETRIES]		= T(TCP_CLOSE, TIMEDOUT | DESTROY),

	/* SYN_RECEIVED, active side of a simultaneous open. */
	[TCP_SYN_RECV][MTCP_EV_CLOSE]		= T(TCP_FIN_WAIT1, FIN),
	[TCP_SYN_RECV][MTCP_EV_ABORT]		= T(TCP_CLOSE, RST | DESTROY),
	[TCP_SYN_RECV][MTCP_EV_RCV_SYN]		= CHALLENGE(TCP_SYN_RECV),
	[TCP_SYN_RECV][MTCP_EV_RCV_SYNACK]	= T(TCP_ESTABLISHED, CONN),
	[TCP_SYN_RECV][MTCP_EV_RCV_ACK_SYN]	= T(TCP_ESTABLISHED, CONN),
	[TCP_SYN_RECV][MTCP_EV_RCV_FIN]		= T(TCP_CLOSE_WAIT, DELACK | EOF_),
	[TCP_SYN_RECV][MTCP_EV_RCV_RST]		= T(TCP_CLOSE, REFUSED | DESTROY),
	[TCP_SYN_RECV][MTCP_EV_RETRIES]		= T(TCP_CLOSE, TIMEDOUT | DESTROY),

	/* ESTABLISHED. */
	[TCP_ESTABLISHED][MTCP_EV_CLOSE]	= T(TCP_FIN_WAIT1, FIN),
	[TCP_ESTABLISHED][MTCP_EV_ABORT]	= T(TCP_CLOSE, RST | DESTROY),
	[TCP_ESTABLISHED][MTCP_EV_RCV_SYN]	= CHALLENGE(TCP_ESTABLISHED),
	[TCP_ESTABLISHED][MTCP_EV_RCV_SYNACK]	= CHALLENGE(TCP_ESTABLISHED),
	[TCP_ESTABLISHED][MTCP_EV_RCV_FIN]	= T(TCP_CLOSE_WAIT, DELACK | EOF_),
	[TCP_ESTABLISHED][MTCP_EV_RCV_RST]	= T(TCP_CLOSE, RESET | DESTROY),
	[TCP_ESTABLISHED][MTCP_EV_RETRIES]	= T(TCP_CLOSE, TIMEDOUT | DESTROY),

	/* FIN_WAIT_1: our FIN is out. */
	[TCP_FIN_WAIT1][MTCP_EV_ABORT]		= T(TCP_CLOSE, RST | DESTROY),
	[TCP_FIN_WAIT1][MTCP_EV_RCV_SYN]	= CHALLENGE(TCP_FIN_WAIT1),
	[TCP_FIN_WAIT1][MTCP_EV_RCV_SYNACK]	= CHALLENGE(TCP_FIN_WAIT1),
	[TCP_FIN_WAIT1][MTCP_EV_RCV_ACK_FIN]	= T(TCP_FIN_WAIT2, 0),
	[TCP_FIN_WAIT1][MTCP_EV_RCV_FIN]	= T(TCP_CLOSING, ACK | EOF_),
	[TCP_FIN_WAIT1][MTCP_EV_RCV_RST]	= T(TCP_CLOSE, RESET | DESTROY),
	[TCP_FIN_WAIT1][MTCP_EV_RETRIES]	= T(TCP_CLOSE, TIMEDOUT | DESTROY),

	/* FIN_WAIT_2: our FIN is acknowledged, waiting for theirs. */
	[TCP_FIN_WAIT2][MTCP_EV_ABORT]		= T(TCP_CLOSE, RST | DESTROY),
	[TCP_FIN_WAIT2][MTCP_EV_RCV_SYN]	= CHALLENGE(TCP_FIN_WAIT2),
	[TCP_FIN_WAIT2][MTCP_EV_RCV_SYNACK]	= CHALLENGE(TCP_FIN_WAIT2),
	[TCP_FIN_WAIT2][MTCP_EV_RCV_FIN]	= T(TCP_TIME_WAIT, ACK | EOF_ | TW),
	[TCP_FIN_WAIT2][MTCP_EV_RCV_RST]	= T(TCP_CLOSE, RESET | DESTROY),
	[TCP_FIN_WAIT2][MTCP_EV_FIN_WAIT2_TIMEOUT] = T(TCP_CLOSE, DESTROY),

	/* CLOSE_WAIT: their FIN is in, we may still send. */
	[TCP_CLOSE_WAIT][MTCP_EV_CLOSE]		= T(TCP_LAST_ACK, FIN),
	[TCP_CLOSE_WAIT][MTCP_EV_ABORT]		= T(TCP_CLOSE, RST | DESTROY),
	[TCP_CLOSE_WAIT][MTCP_EV_RCV_SYN]	= CHALLENGE(TCP_CLOSE_WAIT),
	[TCP_CLOSE_WAIT][MTCP_EV_RCV_SYNACK]	= CHALLENGE(TCP_CLOSE_WAIT),
	[TCP_CLOSE_WAIT][MTCP_EV_RCV_FIN]	= T(TCP_CLOSE_WAIT, ACK),
	[TCP_CLOSE_WAIT][MTCP_EV_RCV_RST]	= T(TCP_CLOSE, RESET | DESTROY),
	[TCP_CLOSE_WAIT][MTCP_EV_RETRIES]	= T(TCP_CLOSE, TIMEDOUT | DESTROY),

	/* CLOSING: FINs crossed, waiting for the ACK of ours. */
	[TCP_CLOSING][MTCP_EV_ABORT]		= T(TCP_CLOSE, DESTROY),
	[TCP_CLOSING][MTCP_EV_RCV_SYN]	= CHALLENGE(TCP_CLOSING),
	[TCP_CLOSING][MTCP_EV_RCV_SYNACK]	= CHALLENGE(TCP_CLOSING),
	[TCP_CLOSING][MTCP_EV_RCV_ACK_FIN]	= T(TCP_TIME_WAIT, TW),
	[TCP_CLOSING][MTCP_EV_RCV_FIN]		= T(TCP_CLOSING, ACK),
	[TCP_CLOSING][MTCP_EV_RCV_RST]		= T(TCP_CLOSE, DESTROY),
	[TCP_CLOSING][MTCP_EV_RETRIES]		= T(TCP_CLOSE, TIMEDOUT | DESTROY),

	/* LAST_ACK: both FINs sent, waiting for the ACK of ours. */
	[TCP_LAST_ACK][MTCP_EV_ABORT]		= T(TCP_CLOSE, DESTROY),
	[TCP_LAST_ACK][MTCP_EV_RCV_SYN]	= CHALLENGE(TCP_LAST_ACK),
	[TCP_LAST_ACK][MTCP_EV_RCV_SYNACK]	= CHALLENGE(TCP_LAST_ACK),
	[TCP_LAST_ACK][MTCP_EV_RCV_ACK_FIN]	= T(TCP_CLOSE, DESTROY),
	[TCP_LAST_ACK][MTCP_EV_RCV_FIN]		= T(TCP_LAST_ACK, ACK),
	[TCP_LAST_ACK][MTCP_EV_RCV_RST]		= T(TCP_CLOSE, DESTROY),
	[TCP_LAST_ACK][MTCP_EV_RETRIES]		= T(TCP_CLOSE, TIMEDOUT | DESTROY),

	/* TIME_WAIT: 2 MSL of re-ACKing their FIN. */
	[TCP_TIME_WAIT][MTCP_EV_ABORT]		= T(TCP_CLOSE, DESTROY),
	[TCP_TIME_WAIT][MTCP_EV_RCV_SYN]	= T(TCP_CLOSE, MTCP_ACT_TW_REUSE | DESTROY),
	[TCP_TIME_WAIT][MTCP_EV_RCV_SYNACK]	= T(TCP_TIME_WAIT, ACK),
	[TCP_TIME_WAIT][MTCP_EV_RCV_FIN]	= T(TCP_TIME_WAIT, ACK | TW),
	[TCP_TIME_WAIT][MTCP_EV_RCV_RST]	= T(TCP_CLOSE, DESTROY),
	[TCP_TIME_WAIT][MTCP_EV_2MSL_TIMEOUT]	= T(TCP_CLOSE, DESTROY),
};

static const struct mtcp_transition invalid;

struct mtcp_transition mtcp_fsm_lookup(int state, enum mtcp_event ev)
{
	if (state < MTCP_FSM_FIRST_STATE || state > MTCP_FSM_LAST_STATE ||
	    (unsigned int)ev >= MTCP_EV_NR)
		return invalid;
	return fsm[state][ev];
}

/*
 * A request sock is the passive SYN_RECEIVED.  It differs from the active
 * one only where RFC 9293 says "if the connection was initiated with a
 * passive OPEN": a RST (or giving up on the SYN-ACK) returns to LISTEN,
 * dropping just the request; a duplicate SYN is answered by the SYN-ACK.
 */
struct mtcp_transition mtcp_fsm_lookup_passive(enum mtcp_event ev)
{
	static const struct mtcp_transition rst = T(TCP_LISTEN, MTCP_ACT_REQSK_DROP);
	static const struct mtcp_transition dup_syn = T(TCP_SYN_RECV, SYNACK);

	switch (ev) {
	case MTCP_EV_RCV_RST:
	case MTCP_EV_RETRIES:
		return rst;
	case MTCP_EV_RCV_SYN:
		return dup_syn;
	default:
		return mtcp_fsm_lookup(TCP_SYN_RECV, ev);
	}
}

static const char *const state_names[MTCP_FSM_LAST_STATE + 1] = {
	[TCP_ESTABLISHED]	= "ESTABLISHED",
	[TCP_SYN_SENT]		= "SYN_SENT",
	[TCP_SYN_RECV]		= "SYN_RECEIVED",
	[TCP_FIN_WAIT1]		= "FIN_WAIT_1",
	[TCP_FIN_WAIT2]		= "FIN_WAIT_2",
	[TCP_TIME_WAIT]		= "TIME_WAIT",
	[TCP_CLOSE]		= "CLOSED",
	[TCP_CLOSE_WAIT]	= "CLOSE_WAIT",
	[TCP_LAST_ACK]		= "LAST_ACK",
	[TCP_LISTEN]		= "LISTEN",
	[TCP_CLOSING]		= "CLOSING",
};

static const char *const event_names[MTCP_EV_NR] = {
	[MTCP_EV_CONNECT]		= "CONNECT",
	[MTCP_EV_LISTEN]		= "LISTEN",
	[MTCP_EV_CLOSE]			= "CLOSE",
	[MTCP_EV_ABORT]			= "ABORT",
	[MTCP_EV_RCV_SYN]		= "rcv SYN",
	[MTCP_EV_RCV_SYNACK]		= "rcv SYN+ACK",
	[MTCP_EV_RCV_ACK_SYN]		= "rcv ACK of SYN",
	[MTCP_EV_RCV_ACK_FIN]		= "rcv ACK of FIN",
	[MTCP_EV_RCV_FIN]		= "rcv FIN",
	[MTCP_EV_RCV_RST]		= "rcv RST",
	[MTCP_EV_RETRIES]		= "retries exhausted",
	[MTCP_EV_FIN_WAIT2_TIMEOUT]	= "fin_timeout",
	[MTCP_EV_2MSL_TIMEOUT]		= "2MSL timeout",
};

static const char *const action_names[] = {
	"send SYN", "send SYN+ACK", "send ACK", "send FIN", "send RST",
	"ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "connected", "EOF",
	"TIME_WAIT", "destroy", "drop request", "reuse TIME_WAIT",
	"challenge ACK", "send ACK (delayed)",
};

const char *mtcp_state_name(int state)
{
	if (state < MTCP_FSM_FIRST_STATE || state > MTCP_FSM_LAST_STATE)
		return "?";
	return state_names[state];
}

const char *mtcp_event_name(enum mtcp_event ev)
{
	return (unsigned int)ev < MTCP_EV_NR ? event_names[ev] : "?";
}

/* @action_bit is one MTCP_ACT_* value (a single bit). */
const char *mtcp_action_name(unsigned int action_bit)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(action_names); i++)
		if (action_bit == 1U << i)
			return action_names[i];
	return "?";
}
