// SPDX-License-Identifier: GPL-2.0
/*
 * streambench - one bulk connection between two endpoints (typically two
 * network namespaces joined by a veth pair), for mini_tcp and kernel TCP.
 * Used by scripts/bench for the veth bulk, lossy-path goodput and
 * single-loss recovery figures.
 *
 * Receiver (-s): listen, write -w READYFILE once listening, accept one
 * connection, read to EOF with 256 KiB reads, close, print
 *	streambench-recv proto=253 bytes=... secs=... mbit_per_s=...
 *	    stall_ms=... stall_at=... reads=...
 * stall_ms is the longest wait between two reads that returned data, among
 * those after the first -S BYTES of the stream (0: all): the time the
 * application saw no new in-order byte, e.g. while a lost segment is
 * being recovered.  stall_at is the stream offset where it began.
 * -o TRACE writes one line per read: seconds since accept, bytes so far.
 *
 * Sender: connect, write BYTES (or for SECS, whichever first) in writes of
 * as many whole segments (TCP_MAXSEG) as fit in 64 KiB, shutdown(SHUT_WR),
 * wait for the receiver's EOF (so every byte was delivered), print
 *	streambench-send proto=6 cc=reno bytes=... secs=... mbit_per_s=...
 *	    connect_ms=... mss=...
 * goodput counts from the connection being established to the receiver's
 * FIN; connect_ms is the handshake time (one round trip); mss is
 * TCP_MAXSEG once connected (the payload of a full segment).
 *
 *	streambench -s [-p PROTO] [-a ADDR] -P PORT [-w FILE] [-S BYTES] [-t SECS]
 *	streambench [-p PROTO] -a ADDR -P PORT [-b BYTES] [-t SECS] [-C CC]
 *
 * -C sets TCP_CONGESTION (kernel TCP only, e.g. reno or cubic).
 * -t on the receiver bounds the whole run (default 600 s).
 * Exit 0 on success, 1 on a transfer error, 2 on usage/setup errors.
 *
 * Build: cc -O2 -Wall -Wextra -o build/streambench scripts/streambench.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../uapi/mini_tcp.h"

#define WCHUNK	65536
#define RCHUNK	262144

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what)
{
	fprintf(stderr, "streambench: %s: %s\n", what, strerror(errno));
	return 1;
}

static int receiver(int proto, struct sockaddr_in *sin, const char *ready,
		    unsigned long long skip, double secs, const char *trace)
{
	FILE *tf = NULL;
	static char buf[RCHUNK];
	unsigned long long got = 0, stall_at = 0, reads = 0;
	double t0 = 0, last = 0, stall = 0, end_at = now() + secs;
	int one = 1, ls, fd;
	struct pollfd pfd;
	ssize_t n;

	ls = socket(AF_INET, SOCK_STREAM, proto);
	if (ls < 0)
		return fail("socket") + 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)sin, sizeof(*sin)) || listen(ls, 4))
		return fail("bind/listen") + 1;
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (!f)
			return fail("ready file") + 1;
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	pfd.fd = ls;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, (int)(secs * 1000)) != 1) {
		fprintf(stderr, "streambench: no connection within %.0f s\n", secs);
		return 1;
	}
	fd = accept(ls, NULL, NULL);
	if (fd < 0)
		return fail("accept");
	close(ls);
	/* a receive timeout so a wedged transfer ends the run */
	{
		struct timeval tv = { .tv_sec = 5 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	if (trace) {
		tf = fopen(trace, "w");
		if (!tf)
			return fail("trace file") + 1;
	}
	t0 = last = now();
	for (;;) {
		double t;

		n = read(fd, buf, sizeof(buf));
		t = now();
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && t < end_at)
			continue;
		if (n <= 0)
			break;
		if (reads && got >= skip && t - last > stall) {
			stall = t - last;
			stall_at = got;
		}
		reads++;
		got += (unsigned long long)n;
		last = t;
		if (tf)
			fprintf(tf, "%.6f %llu\n", t - t0, got);
	}
	if (tf)
		fclose(tf);
	if (n < 0)
		return fail("read");
	close(fd);
	printf("streambench-recv proto=%d bytes=%llu secs=%.3f mbit_per_s=%.2f stall_ms=%.2f stall_at=%llu reads=%llu\n",
	       proto, got, last - t0, last > t0 ? got * 8 / (last - t0) / 1e6 : 0,
	       stall * 1e3, stall_at, reads);
	return 0;
}

