// SPDX-License-Identifier: GPL-2.0
/*
 * connbench - connection-rate benchmark for mini_tcp and kernel TCP.
 *
 * Client: N (or T seconds of) sequential cycles of
 *	socket(AF_INET, SOCK_STREAM, PROTO); connect; send MSG; recv MSG; close
 * each bounded by a per-cycle timeout, measuring connect latency (from
 * connect() to the connection being established).  Prints one line of
 * key=value pairs:
 *	connbench proto=6 dst=192.0.2.1:8000 cycles=200 ok=200 fail=0 ...
 *	    conn_per_s=812.3 p50_us=410 p99_us=1830 max_us=2210 ...
 * and exits 1 if any cycle failed (2 on usage or setup errors).
 *
 * Server (-s): accept, read the client's message, echo it, close (the server
 * closes first, so TIME_WAIT stays on the server and the client never runs
 * out of ephemeral ports).  Bounded by -t (default 600 s) or SIGTERM.
 *
 *	connbench -s -p 253 -P 8000 [-a 0.0.0.0] [-b BACKLOG] [-w READYFILE]
 *	connbench -p 253 -a 192.0.2.1 -P 8000 -n 200 [-T TIMEOUT_MS] [-F MAXFAIL]
 *	connbench -p 6 192.0.2.1:8000 -t 10
 *
 * Build: cc -O2 -Wall -Wextra -o build/connbench scripts/connbench.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../uapi/mini_tcp.h"

#define MAX_MSG		65536
#define MAX_SECS	3600.0
#define MAX_CYCLES	100000000UL

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* nearest-rank percentile of a sorted array */
static int64_t pct(const int64_t *v, size_t n, double p)
{
	size_t r;

	if (!n)
		return 0;
	r = (size_t)(p / 100.0 * n + 0.999999);
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return v[r - 1];
}

/* Wait for EVENTS on fd until deadline (us). 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int64_t left = deadline - now_us();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (r > 0)
			return 1;
		if (r == 0)
			continue;	/* re-check the deadline */
		if (errno != EINTR)
			return -1;
		if (stop)
			return 0;
	}
}

enum fail_kind { FK_OK, FK_TIMEOUT, FK_CONNECT, FK_IO, FK_KINDS };
static const char *const fail_name[FK_KINDS] = {
	"ok", "timeout", "connect", "io"
};

struct cycle {
	int64_t connect_us;
	int64_t cycle_us;
	int err;		/* errno for the first failure */
	const char *where;
};

static enum fail_kind one_cycle(int proto, const struct sockaddr_in *dst,
				const char *msg, size_t len, int timeout_ms,
				struct cycle *c)
{
	char buf[MAX_MSG];
	int64_t t0 = now_us(), deadline = t0 + (int64_t)timeout_ms * 1000;
	enum fail_kind rc = FK_OK;
	socklen_t sl = sizeof(int);
	size_t off;
	int fd, r, soerr = 0;

	c->err = 0;
	c->where = "";
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		c->err = errno;
		c->where = "socket";
		return FK_CONNECT;
	}
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) &&
	    errno != EINPROGRESS) {
		c->err = errno;
		c->where = "connect";
		rc = FK_CONNECT;
		goto out;
	}
	r = wait_fd(fd, POLLOUT, deadline);
	if (r <= 0) {
		c->err = r ? errno : ETIMEDOUT;
		c->where = "connect";
		rc = r ? FK_CONNECT : FK_TIMEOUT;
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
		c->err = soerr ? soerr : errno;
		c->where = "connect";
		rc = FK_CONNECT;
		goto out;
	}
	c->connect_us = now_us() - t0;

	for (off = 0; off < len;) {
		ssize_t n = send(fd, msg + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			c->err = errno;
			c->where = "send";
			rc = FK_IO;
			goto out;
		}
		r = wait_fd(fd, POLLOUT, deadline);
		if (r <= 0) {
			c->err = r ? errno : ETIMEDOUT;
			c->where = "send";
			rc = r ? FK_IO : FK_TIMEOUT;
			goto out;
		}
	}
	for (off = 0; off < len;) {
		ssize_t n = recv(fd, buf + off, len - off, 0);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0) {
			c->err = EPIPE;
			c->where = "recv (early EOF)";
			rc = FK_IO;
			goto out;
		}
		if (errno != EAGAIN && errno != EINTR) {
			c->err = errno;
			c->where = "recv";
			rc = FK_IO;
			goto out;
		}
		r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0) {
			c->err = r ? errno : ETIMEDOUT;
			c->where = "recv";
			rc = r ? FK_IO : FK_TIMEOUT;
			goto out;
		}
	}
	if (memcmp(buf, msg, len)) {
		c->err = EBADMSG;
		c->where = "echo mismatch";
		rc = FK_IO;
	}
