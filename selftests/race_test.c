// SPDX-License-Identifier: GPL-2.0
/*
 * Racing threads on listeners and on connect/disconnect (issue "Hardening").
 *
 *  reuseport_churn   a SO_REUSEPORT group of listeners on one loopback port;
 *                    "churn" threads pick a listener at random and listen(),
 *                    connect(AF_UNSPEC) (the listener stops) and listen()
 *                    again, accept(), or close it and open a new one in the
 *                    group, while "client" threads connect() to the port
 *                    (SYNs arrive on listeners as they stop and start) and
 *                    send a byte, close or abort.  Before the race, as with
 *                    TCP, a member stopped with connect(AF_UNSPEC) must
 *                    listen() again.
 *  connect_disconnect one unconnected socket is connected to a listener and
 *                    disconnected with connect(AF_UNSPEC), again and again
 *                    (blocking, and non-blocking so that the disconnect hits
 *                    SYN_SENT), while a second thread disconnects the same
 *                    socket at random moments and a third accepts.
 *
 * Every call must return 0 or a sane errno (listed per call below); an
 * unexpected one fails the test with its count.  Afterwards every fd is
 * closed and the test waits until the socket table (/proc/net/mini_tcp, or
 * /proc/net/tcp for MTCP_PROTO=6) of its network namespace has nothing but
 * TIME_WAIT entries, then (mini_tcp: tw_timeout 1 s in this namespace)
 * until the table is empty and the module's reference count is back at its
 * value before the test; and a fresh connection still works.
 *
 * Each test runs in its own network namespace (loopback only).  Duration:
 * MTCP_RACE_SECS seconds of racing per test (default 6).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "mtcp_test.h"

#define NLISTEN		4
#define NCHURN		3
#define NCLIENT		3
#define MAX_ERRNO	140

enum op { OP_LISTEN, OP_UNSPEC, OP_ACCEPT, OP_CLOSE, OP_SOCKET, OP_BIND,
	  OP_CONNECT, OP_SEND, OP_NR };
static const char *const op_names[OP_NR] = {
	"listen", "connect(AF_UNSPEC)", "accept", "close", "socket", "bind",
	"connect", "send",
};

struct race {
	int proto;
	int nsfd;
	__u16 port;
	atomic_int stop;
	pthread_rwlock_t lock[NLISTEN];
	int lfd[NLISTEN];
	atomic_long calls[OP_NR];
	atomic_long errs[OP_NR][MAX_ERRNO];	/* errno counts */
	int cd_fd;				/* connect_disconnect's socket */
	int cd_lfd;
};

/* errnos a call may sanely return in these races */
static int sane(enum op op, int err)
{
	switch (err) {
	case 0:
		return 1;
	case EAGAIN:		/* non-blocking accept/connect/send */
	case EINTR:
		return op == OP_ACCEPT || op == OP_CONNECT || op == OP_SEND;
	case EINVAL:		/* listen on a connected socket, accept on a
				 * stopped listener, bind of a bound one */
		return op == OP_LISTEN || op == OP_ACCEPT || op == OP_BIND ||
		       op == OP_CONNECT || op == OP_UNSPEC;
	case EADDRINUSE:	/* the group changed owner/state meanwhile */
		return op == OP_LISTEN || op == OP_BIND || op == OP_CONNECT;
	case EADDRNOTAVAIL:	/* ephemeral ports */
		return op == OP_CONNECT;
	case ECONNREFUSED:	/* no listener at that moment (a send after a
				 * non-blocking connect reports it too) */
	case ETIMEDOUT:
		return op == OP_CONNECT || op == OP_SEND;
	case EINPROGRESS:
	case EALREADY:
	case EISCONN:
		return op == OP_CONNECT;
	case ECONNRESET:	/* a listener stopped with us in its queue */
	case ECONNABORTED:
		return op == OP_CONNECT || op == OP_SEND || op == OP_ACCEPT;
	case EPIPE:		/* connect: TCP reports a reset this way too */
		return op == OP_SEND || op == OP_CONNECT;
	case ENOTCONN:
		return op == OP_SEND;
	case EBUSY:		/* disconnect while another call holds it */
		return op == OP_UNSPEC;
	default:
		return 0;
	}
}

