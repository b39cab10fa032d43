// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp socket API: connection teardown (issue 4).
 *
 * Run with MTCP_PROTO=253 (default) against mini_tcp, or MTCP_PROTO=6 against
 * the kernel's TCP, which every errno and state asserted here comes from.
 * Each test builds its own pair of network namespaces (see mtcp_test.h);
 * mtcp_block() drops one direction of the veth to hold a connection in a
 * state that is otherwise gone within a round trip (FIN_WAIT1, LAST_ACK,
 * CLOSING).
 *
 * Note on TIME_WAIT: as in TCP, the connection's TIME_WAIT lives in a
 * timewait sock, not in the socket the program holds; that one reports
 * TCP_CLOSE once the connection has entered TIME_WAIT.  TIME_WAIT itself is
 * seen in the socket table (/proc/net/mini_tcp, /proc/net/tcp).
 */
#define _GNU_SOURCE
#include <signal.h>

#include "mtcp_test.h"

#define C2S 1
#define S2C 0

FIXTURE(td) {
	struct mtcp_env e;
	int c, s;		/* an established pair */
	__u16 port;		/* the server's port */
};

FIXTURE_SETUP(td)
{
	int ret = mtcp_env_setup(&self->e);

	self->c = -1;
	self->s = -1;
	ASSERT_EQ(0, ret) TH_LOG("setup: %s", self->e.err);
	ret = mtcp_pair(&self->e, &self->c, &self->s, NULL);
	ASSERT_EQ(0, ret) TH_LOG("connection: %s", strerror(-ret));
	self->port = mtcp_local_port(self->s);
	ASSERT_EQ(TCP_ESTABLISHED, mtcp_state(self->c));
	ASSERT_EQ(TCP_ESTABLISHED, mtcp_state(self->s));
}

FIXTURE_TEARDOWN(td)
{
	if (self->c >= 0)
		close(self->c);
	if (self->s >= 0)
		close(self->s);
	mtcp_env_teardown(&self->e);
}

#define ASSERT_STATE(want, fd) do {					\
	int __want = (want), __st = mtcp_state(fd);			\
	ASSERT_EQ(__want, __st) TH_LOG("%s is %s, want %s", #fd,	\
				       mtcp_state_str(__st),		\
				       mtcp_state_str(__want));		\
} while (0)

#define ASSERT_WAIT_STATE(want, fd) do {				\
	int __want = (want);						\
	int __st = mtcp_wait_state(fd, __want, MTCP_TIMEOUT_MS);	\
	ASSERT_EQ(__want, __st) TH_LOG("%s stays %s, want %s", #fd,	\
				       mtcp_state_str(__st),		\
				       mtcp_state_str(__want));		\
} while (0)

#define EV_MASK (POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP)

/*
 * Peer's close(): read() returns 0 (again and again), poll() says
 * POLLIN|POLLRDHUP (no POLLHUP: we may still send), state CLOSE_WAIT.
 */
TEST_F(td, eof_after_peer_close)
{
	char b[8];
	int rev;

	close(self->c);
	self->c = -1;
	rev = mtcp_poll1(self->s, POLLIN | POLLRDHUP, MTCP_TIMEOUT_MS);
	ASSERT_EQ(POLLIN | POLLRDHUP, rev & (POLLIN | POLLRDHUP | POLLHUP | POLLERR))
		TH_LOG("revents %#x", rev);
	ASSERT_EQ(0, read(self->s, b, sizeof(b)));
	ASSERT_EQ(0, read(self->s, b, sizeof(b)));
	ASSERT_EQ(0, recv(self->s, b, sizeof(b), MSG_DONTWAIT));
	ASSERT_WAIT_STATE(TCP_CLOSE_WAIT, self->s);
	rev = mtcp_poll1(self->s, POLLIN | POLLOUT | POLLRDHUP, 0);
	ASSERT_EQ(POLLIN | POLLOUT | POLLRDHUP, rev & EV_MASK)
		TH_LOG("revents %#x", rev);
}