out:
	close(fd);
	c->cycle_us = now_us() - t0;
	return rc;
}

static int run_client(int proto, const struct sockaddr_in *dst,
		      unsigned long cycles, double secs, int timeout_ms,
		      size_t len, unsigned long maxfail, int verbose)
{
	unsigned long done = 0, ok = 0, fails[FK_KINDS] = { 0 }, nfail = 0;
	size_t cap = 4096;
	int64_t *lat = malloc(cap * sizeof(*lat));
	int64_t *cyc = malloc(cap * sizeof(*cyc));
	int64_t t0, end_at, elapsed;
	char *msg = malloc(len);
	char addr[INET_ADDRSTRLEN];
	size_t i;

	if (!lat || !cyc || !msg) {
		fprintf(stderr, "connbench: out of memory\n");
		return 2;
	}
	for (i = 0; i < len; i++)
		msg[i] = (char)('a' + i % 26);
	inet_ntop(AF_INET, &dst->sin_addr, addr, sizeof(addr));

	t0 = now_us();
	end_at = secs > 0 ? t0 + (int64_t)(secs * 1e6) : INT64_MAX;
	while (!stop && done < cycles && now_us() < end_at) {
		struct cycle c = { 0 };
		enum fail_kind k;

		msg[0] = (char)('A' + done % 26);
		k = one_cycle(proto, dst, msg, len, timeout_ms, &c);
		done++;
		if (k != FK_OK) {
			fails[k]++;
			nfail++;
			if (verbose || nfail <= 3)
				fprintf(stderr, "connbench: cycle %lu: %s: %s (%s)\n",
					done, c.where, strerror(c.err),
					fail_name[k]);
			if (maxfail && nfail >= maxfail)
				break;
			continue;
		}
		if (ok == cap) {
			int64_t *a, *b;

			cap *= 2;
			a = realloc(lat, cap * sizeof(*lat));
			b = a ? realloc(cyc, cap * sizeof(*cyc)) : NULL;
			if (!a || !b) {
				fprintf(stderr, "connbench: out of memory\n");
				return 2;
			}
			lat = a;
			cyc = b;
		}
		lat[ok] = c.connect_us;
		cyc[ok] = c.cycle_us;
		ok++;
	}
	elapsed = now_us() - t0;
	qsort(lat, ok, sizeof(*lat), cmp_i64);
	qsort(cyc, ok, sizeof(*cyc), cmp_i64);
	printf("connbench proto=%d dst=%s:%u cycles=%lu ok=%lu fail=%lu fail_timeout=%lu fail_connect=%lu fail_io=%lu elapsed_s=%.3f conn_per_s=%.1f p50_us=%lld p99_us=%lld max_us=%lld cycle_p50_us=%lld cycle_p99_us=%lld\n",
	       proto, addr, ntohs(dst->sin_port), done, ok, nfail,
	       fails[FK_TIMEOUT], fails[FK_CONNECT], fails[FK_IO],
	       elapsed / 1e6, elapsed > 0 ? ok * 1e6 / elapsed : 0.0,
	       (long long)pct(lat, ok, 50), (long long)pct(lat, ok, 99),
	       (long long)(ok ? lat[ok - 1] : 0),
	       (long long)pct(cyc, ok, 50), (long long)pct(cyc, ok, 99));
	fflush(stdout);
	free(lat);
	free(cyc);
	free(msg);
	if (nfail || !ok)
		return 1;
	return 0;
}

static void serve_one(int fd, size_t len, unsigned long *errs)
{
	char buf[MAX_MSG];
	struct timeval tv = { .tv_sec = 2 };
	size_t got = 0, off;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);

		if (n <= 0) {
			if (n < 0 && errno == EINTR && !stop)
				continue;
			(*errs)++;
			return;
		}
		got += (size_t)n;
	}
	for (off = 0; off < got;) {
		ssize_t n = send(fd, buf + off, got - off, MSG_NOSIGNAL);

		if (n <= 0) {
			if (n < 0 && errno == EINTR && !stop)
				continue;
			(*errs)++;
			return;
		}
		off += (size_t)n;
	}
}