static void count(struct race *r, enum op op, int ret)
{
	int err = ret < 0 ? errno : 0;

	atomic_fetch_add(&r->calls[op], 1);
	if (err >= 0 && err < MAX_ERRNO)
		atomic_fetch_add(&r->errs[op][err], 1);
}

static int rnd(unsigned int *seed, int n)
{
	return rand_r(seed) % n;
}

static int new_listener(struct race *r)
{
	struct sockaddr_in sin = mtcp_sin("127.0.0.1", r->port);
	int one = 1, fd, ret;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, r->proto);
	count(r, OP_SOCKET, fd);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	ret = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	count(r, OP_BIND, ret);
	ret = listen(fd, 8);
	count(r, OP_LISTEN, ret);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static int disconnect(int fd)
{
	struct sockaddr sa = { .sa_family = AF_UNSPEC };

	return connect(fd, &sa, sizeof(sa));
}

static void *churn(void *arg)
{
	struct race *r = arg;
	unsigned int seed = (unsigned int)(uintptr_t)pthread_self();

	while (!atomic_load(&r->stop)) {
		int i = rnd(&seed, NLISTEN), fd = -1;

		switch (rnd(&seed, 8)) {
		case 0:	/* replace: close and open a new one in the group */
			pthread_rwlock_wrlock(&r->lock[i]);
			if (r->lfd[i] >= 0) {
				count(r, OP_CLOSE, close(r->lfd[i]));
				r->lfd[i] = -1;
			}
			if (rnd(&seed, 2))
				r->lfd[i] = new_listener(r);
			pthread_rwlock_unlock(&r->lock[i]);
			break;
		case 1: case 2:	/* stop listening */
			pthread_rwlock_rdlock(&r->lock[i]);
			if (r->lfd[i] >= 0)
				count(r, OP_UNSPEC, disconnect(r->lfd[i]));
			pthread_rwlock_unlock(&r->lock[i]);
			break;
		case 3: case 4:	/* (re)start listening */
			pthread_rwlock_rdlock(&r->lock[i]);
			if (r->lfd[i] >= 0)
				count(r, OP_LISTEN, listen(r->lfd[i], 1 + rnd(&seed, 16)));
			pthread_rwlock_unlock(&r->lock[i]);
			break;
		default:	/* accept and close or abort */
			pthread_rwlock_rdlock(&r->lock[i]);
			if (r->lfd[i] >= 0) {
				fd = accept(r->lfd[i], NULL, NULL);
				count(r, OP_ACCEPT, fd);
				if (fd >= 0) {
					if (rnd(&seed, 3) == 0)
						mtcp_linger0(fd);
					count(r, OP_CLOSE, close(fd));
				}
			}
			pthread_rwlock_unlock(&r->lock[i]);
			if (fd < 0)
				usleep(200);
			break;
		}
	}
	return NULL;
}

static void *client(void *arg)
{
	struct race *r = arg;
	unsigned int seed = (unsigned int)(uintptr_t)pthread_self() ^ 0x5a5a;
	struct sockaddr_in sin = mtcp_sin("127.0.0.1", r->port);

	while (!atomic_load(&r->stop)) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, r->proto);
		int nb = rnd(&seed, 2), ret;

		count(r, OP_SOCKET, fd);
		if (fd < 0) {
			usleep(1000);
			continue;
		}
		mtcp_set_timeouts(fd, 2);
		if (nb)
			fcntl(fd, F_SETFL, O_NONBLOCK);
		ret = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		count(r, OP_CONNECT, ret);
		if (nb && ret < 0 && errno == EINPROGRESS)
			mtcp_poll1(fd, POLLOUT, 50 + rnd(&seed, 200));
		if (!ret || nb) {
			ret = send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			count(r, OP_SEND, ret);
		}
		if (rnd(&seed, 3) == 0)
			mtcp_linger0(fd);
		count(r, OP_CLOSE, close(fd));
	}
	return NULL;
}