/*
 * Client half-closes: the server reads EOF and can still send, the client
 * still receives, and may not send any more (EPIPE).
 */
TEST_F(td, half_close_client)
{
	char b[8];
	int rev;

	ASSERT_EQ(3, send(self->c, "abc", 3, 0));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_EQ(3, recv(self->s, b, sizeof(b), MSG_WAITALL));
	ASSERT_EQ(0, memcmp(b, "abc", 3));
	ASSERT_EQ(0, recv(self->s, b, sizeof(b), 0));
	ASSERT_WAIT_STATE(TCP_FIN_WAIT2, self->c);
	ASSERT_WAIT_STATE(TCP_CLOSE_WAIT, self->s);

	ASSERT_EQ(4, send(self->s, "back", 4, 0));
	ASSERT_EQ(4, recv(self->c, b, 4, MSG_WAITALL));
	ASSERT_EQ(0, memcmp(b, "back", 4));
	ASSERT_EQ(-1, send(self->c, "x", 1, MSG_NOSIGNAL));
	ASSERT_EQ(EPIPE, errno);
	/* Half-closed for sending: writable (sends fail at once), not HUP. */
	rev = mtcp_poll1(self->c, POLLIN | POLLOUT | POLLRDHUP, 0);
	ASSERT_EQ(POLLOUT, rev & EV_MASK) TH_LOG("revents %#x", rev);

	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	ASSERT_EQ(0, recv(self->c, b, sizeof(b), 0));
	ASSERT_WAIT_STATE(TCP_CLOSE, self->s);
	ASSERT_WAIT_STATE(TCP_CLOSE, self->c);
	rev = mtcp_poll1(self->c, POLLIN | POLLOUT | POLLRDHUP, 0);
	ASSERT_EQ(POLLIN | POLLOUT | POLLHUP | POLLRDHUP, rev & EV_MASK)
		TH_LOG("revents %#x", rev);
}

/* The same the other way round: the server half-closes. */
TEST_F(td, half_close_server)
{
	char b[8];

	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	ASSERT_EQ(0, recv(self->c, b, sizeof(b), 0));
	ASSERT_WAIT_STATE(TCP_FIN_WAIT2, self->s);
	ASSERT_WAIT_STATE(TCP_CLOSE_WAIT, self->c);
	ASSERT_EQ(5, send(self->c, "hello", 5, 0));
	ASSERT_EQ(5, recv(self->s, b, 5, MSG_WAITALL));
	ASSERT_EQ(0, memcmp(b, "hello", 5));
	ASSERT_EQ(-1, send(self->s, "x", 1, MSG_NOSIGNAL));
	ASSERT_EQ(EPIPE, errno);
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_EQ(0, recv(self->s, b, sizeof(b), 0));
	ASSERT_WAIT_STATE(TCP_CLOSE, self->c);
	ASSERT_WAIT_STATE(TCP_CLOSE, self->s);
	/* The server closed first: its side keeps the TIME_WAIT. */
	ASSERT_EQ(1, mtcp_wait_table(&self->e, self->e.ns_s, self->port,
				     TCP_TIME_WAIT, 1, MTCP_TIMEOUT_MS));
	ASSERT_EQ(0, mtcp_wait_table(&self->e, self->e.ns_c, self->port, -1, 0,
				     MTCP_TIMEOUT_MS));
}

/*
 * Active close, step by step, each socket's state as it goes:
 * ESTABLISHED -> (our FIN lost) FIN_WAIT1 -> FIN_WAIT2 / peer CLOSE_WAIT ->
 * peer's FIN lost: peer LAST_ACK -> both closed, TIME_WAIT on our side.
 */
