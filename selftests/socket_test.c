// SPDX-License-Identifier: GPL-2.0
/*
 * socket(AF_INET, SOCK_STREAM, MTCP_PROTO) succeeds with the module loaded
 * and fails with EPROTONOSUPPORT without it.  vm-run --no-module sets
 * MTCP_NO_MODULE=1 (group "nomod"); otherwise the module must be loaded.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "uapi/mini_tcp.h"

static int mtcp_proto(void)
{
	const char *s = getenv("MTCP_PROTO");

	return s && *s ? atoi(s) : IPPROTO_MINI_TCP;
}

static bool no_module(void)
{
	const char *s = getenv("MTCP_NO_MODULE");

	return s && !strcmp(s, "1");
}

/* Is a module called mini_tcp in /proc/modules? */
static bool module_listed(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "mini_tcp ", 9))
			found = true;
	fclose(f);
	return found;
}

static int getsockopt_int(int fd, int opt)
{
	int val = -1;
	socklen_t len = sizeof(val);

	if (getsockopt(fd, SOL_SOCKET, opt, &val, &len))
		return -1;
	return val;
}

TEST(module_state)
{
	if (no_module()) {
		ASSERT_FALSE(module_listed()) TH_LOG("mini_tcp loaded although vm-run --no-module");
	} else {
		ASSERT_TRUE(module_listed()) TH_LOG("mini_tcp not in /proc/modules");
	}
}

TEST(create_stream)
{
	int proto = mtcp_proto();
	int fd = socket(AF_INET, SOCK_STREAM, proto);

	if (no_module()) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		ASSERT_EQ(-1, fd) TH_LOG("socket(AF_INET, SOCK_STREAM, %d) worked without the module", proto);
		ASSERT_EQ(EPROTONOSUPPORT, err) TH_LOG("errno %d (%s)", err, strerror(err));
		/* and nothing was autoloaded behind our back */
		ASSERT_FALSE(module_listed());
		return;
	}
	ASSERT_LE(0, fd) TH_LOG("socket(AF_INET, SOCK_STREAM, %d): %s", proto, strerror(errno));
	EXPECT_EQ(AF_INET, getsockopt_int(fd, SO_DOMAIN));
	EXPECT_EQ(SOCK_STREAM, getsockopt_int(fd, SO_TYPE));
	EXPECT_EQ(proto, getsockopt_int(fd, SO_PROTOCOL));
	EXPECT_EQ(0, close(fd));
}

/* Only SOCK_STREAM is registered under the protocol number. */
TEST(dgram_rejected)
{
	int fd = socket(AF_INET, SOCK_DGRAM, mtcp_proto());
	int err = errno;

	if (fd >= 0)
		close(fd);
	ASSERT_EQ(-1, fd);
	ASSERT_EQ(EPROTONOSUPPORT, err) TH_LOG("errno %d (%s)", err, strerror(err));
}

/* Create and close many sockets, keeping some open at once. */
TEST(create_close_many)
{
	int fds[64];
	int i, j;

	if (no_module())
		SKIP(return, "needs the module");
	for (i = 0; i < 20; i++) {
		for (j = 0; j < 64; j++) {
			fds[j] = socket(AF_INET, SOCK_STREAM, mtcp_proto());
			ASSERT_LE(0, fds[j]) TH_LOG("round %d socket %d: %s", i, j, strerror(errno));
		}
		for (j = 0; j < 64; j++)
			ASSERT_EQ(0, close(fds[j]));
	}
}

TEST_HARNESS_MAIN
