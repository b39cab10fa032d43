// SPDX-License-Identifier: GPL-2.0
/*
 * bulkbench - one-connection bulk transfer over loopback, for mini_tcp and
 * kernel TCP.  A child process receives and discards, the parent sends
 * BYTES in 64 KiB writes and waits for the receiver's EOF, then prints
 *	bulkbench proto=253 bytes=67108864 secs=0.812 mb_per_s=82.6
 *
 *	bulkbench [-p PROTO] [-b BYTES] [-P PORT]
 *
 * Build: cc -O2 -Wall -Wextra -o build/bulkbench scripts/bulkbench.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../uapi/mini_tcp.h"

#define CHUNK	65536

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bulkbench: %s: %s\n", what, strerror(errno));
	exit(2);
}

int main(int argc, char **argv)
{
	int proto = IPPROTO_MINI_TCP, port = 9100, opt, one = 1, ls, fd;
	unsigned long long bytes = 64ULL << 20, sent = 0;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	static char buf[CHUNK];
	double t0, t1;
	pid_t pid;

	while ((opt = getopt(argc, argv, "p:b:P:")) != -1) {
		switch (opt) {
		case 'p': proto = atoi(optarg); break;
		case 'b': bytes = strtoull(optarg, NULL, 0); break;
		case 'P': port = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: bulkbench [-p PROTO] [-b BYTES] [-P PORT]\n");
			return 2;
		}
	}
	if (bytes == 0 || bytes > (8ULL << 30)) {
		fprintf(stderr, "bulkbench: -b must be 1..8 GiB\n");
		return 2;
	}

	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, proto);
	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) || listen(ls, 1))
		die("bind/listen");

	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {		/* receiver: read to EOF, then close */
		int c = accept(ls, NULL, NULL);
		ssize_t n;

		if (c < 0)
			die("accept");
		while ((n = read(c, buf, sizeof(buf))) > 0)
			;
		close(c);
		_exit(n < 0);
	}
	close(ls);

	fd = socket(AF_INET, SOCK_STREAM, proto);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		die("connect");
	memset(buf, 'x', sizeof(buf));
	t0 = now();
	while (sent < bytes) {
		size_t len = bytes - sent < CHUNK ? bytes - sent : CHUNK;
		ssize_t n = write(fd, buf, len);

		if (n < 0)
			die("write");
		sent += n;
	}
	shutdown(fd, SHUT_WR);
	/* The receiver's FIN comes after it read everything. */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	t1 = now();
	close(fd);
	if (waitpid(pid, &opt, 0) < 0 || !WIFEXITED(opt) || WEXITSTATUS(opt))
		die("receiver");
	printf("bulkbench proto=%d bytes=%llu secs=%.3f mb_per_s=%.1f\n",
	       proto, sent, t1 - t0, sent / (t1 - t0) / 1e6);
	return 0;
}