TEST_F_TIMEOUT(td, states_active_close, 120)
{
	char b[8];
	int rev;

	ASSERT_EQ(0, mtcp_block(&self->e, C2S, 1));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_STATE(TCP_FIN_WAIT1, self->c);
	mtcp_sleep_ms(300);
	ASSERT_STATE(TCP_FIN_WAIT1, self->c);
	ASSERT_STATE(TCP_ESTABLISHED, self->s);
	ASSERT_EQ(0, mtcp_poll1(self->s, POLLIN | POLLRDHUP, 0));

	ASSERT_EQ(0, mtcp_block(&self->e, C2S, 0));	/* FIN retransmitted */
	ASSERT_WAIT_STATE(TCP_CLOSE_WAIT, self->s);
	ASSERT_WAIT_STATE(TCP_FIN_WAIT2, self->c);
	rev = mtcp_poll1(self->s, POLLIN | POLLRDHUP, MTCP_TIMEOUT_MS);
	ASSERT_EQ(POLLIN | POLLRDHUP, rev & EV_MASK) TH_LOG("revents %#x", rev);
	ASSERT_EQ(0, recv(self->s, b, sizeof(b), 0));
	ASSERT_EQ(4, send(self->s, "late", 4, 0));
	ASSERT_EQ(4, recv(self->c, b, 4, MSG_WAITALL));
	ASSERT_STATE(TCP_FIN_WAIT2, self->c);
	ASSERT_EQ(1, mtcp_table_count(&self->e, self->e.ns_c, self->port,
				      TCP_FIN_WAIT2));
	ASSERT_EQ(1, mtcp_table_count(&self->e, self->e.ns_s, self->port,
				      TCP_CLOSE_WAIT));

	ASSERT_EQ(0, mtcp_block(&self->e, S2C, 1));
	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	ASSERT_STATE(TCP_LAST_ACK, self->s);
	mtcp_sleep_ms(300);
	ASSERT_STATE(TCP_LAST_ACK, self->s);
	ASSERT_STATE(TCP_FIN_WAIT2, self->c);
	ASSERT_EQ(1, mtcp_table_count(&self->e, self->e.ns_s, self->port,
				      TCP_LAST_ACK));

	ASSERT_EQ(0, mtcp_block(&self->e, S2C, 0));	/* FIN retransmitted */
	ASSERT_WAIT_STATE(TCP_CLOSE, self->c);
	ASSERT_WAIT_STATE(TCP_CLOSE, self->s);
	ASSERT_EQ(0, recv(self->c, b, sizeof(b), 0));
	/* TIME_WAIT is the active closer's; nothing left on the other side. */
	ASSERT_EQ(1, mtcp_table_count(&self->e, self->e.ns_c, self->port,
				      TCP_TIME_WAIT));
	ASSERT_EQ(1, mtcp_table_count(&self->e, self->e.ns_c, self->port, -1));
	ASSERT_EQ(0, mtcp_wait_table(&self->e, self->e.ns_s, self->port, -1, 0,
				     MTCP_TIMEOUT_MS));
}

/*
 * Simultaneous close: the server's FIN is lost, the client's FIN arrives
 * while the server is in FIN_WAIT1: CLOSING (and the client, whose FIN's
 * ACK is lost, stays in FIN_WAIT1).  Then both end in TIME_WAIT.
 */
TEST_F_TIMEOUT(td, states_simultaneous_close, 120)
{
	char b[8];

	ASSERT_EQ(0, mtcp_block(&self->e, S2C, 1));
	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	ASSERT_STATE(TCP_FIN_WAIT1, self->s);
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_WAIT_STATE(TCP_CLOSING, self->s);
	ASSERT_STATE(TCP_FIN_WAIT1, self->c);
	ASSERT_EQ(0, recv(self->s, b, sizeof(b), 0));
	mtcp_sleep_ms(300);
	ASSERT_STATE(TCP_CLOSING, self->s);
	ASSERT_STATE(TCP_FIN_WAIT1, self->c);
	ASSERT_EQ(1, mtcp_table_count(&self->e, self->e.ns_s, self->port,
				      TCP_CLOSING));

	ASSERT_EQ(0, mtcp_block(&self->e, S2C, 0));
	ASSERT_WAIT_STATE(TCP_CLOSE, self->c);
	ASSERT_WAIT_STATE(TCP_CLOSE, self->s);
	ASSERT_EQ(0, recv(self->c, b, sizeof(b), 0));
	ASSERT_EQ(1, mtcp_table_count(&self->e, self->e.ns_c, self->port,
				      TCP_TIME_WAIT));
	ASSERT_EQ(1, mtcp_table_count(&self->e, self->e.ns_s, self->port,
				      TCP_TIME_WAIT));
}

