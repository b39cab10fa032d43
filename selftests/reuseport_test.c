// SPDX-License-Identifier: GPL-2.0
/*
 * SO_REUSEPORT groups of listeners: a listener that closes, or is
 * disconnected with connect(AF_UNSPEC), must leave its group (inet_unhash
 * with the state still LISTEN): every later connection goes to a listener
 * that is still there.  Runs for MTCP_PROTO (253, or 6 for kernel TCP as
 * the oracle) over loopback in a private network namespace.
 */
#define _GNU_SOURCE
#include "mtcp_test.h"

#define NCONN	40

static int rp_listener(__u16 port)
{
	struct sockaddr_in a = mtcp_sin("127.0.0.1", port);
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, mtcp_proto());
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* NCONN connects, each must be accepted by @lfd. Returns how many were. */
static int connect_and_accept(int lfd, __u16 port)
{
	struct sockaddr_in a = mtcp_sin("127.0.0.1", port);
	int i, ok = 0;

	for (i = 0; i < NCONN; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, mtcp_proto());
		int s = -1;

		if (c < 0)
			continue;
		connect(c, (struct sockaddr *)&a, sizeof(a));
		if (mtcp_poll1(c, POLLOUT, 5000) > 0 && mtcp_so_error(c) == 0 &&
		    mtcp_poll1(lfd, POLLIN, 5000) > 0)
			s = accept(lfd, NULL, NULL);
		if (s >= 0) {
			ok++;
			close(s);
		}
		close(c);
	}
	return ok;
}

FIXTURE(rp) {
	__u16 port;
};

FIXTURE_SETUP(rp)
{
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, mtcp_ifconf("lo", NULL, 1));
	self->port = 7400;
}

FIXTURE_TEARDOWN(rp)
{
}

TEST_F(rp, closed_listener_leaves_group)
{
	int l1 = rp_listener(self->port), l2 = rp_listener(self->port);

	ASSERT_LE(0, l1);
	ASSERT_LE(0, l2);
	close(l1);
	EXPECT_EQ(NCONN, connect_and_accept(l2, self->port))
		TH_LOG("connections after one listener of the group closed");
	close(l2);
}

TEST_F(rp, disconnected_listener_leaves_group_and_can_listen_again)
{
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	int l1 = rp_listener(self->port), l2 = rp_listener(self->port);

	ASSERT_LE(0, l1);
	ASSERT_LE(0, l2);
	ASSERT_EQ(0, connect(l1, &unspec, sizeof(unspec)));
	EXPECT_EQ(NCONN, connect_and_accept(l2, self->port))
		TH_LOG("connections after connect(AF_UNSPEC) on one listener");
	/* back into the group: both listeners take connections again */
	ASSERT_EQ(0, listen(l1, 64));
	close(l2);
	EXPECT_EQ(NCONN, connect_and_accept(l1, self->port))
		TH_LOG("connections to the listener that listened again");
	close(l1);
}

TEST_F(rp, churn_listen_close_while_connecting)
{
	int round;

	for (round = 0; round < 5; round++) {
		int keep = rp_listener(self->port);
		int gone = rp_listener(self->port);

		ASSERT_LE(0, keep);
		ASSERT_LE(0, gone);
		close(gone);
		EXPECT_EQ(NCONN, connect_and_accept(keep, self->port))
			TH_LOG("round %d", round);
		close(keep);
	}
}

TEST_HARNESS_MAIN
