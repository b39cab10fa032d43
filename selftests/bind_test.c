// SPDX-License-Identifier: GPL-2.0
/*
 * bind() on MTCP_PROTO sockets behaves as on TCP sockets (the same test runs
 * against kernel TCP with MTCP_PROTO=6), and mini_tcp ports live in their
 * own table: a mini_tcp and a TCP socket can bind the same port number.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "uapi/mini_tcp.h"

static int mtcp_proto(void)
{
	const char *s = getenv("MTCP_PROTO");

	return s && *s ? atoi(s) : IPPROTO_MINI_TCP;
}

static struct sockaddr_in addr_of(in_addr_t a, unsigned short port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(a);
	sin.sin_port = htons(port);
	return sin;
}

/* bind fd to a:port; 0 or -errno */
static int do_bind(int fd, in_addr_t a, unsigned short port)
{
	struct sockaddr_in sin = addr_of(a, port);

	return bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ? -errno : 0;
}

static unsigned short local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len))
		return 0;
	return ntohs(sin.sin_port);
}

FIXTURE(bind)
{
	int proto;
	int a, b;
};

FIXTURE_SETUP(bind)
{
	self->proto = mtcp_proto();
	self->a = socket(AF_INET, SOCK_STREAM, self->proto);
	ASSERT_LE(0, self->a) TH_LOG("socket(proto %d): %s", self->proto, strerror(errno));
	self->b = socket(AF_INET, SOCK_STREAM, self->proto);
	ASSERT_LE(0, self->b) TH_LOG("socket(proto %d): %s", self->proto, strerror(errno));
}

FIXTURE_TEARDOWN(bind)
{
	if (self->a >= 0)
		close(self->a);
	if (self->b >= 0)
		close(self->b);
}

TEST_F(bind, same_port_twice_eaddrinuse)
{
	ASSERT_EQ(0, do_bind(self->a, INADDR_LOOPBACK, 41001));
	ASSERT_EQ(41001, local_port(self->a));
	ASSERT_EQ(-EADDRINUSE, do_bind(self->b, INADDR_LOOPBACK, 41001));
}

TEST_F(bind, any_then_loopback_eaddrinuse)
{
	ASSERT_EQ(0, do_bind(self->a, INADDR_ANY, 41002));
	ASSERT_EQ(-EADDRINUSE, do_bind(self->b, INADDR_LOOPBACK, 41002));
}

TEST_F(bind, different_ports_ok)
{
	ASSERT_EQ(0, do_bind(self->a, INADDR_LOOPBACK, 41003));
	ASSERT_EQ(0, do_bind(self->b, INADDR_LOOPBACK, 41004));
}

TEST_F(bind, bound_socket_rebind_einval)
{
	ASSERT_EQ(0, do_bind(self->a, INADDR_LOOPBACK, 41005));
	ASSERT_EQ(-EINVAL, do_bind(self->a, INADDR_LOOPBACK, 41006));
}

/* Both SO_REUSEADDR, neither listening: Linux TCP allows the second bind. */
TEST_F(bind, reuseaddr_both_ok)
{
	int one = 1;

	ASSERT_EQ(0, setsockopt(self->a, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(0, setsockopt(self->b, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(0, do_bind(self->a, INADDR_LOOPBACK, 41007));
	ASSERT_EQ(0, do_bind(self->b, INADDR_LOOPBACK, 41007));
}

/* Closing the owner frees the port. */
TEST_F(bind, close_frees_port)
{
	ASSERT_EQ(0, do_bind(self->a, INADDR_LOOPBACK, 41008));
	ASSERT_EQ(0, close(self->a));
	self->a = -1;
	ASSERT_EQ(0, do_bind(self->b, INADDR_LOOPBACK, 41008));
}

/* Port 0 picks a free ephemeral port, which is then taken. */
TEST_F(bind, port_zero_picks_port)
{
	unsigned short port;

	ASSERT_EQ(0, do_bind(self->a, INADDR_LOOPBACK, 0));
	port = local_port(self->a);
	ASSERT_NE(0, port);
	ASSERT_EQ(-EADDRINUSE, do_bind(self->b, INADDR_LOOPBACK, port));
}

/* mini_tcp and TCP have separate port tables (both bind orders). */
TEST(mtcp_and_tcp_share_port_number)
{
	int proto = mtcp_proto();
	int m, t;

	if (proto == IPPROTO_TCP)
		SKIP(return, "needs a protocol other than TCP");

	m = socket(AF_INET, SOCK_STREAM, proto);
	ASSERT_LE(0, m) TH_LOG("socket(proto %d): %s", proto, strerror(errno));
	t = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	ASSERT_LE(0, t);
	ASSERT_EQ(0, do_bind(m, INADDR_LOOPBACK, 41010));
	EXPECT_EQ(0, do_bind(t, INADDR_LOOPBACK, 41010))
		TH_LOG("TCP could not bind the port a mini_tcp socket holds");
	close(m);
	close(t);

	t = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	ASSERT_LE(0, t);
	m = socket(AF_INET, SOCK_STREAM, proto);
	ASSERT_LE(0, m);
	ASSERT_EQ(0, do_bind(t, INADDR_ANY, 41011));
	EXPECT_EQ(0, do_bind(m, INADDR_ANY, 41011))
		TH_LOG("mini_tcp could not bind the port a TCP socket holds");
	close(m);
	close(t);
}

TEST_HARNESS_MAIN