/*
 * close() (not shutdown): the orphaned connection is seen only in the socket
 * table: FIN_WAIT2 while the peer is in CLOSE_WAIT, then TIME_WAIT once the
 * peer closes too; the peer's side disappears after its LAST_ACK.
 */
TEST_F(td, states_orphan_close)
{
	char b[8];

	close(self->c);
	self->c = -1;
	ASSERT_EQ(1, mtcp_wait_table(&self->e, self->e.ns_c, self->port,
				     TCP_FIN_WAIT2, 1, MTCP_TIMEOUT_MS));
	ASSERT_EQ(0, recv(self->s, b, sizeof(b), 0));
	ASSERT_WAIT_STATE(TCP_CLOSE_WAIT, self->s);
	close(self->s);
	self->s = -1;
	ASSERT_EQ(1, mtcp_wait_table(&self->e, self->e.ns_c, self->port,
				     TCP_TIME_WAIT, 1, MTCP_TIMEOUT_MS));
	ASSERT_EQ(1, mtcp_table_count(&self->e, self->e.ns_c, self->port, -1));
	ASSERT_EQ(0, mtcp_wait_table(&self->e, self->e.ns_s, self->port, -1, 0,
				     MTCP_TIMEOUT_MS));
}

/*
 * An orphan in FIN_WAIT2 whose peer never closes is reaped after
 * fin_timeout; the peer's next segment is then answered with a RST.
 */
TEST_F_TIMEOUT(td, orphan_fin_wait2_reaped, 120)
{
	long long t0, dt;
	char b[8];
	int n;

	ASSERT_EQ(0, mtcp_knob_set(&self->e, self->e.ns_c, MTCP_FIN_TIMEOUT, 2))
		TH_LOG("cannot set %s",
		       mtcp_knob_path(&self->e, MTCP_FIN_TIMEOUT));
	close(self->c);
	self->c = -1;
	t0 = mtcp_now_ms();
	ASSERT_EQ(1, mtcp_wait_table(&self->e, self->e.ns_c, self->port,
				     TCP_FIN_WAIT2, 1, MTCP_TIMEOUT_MS));
	ASSERT_EQ(0, mtcp_wait_table(&self->e, self->e.ns_c, self->port, -1, 0,
				     60000));
	dt = mtcp_now_ms() - t0;
	ASSERT_GE(dt, 1000) TH_LOG("reaped after %lld ms", dt);
	ASSERT_STATE(TCP_CLOSE_WAIT, self->s);

	/*
	 * Nobody owns the 4-tuple any more: data gets a RST.  A RST in
	 * CLOSE_WAIT is reported as EPIPE, not ECONNRESET (TCP's tcp_reset(),
	 * "the right error as BSD sees it"), and reads still see the EOF.
	 */
	ASSERT_EQ(4, send(self->s, "ping", 4, MSG_NOSIGNAL));
	ASSERT_WAIT_STATE(TCP_CLOSE, self->s);
	ASSERT_EQ(EPIPE, mtcp_so_error(self->s));
	n = recv(self->s, b, sizeof(b), 0);
	ASSERT_EQ(0, n);
	ASSERT_EQ(-1, send(self->s, "ping", 4, MSG_NOSIGNAL));
	ASSERT_EQ(EPIPE, errno);
}

