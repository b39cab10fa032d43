// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp socket API: connection establishment (issue 3).
 *
 * Run with MTCP_PROTO=253 (default) against mini_tcp, or MTCP_PROTO=6 against
 * the kernel's TCP, which every errno and state asserted here comes from.
 * Each test builds its own pair of network namespaces (see mtcp_test.h).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>

#include "mtcp_test.h"

#define CLOSED_PORT	9	/* nobody listens in a fresh namespace */

FIXTURE(conn) {
	struct mtcp_env e;
};

FIXTURE_SETUP(conn)
{
	int ret = mtcp_env_setup(&self->e);

	ASSERT_EQ(0, ret) TH_LOG("setup: %s", self->e.err);
}

FIXTURE_TEARDOWN(conn)
{
	mtcp_env_teardown(&self->e);
}

static int set_nonblock(int fd)
{
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int sin_eq(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_family == b->sin_family && a->sin_port == b->sin_port &&
	       a->sin_addr.s_addr == b->sin_addr.s_addr;
}

/* Blocking connect() and accept(); both ends ESTABLISHED; data both ways. */
TEST_F(conn, blocking_connect_accept)
{
	__u16 port;
	int l, c, s;
	char buf[8];

	l = mtcp_listener(&self->e, 0, 8, &port);
	ASSERT_LE(0, l) TH_LOG("listener: %s", strerror(errno));
	ASSERT_NE(0, port);
	ASSERT_EQ(TCP_LISTEN, mtcp_state(l));

	c = mtcp_socket(&self->e, self->e.ns_c);
	ASSERT_LE(0, c);
	ASSERT_EQ(TCP_CLOSE, mtcp_state(c));
	ASSERT_EQ(0, mtcp_connect(c, MTCP_ADDR_S, port))
		TH_LOG("connect: %s", strerror(errno));
	ASSERT_EQ(TCP_ESTABLISHED, mtcp_state(c));

	s = accept(l, NULL, NULL);
	ASSERT_LE(0, s) TH_LOG("accept: %s", strerror(errno));
	ASSERT_EQ(TCP_ESTABLISHED, mtcp_state(s));
	ASSERT_EQ(TCP_LISTEN, mtcp_state(l));

	ASSERT_EQ(4, send(c, "ping", 4, 0));
	ASSERT_EQ(4, recv(s, buf, sizeof(buf), 0));
	ASSERT_EQ(0, memcmp(buf, "ping", 4));
	ASSERT_EQ(4, send(s, "pong", 4, 0));
	ASSERT_EQ(4, recv(c, buf, sizeof(buf), 0));
	ASSERT_EQ(0, memcmp(buf, "pong", 4));

	close(s);
	close(c);
	close(l);
}

/*
 * Non-blocking connect(): EINPROGRESS, then POLLOUT with SO_ERROR 0.
 * A connect() after completion first reports success (it moves the socket
 * to connected, as inet_stream_connect does), every later one EISCONN.
 * Non-blocking accept() on an empty queue: EAGAIN.
 */
TEST_F(conn, nonblocking_connect)
{
	__u16 port;
	int l, c, s, rev;

	l = mtcp_listener(&self->e, 0, 8, &port);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, set_nonblock(l));
	ASSERT_EQ(-1, accept(l, NULL, NULL));
	ASSERT_EQ(EAGAIN, errno);

	c = mtcp_socket(&self->e, self->e.ns_c);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, set_nonblock(c));
	ASSERT_EQ(-1, mtcp_connect(c, MTCP_ADDR_S, port));
	ASSERT_EQ(EINPROGRESS, errno);

	rev = mtcp_poll1(c, POLLOUT, MTCP_TIMEOUT_MS);
	ASSERT_EQ(POLLOUT, rev & (POLLOUT | POLLERR | POLLHUP))
		TH_LOG("revents %#x", rev);
	ASSERT_EQ(0, mtcp_so_error(c));
	ASSERT_EQ(TCP_ESTABLISHED, mtcp_state(c));

	ASSERT_EQ(0, mtcp_connect(c, MTCP_ADDR_S, port))
		TH_LOG("connect after completion: %s", strerror(errno));
	ASSERT_EQ(-1, mtcp_connect(c, MTCP_ADDR_S, port));
	ASSERT_EQ(EISCONN, errno);

	ASSERT_GT(mtcp_poll1(l, POLLIN, MTCP_TIMEOUT_MS), 0);
	s = accept(l, NULL, NULL);
	ASSERT_LE(0, s) TH_LOG("accept: %s", strerror(errno));
	ASSERT_EQ(TCP_ESTABLISHED, mtcp_state(s));
	ASSERT_EQ(-1, accept(l, NULL, NULL));
	ASSERT_EQ(EAGAIN, errno);

	close(s);
	close(c);
	close(l);
}