static int sender(int proto, struct sockaddr_in *sin, unsigned long long bytes,
		  double secs, const char *cc)
{
	static char buf[WCHUNK];
	unsigned long long sent = 0;
	char ccname[32] = "-";
	socklen_t sl = sizeof(ccname);
	double tc, t0, t1, end_at;
	int fd, mss = 0;
	size_t chunk = WCHUNK;

	fd = socket(AF_INET, SOCK_STREAM, proto);
	if (fd < 0)
		return fail("socket") + 1;
	if (cc && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, strlen(cc)))
		return fail("TCP_CONGESTION") + 1;
	if (proto == IPPROTO_TCP &&
	    getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, ccname, &sl) == 0)
		ccname[sizeof(ccname) - 1] = 0;
	else
		strcpy(ccname, proto == IPPROTO_TCP ? "?" : "newreno");
	tc = now();
	if (connect(fd, (struct sockaddr *)sin, sizeof(*sin)))
		return fail("connect");
	t0 = now();
	end_at = t0 + secs;
	sl = sizeof(mss);
	if (getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &mss, &sl))
		mss = 0;
	/* whole segments only: no short segment at a write's end, so that
	 * scripts/bench can tell the stream offset of the Nth data packet
	 */
	if (mss > 0 && mss <= WCHUNK)
		chunk = WCHUNK / mss * mss;
	memset(buf, 'x', sizeof(buf));
	while (sent < bytes && now() < end_at) {
		size_t len = bytes - sent < chunk ? bytes - sent : chunk;
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("write");
		sent += (unsigned long long)n;
	}
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)	/* the receiver's FIN */
		;
	t1 = now();
	close(fd);
	printf("streambench-send proto=%d cc=%s bytes=%llu secs=%.3f mbit_per_s=%.2f connect_ms=%.3f mss=%d\n",
	       proto, ccname, sent, t1 - t0, sent * 8 / (t1 - t0) / 1e6,
	       (t0 - tc) * 1e3, mss);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: streambench -s [-p PROTO] [-a ADDR] -P PORT [-w FILE] [-S BYTES] [-t SECS] [-o TRACE]\n"
"       streambench [-p PROTO] -a ADDR -P PORT [-b BYTES] [-t SECS] [-C CC]\n");
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int proto = IPPROTO_MINI_TCP, server = 0, opt, port = 0;
	unsigned long long bytes = 32ULL << 20, skip = 0;
	const char *ready = NULL, *cc = NULL, *trace = NULL;
	double secs = 0;

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "sp:a:P:w:S:b:t:C:o:h")) != -1) {
		switch (opt) {
		case 's': server = 1; break;
		case 'p': proto = atoi(optarg); break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &sin.sin_addr) != 1) {
				fprintf(stderr, "streambench: bad address %s\n", optarg);
				return 2;
			}
			break;
		case 'P': port = atoi(optarg); break;
		case 'w': ready = optarg; break;
		case 'S': skip = strtoull(optarg, NULL, 0); break;
		case 'b': bytes = strtoull(optarg, NULL, 0); break;
		case 't': secs = atof(optarg); break;
		case 'C': cc = optarg; break;
		case 'o': trace = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (port < 1 || port > 65535 || proto < 1 || proto > 255 || !bytes ||
	    optind != argc) {
		usage(stderr);
		return 2;
	}
	sin.sin_port = htons(port);
	if (server)
		return receiver(proto, &sin, ready, skip, secs > 0 ? secs : 600,
				trace);
	if (!sin.sin_addr.s_addr) {
		usage(stderr);
		return 2;
	}
	return sender(proto, &sin, bytes, secs > 0 ? secs : 600, cc);
}
