// SPDX-License-Identifier: GPL-2.0
/*
 * synflood - bounded SYN flood generator for the mini_tcp tests and benchmark.
 *
 * Sends TCP-shaped SYN segments (20-byte TCP header + MSS option, TCP's
 * layout bit for bit) inside IPv4 with any IP protocol number: 253 for
 * mini_tcp, 6 for kernel TCP.  Source addresses are random within a spoofed
 * prefix (default 198.18.0.0/15, RFC 2544's benchmarking range), source ports,
 * ISNs and IP ids are random.  The checksum covers the IPv4 pseudo-header with
 * the chosen protocol number, as mini_tcp's receive path checks it.
 *
 * Safety: every run is bounded in packet count and in time; the tool refuses
 * to run in the initial network namespace, refuses spoofed sources outside
 * 198.18.0.0/15 and targets outside the documentation/benchmark ranges
 * (RFC 5737, RFC 2544, loopback).
 *
 *	synflood -d 192.0.2.1 -P 8000 -p 253 [-r PPS] [-c COUNT] [-t SECS]
 *
 * Prints one line: "synflood proto=.. sent=N ... pps=R" (key=value pairs).
 * Build: cc -O2 -Wall -Wextra -o build/synflood scripts/synflood.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../uapi/mini_tcp.h"

#define DEF_COUNT	100000ULL
#define DEF_SECS	30.0
#define MAX_COUNT	100000000ULL	/* hard bound, whatever -c says */
#define MAX_SECS	600.0		/* hard bound, whatever -t says */
#define MAX_BATCH	1024
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct synpkt {
	/* IPv4 header, no options */
	uint8_t  ver_ihl;
	uint8_t  tos;
	uint16_t tot_len;
	uint16_t id;
	uint16_t frag_off;
	uint8_t  ttl;
	uint8_t  protocol;
	uint16_t check;
	uint32_t saddr;
	uint32_t daddr;
	/* TCP header (RFC 9293 section 3.1) */
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t  doff;		/* data offset << 4 */
	uint8_t  flags;
	uint16_t window;
	uint16_t csum;
	uint16_t urg;
	/* options: MSS */
	uint8_t  opt_kind;
	uint8_t  opt_len;
	uint16_t opt_mss;
} __attribute__((packed));

#define IP_HLEN		20
#define TCP_HLEN	24	/* 20 + MSS option */
_Static_assert(sizeof(struct synpkt) == IP_HLEN + TCP_HLEN, "packet layout");

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t rng_state;

static inline uint64_t rnd(void)
{
	/* xorshift64*: fast and good enough for spoofed fields */
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline uint32_t csum_add16(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len > 1) {
		sum += (uint32_t)b[0] << 8 | b[1];
		b += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)b[0] << 8;
	return sum;
}

static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Checksum over the pseudo-header (saddr, daddr, 0, proto, len) + segment. */
static uint16_t seg_csum(const struct synpkt *p)
{
	uint8_t ph[12];
	uint32_t sum;

	memcpy(ph, &p->saddr, 4);
	memcpy(ph + 4, &p->daddr, 4);
	ph[8] = 0;
	ph[9] = p->protocol;
	ph[10] = TCP_HLEN >> 8;
	ph[11] = TCP_HLEN & 0xff;
	sum = csum_add16(0, ph, sizeof(ph));
	sum = csum_add16(sum, &p->sport, TCP_HLEN);
	return htons(csum_fold(sum));
}