/* shutdown() needs a connection: ENOTCONN; a bad @how: EINVAL. */
TEST_F(td, shutdown_errors)
{
	__u16 port;
	int u, l, c2;

	u = mtcp_socket(&self->e, self->e.ns_c);
	ASSERT_LE(0, u);
	ASSERT_EQ(-1, shutdown(u, SHUT_RD));
	ASSERT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, shutdown(u, SHUT_WR));
	ASSERT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, shutdown(u, SHUT_RDWR));
	ASSERT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, shutdown(u, 3));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, shutdown(self->c, -1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_STATE(TCP_ESTABLISHED, self->c);

	/* A listener: SHUT_WR is a no-op, SHUT_RD stops listening. */
	l = mtcp_listener(&self->e, 0, 4, &port);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, shutdown(l, SHUT_WR));
	ASSERT_STATE(TCP_LISTEN, l);
	ASSERT_EQ(0, shutdown(l, SHUT_RD));
	ASSERT_STATE(TCP_CLOSE, l);
	ASSERT_EQ(-1, accept(l, NULL, NULL));
	ASSERT_EQ(EINVAL, errno);
	/* ... and its port is closed: a SYN to it is refused. */
	c2 = mtcp_socket(&self->e, self->e.ns_c);
	ASSERT_LE(0, c2);
	ASSERT_EQ(-1, mtcp_connect(c2, MTCP_ADDR_S, port));
	ASSERT_EQ(ECONNREFUSED, errno);

	close(c2);
	close(l);
	close(u);
}

