// SPDX-License-Identifier: GPL-2.0
/*
 * Randomized syscall-sequence stress (issue "Hardening").
 *
 *   stress [SECONDS [THREADS]]      (default $MTCP_STRESS_SECS or 20, 4)
 *
 * THREADS threads issue random socket / bind / listen / connect (blocking,
 * non-blocking, AF_UNSPEC) / accept / send / recv / shutdown / setsockopt
 * (valid and odd values) / getsockopt / ioctl / poll / close calls on one
 * pool of sockets of protocol $MTCP_PROTO, for SECONDS.  Sockets are made in
 * the network namespaces named by $MTCP_STRESS_NS (space separated, under
 * /run/netns; default: the current one only), whose addresses are
 * $MTCP_STRESS_ADDRS (space separated, each "NSINDEX:ADDR", e.g.
 * "0:10.77.0.1 1:10.77.0.2"), plus 127.0.0.1 in each; a handful of ports
 * makes binds, listens and connects collide.  MTCP_STRESS_SKIP_IPOPT=1
 * (or STRESS_SKIP_IPOPT=1) leaves IP_OPTIONS out of the options;
 * MTCP_STRESS_SEED fixes the random seed (printed at the start).
 *
 * A slot of the pool is a socket behind a rwlock: calls on it take the
 * lock shared (so calls on one socket race each other), close and
 * replacement take it exclusive (so an fd number is never reused under a
 * running call).  Blocking calls are bounded by SO_RCVTIMEO/SO_SNDTIMEO (100 ms).
 *
 * The program checks only what must hold whatever the sequence: no call
 * returns EFAULT or EBADF (buffers and fds are valid), and every thread
 * finishes (a watchdog fails the run if a call blocks for over 30 s).
 * Everything else (kernel crashes, leaks, refcounts) is checked by
 * stress.sh around it.  Prints a summary as TAP comments; exit 0 or 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#define NSLOT		48
#define MAX_THREADS	16
#define MAX_NS		4
#define MAX_ADDR	8
#define NPORT		4
#define BASE_PORT	7100

enum op { OP_SOCKET, OP_BIND, OP_LISTEN, OP_CONNECT, OP_CONNECT_NB,
	  OP_UNSPEC, OP_ACCEPT, OP_SEND, OP_RECV, OP_SHUTDOWN, OP_SETSOCKOPT,
	  OP_GETSOCKOPT, OP_IOCTL, OP_POLL, OP_CLOSE, OP_NR };
static const char *const op_names[OP_NR] = {
	"socket", "bind", "listen", "connect", "connect_nb", "connect_unspec",
	"accept", "send", "recv", "shutdown", "setsockopt", "getsockopt",
	"ioctl", "poll", "close",
};

/* how often each call is picked */
static const int weight[OP_NR] = {
	[OP_SOCKET] = 3, [OP_BIND] = 4, [OP_LISTEN] = 4, [OP_CONNECT] = 5,
	[OP_CONNECT_NB] = 4, [OP_UNSPEC] = 1, [OP_ACCEPT] = 6, [OP_SEND] = 5,
	[OP_RECV] = 5, [OP_SHUTDOWN] = 1, [OP_SETSOCKOPT] = 4,
	[OP_GETSOCKOPT] = 2, [OP_IOCTL] = 1, [OP_POLL] = 1, [OP_CLOSE] = 2,
};

struct slot {
	pthread_rwlock_t lock;
	int fd;
	int ns;
};

static struct slot slots[NSLOT];
static int proto;
static int nsfd[MAX_NS], nns = 1;
static struct { int ns; struct in_addr a; } addrs[MAX_ADDR];
static int naddr;
static int skip_ipopt;
static atomic_int stop;
static atomic_long calls[OP_NR], fails[OP_NR], bad[OP_NR];
static atomic_long beat[MAX_THREADS];
static const char *cur[MAX_THREADS];