static uint16_t ip_csum(const struct synpkt *p)
{
	return htons(csum_fold(csum_add16(0, p, IP_HLEN)));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int in_prefix(uint32_t a_host, uint32_t net_host, int len)
{
	uint32_t mask = len ? ~0U << (32 - len) : 0;

	return (a_host & mask) == (net_host & mask);
}

/* Is the prefix net/len inside outer/olen? (host byte order) */
static int prefix_within(uint32_t net, int len, uint32_t outer, int olen)
{
	return len >= olen && in_prefix(net, outer, olen);
}

static int parse_prefix(const char *s, uint32_t *net, int *len)
{
	char buf[64], *slash, *end;
	struct in_addr a;
	long l = 32;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash++ = 0;
		l = strtol(slash, &end, 10);
		if (*slash == 0 || *end || l < 0 || l > 32)
			return -1;
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*len = (int)l;
	*net = ntohl(a.s_addr) & (l ? ~0U << (32 - l) : 0);
	return 0;
}

static int target_allowed(uint32_t d)
{
	static const struct { const char *net; int len; } ok[] = {
		{ "192.0.2.0", 24 }, { "198.51.100.0", 24 },
		{ "203.0.113.0", 24 }, { "198.18.0.0", 15 },
		{ "127.0.0.0", 8 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		struct in_addr a;

		inet_pton(AF_INET, ok[i].net, &a);
		if (in_prefix(d, ntohl(a.s_addr), ok[i].len))
			return 1;
	}
	return 0;
}

/* Inode of init_net's nsfs file on kernels that fix it (PROC_NET_INIT_INO). */
#define NET_INIT_INO	0xEFFFFFF9UL

/* 1 if we run in the initial network namespace (that of PID 1), else 0. */
static int in_init_netns(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/net", &self))
		return -1;
	if (self.st_ino == NET_INIT_INO)
		return 1;
	if (stat("/proc/1/ns/net", &init))
		return 0;	/* PID 1 hidden from us: a container's netns */
	return self.st_ino == init.st_ino && self.st_dev == init.st_dev;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: synflood -d DST [-P DPORT] [-p PROTO] [-s SRC/LEN] [-r PPS] [-c COUNT]\n"
"                [-t SECS] [-b BATCH] [-m MSS] [-S SEED] [-v]\n"
"  -d DST     target IPv4 address (RFC 5737, 198.18.0.0/15 or 127/8 only)\n"
"  -P DPORT   target port (default 8000)\n"
"  -p PROTO   IP protocol number (default %d = mini_tcp; 6 = TCP)\n"
"  -s PREFIX  spoofed source prefix, inside 198.18.0.0/15 (default 198.18.0.0/15)\n"
"  -r PPS     packets per second, 0 = as fast as possible (default 0)\n"
"  -c COUNT   stop after COUNT packets (default %llu, at most %llu)\n"
"  -t SECS    stop after SECS seconds (default %.0f, at most %.0f)\n"
"  -b BATCH   packets per sendmmsg call (default 64, at most %d)\n"
"  -m MSS     MSS option value (default 1460)\n"
"  -S SEED    random seed (default: from getrandom)\n"
"  -v         progress on stderr once a second\n"
"Runs only inside a network namespace other than the initial one.\n",
		IPPROTO_MINI_TCP, DEF_COUNT, MAX_COUNT, DEF_SECS, MAX_SECS,
		MAX_BATCH);
}

int main(int argc, char **argv)
{
	static struct synpkt pkts[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	static struct mmsghdr msgs[MAX_BATCH];
	uint32_t src_net, src_mask, dst_host = 0, bench_net;
	unsigned long long count = DEF_COUNT, sent = 0, errors = 0, calls = 0;
	unsigned long long last_sent = 0;
	double secs = DEF_SECS, rate = 0, t0, t, deadline, next_report;
	int src_len, bench_len, proto = IPPROTO_MINI_TCP, dport = 8000;
	int batch = 64, mss = 1460, verbose = 0, have_seed = 0, opt, fd, one = 1;
	int sndbuf = 4 << 20, init_ns, rc = 0, last_errno = 0;
	const char *src = "198.18.0.0/15";
	struct sockaddr_in dst = { .sin_family = AF_INET };
	char dstr[INET_ADDRSTRLEN];
	struct sigaction sa;
	uint64_t seed = 0;
	char *end;
	int i;

	while ((opt = getopt(argc, argv, "d:P:p:s:r:c:t:b:m:S:vh")) != -1) {
		switch (opt) {
		case 'd':
			if (inet_pton(AF_INET, optarg, &dst.sin_addr) != 1) {
				fprintf(stderr, "synflood: bad address %s\n", optarg);
				return 2;
			}
			dst_host = ntohl(dst.sin_addr.s_addr);
			break;
		case 'P':
			dport = atoi(optarg);
			break;
		case 'p':
			proto = atoi(optarg);
			break;
		case 's':
			src = optarg;
			break;
		case 'r':
			rate = strtod(optarg, &end);
			if (*end || rate < 0) {
				fprintf(stderr, "synflood: bad rate %s\n", optarg);
				return 2;
			}
			break;
		case 'c':
			count = strtoull(optarg, &end, 10);
			if (*end || count == 0) {
				fprintf(stderr, "synflood: bad count %s\n", optarg);
				return 2;
			}
			break;
		case 't':
			secs = strtod(optarg, &end);
			if (*end || !(secs > 0)) {
				fprintf(stderr, "synflood: bad duration %s\n", optarg);
				return 2;
			}
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		case 'm':
			mss = atoi(optarg);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			have_seed = 1;
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
	if (optind != argc || !dst_host) {
		usage(stderr);
		return 2;
	}
	if (dport < 1 || dport > 65535 || proto < 1 || proto > 255 ||
	    batch < 1 || batch > MAX_BATCH || mss < 1 || mss > 65535) {
		fprintf(stderr, "synflood: port, protocol, batch or mss out of range\n");
		return 2;
	}
	if (count > MAX_COUNT) {
		fprintf(stderr, "synflood: count capped at %llu\n", MAX_COUNT);
		count = MAX_COUNT;
	}
	if (secs > MAX_SECS) {
		fprintf(stderr, "synflood: duration capped at %.0f s\n", MAX_SECS);
		secs = MAX_SECS;
	}
	if (parse_prefix(src, &src_net, &src_len)) {
		fprintf(stderr, "synflood: bad source prefix %s\n", src);
		return 2;
	}
	parse_prefix("198.18.0.0/15", &bench_net, &bench_len);
	if (!prefix_within(src_net, src_len, bench_net, bench_len)) {
		fprintf(stderr, "synflood: source prefix must lie inside 198.18.0.0/15\n");
		return 2;
	}
	if (!target_allowed(dst_host)) {
		fprintf(stderr, "synflood: target must be in 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 198.18.0.0/15 or 127.0.0.0/8\n");
		return 2;
	}
	init_ns = in_init_netns();
	if (init_ns != 0) {
		fprintf(stderr, "synflood: %s; run me inside a network namespace (ip netns exec NS ...)\n",
			init_ns > 0 ? "refusing to flood from the initial network namespace"
				    : "cannot tell the network namespace");
		return 2;
	}
	src_mask = src_len ? ~0U << (32 - src_len) : 0;
	dst.sin_port = 0;	/* raw sockets: no port in the address */

	if (!have_seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	rng_state = seed ? seed : 0x9E3779B97F4A7C15ULL;

	fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (fd < 0) {
		perror("synflood: socket(SOCK_RAW, IPPROTO_RAW) (needs CAP_NET_RAW)");
		return 2;
	}
	if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)))
		perror("synflood: IP_HDRINCL");
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	for (i = 0; i < batch; i++) {
		struct synpkt *p = &pkts[i];

		memset(p, 0, sizeof(*p));
		p->ver_ihl = 0x45;
		p->tot_len = htons(sizeof(*p));
		p->frag_off = htons(0x4000);	/* DF */
		p->ttl = 64;
		p->protocol = (uint8_t)proto;
		p->daddr = dst.sin_addr.s_addr;
		p->dport = htons((uint16_t)dport);
		p->doff = (TCP_HLEN / 4) << 4;
		p->flags = 0x02;		/* SYN */
		p->window = htons(64240);
		p->opt_kind = 2;		/* MSS */
		p->opt_len = 4;
		p->opt_mss = htons((uint16_t)mss);
		iov[i].iov_base = p;
		iov[i].iov_len = sizeof(*p);
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = sizeof(dst);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	t0 = now_s();
	deadline = t0 + secs;
	next_report = t0 + 1;
	while (!stop && sent < count) {
		unsigned long long want = count - sent;
		int n, k;

		t = now_s();
		if (t >= deadline)
			break;
		if (rate > 0) {
			double due = (t - t0) * rate - (double)sent;

			if (due < 1) {
				/* sleep until the next packet is due (>= 20 us) */
				double wait = (1 - due) / rate;
				struct timespec ts;

				if (wait < 20e-6)
					wait = 20e-6;
				if (wait > 0.1)
					wait = 0.1;
				ts.tv_sec = (time_t)wait;
				ts.tv_nsec = (long)((wait - ts.tv_sec) * 1e9);
				nanosleep(&ts, NULL);
				continue;
			}
			if ((double)want > due)
				want = (unsigned long long)due;
		}
		if (want > (unsigned long long)batch)
			want = batch;
		n = (int)want;
		for (k = 0; k < n; k++) {
			struct synpkt *p = &pkts[k];
			uint64_t r1 = rnd(), r2 = rnd();

			p->saddr = htonl(src_net | ((uint32_t)r1 & ~src_mask));
			p->sport = htons((uint16_t)(1024 + (r1 >> 32) % 64512));
			p->seq = (uint32_t)r2;
			p->id = (uint16_t)(r2 >> 32);
			p->check = 0;
			p->check = ip_csum(p);
			p->csum = 0;
			p->csum = seg_csum(p);
		}
		k = sendmmsg(fd, msgs, n, 0);
		calls++;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS || errno == EAGAIN ||
			    errno == ENOMEM) {
				errors++;
				last_errno = errno;
				usleep(50);
				continue;
			}
			last_errno = errno;
			perror("synflood: sendmmsg");
			rc = 1;
			break;
		}
		sent += (unsigned long long)k;
		if (k < n)
			errors++;	/* partial batch: the rest is regenerated */
		if (verbose && t >= next_report) {
			fprintf(stderr, "synflood: t=%.1f sent=%llu (+%llu/s)\n",
				t - t0, sent, sent - last_sent);
			last_sent = sent;
			next_report += 1;
		}
	}
	t = now_s() - t0;
	inet_ntop(AF_INET, &dst.sin_addr, dstr, sizeof(dstr));
	printf("synflood proto=%d dst=%s dport=%d src=%s sent=%llu send_errors=%llu calls=%llu elapsed_s=%.3f pps=%.0f last_errno=%d\n",
	       proto, dstr, dport, src, sent, errors, calls, t,
	       t > 0 ? sent / t : 0.0, last_errno);
	fflush(stdout);
	close(fd);
	return rc;
}