/* A second connect() while the handshake is in progress: EALREADY. */
TEST_F(conn, connect_ealready)
{
	int c;

	/* MTCP_ADDR_DEAD never answers: the handshake stays in progress. */
	c = mtcp_socket(&self->e, self->e.ns_c);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, set_nonblock(c));
	ASSERT_EQ(-1, mtcp_connect(c, MTCP_ADDR_DEAD, 80));
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(TCP_SYN_SENT, mtcp_state(c));

	ASSERT_EQ(-1, mtcp_connect(c, MTCP_ADDR_DEAD, 80));
	ASSERT_EQ(EALREADY, errno);
	ASSERT_EQ(-1, mtcp_connect(c, MTCP_ADDR_DEAD, 80));
	ASSERT_EQ(EALREADY, errno);

	ASSERT_EQ(0, mtcp_poll1(c, POLLOUT, 300));
	ASSERT_EQ(TCP_SYN_SENT, mtcp_state(c));
	ASSERT_EQ(0, mtcp_so_error(c));
	close(c);
}

/* connect() on a listening or connected socket: EISCONN, as TCP. */
TEST_F(conn, connect_on_listener_and_connected)
{
	__u16 port;
	int l, c, s;

	l = mtcp_listener(&self->e, 0, 8, &port);
	ASSERT_LE(0, l);
	ASSERT_EQ(-1, mtcp_connect(l, MTCP_ADDR_S, port));
	ASSERT_EQ(EISCONN, errno);
	ASSERT_EQ(TCP_LISTEN, mtcp_state(l));

	c = mtcp_client(&self->e, port);
	ASSERT_LE(0, c);
	ASSERT_EQ(-1, mtcp_connect(c, MTCP_ADDR_S, port));
	ASSERT_EQ(EISCONN, errno);
	s = accept(l, NULL, NULL);
	ASSERT_LE(0, s);
	ASSERT_EQ(-1, mtcp_connect(s, MTCP_ADDR_C, 1234));
	ASSERT_EQ(EISCONN, errno);
	ASSERT_EQ(TCP_ESTABLISHED, mtcp_state(s));
	close(s);
	close(c);
	close(l);
}

/* RST in answer to our SYN: ECONNREFUSED from a blocking connect(). */
TEST_F(conn, econnrefused_blocking)
{
	int c = mtcp_socket(&self->e, self->e.ns_c);

	ASSERT_LE(0, c);
	ASSERT_EQ(-1, mtcp_connect(c, MTCP_ADDR_S, CLOSED_PORT));
	ASSERT_EQ(ECONNREFUSED, errno);
	ASSERT_EQ(TCP_CLOSE, mtcp_state(c));
	ASSERT_EQ(0, mtcp_so_error(c));
	close(c);
}