static int run_server(int proto, const struct sockaddr_in *addr, int backlog,
		      double secs, size_t len, const char *readyfile)
{
	unsigned long accepted = 0, errs = 0;
	int64_t end_at = now_us() + (int64_t)(secs * 1e6);
	int lfd, one = 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, proto);
	if (lfd < 0) {
		perror("connbench: socket");
		return 2;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (const struct sockaddr *)addr, sizeof(*addr))) {
		perror("connbench: bind");
		return 2;
	}
	if (listen(lfd, backlog)) {
		perror("connbench: listen");
		return 2;
	}
	if (readyfile) {
		FILE *f = fopen(readyfile, "w");

		if (!f) {
			perror("connbench: ready file");
			return 2;
		}
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	while (!stop) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		int64_t left = end_at - now_us();
		int r, fd;

		if (left <= 0)
			break;
		r = poll(&pfd, 1, left > 200000 ? 200 : (int)(left / 1000) + 1);
		if (r <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		accepted++;
		serve_one(fd, len, &errs);
		close(fd);
	}
	close(lfd);
	printf("connbench-server proto=%d accepted=%lu errors=%lu\n",
	       proto, accepted, errs);
	fflush(stdout);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: connbench [-p PROTO] -a ADDR -P PORT (-n CYCLES | -t SECS) [-T MS] [-F N] [-m BYTES] [-v]\n"
"       connbench [-p PROTO] ADDR:PORT ...\n"
"       connbench -s [-p PROTO] [-a ADDR] -P PORT [-b BACKLOG] [-t SECS] [-w FILE] [-m BYTES]\n"
"  -p PROTO    IP protocol for socket(AF_INET, SOCK_STREAM, PROTO) (default %d; 6 = TCP)\n"
"  -n CYCLES   client: number of connect/send/recv/close cycles (default 1000)\n"
"  -t SECS     client: stop after SECS (with -n: whichever first); server: lifetime (default 600)\n"
"  -T MS       client: timeout per cycle in ms (default 10000)\n"
"  -F N        client: stop after N failed cycles (default: never)\n"
"  -m BYTES    message size (default 64; both ends must agree)\n"
"  -s          server mode; -b listen backlog (default 128); -w write pid to FILE once listening\n"
"  -v          client: report every failed cycle (default: the first 3)\n"
"Client output: one line of key=value; exit 0 all cycles ok, 1 some failed, 2 error.\n",
		IPPROTO_MINI_TCP);
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int proto = IPPROTO_MINI_TCP, server = 0, backlog = 128, timeout_ms = 10000;
	int verbose = 0, opt, have_addr = 0, have_port = 0, port = 0;
	unsigned long cycles = 0, maxfail = 0;
	double secs = 0;
	size_t len = 64;
	const char *readyfile = NULL;
	struct sigaction sa;
	char *end;

	while ((opt = getopt(argc, argv, "sp:a:P:n:t:T:F:m:b:w:vh")) != -1) {
		switch (opt) {
		case 's':
			server = 1;
			break;
		case 'p':
			proto = atoi(optarg);
			break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &addr.sin_addr) != 1) {
				fprintf(stderr, "connbench: bad address %s\n", optarg);
				return 2;
			}
			have_addr = 1;
			break;
		case 'P':
			port = atoi(optarg);
			have_port = 1;
			break;
		case 'n':
			cycles = strtoul(optarg, &end, 10);
			if (*end || !cycles) {
				fprintf(stderr, "connbench: bad cycle count %s\n", optarg);
				return 2;
			}
			break;
		case 't':
			secs = strtod(optarg, &end);
			if (*end || !(secs > 0)) {
				fprintf(stderr, "connbench: bad duration %s\n", optarg);
				return 2;
			}
			break;
		case 'T':
			timeout_ms = atoi(optarg);
			break;
		case 'F':
			maxfail = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			len = (size_t)atol(optarg);
			break;
		case 'b':
			backlog = atoi(optarg);
			break;
		case 'w':
			readyfile = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		char buf[64], *colon;

		if (optind + 1 != argc || strlen(argv[optind]) >= sizeof(buf)) {
			usage(stderr);
			return 2;
		}
		strcpy(buf, argv[optind]);
		colon = strrchr(buf, ':');
		if (!colon) {
			usage(stderr);
			return 2;
		}
		*colon = 0;
		if (inet_pton(AF_INET, buf, &addr.sin_addr) != 1) {
			fprintf(stderr, "connbench: bad address %s\n", buf);
			return 2;
		}
		port = atoi(colon + 1);
		have_addr = 1;
		have_port = 1;
	}
	if (!have_port || port < 1 || port > 65535 || proto < 1 || proto > 255 ||
	    len < 1 || len > MAX_MSG || timeout_ms < 1 || backlog < 1) {
		usage(stderr);
		return 2;
	}
	addr.sin_port = htons((uint16_t)port);
	if (secs > MAX_SECS)
		secs = MAX_SECS;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (server)
		return run_server(proto, &addr, backlog, secs > 0 ? secs : 600,
				  len, readyfile);
	if (!have_addr) {
		usage(stderr);
		return 2;
	}
	if (!cycles)
		cycles = secs > 0 ? MAX_CYCLES : 1000;
	return run_client(proto, &addr, cycles, secs, timeout_ms, len, maxfail,
			  verbose);
}