static void on_alarm(int sig)
{
	char msg[128];
	int n = snprintf(msg, sizeof(msg),
			 "# stress: a call blocked past the deadline (signal %d)\n", sig);

	if (write(1, msg, n) < 0)
		_exit(2);
	_exit(1);
}

static unsigned int rnd(unsigned int *s, unsigned int n)
{
	return rand_r(s) % n;
}

static void note(enum op op, long ret, int tid)
{
	atomic_fetch_add(&calls[op], 1);
	atomic_fetch_add(&beat[tid], 1);
	if (ret >= 0)
		return;
	atomic_fetch_add(&fails[op], 1);
	if (errno == EFAULT || errno == EBADF) {
		if (atomic_fetch_add(&bad[op], 1) < 5)
			printf("# unexpected %s from %s\n", strerrorname_np(errno),
			       op_names[op]);
	}
}

static struct sockaddr_in pick_addr(unsigned int *s, int ns)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int i, r = rnd(s, 10);

	sin.sin_port = htons(r == 0 ? 0 : BASE_PORT + rnd(s, NPORT));
	if (r < 3) {
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sin;
	}
	if (r == 3)
		return sin;	/* 0.0.0.0 */
	i = rnd(s, naddr ? naddr : 1);
	if (naddr)
		sin.sin_addr = addrs[i].a;
	else
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)ns;
	return sin;
}

static int new_socket(unsigned int *s, int *ns)
{
	int fd, one = 1;
	struct timeval tv = { .tv_usec = 100000 };	/* bounds blocking calls */

	*ns = rnd(s, nns);
	if (nsfd[*ns] >= 0 && setns(nsfd[*ns], CLONE_NEWNET))
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC |
		    (rnd(s, 4) ? 0 : SOCK_NONBLOCK), proto);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (rnd(s, 2))
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (rnd(s, 4) == 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	return fd;
}

/* Put a new fd (accepted) into a free slot, or close it. */
static void adopt(int fd, int ns, int tid)
{
	int i;

	for (i = 0; i < NSLOT; i++) {
		if (pthread_rwlock_trywrlock(&slots[i].lock))
			continue;
		if (slots[i].fd < 0) {
			slots[i].fd = fd;
			slots[i].ns = ns;
			pthread_rwlock_unlock(&slots[i].lock);
			return;
		}
		pthread_rwlock_unlock(&slots[i].lock);
	}
	note(OP_CLOSE, close(fd), tid);
}

/* Integer options and the odd values thrown at them. */
static const struct int_opt {
	int level, name, nval;
	int val[8];
} int_opts[] = {
	{ SOL_SOCKET, SO_RCVBUF, 4, { 1, 4096, 65536, 262144 } },
	{ SOL_SOCKET, SO_SNDBUF, 4, { 1, 4096, 65536, 262144 } },
	{ SOL_SOCKET, SO_KEEPALIVE, 2, { 0, 1 } },
	{ SOL_SOCKET, SO_REUSEPORT, 2, { 0, 1 } },
	{ SOL_SOCKET, SO_RCVLOWAT, 3, { 1, 100, INT_MAX } },
	{ SOL_SOCKET, SO_OOBINLINE, 2, { 0, 1 } },
	{ IPPROTO_TCP, TCP_NODELAY, 2, { 0, 1 } },
	{ IPPROTO_TCP, TCP_CORK, 2, { 0, 1 } },
	{ IPPROTO_TCP, TCP_MAXSEG, 8, { 0, 88, 536, 1000, 1460, 65535, 87, -1 } },
	{ IPPROTO_TCP, TCP_KEEPIDLE, 3, { -1, 0, 1 } },
	{ IPPROTO_TCP, TCP_KEEPINTVL, 3, { 0, 1, 2 } },
	{ IPPROTO_TCP, TCP_KEEPCNT, 3, { 0, 1, 2 } },
	{ IPPROTO_TCP, TCP_SYNCNT, 4, { -1, 0, 1, 2 } },
	{ IPPROTO_TCP, TCP_LINGER2, 5, { -1, 0, 1, 2, 3 } },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT, 3, { -1, 499, 999 } },
	{ IPPROTO_TCP, TCP_QUICKACK, 2, { 0, 1 } },
	{ IPPROTO_IP, IP_TOS, 4, { 0, 0x10, 0xb8, 255 } },
	{ IPPROTO_IP, IP_TTL, 4, { -1, 1, 64, 255 } },
};