/* ... and from a non-blocking one: POLLOUT|POLLERR|POLLHUP, SO_ERROR. */
TEST_F(conn, econnrefused_nonblocking)
{
	int c = mtcp_socket(&self->e, self->e.ns_c);
	int rev;

	ASSERT_LE(0, c);
	ASSERT_EQ(0, set_nonblock(c));
	ASSERT_EQ(-1, mtcp_connect(c, MTCP_ADDR_S, CLOSED_PORT));
	ASSERT_EQ(EINPROGRESS, errno);
	rev = mtcp_poll1(c, POLLOUT, MTCP_TIMEOUT_MS);
	ASSERT_EQ(POLLOUT | POLLERR | POLLHUP,
		  rev & (POLLOUT | POLLERR | POLLHUP))
		TH_LOG("revents %#x", rev);
	ASSERT_EQ(ECONNREFUSED, mtcp_so_error(c));
	ASSERT_EQ(0, mtcp_so_error(c));	/* reading SO_ERROR clears it */
	ASSERT_EQ(TCP_CLOSE, mtcp_wait_state(c, TCP_CLOSE, MTCP_TIMEOUT_MS));
	close(c);
}

/*
 * No answer to our SYNs: ETIMEDOUT after syn_retries retransmissions, for a
 * blocking connect() and (SO_ERROR) a non-blocking one.
 */
TEST_F_TIMEOUT(conn, etimedout, 90)
{
	long long t0, dt;
	int c, nb, rev;

	ASSERT_EQ(0, mtcp_knob_set(&self->e, self->e.ns_c, MTCP_SYN_RETRIES, 1))
		TH_LOG("cannot set %s",
		       mtcp_knob_path(&self->e, MTCP_SYN_RETRIES));

	nb = mtcp_socket(&self->e, self->e.ns_c);
	ASSERT_LE(0, nb);
	ASSERT_EQ(0, set_nonblock(nb));
	ASSERT_EQ(-1, mtcp_connect(nb, MTCP_ADDR_DEAD, 81));
	ASSERT_EQ(EINPROGRESS, errno);

	c = mtcp_socket(&self->e, self->e.ns_c);
	ASSERT_LE(0, c);
	mtcp_set_timeouts(c, 60);
	t0 = mtcp_now_ms();
	ASSERT_EQ(-1, mtcp_connect(c, MTCP_ADDR_DEAD, 80));
	dt = mtcp_now_ms() - t0;
	ASSERT_EQ(ETIMEDOUT, errno) TH_LOG("connect: %s", strerror(errno));
	/* SYN, one retransmission 1 s later, then give up: not at once. */
	ASSERT_GE(dt, 1500) TH_LOG("gave up after %lld ms", dt);
	ASSERT_LE(dt, 30000) TH_LOG("gave up after %lld ms", dt);
	ASSERT_EQ(TCP_CLOSE, mtcp_state(c));

	rev = mtcp_poll1(nb, POLLOUT, MTCP_TIMEOUT_MS);
	ASSERT_EQ(POLLOUT | POLLERR | POLLHUP,
		  rev & (POLLOUT | POLLERR | POLLHUP))
		TH_LOG("revents %#x", rev);
	ASSERT_EQ(ETIMEDOUT, mtcp_so_error(nb));
	ASSERT_EQ(TCP_CLOSE, mtcp_wait_state(nb, TCP_CLOSE, MTCP_TIMEOUT_MS));
	close(nb);
	close(c);
}

/*
 * listen(fd, 1): the accept queue holds backlog + 1 = 2 connections (the
 * kernel's sk_acceptq_is_full() is "more than backlog").  Further SYNs are
 * dropped (ListenOverflows) and those clients stay in SYN_SENT; each
 * accept() makes room for one more, which gets in on a SYN retransmission.
 */