/* A connect in progress: shutdown() aborts it, the socket is closed. */
TEST_F(td, shutdown_syn_sent)
{
	int sy = mtcp_socket(&self->e, self->e.ns_c);

	ASSERT_LE(0, sy);
	ASSERT_EQ(0, fcntl(sy, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(-1, mtcp_connect(sy, MTCP_ADDR_DEAD, 80));
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_STATE(TCP_SYN_SENT, sy);
	ASSERT_EQ(0, shutdown(sy, SHUT_RDWR));
	ASSERT_STATE(TCP_CLOSE, sy);
	ASSERT_EQ(-1, shutdown(sy, SHUT_RDWR));
	ASSERT_EQ(ENOTCONN, errno);
	close(sy);
}

/*
 * Peer aborts (SO_LINGER {1, 0}): a RST, no TIME_WAIT anywhere; we get
 * ECONNRESET once, then EOF; the connection is gone from both tables.
 */
TEST_F(td, econnreset_on_recv)
{
	char b[8];
	int rev;

	ASSERT_EQ(0, mtcp_linger0(self->s));
	close(self->s);
	self->s = -1;
	rev = mtcp_poll1(self->c, POLLIN | POLLOUT | POLLRDHUP, MTCP_TIMEOUT_MS);
	ASSERT_EQ(POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP,
		  rev & EV_MASK) TH_LOG("revents %#x", rev);
	ASSERT_WAIT_STATE(TCP_CLOSE, self->c);
	ASSERT_EQ(-1, recv(self->c, b, sizeof(b), 0));
	ASSERT_EQ(ECONNRESET, errno);
	ASSERT_EQ(0, recv(self->c, b, sizeof(b), 0));
	ASSERT_EQ(0, mtcp_so_error(self->c));
	ASSERT_EQ(-1, shutdown(self->c, SHUT_RDWR));
	ASSERT_EQ(ENOTCONN, errno);
	ASSERT_EQ(0, mtcp_table_count(&self->e, self->e.ns_s, self->port, -1));
	ASSERT_EQ(0, mtcp_table_count(&self->e, self->e.ns_c, self->port, -1));
}

/* close() with unread received data: a RST instead of a FIN (as TCP). */
TEST_F(td, close_with_unread_data_resets)
{
	char b[8];

	ASSERT_EQ(6, send(self->c, "unread", 6, 0));
	ASSERT_EQ(POLLIN, mtcp_poll1(self->s, POLLIN, MTCP_TIMEOUT_MS));
	close(self->s);
	self->s = -1;
	ASSERT_WAIT_STATE(TCP_CLOSE, self->c);
	ASSERT_EQ(-1, recv(self->c, b, sizeof(b), 0));
	ASSERT_EQ(ECONNRESET, errno);
	ASSERT_EQ(0, mtcp_table_count(&self->e, self->e.ns_s, self->port, -1));
	ASSERT_EQ(0, mtcp_table_count(&self->e, self->e.ns_c, self->port, -1));
}

/*
 * SIGPIPE is blocked, so a SIGPIPE the kernel sends stays pending: count and
 * consume the pending ones.
 */
static int sigpipes(void)
{
	const struct timespec zero = { 0 };
	sigset_t set;
	int n = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	while (sigtimedwait(&set, NULL, &zero) == SIGPIPE)
		n++;
	return n;
}

static void block_sigpipe(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigpipes();
}

/*
 * After a reset has been reported (ECONNRESET on recv), writing gives EPIPE
 * and SIGPIPE, or EPIPE alone with MSG_NOSIGNAL.
 */
TEST_F(td, epipe_sigpipe_after_reset)
{
	char b[8];

	block_sigpipe();
	ASSERT_EQ(0, mtcp_linger0(self->s));
	close(self->s);
	self->s = -1;
	ASSERT_WAIT_STATE(TCP_CLOSE, self->c);
	ASSERT_EQ(-1, recv(self->c, b, sizeof(b), 0));
	ASSERT_EQ(ECONNRESET, errno);

	ASSERT_EQ(-1, send(self->c, "x", 1, 0));
	ASSERT_EQ(EPIPE, errno);
	ASSERT_EQ(1, sigpipes());
	ASSERT_EQ(-1, write(self->c, "x", 1));
	ASSERT_EQ(EPIPE, errno);
	ASSERT_EQ(1, sigpipes());
	ASSERT_EQ(-1, send(self->c, "x", 1, MSG_NOSIGNAL));
	ASSERT_EQ(EPIPE, errno);
	ASSERT_EQ(0, sigpipes());
}

/*
 * A reset not yet reported is reported by the next call, whichever it is:
 * send() gets ECONNRESET (no SIGPIPE), the one after EPIPE + SIGPIPE.
 */
TEST_F(td, reset_reported_by_send)
{
	block_sigpipe();
	ASSERT_EQ(0, mtcp_linger0(self->s));
	close(self->s);
	self->s = -1;
	ASSERT_WAIT_STATE(TCP_CLOSE, self->c);
	ASSERT_EQ(-1, send(self->c, "x", 1, 0));
	ASSERT_EQ(ECONNRESET, errno);
	ASSERT_EQ(0, sigpipes());
	ASSERT_EQ(-1, send(self->c, "x", 1, 0));
	ASSERT_EQ(EPIPE, errno);
	ASSERT_EQ(1, sigpipes());
}

/*
 * Connect and close 1000 times: afterwards no socket of the test's port is
 * left in either namespace, except the TIME_WAITs of the active closer
 * (each connection leaves exactly one); with mini_tcp's tw_timeout lowered
 * those go too, and the protocol's slab caches are back to their baseline.
 * TCP's TIME_WAIT is a fixed 60 s: with MTCP_PROTO=6 only the count of
 * TIME_WAITs is checked.
 */
TEST_F_TIMEOUT(td, connect_close_1000, 600)
{
	const int n = 1000;
	char name[64], b;
	long base = 0, after = 0, slack = 0;
	__u16 port;
	int l, c, s, i, ret, tw;

	/* Abort the fixture's connection: no TIME_WAIT from before the knob. */
	ASSERT_EQ(0, mtcp_linger0(self->c));
	close(self->c);
	close(self->s);
	self->c = -1;
	self->s = -1;
	ASSERT_EQ(0, mtcp_wait_table(&self->e, self->e.ns_s, 0, -1, 0,
				     MTCP_TIMEOUT_MS));
	ASSERT_EQ(0, mtcp_wait_table(&self->e, self->e.ns_c, 0, -1, 0,
				     MTCP_TIMEOUT_MS));
	ASSERT_EQ(0, mtcp_proto_name(&self->e, name, sizeof(name)))
		TH_LOG("no /proc/net/protocols row counts our sockets");
	if (!mtcp_is_tcp(&self->e)) {
		ASSERT_EQ(0, mtcp_knob_set(&self->e, self->e.ns_c,
					   MTCP_TW_TIMEOUT, 1))
			TH_LOG("cannot set %s",
			       mtcp_knob_path(&self->e, MTCP_TW_TIMEOUT));
		ASSERT_EQ(0, mtcp_knob_set(&self->e, self->e.ns_s,
					   MTCP_TW_TIMEOUT, 1));
		base = mtcp_slab_objs(name, NULL);
		ASSERT_LE(0, base);
	}

	l = mtcp_listener(&self->e, 0, 64, &port);
	ASSERT_LE(0, l);
	for (i = 0; i < n; i++) {
		c = mtcp_client(&self->e, port);
		ASSERT_LE(0, c) TH_LOG("connect #%d: %s", i, strerror(errno));
		s = accept(l, NULL, NULL);
		ASSERT_LE(0, s) TH_LOG("accept #%d: %s", i, strerror(errno));
		close(c);
		ret = recv(s, &b, 1, 0);
		ASSERT_EQ(0, ret) TH_LOG("#%d: no EOF: %d %s", i, ret,
					 strerror(errno));
		close(s);
	}
	close(l);

	/* The server's side: LAST_ACKs answered, nothing left. */
	ASSERT_EQ(0, mtcp_wait_table(&self->e, self->e.ns_s, port, -1, 0,
				     MTCP_TIMEOUT_MS));
	ASSERT_EQ(0, mtcp_proto_inuse(self->e.ns_s, name));
	ASSERT_EQ(0, mtcp_proto_inuse(self->e.ns_c, name));

	if (mtcp_is_tcp(&self->e)) {
		int max_tw;
		FILE *f;

		mtcp_enter(self->e.ns_c);
		f = fopen("/proc/sys/net/ipv4/tcp_max_tw_buckets", "re");
		ASSERT_NE(NULL, f);
		ASSERT_EQ(1, fscanf(f, "%d", &max_tw));
		fclose(f);
		tw = mtcp_table_count(&self->e, self->e.ns_c, port,
				      TCP_TIME_WAIT);
		ASSERT_EQ(n < max_tw ? n : max_tw, tw);
		ASSERT_EQ(0, mtcp_table_count(&self->e, self->e.ns_c, port,
					      MTCP_NOT(TCP_TIME_WAIT)));
		return;
	}

	/* Client side: only TIME_WAITs, and they expire. */
	ASSERT_EQ(0, mtcp_table_count(&self->e, self->e.ns_c, port,
				      MTCP_NOT(TCP_TIME_WAIT)));
	ASSERT_EQ(0, mtcp_wait_table(&self->e, self->e.ns_c, port, -1, 0,
				     60000));
	ASSERT_EQ(0, mtcp_table_count(&self->e, self->e.ns_c, 0, -1));
	ASSERT_EQ(0, mtcp_table_count(&self->e, self->e.ns_s, 0, -1));
	for (i = 0; i < 100; i++) {	/* frees may trail by an RCU period */
		after = mtcp_slab_objs(name, &slack);
		if (after <= base)
			break;
		mtcp_sleep_ms(100);
	}
	ASSERT_LE(after, base + slack)
		TH_LOG("slab objects of %s: %ld before, %ld after", name,
		       base, after);
}

TEST_HARNESS_MAIN