#define N_INT_OPTS	((int)(sizeof(int_opts) / sizeof(int_opts[0])))

static void do_setsockopt(unsigned int *s, int fd, int tid)
{
	static const unsigned char ipopt_nop[4] = { 1, 1, 1, 0 };
	int v, r = rnd(s, N_INT_OPTS + 4);
	struct linger lg;
	long ret;

	if (r < N_INT_OPTS) {
		const struct int_opt *o = &int_opts[r];

		v = o->val[rnd(s, o->nval)];
		ret = setsockopt(fd, o->level, o->name, &v, sizeof(v));
	} else if (r == N_INT_OPTS) {
		lg.l_onoff = 1;
		lg.l_linger = rnd(s, 2);
		ret = setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else if (r == N_INT_OPTS + 1) {
		if (skip_ipopt)
			return;
		if (rnd(s, 2))
			ret = setsockopt(fd, IPPROTO_IP, IP_OPTIONS, "", 0);
		else
			ret = setsockopt(fd, IPPROTO_IP, IP_OPTIONS, ipopt_nop,
					 sizeof(ipopt_nop));
	} else if (r == N_INT_OPTS + 2) {
		ret = setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE,
				 rnd(s, 2) ? "lo" : "", rnd(s, 2) ? 3 : 0);
	} else {	/* an option mini_tcp does not have */
		v = rnd(s, 2);
		ret = setsockopt(fd, IPPROTO_TCP, 10 + rnd(s, 30), &v, sizeof(v));
	}
	note(OP_SETSOCKOPT, ret, tid);
}

static enum op pick_op(unsigned int *s)
{
	int total = 0, r, i;

	for (i = 0; i < OP_NR; i++)
		total += weight[i];
	r = rnd(s, total);
	for (i = 0; i < OP_NR; i++) {
		r -= weight[i];
		if (r < 0)
			return i;
	}
	return OP_POLL;
}

/* A new socket into an empty slot; the caller holds its lock for writing. */
static void fill_slot(unsigned int *s, struct slot *sl, int tid)
{
	int ns, fd = new_socket(s, &ns);

	note(OP_SOCKET, fd, tid);
	if (fd >= 0) {
		sl->fd = fd;
		sl->ns = ns;
	}
}

struct targ {
	int tid;
	unsigned int seed;
};