TEST_F_TIMEOUT(conn, accept_queue_full, 120)
{
	struct sockaddr_in cs[4], peer;
	socklen_t len;
	long long before, after;
	__u16 port;
	int l, c[4], s[4], i, j, done, ret;

	l = mtcp_listener(&self->e, 0, 1, &port);
	ASSERT_LE(0, l);
	before = mtcp_counter(&self->e, self->e.ns_s, "ListenOverflows");
	ASSERT_LE(0, before) TH_LOG("no ListenOverflows counter: %s",
				    strerror((int)-before));

	for (i = 0; i < 4; i++) {
		c[i] = mtcp_socket(&self->e, self->e.ns_c);
		ASSERT_LE(0, c[i]);
		ASSERT_EQ(0, set_nonblock(c[i]));
		ASSERT_EQ(-1, mtcp_connect(c[i], MTCP_ADDR_S, port));
		ASSERT_EQ(EINPROGRESS, errno);
		len = sizeof(cs[i]);
		ASSERT_EQ(0, getsockname(c[i], (struct sockaddr *)&cs[i], &len));
		if (i < 2) {
			ASSERT_EQ(POLLOUT, mtcp_poll1(c[i], POLLOUT,
						      MTCP_TIMEOUT_MS))
				TH_LOG("client %d did not connect", i);
			ASSERT_EQ(0, mtcp_so_error(c[i]));
			ASSERT_EQ(TCP_ESTABLISHED, mtcp_state(c[i]));
			/*
			 * The client is connected once the SYN-ACK is in; wait
			 * for the server's child too (the final ACK), or the
			 * next SYN could race it.  Queued children are in the
			 * socket table as ESTABLISHED.
			 */
			ret = mtcp_wait_table(&self->e, self->e.ns_s, port,
					      TCP_ESTABLISHED, i + 1,
					      MTCP_TIMEOUT_MS);
			ASSERT_EQ(i + 1, ret)
				TH_LOG("server's table lists %d queued children", ret);
		} else {
			ASSERT_EQ(0, mtcp_poll1(c[i], POLLOUT, 500))
				TH_LOG("client %d connected to a full queue", i);
			ASSERT_EQ(TCP_SYN_SENT, mtcp_state(c[i]));
		}
	}
	after = mtcp_counter(&self->e, self->e.ns_s, "ListenOverflows");
	ASSERT_GE(after, before + 2) TH_LOG("ListenOverflows %lld -> %lld",
					    before, after);

	/* The first two queued are the first two accepted, in order. */
	for (i = 0; i < 2; i++) {
		len = sizeof(peer);
		s[i] = accept(l, (struct sockaddr *)&peer, &len);
		ASSERT_LE(0, s[i]) TH_LOG("accept %d: %s", i, strerror(errno));
		ASSERT_TRUE(sin_eq(&cs[i], &peer));
	}
	/* Room again: the SYN_SENT clients get in on retransmission. */
	for (; i < 4; i++) {
		s[i] = accept(l, (struct sockaddr *)&peer, &len);
		ASSERT_LE(0, s[i]) TH_LOG("accept %d: %s", i, strerror(errno));
	}
	for (i = 2; i < 4; i++) {
		ASSERT_EQ(POLLOUT, mtcp_poll1(c[i], POLLOUT, MTCP_TIMEOUT_MS));
		ASSERT_EQ(0, mtcp_so_error(c[i]));
		ASSERT_EQ(TCP_ESTABLISHED, mtcp_state(c[i]));
	}
	/* Every client accepted exactly once. */
	for (i = 0; i < 4; i++) {
		len = sizeof(peer);
		ASSERT_EQ(0, getpeername(s[i], (struct sockaddr *)&peer, &len));
		for (done = 0, j = 0; j < 4; j++)
			done += sin_eq(&cs[j], &peer);
		ASSERT_EQ(1, done);
		for (j = 0; j < i; j++) {
			struct sockaddr_in p2;

			len = sizeof(p2);
			getpeername(s[j], (struct sockaddr *)&p2, &len);
			ASSERT_FALSE(sin_eq(&p2, &peer));
		}
	}
	for (i = 0; i < 4; i++) {
		close(s[i]);
		close(c[i]);
	}
	close(l);
}

