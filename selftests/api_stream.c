// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp socket API: reading the byte stream.
 *
 * Run with MTCP_PROTO=253 (default) against mini_tcp, or MTCP_PROTO=6 against
 * the kernel's TCP.  SO_PEEK_OFF is a kernel-dependent answer: TCP takes it
 * from 6.10 on and refuses it before, so the test first asks a TCP socket
 * and holds the protocol under test to the same answer.
 */
#define _GNU_SOURCE
#include "mtcp_test.h"

#ifndef SO_PEEK_OFF
#define SO_PEEK_OFF 42
#endif

FIXTURE(st) {
	struct mtcp_env e;
	int c, s;		/* an established pair */
};

FIXTURE_SETUP(st)
{
	int ret = mtcp_env_setup(&self->e);

	self->c = -1;
	self->s = -1;
	ASSERT_EQ(0, ret) TH_LOG("setup: %s", self->e.err);
	ret = mtcp_pair(&self->e, &self->c, &self->s, NULL);
	ASSERT_EQ(0, ret) TH_LOG("connection: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(st)
{
	if (self->c >= 0)
		close(self->c);
	if (self->s >= 0)
		close(self->s);
	mtcp_env_teardown(&self->e);
}

static int peek_off_get(int fd)
{
	socklen_t len = sizeof(int);
	int v = -2;

	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &v, &len))
		return -1000 - errno;
	return v;
}

static int peek_off_set(int fd, int v)
{
	return setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)) ?
		-errno : 0;
}

/* recv() into a string; "" on EOF, "E<errno>" on error */
static const char *rd(int fd, size_t len, int flags)
{
	static char buf[64];
	ssize_t n;

	n = recv(fd, buf, len < sizeof(buf) ? len : sizeof(buf) - 1, flags);
	if (n < 0)
		snprintf(buf, sizeof(buf), "E%d", errno);
	else
		buf[n] = '\0';
	return buf;
}

/*
 * SO_PEEK_OFF where the kernel's TCP takes it: each MSG_PEEK starts at the
 * offset and moves it on, each read moves it back by what was read, -1
 * turns it off; an offset past the queued data finds nothing.  Where TCP
 * refuses it, set and get fail with TCP's errno.
 */
TEST_F(st, so_peek_off_as_tcp)
{
	int tcp = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	int tcp_set, tcp_get;

	ASSERT_LE(0, tcp);
	tcp_set = peek_off_set(tcp, 0);
	tcp_get = peek_off_get(tcp);
	close(tcp);
	if (tcp_set) {
		TH_LOG("the kernel's TCP refuses SO_PEEK_OFF (%s)",
		       strerror(-tcp_set));
		ASSERT_EQ(tcp_set, peek_off_set(self->s, 0));
		ASSERT_EQ(tcp_get, peek_off_get(self->s));
		ASSERT_EQ(tcp_set, peek_off_set(self->c, 5));
		return;
	}
	ASSERT_EQ(0, tcp_get);

	ASSERT_EQ(8, send(self->c, "abcdefgh", 8, 0));
	/* off: a peek leaves no trace */
	ASSERT_EQ(-1, peek_off_get(self->s));
	ASSERT_STREQ("abcdefgh", rd(self->s, 8, MSG_PEEK | MSG_WAITALL));
	ASSERT_EQ(-1, peek_off_get(self->s));

	ASSERT_EQ(0, peek_off_set(self->s, 0));
	ASSERT_STREQ("abc", rd(self->s, 3, MSG_PEEK));
	ASSERT_EQ(3, peek_off_get(self->s));
	ASSERT_STREQ("def", rd(self->s, 3, MSG_PEEK));
	ASSERT_EQ(6, peek_off_get(self->s));
	/* a read takes from the front and pulls the offset back */
	ASSERT_STREQ("ab", rd(self->s, 2, 0));
	ASSERT_EQ(4, peek_off_get(self->s));
	ASSERT_STREQ("gh", rd(self->s, 10, MSG_PEEK));
	ASSERT_EQ(6, peek_off_get(self->s));
	ASSERT_STREQ("cdefgh", rd(self->s, 10, 0));
	ASSERT_EQ(0, peek_off_get(self->s));

	/* past the queued data: nothing to peek, the offset stays */
	ASSERT_EQ(2, send(self->c, "xy", 2, 0));
	ASSERT_STREQ("xy", rd(self->s, 2, MSG_PEEK | MSG_WAITALL));
	ASSERT_EQ(0, peek_off_set(self->s, 5));
	ASSERT_STREQ("E11", rd(self->s, 2, MSG_PEEK | MSG_DONTWAIT));
	ASSERT_EQ(5, peek_off_get(self->s));

	/* -1: off again, peeks start at the front */
	ASSERT_EQ(0, peek_off_set(self->s, -1));
	ASSERT_STREQ("xy", rd(self->s, 2, MSG_PEEK));
	ASSERT_STREQ("xy", rd(self->s, 2, MSG_PEEK));
	ASSERT_EQ(-1, peek_off_get(self->s));
	ASSERT_STREQ("xy", rd(self->s, 2, 0));
}

TEST_HARNESS_MAIN