/* connect_disconnect: the connecting thread */
static void *cd_connector(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 77;
	struct sockaddr_in sin = mtcp_sin("127.0.0.1", r->port);

	while (!atomic_load(&r->stop)) {
		int nb = rnd(&seed, 2), ret;

		fcntl(r->cd_fd, F_SETFL, nb ? O_NONBLOCK : 0);
		ret = connect(r->cd_fd, (struct sockaddr *)&sin, sizeof(sin));
		count(r, OP_CONNECT, ret);
		if (!ret && rnd(&seed, 2))
			count(r, OP_SEND, send(r->cd_fd, "y", 1,
					       MSG_NOSIGNAL | MSG_DONTWAIT));
		if (rnd(&seed, 4))
			count(r, OP_UNSPEC, disconnect(r->cd_fd));
		if (ret < 0 && errno != EINPROGRESS && errno != EALREADY)
			usleep(100);
	}
	return NULL;
}

/* connect_disconnect: disconnects the same socket at random moments */
static void *cd_disconnector(void *arg)
{
	struct race *r = arg;
	unsigned int seed = 99;

	while (!atomic_load(&r->stop)) {
		count(r, OP_UNSPEC, disconnect(r->cd_fd));
		usleep(rnd(&seed, 500));
	}
	return NULL;
}

static void *cd_acceptor(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		int fd;

		if (mtcp_poll1(r->cd_lfd, POLLIN, 20) <= 0)
			continue;
		fd = accept(r->cd_lfd, NULL, NULL);
		count(r, OP_ACCEPT, fd);
		if (fd >= 0)
			count(r, OP_CLOSE, close(fd));
	}
	return NULL;
}

/* ---- checks ---- */

static int refcnt(void)
{
	FILE *f = fopen("/sys/module/mini_tcp/refcnt", "re");
	int n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/*
 * The count once it has stopped changing for a second (at most 10 s): the
 * sockets of an earlier test's netns let go of the module only when the
 * kernel dismantles that netns, asynchronously, after its process exited.
 */
static int settled_refcnt(void)
{
	long long end = mtcp_now_ms() + 10000;
	int n = refcnt(), same = 0;

	while (same < 20 && mtcp_now_ms() < end) {
		int m;

		mtcp_sleep_ms(50);
		m = refcnt();
		same = m == n ? same + 1 : 0;
		n = m;
	}
	return n;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/* Unexpected errnos: print them all; returns how many calls had one. */
static long report(struct race *r, struct __test_metadata *_metadata)
{
	long bad = 0;
	int op, e;

	for (op = 0; op < OP_NR; op++) {
		char line[1024];
		int len = 0;

		for (e = 0; e < MAX_ERRNO; e++) {
			long n = atomic_load(&r->errs[op][e]);

			if (!n)
				continue;
			if (!sane(op, e))
				bad += n;
			len += snprintf(line + len, sizeof(line) - len, " %s%s:%ld",
					sane(op, e) ? "" : "UNEXPECTED ",
					e ? strerrorname_np(e) ?: "?" : "ok", n);
			if (len >= (int)sizeof(line))
				break;
		}
		if (atomic_load(&r->calls[op]))
			TH_LOG("%-20s %6ld calls:%s", op_names[op],
			       atomic_load(&r->calls[op]), line);
	}
	return bad;
}

FIXTURE(race) {
	struct race *r;
	struct mtcp_env e;	/* only proto and ns_c (this netns) used */
	int ref0;
};

FIXTURE_SETUP(race)
{
	char val[16];
	int i, secs;

	self->r = calloc(1, sizeof(*self->r));
	ASSERT_NE(NULL, self->r);
	memset(&self->e, 0, sizeof(self->e));
	self->e.proto = mtcp_proto();
	self->e.ns_s = -1;
	self->r->proto = self->e.proto;
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, mtcp_ifconf("lo", NULL, 1));
	self->e.ns_c = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->e.ns_c);
	self->r->nsfd = self->e.ns_c;
	/* module reference count before any socket of this test */
	self->ref0 = mtcp_is_tcp(&self->e) ? -1 : settled_refcnt();
	/* this netns only: short TIME_WAIT / FIN_WAIT_2 so the table drains */
	secs = 1;
	snprintf(val, sizeof(val), "%d", secs);
	if (mtcp_is_tcp(&self->e)) {
		write_file("/proc/sys/net/ipv4/tcp_fin_timeout", "2");
	} else {
		ASSERT_EQ(0, write_file("/proc/sys/net/mini_tcp/tw_timeout", val));
		ASSERT_EQ(0, write_file("/proc/sys/net/mini_tcp/fin_timeout", "2"));
	}
	for (i = 0; i < NLISTEN; i++) {
		pthread_rwlock_init(&self->r->lock[i], NULL);
		self->r->lfd[i] = -1;
	}
	self->r->cd_fd = -1;
	self->r->cd_lfd = -1;
}