/* getsockname()/getpeername() on both ends, and before/without a peer. */
TEST_F(conn, getsockname_getpeername)
{
	struct sockaddr_in a, b, lsn;
	socklen_t len;
	__u16 port;
	int l, c, s;

	l = mtcp_listener(&self->e, 0, 8, &port);
	ASSERT_LE(0, l);
	len = sizeof(lsn);
	ASSERT_EQ(0, getsockname(l, (struct sockaddr *)&lsn, &len));
	ASSERT_EQ(sizeof(lsn), len);
	ASSERT_EQ(AF_INET, lsn.sin_family);
	ASSERT_EQ(htonl(INADDR_ANY), lsn.sin_addr.s_addr);
	ASSERT_EQ(htons(port), lsn.sin_port);
	len = sizeof(a);
	ASSERT_EQ(-1, getpeername(l, (struct sockaddr *)&a, &len));
	ASSERT_EQ(ENOTCONN, errno);

	c = mtcp_socket(&self->e, self->e.ns_c);
	ASSERT_LE(0, c);
	len = sizeof(a);
	ASSERT_EQ(0, getsockname(c, (struct sockaddr *)&a, &len));
	ASSERT_EQ(0, a.sin_port);
	ASSERT_EQ(htonl(INADDR_ANY), a.sin_addr.s_addr);
	len = sizeof(a);
	ASSERT_EQ(-1, getpeername(c, (struct sockaddr *)&a, &len));
	ASSERT_EQ(ENOTCONN, errno);

	ASSERT_EQ(0, mtcp_connect(c, MTCP_ADDR_S, port));
	len = sizeof(b);
	s = accept(l, (struct sockaddr *)&b, &len);
	ASSERT_LE(0, s);
	ASSERT_EQ(sizeof(b), len);

	/* client: local 192.0.2.1:ephemeral, peer 192.0.2.2:port */
	len = sizeof(a);
	ASSERT_EQ(0, getsockname(c, (struct sockaddr *)&a, &len));
	ASSERT_EQ(sizeof(a), len);
	ASSERT_EQ(mtcp_sin(MTCP_ADDR_C, ntohs(a.sin_port)).sin_addr.s_addr,
		  a.sin_addr.s_addr);
	ASSERT_NE(0, a.sin_port);
	ASSERT_TRUE(sin_eq(&a, &b));	/* accept()'s address is the client */
	len = sizeof(a);
	ASSERT_EQ(0, getpeername(c, (struct sockaddr *)&a, &len));
	lsn = mtcp_sin(MTCP_ADDR_S, port);
	ASSERT_TRUE(sin_eq(&lsn, &a));

	/* server: local 192.0.2.2:port, peer = client's local */
	len = sizeof(a);
	ASSERT_EQ(0, getsockname(s, (struct sockaddr *)&a, &len));
	ASSERT_TRUE(sin_eq(&lsn, &a));
	len = sizeof(a);
	ASSERT_EQ(0, getpeername(s, (struct sockaddr *)&a, &len));
	ASSERT_TRUE(sin_eq(&b, &a));

	close(s);
	close(c);
	close(l);
}

/* 200 handshakes in a row: connect, accept, one byte, close. */
TEST_F_TIMEOUT(conn, sequential_200, 300)
{
	__u16 port;
	int l, c, s, i, ok = 0;
	char b;

	l = mtcp_listener(&self->e, 0, 16, &port);
	ASSERT_LE(0, l);
	for (i = 0; i < 200; i++) {
		c = mtcp_client(&self->e, port);
		ASSERT_LE(0, c) TH_LOG("connect #%d: %s", i, strerror(errno));
		s = accept(l, NULL, NULL);
		ASSERT_LE(0, s) TH_LOG("accept #%d: %s", i, strerror(errno));
		b = (char)i;
		ASSERT_EQ(1, send(c, &b, 1, 0));
		ASSERT_EQ(1, recv(s, &b, 1, 0));
		ASSERT_EQ((char)i, b);
		close(c);
		ASSERT_EQ(0, recv(s, &b, 1, 0));	/* the FIN */
		close(s);
		ok++;
	}
	ASSERT_EQ(200, ok);
	close(l);
}

