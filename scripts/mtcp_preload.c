// SPDX-License-Identifier: GPL-2.0
/*
 * mtcp_preload - run an unmodified TCP program over mini_tcp.
 *
 *	LD_PRELOAD=build/libmtcp_preload.so program [args...]
 *
 * Turns socket(AF_INET, SOCK_STREAM, 0 or IPPROTO_TCP) into
 * socket(AF_INET, SOCK_STREAM, IPPROTO_MINI_TCP); $MTCP_PROTO, if set,
 * names another protocol number.  Everything else (bind, listen, accept,
 * connect, read, write, poll, epoll, setsockopt(IPPROTO_TCP, ...)) is the
 * ordinary socket API and needs no help.  Programs linked statically, or
 * that make system calls without libc, are beyond its reach.
 *
 * Build: cc -shared -fPIC -O2 -Wall -Wextra -o build/libmtcp_preload.so \
 *	     scripts/mtcp_preload.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "../uapi/mini_tcp.h"

int socket(int domain, int type, int protocol)
{
	static int (*real_socket)(int, int, int);
	const char *env;

	if (!real_socket) {
		real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
		if (!real_socket) {
			errno = ENOSYS;
			return -1;
		}
	}
	/* type may carry SOCK_NONBLOCK | SOCK_CLOEXEC. */
	if (domain == AF_INET && (type & 0xf) == SOCK_STREAM &&
	    (protocol == 0 || protocol == IPPROTO_TCP)) {
		env = getenv("MTCP_PROTO");
		protocol = env && *env ? atoi(env) : IPPROTO_MINI_TCP;
	}
	return real_socket(domain, type, protocol);
}