static void *worker(void *arg)
{
	struct targ *t = arg;
	unsigned int *s = &t->seed;
	static char buf[MAX_THREADS][65536];
	char *b = buf[t->tid];
	int tid = t->tid;

	memset(b, 'q', 65536);
	while (!atomic_load(&stop)) {
		struct slot *sl = &slots[rnd(s, NSLOT)];
		enum op op = pick_op(s);
		struct sockaddr_in sin;
		long ret;
		int fd;

		cur[tid] = op_names[op];
		if (op == OP_SOCKET || op == OP_CLOSE) {
			pthread_rwlock_wrlock(&sl->lock);
			if (sl->fd >= 0) {
				note(OP_CLOSE, close(sl->fd), tid);
				sl->fd = -1;
			}
			if (op == OP_SOCKET)
				fill_slot(s, sl, tid);
			pthread_rwlock_unlock(&sl->lock);
			continue;
		}
		pthread_rwlock_rdlock(&sl->lock);
		fd = sl->fd;
		if (fd < 0) {	/* fill the pool */
			pthread_rwlock_unlock(&sl->lock);
			pthread_rwlock_wrlock(&sl->lock);
			if (sl->fd < 0)
				fill_slot(s, sl, tid);
			pthread_rwlock_unlock(&sl->lock);
			continue;
		}
		switch (op) {
		case OP_BIND:
			sin = pick_addr(s, sl->ns);
			ret = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
			break;
		case OP_LISTEN:
			ret = listen(fd, rnd(s, 10) - 1);
			break;
		case OP_CONNECT:
		case OP_CONNECT_NB:
			sin = pick_addr(s, sl->ns);
			if (!sin.sin_port)
				sin.sin_port = htons(BASE_PORT);
			if (op == OP_CONNECT_NB)
				fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			else if (rnd(s, 2))
				fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			ret = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
			break;
		case OP_UNSPEC: {
			struct sockaddr sa = { .sa_family = AF_UNSPEC };

			ret = connect(fd, &sa, sizeof(sa));
			break;
		}
		case OP_ACCEPT: {
			int flags = rnd(s, 2) ? SOCK_NONBLOCK : 0;

			ret = accept4(fd, NULL, NULL, flags | SOCK_CLOEXEC);
			if (ret >= 0) {
				pthread_rwlock_unlock(&sl->lock);
				note(op, ret, tid);
				adopt(ret, sl->ns, tid);
				continue;
			}
			break;
		}
		case OP_SEND: {
			static const int fl[] = { 0, MSG_DONTWAIT, MSG_MORE,
						  MSG_OOB, MSG_DONTWAIT | MSG_MORE };

			ret = send(fd, b, 1 + rnd(s, rnd(s, 4) ? 100 : 65536),
				   MSG_NOSIGNAL | fl[rnd(s, 5)]);
			break;
		}
		case OP_RECV: {
			static const int fl[] = { MSG_DONTWAIT, 0, MSG_PEEK | MSG_DONTWAIT,
						  MSG_WAITALL, MSG_OOB | MSG_DONTWAIT,
						  MSG_TRUNC | MSG_DONTWAIT };

			ret = recv(fd, b, 1 + rnd(s, 65535), fl[rnd(s, 6)]);
			break;
		}
		case OP_SHUTDOWN:
			ret = shutdown(fd, rnd(s, 3));
			break;
		case OP_SETSOCKOPT:
			do_setsockopt(s, fd, tid);
			pthread_rwlock_unlock(&sl->lock);
			continue;
		case OP_GETSOCKOPT: {
			struct tcp_info ti;
			socklen_t len = rnd(s, 2) ? sizeof(ti) : 8;
			static const int o[][2] = {
				{ IPPROTO_TCP, TCP_INFO }, { SOL_SOCKET, SO_ERROR },
				{ IPPROTO_TCP, TCP_MAXSEG }, { IPPROTO_IP, IP_MTU },
				{ IPPROTO_IP, IP_OPTIONS }, { SOL_SOCKET, SO_PEERNAME },
				{ IPPROTO_TCP, TCP_CONGESTION }, { SOL_SOCKET, SO_MEMINFO },
			};
			int k = rnd(s, 8);

			ret = getsockopt(fd, o[k][0], o[k][1], &ti, &len);
			break;
		}
		case OP_IOCTL: {
			static const unsigned long io[] = { FIONREAD, SIOCOUTQ,
							    SIOCOUTQNSD, SIOCATMARK };
			int v;

			ret = ioctl(fd, io[rnd(s, 4)], &v);
			break;
		}
		case OP_POLL: {
			struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLPRI };

			ret = poll(&p, 1, rnd(s, 20));
			break;
		}
		default:
			ret = 0;
			break;
		}
		pthread_rwlock_unlock(&sl->lock);
		note(op, ret, tid);
	}
	cur[tid] = "done";
	return NULL;
}