#define NPAR 50

struct par_client {
	int fd;
	int idx;
	__u16 port;
	pthread_barrier_t *go;
	int err;		/* 0, or errno of the step that failed */
	int step;
};

static void *par_client_fn(void *arg)
{
	struct par_client *pc = arg;
	unsigned char b = pc->idx;

	pthread_barrier_wait(pc->go);
	pc->step = 1;
	if (mtcp_connect(pc->fd, MTCP_ADDR_S, pc->port))
		goto err;
	pc->step = 2;
	if (send(pc->fd, &b, 1, 0) != 1)
		goto err;
	pc->step = 3;
	if (recv(pc->fd, &b, 1, 0) != 1)
		goto err;
	pc->step = 4;
	if (b != (unsigned char)(pc->idx ^ 0xff)) {
		errno = EBADMSG;
		goto err;
	}
	pc->step = 0;
	return NULL;
err:
	pc->err = errno ? errno : EIO;
	return NULL;
}

/* 50 clients connect at once (one thread each); all are accepted. */
TEST_F_TIMEOUT(conn, parallel_50, 300)
{
	struct par_client pc[NPAR];
	pthread_t th[NPAR];
	pthread_barrier_t go;
	int seen[NPAR] = { 0 };
	int s[NPAR];
	__u16 port;
	int l, i;

	l = mtcp_listener(&self->e, 0, 128, &port);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, pthread_barrier_init(&go, NULL, NPAR + 1));
	for (i = 0; i < NPAR; i++) {
		pc[i] = (struct par_client){ .idx = i, .port = port, .go = &go };
		pc[i].fd = mtcp_socket(&self->e, self->e.ns_c);
		ASSERT_LE(0, pc[i].fd);
		ASSERT_EQ(0, pthread_create(&th[i], NULL, par_client_fn, &pc[i]));
	}
	pthread_barrier_wait(&go);
	for (i = 0; i < NPAR; i++) {
		unsigned char b;

		s[i] = accept(l, NULL, NULL);
		if (s[i] < 0)
			break;
		mtcp_set_timeouts(s[i], MTCP_SOCK_TIMEO_S);
		if (recv(s[i], &b, 1, 0) != 1 || b >= NPAR)
			break;
		seen[b]++;
		b ^= 0xff;
		if (send(s[i], &b, 1, 0) != 1)
			break;
	}
	for (i = 0; i < NPAR; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NPAR; i++) {
		EXPECT_EQ(0, pc[i].err)
			TH_LOG("client %d failed at step %d: %s", i,
			       pc[i].step, strerror(pc[i].err));
		EXPECT_EQ(1, seen[i]) TH_LOG("client %d seen %d times", i,
					     seen[i]);
	}
	for (i = 0; i < NPAR; i++) {
		close(pc[i].fd);
		close(s[i]);
	}
	pthread_barrier_destroy(&go);
	close(l);
}

/*
 * Data sent right after connect() returns, before the server accept()s,
 * waits in the queued child and is read after accept(); so are data
 * followed by the client's close().
 */