FIXTURE_TEARDOWN(race)
{
	free(self->r);
	if (self->e.ns_c >= 0)
		close(self->e.ns_c);
}

static int race_secs(void)
{
	const char *s = getenv("MTCP_RACE_SECS");

	return s && atoi(s) > 0 ? atoi(s) : 6;
}

/* Everything closed: only TIME_WAIT left, then nothing, refcnt at base. */
static void check_leftovers(struct __test_metadata *_metadata,
			    FIXTURE_DATA(race) *self)
{
	int n, ref = -1, i;
	long long end;

	n = mtcp_wait_table(&self->e, self->e.ns_c, 0, MTCP_NOT(TCP_TIME_WAIT),
			    0, 20000);
	if (n) {
		FILE *f = fopen(mtcp_is_tcp(&self->e) ? "/proc/thread-self/net/tcp" :
				"/proc/thread-self/net/mini_tcp", "re");
		char line[256];

		for (i = 0; f && fgets(line, sizeof(line), f) && i < 30; i++)
			TH_LOG("%s", line);
		if (f)
			fclose(f);
	}
	ASSERT_EQ(0, n) TH_LOG("non-TIME_WAIT sockets left 20 s after every fd was closed");
	if (mtcp_is_tcp(&self->e))
		return;		/* TCP's TIME_WAIT is 60 s */
	n = mtcp_wait_table(&self->e, self->e.ns_c, 0, -1, 0, 15000);
	ASSERT_EQ(0, n) TH_LOG("TIME_WAIT sockets left 15 s after the end (tw_timeout 1 s)");
	end = mtcp_now_ms() + 10000;
	while (mtcp_now_ms() < end) {
		ref = refcnt();
		if (ref <= self->ref0)
			break;
		mtcp_sleep_ms(50);
	}
	/* below it: what an earlier test left drained meanwhile */
	ASSERT_GE(self->ref0, ref) TH_LOG("module refcnt not back to its baseline");
}

/* A fresh connection with an echo still works. */
static int works(struct race *r)
{
	struct sockaddr_in sin = mtcp_sin("127.0.0.1", 0);
	socklen_t len = sizeof(sin);
	int l, c, s, ok = 0;
	char b;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, r->proto);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, r->proto);
	if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&sin, len) ||
	    listen(l, 1) || getsockname(l, (struct sockaddr *)&sin, &len))
		goto out;
	mtcp_set_timeouts(c, 5);
	mtcp_set_timeouts(l, 5);
	if (connect(c, (struct sockaddr *)&sin, len))
		goto out;
	s = accept(l, NULL, NULL);
	if (s < 0)
		goto out;
	mtcp_set_timeouts(s, 5);
	ok = send(c, "z", 1, 0) == 1 && recv(s, &b, 1, 0) == 1 && b == 'z';
	close(s);
out:
	if (c >= 0)
		close(c);
	if (l >= 0)
		close(l);
	return ok;
}

static __u16 free_port(int proto)
{
	struct sockaddr_in sin = mtcp_sin("127.0.0.1", 0);
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto);
	__u16 port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sin, len) &&
	    !getsockname(fd, (struct sockaddr *)&sin, &len))
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

TEST_F_TIMEOUT(race, reuseport_churn, 120)
{
	struct race *r = self->r;
	pthread_t th[NCHURN + NCLIENT];
	int i;

	r->port = free_port(r->proto);
	ASSERT_NE(0, r->port);
	for (i = 0; i < NLISTEN; i++) {
		r->lfd[i] = new_listener(r);
		ASSERT_LE(0, r->lfd[i]) TH_LOG("listener %d: %s", i, strerror(errno));
	}
	/* as TCP: a member stopped with connect(AF_UNSPEC) listens again */
	ASSERT_EQ(0, disconnect(r->lfd[0]));
	EXPECT_EQ(0, listen(r->lfd[0], 8))
		TH_LOG("listen() again after connect(AF_UNSPEC) in a SO_REUSEPORT group: %s",
		       strerror(errno));
	for (i = 0; i < NCHURN; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, churn, r));
	for (i = 0; i < NCLIENT; i++)
		ASSERT_EQ(0, pthread_create(&th[NCHURN + i], NULL, client, r));
	sleep(race_secs());
	atomic_store(&r->stop, 1);
	for (i = 0; i < NCHURN + NCLIENT; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NLISTEN; i++)
		if (r->lfd[i] >= 0)
			close(r->lfd[i]);

	EXPECT_EQ(0, report(r, _metadata)) TH_LOG("calls returned unexpected errnos");
	EXPECT_LT(0, atomic_load(&r->errs[OP_ACCEPT][0]))
		TH_LOG("not one connection was accepted");
	check_leftovers(_metadata, self);
	ASSERT_TRUE(works(r)) TH_LOG("a fresh connection does not work afterwards");
}