static void parse_env(void)
{
	char *v, *tok, *save, *dup;

	v = getenv("MTCP_PROTO");
	proto = v && *v ? atoi(v) : 253;
	v = getenv("MTCP_STRESS_SKIP_IPOPT") ?: getenv("STRESS_SKIP_IPOPT");
	skip_ipopt = v && atoi(v);
	nsfd[0] = -1;
	v = getenv("MTCP_STRESS_NS");
	if (v && *v) {
		nns = 0;
		dup = strdup(v);
		for (tok = strtok_r(dup, " ", &save); tok && nns < MAX_NS;
		     tok = strtok_r(NULL, " ", &save)) {
			char path[256];

			snprintf(path, sizeof(path), "/run/netns/%s", tok);
			nsfd[nns] = open(path, O_RDONLY | O_CLOEXEC);
			if (nsfd[nns] < 0) {
				printf("# %s: %s\n", path, strerror(errno));
				exit(1);
			}
			nns++;
		}
		free(dup);
	}
	v = getenv("MTCP_STRESS_ADDRS");
	if (v && *v) {
		dup = strdup(v);
		for (tok = strtok_r(dup, " ", &save); tok && naddr < MAX_ADDR;
		     tok = strtok_r(NULL, " ", &save)) {
			char *c = strchr(tok, ':');

			if (!c || inet_pton(AF_INET, c + 1, &addrs[naddr].a) != 1)
				continue;
			addrs[naddr].ns = atoi(tok);
			naddr++;
		}
		free(dup);
	}
}

int main(int argc, char **argv)
{
	pthread_t th[MAX_THREADS];
	struct targ ta[MAX_THREADS];
	int secs, nthr, i, rc = 0;
	long last[MAX_THREADS] = { 0 }, since[MAX_THREADS] = { 0 };
	unsigned int seed;
	long long total = 0, nbad = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	secs = argc > 1 ? atoi(argv[1]) :
	       getenv("MTCP_STRESS_SECS") ? atoi(getenv("MTCP_STRESS_SECS")) : 20;
	nthr = argc > 2 ? atoi(argv[2]) : 4;
	if (nthr < 1 || nthr > MAX_THREADS)
		nthr = 4;
	parse_env();
	seed = getenv("MTCP_STRESS_SEED") ? atoi(getenv("MTCP_STRESS_SEED")) :
	       (unsigned int)time(NULL) ^ getpid();
	printf("# stress: proto %d, %d s, %d threads, %d netns, %d addresses, seed %u%s\n",
	       proto, secs, nthr, nns, naddr, seed,
	       skip_ipopt ? ", no IP_OPTIONS" : "");
	for (i = 0; i < NSLOT; i++) {
		pthread_rwlock_init(&slots[i].lock, NULL);
		slots[i].fd = -1;
	}
	for (i = 0; i < nthr; i++) {
		ta[i].tid = i;
		ta[i].seed = seed + 7919 * i;
		cur[i] = "start";
		pthread_create(&th[i], NULL, worker, &ta[i]);
	}
	for (i = 0; i < secs; i++) {
		int k;

		sleep(1);
		for (k = 0; k < nthr; k++) {
			long b = atomic_load(&beat[k]);

			since[k] = b == last[k] ? since[k] + 1 : 0;
			last[k] = b;
			if (since[k] >= 30) {
				printf("# thread %d stuck in %s for 30 s\n", k, cur[k]);
				fflush(stdout);
				_exit(1);
			}
		}
	}
	atomic_store(&stop, 1);
	signal(SIGALRM, on_alarm);
	alarm(30);	/* every blocking call is bounded by 1 s timeouts */
	for (i = 0; i < nthr; i++)
		pthread_join(th[i], NULL);
	alarm(0);
	for (i = 0; i < NSLOT; i++)
		if (slots[i].fd >= 0)
			close(slots[i].fd);
	for (i = 0; i < OP_NR; i++) {
		printf("# %-15s %8ld calls %8ld failed\n", op_names[i],
		       atomic_load(&calls[i]), atomic_load(&fails[i]));
		total += atomic_load(&calls[i]);
		nbad += atomic_load(&bad[i]);
	}
	printf("# %lld calls, %lld with EFAULT/EBADF\n", total, nbad);
	if (nbad)
		rc = 1;
	return rc;
}