TEST_F(conn, payload_before_accept)
{
	char out[4000], in[4000], b[16];
	__u16 port;
	int l, c1, c2, s1, s2, n, got;

	for (n = 0; n < (int)sizeof(out); n++)
		out[n] = (char)(n * 7 + 3);
	l = mtcp_listener(&self->e, 0, 8, &port);
	ASSERT_LE(0, l);

	c1 = mtcp_client(&self->e, port);
	ASSERT_LE(0, c1);
	ASSERT_EQ((ssize_t)sizeof(out), send(c1, out, sizeof(out), 0));
	c2 = mtcp_client(&self->e, port);
	ASSERT_LE(0, c2);
	ASSERT_EQ(5, send(c2, "hello", 5, 0));
	close(c2);
	mtcp_sleep_ms(100);	/* let it all arrive before accept() */

	s1 = accept(l, NULL, NULL);
	ASSERT_LE(0, s1);
	for (got = 0; got < (int)sizeof(in); got += n) {
		n = recv(s1, in + got, sizeof(in) - got, 0);
		ASSERT_LT(0, n) TH_LOG("recv after %d bytes: %d %s", got, n,
				       strerror(errno));
	}
	ASSERT_EQ(0, memcmp(in, out, sizeof(out)));

	s2 = accept(l, NULL, NULL);
	ASSERT_LE(0, s2);
	ASSERT_EQ(5, recv(s2, b, sizeof(b), MSG_WAITALL));
	ASSERT_EQ(0, memcmp(b, "hello", 5));
	ASSERT_EQ(0, recv(s2, b, sizeof(b), 0));
	ASSERT_EQ(TCP_CLOSE_WAIT, mtcp_wait_state(s2, TCP_CLOSE_WAIT, MTCP_TIMEOUT_MS));

	close(s1);
	close(s2);
	close(c1);
	close(l);
}