TEST_F_TIMEOUT(race, connect_disconnect, 120)
{
	struct race *r = self->r;
	struct sockaddr_in sin = mtcp_sin("127.0.0.1", 0);
	socklen_t len = sizeof(sin);
	pthread_t th[3];
	int i, err, stale = 0, nodata = 0;
	char b;

	r->cd_lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, r->proto);
	ASSERT_LE(0, r->cd_lfd);
	ASSERT_EQ(0, bind(r->cd_lfd, (struct sockaddr *)&sin, len));
	ASSERT_EQ(0, listen(r->cd_lfd, 64));
	ASSERT_EQ(0, getsockname(r->cd_lfd, (struct sockaddr *)&sin, &len));
	fcntl(r->cd_lfd, F_SETFL, O_NONBLOCK);
	r->port = ntohs(sin.sin_port);
	r->cd_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, r->proto);
	ASSERT_LE(0, r->cd_fd);
	mtcp_set_timeouts(r->cd_fd, 2);

	/* first: plain repeated connect + AF_UNSPEC, no racing thread */
	for (i = 0; i < 200; i++) {
		int fd;

		ASSERT_EQ(0, mtcp_connect(r->cd_fd, "127.0.0.1", r->port))
			TH_LOG("connect #%d: %s", i, strerror(errno));
		ASSERT_EQ(TCP_ESTABLISHED, mtcp_state(r->cd_fd));
		ASSERT_EQ(1, mtcp_poll1(r->cd_lfd, POLLIN, 5000) > 0);
		fd = accept(r->cd_lfd, NULL, NULL);
		ASSERT_LE(0, fd);
		mtcp_set_timeouts(fd, 5);
		/* the reset of the last disconnect is not this connection's */
		err = mtcp_so_error(r->cd_fd);
		if (err && !stale++)
			TH_LOG("connect #%d: SO_ERROR %s right after connect() returned 0",
			       i, strerror(err));
		if (send(r->cd_fd, "p", 1, MSG_NOSIGNAL) != 1 || recv(fd, &b, 1, 0) != 1) {
			if (!nodata++)
				TH_LOG("connect #%d: no data through the new connection: %s",
				       i, strerror(errno));
		}
		ASSERT_EQ(0, disconnect(r->cd_fd))
			TH_LOG("connect(AF_UNSPEC) #%d: %s", i, strerror(errno));
		ASSERT_EQ(TCP_CLOSE, mtcp_state(r->cd_fd));
		close(fd);
	}

	EXPECT_EQ(0, stale) TH_LOG("%d of 200 reconnections reported the old connection's error", stale);
	EXPECT_EQ(0, nodata) TH_LOG("%d of 200 reconnections carried no data", nodata);

	/* then: the same with a thread disconnecting at random moments */
	ASSERT_EQ(0, pthread_create(&th[0], NULL, cd_connector, r));
	ASSERT_EQ(0, pthread_create(&th[1], NULL, cd_disconnector, r));
	ASSERT_EQ(0, pthread_create(&th[2], NULL, cd_acceptor, r));
	sleep(race_secs());
	atomic_store(&r->stop, 1);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	close(r->cd_fd);
	close(r->cd_lfd);

	EXPECT_EQ(0, report(r, _metadata)) TH_LOG("calls returned unexpected errnos");
	EXPECT_LT(0, atomic_load(&r->errs[OP_CONNECT][0]))
		TH_LOG("not one connect succeeded");
	check_leftovers(_metadata, self);
	ASSERT_TRUE(works(r)) TH_LOG("a fresh connection does not work afterwards");
}

TEST_HARNESS_MAIN