/* bind() conflicts: EADDRINUSE where TCP has them, not where it hasn't. */
TEST_F(conn, bind_eaddrinuse)
{
	struct sockaddr_in any, spec;
	__u16 port, port2;
	int one = 1;
	int l, a, b, x, y;

	l = mtcp_socket(&self->e, self->e.ns_s);
	ASSERT_LE(0, l);
	any = mtcp_sin("0.0.0.0", 0);
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&any, sizeof(any)));
	port = mtcp_local_port(l);
	ASSERT_NE(0, port);
	ASSERT_EQ(0, listen(l, 4));

	/* Same port on the wildcard and on a specific address. */
	any = mtcp_sin("0.0.0.0", port);
	spec = mtcp_sin(MTCP_ADDR_S, port);
	a = mtcp_socket(&self->e, self->e.ns_s);
	ASSERT_LE(0, a);
	ASSERT_EQ(-1, bind(a, (struct sockaddr *)&any, sizeof(any)));
	ASSERT_EQ(EADDRINUSE, errno);
	ASSERT_EQ(-1, bind(a, (struct sockaddr *)&spec, sizeof(spec)));
	ASSERT_EQ(EADDRINUSE, errno);
	/* SO_REUSEADDR does not let anyone share a listener's port. */
	ASSERT_EQ(0, setsockopt(a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(-1, bind(a, (struct sockaddr *)&spec, sizeof(spec)));
	ASSERT_EQ(EADDRINUSE, errno);
	/* A socket binds once. */
	b = mtcp_socket(&self->e, self->e.ns_s);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, bind(b, (struct sockaddr *)&(struct sockaddr_in){
				.sin_family = AF_INET }, sizeof(any)));
	ASSERT_EQ(-1, bind(b, (struct sockaddr *)&spec, sizeof(spec)));
	ASSERT_EQ(EINVAL, errno);

	/* Two bound, non-listening sockets: only with SO_REUSEADDR on both. */
	x = mtcp_socket(&self->e, self->e.ns_s);
	y = mtcp_socket(&self->e, self->e.ns_s);
	ASSERT_LE(0, x);
	ASSERT_LE(0, y);
	ASSERT_EQ(0, bind(x, (struct sockaddr *)&(struct sockaddr_in){
				.sin_family = AF_INET }, sizeof(any)));
	port2 = mtcp_local_port(x);
	spec = mtcp_sin(MTCP_ADDR_S, port2);
	ASSERT_EQ(-1, bind(y, (struct sockaddr *)&spec, sizeof(spec)));
	ASSERT_EQ(EADDRINUSE, errno);
	close(x);
	x = mtcp_socket(&self->e, self->e.ns_s);
	ASSERT_LE(0, x);
	ASSERT_EQ(0, setsockopt(x, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(0, setsockopt(y, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(0, bind(x, (struct sockaddr *)&spec, sizeof(spec)));
	ASSERT_EQ(0, bind(y, (struct sockaddr *)&spec, sizeof(spec)))
		TH_LOG("bind with SO_REUSEADDR on both: %s", strerror(errno));
	/* ... but then only one of them may listen. */
	ASSERT_EQ(0, listen(x, 4));
	ASSERT_EQ(-1, listen(y, 4));
	ASSERT_EQ(EADDRINUSE, errno);

	close(a);
	close(b);
	close(x);
	close(y);
	close(l);
}

/* listen() on an unbound socket binds an ephemeral port on 0.0.0.0. */
TEST_F(conn, listen_autobind)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int l, c, s;

	l = mtcp_socket(&self->e, self->e.ns_s);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, listen(l, 4));
	ASSERT_EQ(TCP_LISTEN, mtcp_state(l));
	ASSERT_EQ(0, getsockname(l, (struct sockaddr *)&sin, &len));
	ASSERT_NE(0, sin.sin_port);
	ASSERT_EQ(htonl(INADDR_ANY), sin.sin_addr.s_addr);

	c = mtcp_client(&self->e, ntohs(sin.sin_port));
	ASSERT_LE(0, c) TH_LOG("connect: %s", strerror(errno));
	s = accept(l, NULL, NULL);
	ASSERT_LE(0, s);
	/* listen() again on a listener is fine (changes the backlog). */
	ASSERT_EQ(0, listen(l, 8));
	close(s);
	close(c);
	close(l);
}

/* Calls that need a connection (or a listener) fail as TCP's do. */
TEST_F(conn, unconnected_errors)
{
	__u16 port;
	int u, l, c, s;
	char b;

	u = mtcp_socket(&self->e, self->e.ns_c);
	ASSERT_LE(0, u);
	ASSERT_EQ(-1, recv(u, &b, 1, MSG_DONTWAIT));
	ASSERT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, send(u, "x", 1, MSG_NOSIGNAL));
	ASSERT_EQ(EPIPE, errno);
	ASSERT_EQ(-1, accept(u, NULL, NULL));
	ASSERT_EQ(EINVAL, errno);

	l = mtcp_listener(&self->e, 0, 4, &port);
	ASSERT_LE(0, l);
	ASSERT_EQ(-1, recv(l, &b, 1, MSG_DONTWAIT));
	ASSERT_EQ(ENOTCONN, errno);
	ASSERT_EQ(-1, send(l, "x", 1, MSG_NOSIGNAL));
	ASSERT_EQ(EPIPE, errno);

	c = mtcp_client(&self->e, port);
	ASSERT_LE(0, c);
	s = accept(l, NULL, NULL);
	ASSERT_LE(0, s);
	ASSERT_EQ(-1, listen(c, 4));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, accept(c, NULL, NULL));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(TCP_ESTABLISHED, mtcp_state(c));

	close(s);
	close(c);
	close(l);
	close(u);
}

/* mini_tcp has its own port space: TCP and mini_tcp share no ports. */
TEST_F(conn, own_port_space)
{
	struct sockaddr_in sin;
	__u16 port;
	int l, t, c, s;

	if (mtcp_is_tcp(&self->e))
		SKIP(return, "only meaningful for mini_tcp");

	l = mtcp_listener(&self->e, 0, 4, &port);
	ASSERT_LE(0, l);
	mtcp_enter(self->e.ns_s);
	t = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	ASSERT_LE(0, t);
	sin = mtcp_sin("0.0.0.0", port);
	ASSERT_EQ(0, bind(t, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("TCP bind on mini_tcp's port: %s", strerror(errno));
	ASSERT_EQ(0, listen(t, 4));

	c = mtcp_client(&self->e, port);
	ASSERT_LE(0, c) TH_LOG("connect: %s", strerror(errno));
	s = accept(l, NULL, NULL);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, set_nonblock(t));
	ASSERT_EQ(-1, accept(t, NULL, NULL));	/* TCP's listener saw nothing */
	ASSERT_EQ(EAGAIN, errno);
	close(s);
	close(c);
	close(t);
	close(l);
}

TEST_HARNESS_MAIN
