/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the mini_tcp socket-API selftests.
 *
 * Every test is parameterised by the protocol: MTCP_PROTO in the environment
 * (default IPPROTO_MINI_TCP).  With MTCP_PROTO=6 the same tests run against
 * the kernel's TCP, which is the oracle for every errno and state asserted.
 *
 * Topology, built per test (the harness forks each test, so the namespaces
 * die with the test process, whatever way it ends):
 *
 *   netns C  mtc0 192.0.2.1/24  <--- veth --->  mts0 192.0.2.2/24  netns S
 *
 * Addresses are RFC 5737 documentation addresses; nothing leaves the two
 * namespaces.  Neighbour entries are static (no ARP).  192.0.2.99 is owned
 * by nobody: netns C has a permanent neighbour entry for it with a MAC that
 * nobody has, so segments to it are silently dropped by S (no ARP failure,
 * no ICMP) whatever the IP protocol.
 *
 * The namespaces are anonymous (unshare(CLONE_NEWNET), kept by fd): nothing
 * under /run/netns, no iproute2 needed, nothing to leak if a test is killed.
 * The veth pair is made with one rtnetlink request, addresses and neighbour
 * entries with ioctls.
 *
 * A thread enters a namespace with setns(); a socket stays in the namespace
 * it was created in, so one thread may drive sockets of both ends.
 * Per-namespace /proc files are read through /proc/thread-self/net.
 */
#ifndef MTCP_TEST_H
#define MTCP_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "uapi/mini_tcp.h"

/* 6.1's harness has an unused parameter; the tests build with -Wextra. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#define MTCP_ADDR_C	"192.0.2.1"
#define MTCP_ADDR_S	"192.0.2.2"
#define MTCP_ADDR_DEAD	"192.0.2.99"
#define MTCP_IF_C	"mtc0"
#define MTCP_IF_S	"mts0"

/* Generous but bounded: QEMU TCG runs 10-50x slower than native. */
#define MTCP_TIMEOUT_MS	20000
#define MTCP_SOCK_TIMEO_S 30

/* Knobs that exist under a different name (or not at all) for TCP. */
enum mtcp_knob {
	MTCP_SYN_RETRIES,
	MTCP_SYNACK_RETRIES,
	MTCP_SYNCOOKIES,
	MTCP_MAX_SYN_BACKLOG,
	MTCP_FIN_TIMEOUT,
	MTCP_TW_TIMEOUT,	/* no TCP equivalent: TCP's TIME_WAIT is 60 s */
	MTCP_KNOB_NR
};

#define MTCP_MAX_SAVED	8

struct mtcp_env {
	int proto;
	int ns_c, ns_s;		/* namespace fds, -1 when not created */
	unsigned char mac_c[6], mac_s[6];
	int nsaved;
	struct {
		int ns;
		enum mtcp_knob knob;
		int val;
	} saved[MTCP_MAX_SAVED];
	char err[256];		/* why mtcp_env_setup() failed */
};

static inline int mtcp_proto(void)
{
	const char *s = getenv("MTCP_PROTO");

	return s && *s ? atoi(s) : IPPROTO_MINI_TCP;
}

static inline int mtcp_is_tcp(const struct mtcp_env *e)
{
	return e->proto == IPPROTO_TCP;
}

static inline long long mtcp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void mtcp_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static inline int mtcp_enter(int nsfd)
{
	return setns(nsfd, CLONE_NEWNET);
}

static inline struct sockaddr_in mtcp_sin(const char *ip, __u16 port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	sin.sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

static inline __u16 mtcp_local_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len))
		return 0;
	return ntohs(sin.sin_port);
}

/* ---- rtnetlink: one veth pair across two namespaces ---- */

struct mtcp_nlreq {
	struct nlmsghdr nh;
	struct ifinfomsg ifi;
	char buf[512];
};

static inline struct rtattr *mtcp__nla(struct nlmsghdr *nh, int type,
				       const void *data, int len)
{
	struct rtattr *rta = (struct rtattr *)((char *)nh +
					       NLMSG_ALIGN(nh->nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
	return rta;
}

static inline void mtcp__nla_end(struct nlmsghdr *nh, struct rtattr *nest)
{
	nest->rta_len = (char *)nh + nh->nlmsg_len - (char *)nest;
}

/* Create veth @name in the current netns with its peer @peer in @peer_ns. */
static inline int mtcp_veth_create(const char *name, const char *peer,
				   int peer_ns)
{
	struct mtcp_nlreq req;
	struct rtattr *li, *data, *pr;
	/*
	 * Distinct ifindexes: with equal ones (2 and 2, each the first device
	 * after lo in its netns) linkwatch does not see the veth's carrier
	 * change as urgent and delays it up to a second.
	 */
	struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC,
				      .ifi_index = 20 };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char ans[1024];
	struct nlmsghdr *nh;
	__u32 nsfd = peer_ns;
	int fd, n, ret = -EIO;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req.nh.nlmsg_type = RTM_NEWLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE |
			     NLM_F_EXCL;
	req.nh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = 10;
	mtcp__nla(&req.nh, IFLA_IFNAME, name, strlen(name) + 1);
	li = mtcp__nla(&req.nh, IFLA_LINKINFO, NULL, 0);
	mtcp__nla(&req.nh, IFLA_INFO_KIND, "veth", 4);
	data = mtcp__nla(&req.nh, IFLA_INFO_DATA, NULL, 0);
	pr = mtcp__nla(&req.nh, VETH_INFO_PEER, NULL, 0);
	memcpy((char *)&req + req.nh.nlmsg_len, &peer_ifi, sizeof(peer_ifi));
	req.nh.nlmsg_len += NLMSG_ALIGN(sizeof(peer_ifi));
	mtcp__nla(&req.nh, IFLA_IFNAME, peer, strlen(peer) + 1);
	mtcp__nla(&req.nh, IFLA_NET_NS_FD, &nsfd, sizeof(nsfd));
	mtcp__nla_end(&req.nh, pr);
	mtcp__nla_end(&req.nh, data);
	mtcp__nla_end(&req.nh, li);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	n = recv(fd, ans, sizeof(ans), 0);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	nh = (struct nlmsghdr *)ans;
	if (NLMSG_OK(nh, (unsigned int)n) && nh->nlmsg_type == NLMSG_ERROR)
		ret = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
out:
	close(fd);
	return ret;
}

/* ---- ioctl-level interface configuration in the current netns ---- */

static inline int mtcp_ifconf(const char *ifname, const char *ip, int up)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ip) {
		*sin = mtcp_sin(ip, 0);
		if (ioctl(fd, SIOCSIFADDR, &ifr))
			goto err;
		*sin = mtcp_sin("255.255.255.0", 0);
		if (ioctl(fd, SIOCSIFNETMASK, &ifr))
			goto err;
	}
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		goto err;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		goto err;
	close(fd);
	return 0;
err:
	ret = -errno;
	close(fd);
	return ret;
}

static inline int mtcp_ifflags(const char *ifname)
{
	struct ifreq ifr;
	int fd, ret;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	ret = ioctl(fd, SIOCGIFFLAGS, &ifr) ? -errno : ifr.ifr_flags;
	close(fd);
	return ret;
}

static inline int mtcp_ifmac(const char *ifname, unsigned char mac[6])
{
	struct ifreq ifr;
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		ret = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return ret;
}

/* Permanent neighbour entry @ip -> @mac on @ifname (current netns). */
static inline int mtcp_neigh_set(const char *ifname, const char *ip,
				 const unsigned char mac[6])
{
	struct arpreq req;
	struct sockaddr_in *pa = (struct sockaddr_in *)&req.arp_pa;
	int fd, ret;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	*pa = mtcp_sin(ip, 0);
	req.arp_ha.sa_family = ARPHRD_ETHER;
	memcpy(req.arp_ha.sa_data, mac, 6);
	req.arp_flags = ATF_PERM | ATF_COM;
	strncpy(req.arp_dev, ifname, sizeof(req.arp_dev) - 1);
	ret = ioctl(fd, SIOCSARP, &req) ? -errno : 0;
	close(fd);
	return ret;
}

static const unsigned char mtcp_bogus_mac[6] = { 0x02, 0, 0x5e, 0, 0x53, 0x99 };

/*
 * Drop everything one way: from netns C to S (@c2s) or from S to C.  The
 * sender's neighbour entry for the peer is pointed at a MAC nobody has, so
 * the receiving veth discards the frames (PACKET_OTHERHOST); the sender sees
 * nothing unusual and retransmits as it would on a lossy path.  The other
 * direction keeps working.  @on = 0 restores the real MAC.
 */
static inline int mtcp_block(struct mtcp_env *e, int c2s, int on)
{
	int ret = mtcp_enter(c2s ? e->ns_c : e->ns_s);

	if (ret)
		return -errno;
	if (c2s)
		return mtcp_neigh_set(MTCP_IF_C, MTCP_ADDR_S,
				      on ? mtcp_bogus_mac : e->mac_s);
	return mtcp_neigh_set(MTCP_IF_S, MTCP_ADDR_C,
			      on ? mtcp_bogus_mac : e->mac_c);
}

/* ---- sockets ---- */

static inline void mtcp_set_timeouts(int fd, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * A socket of the protocol under test in namespace @ns, with bounded blocking
 * calls (SO_RCVTIMEO/SO_SNDTIMEO, so a broken accept/recv/connect fails
 * instead of hanging until the harness kills the test).  Leaves the calling
 * thread in @ns.
 */
static inline int mtcp_socket(struct mtcp_env *e, int ns)
{
	int fd;

	if (mtcp_enter(ns))
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, e->proto);
	if (fd >= 0)
		mtcp_set_timeouts(fd, MTCP_SOCK_TIMEO_S);
	return fd;
}

/* Listener in netns S on 0.0.0.0:@port (0: ephemeral); *@portp gets it. */
static inline int mtcp_listener(struct mtcp_env *e, __u16 port, int backlog,
				__u16 *portp)
{
	struct sockaddr_in sin = mtcp_sin("0.0.0.0", port);
	int one = 1;
	int fd = mtcp_socket(e, e->ns_s);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(fd, backlog)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	if (portp)
		*portp = mtcp_local_port(fd);
	return fd;
}

static inline int mtcp_connect(int fd, const char *ip, __u16 port)
{
	struct sockaddr_in sin = mtcp_sin(ip, port);

	return connect(fd, (struct sockaddr *)&sin, sizeof(sin));
}

/* Blocking connect from netns C to S:@port; returns the client fd or -1. */
static inline int mtcp_client(struct mtcp_env *e, __u16 port)
{
	int fd = mtcp_socket(e, e->ns_c);

	if (fd < 0)
		return -1;
	if (mtcp_connect(fd, MTCP_ADDR_S, port)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/*
 * An established pair: *@c in netns C, *@s accepted in netns S from a fresh
 * listener (closed again unless @lfd is given).  Returns 0 or -errno.
 */
static inline int mtcp_pair(struct mtcp_env *e, int *c, int *s, int *lfd)
{
	__u16 port;
	int l = mtcp_listener(e, 0, 16, &port);
	int err;

	*c = -1;
	*s = -1;
	if (l < 0)
		return -errno;
	*c = mtcp_client(e, port);
	if (*c < 0)
		goto fail;
	*s = accept(l, NULL, NULL);
	if (*s < 0)
		goto fail;
	mtcp_set_timeouts(*s, MTCP_SOCK_TIMEO_S);
	if (lfd)
		*lfd = l;
	else
		close(l);
	return 0;
fail:
	err = -errno;
	if (*c >= 0)
		close(*c);
	close(l);
	*c = -1;
	*s = -1;
	return err;
}

/* ---- connection state ---- */

static inline int mtcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -errno;
	return ti.tcpi_state;
}

static inline const char *mtcp_state_str(int st)
{
	static const char *const names[] = {
		"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
		"FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
		"LISTEN", "CLOSING", "NEW_SYN_RECV",
	};

	if (st < 0)
		return "error";
	if (st >= (int)ARRAY_SIZE(names))
		return "?";
	return names[st];
}

/* Poll TCP_INFO until @fd is in @want or @timeout_ms passed; last state. */
static inline int mtcp_wait_state(int fd, int want, int timeout_ms)
{
	long long end = mtcp_now_ms() + timeout_ms;
	int st;

	for (;;) {
		st = mtcp_state(fd);
		if (st == want || st < 0 || mtcp_now_ms() >= end)
			return st;
		mtcp_sleep_ms(1);
	}
}

/* poll() one fd; returns revents (0 on timeout, -errno on error). */
static inline int mtcp_poll1(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? pfd.revents : 0;
}

static inline int mtcp_so_error(int fd)
{
	int err = -1;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return err;
}

/* ---- sysctls (per netns) ---- */

static inline const char *mtcp_knob_path(const struct mtcp_env *e,
					 enum mtcp_knob k)
{
	static const char *const mtcp[MTCP_KNOB_NR] = {
		"/proc/sys/net/mini_tcp/syn_retries",
		"/proc/sys/net/mini_tcp/synack_retries",
		"/proc/sys/net/mini_tcp/syncookies",
		"/proc/sys/net/mini_tcp/max_syn_backlog",
		"/proc/sys/net/mini_tcp/fin_timeout",
		"/proc/sys/net/mini_tcp/tw_timeout",
	};
	static const char *const tcp[MTCP_KNOB_NR] = {
		"/proc/sys/net/ipv4/tcp_syn_retries",
		"/proc/sys/net/ipv4/tcp_synack_retries",
		"/proc/sys/net/ipv4/tcp_syncookies",
		"/proc/sys/net/ipv4/tcp_max_syn_backlog",
		"/proc/sys/net/ipv4/tcp_fin_timeout",
		NULL,
	};

	return mtcp_is_tcp(e) ? tcp[k] : mtcp[k];
}

static inline int mtcp_knob_get(struct mtcp_env *e, int ns, enum mtcp_knob k)
{
	const char *path = mtcp_knob_path(e, k);
	char buf[32];
	int fd, n;

	if (!path)
		return -EOPNOTSUPP;
	if (mtcp_enter(ns))
		return -errno;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	return atoi(buf);
}

/* Set a knob in @ns, remembering the old value for mtcp_env_teardown(). */
static inline int mtcp_knob_set(struct mtcp_env *e, int ns, enum mtcp_knob k,
				int val)
{
	const char *path = mtcp_knob_path(e, k);
	int old = mtcp_knob_get(e, ns, k);
	char buf[32];
	int fd, n, len;

	if (old < 0)
		return old;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d\n", val);
	n = write(fd, buf, len);
	close(fd);
	if (n != len)
		return n < 0 ? -errno : -EIO;
	if (e->nsaved < MTCP_MAX_SAVED) {
		e->saved[e->nsaved].ns = ns;
		e->saved[e->nsaved].knob = k;
		e->saved[e->nsaved].val = old;
		e->nsaved++;
	}
	return 0;
}

/* ---- /proc/net tables and counters of a netns ---- */

/*
 * Count the rows of the socket table (/proc/net/mini_tcp or /proc/net/tcp,
 * same format) in @ns whose local or remote port is @port (0: any) and whose
 * state is @state (-1: any; MTCP_NOT(st): any but st), in one pass.
 * -errno if the table can't be read.
 */
#define MTCP_NOT(st)	(-100 - (st))

static inline int mtcp_table_count(struct mtcp_env *e, int ns, __u16 port,
				   int state)
{
	const char *path = mtcp_is_tcp(e) ? "/proc/thread-self/net/tcp" :
					    "/proc/thread-self/net/mini_tcp";
	char line[512];
	int count = 0;
	FILE *f;

	if (mtcp_enter(ns))
		return -errno;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) {	/* header */
		fclose(f);
		return -EIO;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned int la, lp, ra, rp, st;

		if (sscanf(line, " %*u: %x:%x %x:%x %x", &la, &lp, &ra, &rp,
			   &st) != 5)
			continue;
		if (port && lp != port && rp != port)
			continue;
		if (state >= 0 && (int)st != state)
			continue;
		if (state <= -100 && (int)st == -100 - state)
			continue;
		count++;
	}
	fclose(f);
	return count;
}

/*
 * A counter of @ns: TcpExt's (/proc/net/netstat) for TCP, MiniTcp's
 * (/proc/net/mini_tcp_stat, same "Prefix: names" / "Prefix: values" format)
 * for mini_tcp.  -errno if absent.
 */
static inline long long mtcp_counter(struct mtcp_env *e, int ns,
				     const char *name)
{
	const char *path = mtcp_is_tcp(e) ? "/proc/thread-self/net/netstat" :
					    "/proc/thread-self/net/mini_tcp_stat";
	const char *prefix = mtcp_is_tcp(e) ? "TcpExt:" : "MiniTcp:";
	char names[8192], vals[8192];
	long long ret = -ENOENT;
	FILE *f;

	if (mtcp_enter(ns))
		return -errno;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(names, sizeof(names), f)) {
		char *sn, *sv, *n, *v;

		if (strncmp(names, prefix, strlen(prefix)))
			continue;
		if (!fgets(vals, sizeof(vals), f))
			break;
		n = strtok_r(names, "\t\n ", &sn);
		v = strtok_r(vals, "\t\n ", &sv);
		while ((n = strtok_r(NULL, "\t\n ", &sn)) &&
		       (v = strtok_r(NULL, "\t\n ", &sv))) {
			if (!strcmp(n, name)) {
				ret = atoll(v);
				goto out;
			}
		}
	}
out:
	fclose(f);
	return ret;
}

/*
 * The "sockets" column of /proc/net/protocols for row @name in @ns: the
 * per-netns count of hashed sockets (sock_prot_inuse_add()).
 */
static inline int mtcp_proto_inuse(int ns, const char *name)
{
	char line[512], n[64];
	int val, ret = -ENOENT;
	FILE *f;

	if (mtcp_enter(ns))
		return -errno;
	f = fopen("/proc/thread-self/net/protocols", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %*d %d", n, &val) == 2 &&
		    !strcmp(n, name)) {
			ret = val;
			break;
		}
	fclose(f);
	return ret;
}

/*
 * Find the protocol's name (struct proto .name: its /proc/net/protocols row
 * and slab cache names) as the row whose count goes up by one when a
 * listener of the protocol is created in netns S.  0 or -errno.
 */
static inline int mtcp_proto_name(struct mtcp_env *e, char *name, size_t len)
{
	char line[512], n[64];
	char names[64][64];
	int before[64], cnt = 0, val, l, ret = -ENOENT;
	FILE *f;

	if (mtcp_enter(e->ns_s))
		return -errno;
	f = fopen("/proc/thread-self/net/protocols", "re");
	if (!f)
		return -errno;
	while (cnt < 64 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %*d %d", names[cnt], &before[cnt]) == 2)
			cnt++;
	fclose(f);
	l = mtcp_listener(e, 0, 1, NULL);
	if (l < 0)
		return -errno;
	f = fopen("/proc/thread-self/net/protocols", "re");
	if (!f) {
		close(l);
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		int i;

		if (sscanf(line, "%63s %*d %d", n, &val) != 2)
			continue;
		for (i = 0; i < cnt; i++)
			if (!strcmp(n, names[i]) && val == before[i] + 1) {
				snprintf(name, len, "%s", n);
				ret = 0;
			}
	}
	fclose(f);
	close(l);
	return ret;
}

/*
 * Objects in use in the slab caches of protocol @name (the socket cache,
 * "tw_sock_NAME", "request_sock_NAME", and "name_*" such as the bind bucket
 * caches "mini_tcp_bind_bucket"): sum of active_objs.  *@slack gets how
 * many objects per-CPU slabs may hide from the count (2 slabs per CPU per
 * cache); without slub_debug SLUB counts objects of CPU slabs as active.
 */
static inline long mtcp_slab_objs(const char *name, long *slack)
{
	char line[512], n[128], tw[96], rq[96], lc[96];
	long active, per, sum = 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	FILE *f = fopen("/proc/slabinfo", "re");
	int i;

	if (!f)
		return -errno;
	snprintf(tw, sizeof(tw), "tw_sock_%s", name);
	snprintf(rq, sizeof(rq), "request_sock_%s", name);
	for (i = 0; name[i] && i < (int)sizeof(lc) - 2; i++)
		lc[i] = tolower((unsigned char)name[i]);
	lc[i++] = '_';
	lc[i] = 0;
	if (slack)
		*slack = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %ld %*d %*d %ld", n, &active, &per) != 3)
			continue;
		if (strcmp(n, name) && strcmp(n, tw) && strcmp(n, rq) &&
		    strncmp(n, lc, strlen(lc)))
			continue;
		sum += active;
		if (slack)
			*slack += 2 * ncpu * per;
	}
	fclose(f);
	return sum;
}

static inline int mtcp_linger0(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	return setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}

/* Wait until mtcp_table_count(...) == @want; returns the last count. */
static inline int mtcp_wait_table(struct mtcp_env *e, int ns, __u16 port,
				  int state, int want, int timeout_ms)
{
	long long end = mtcp_now_ms() + timeout_ms;
	int n;

	for (;;) {
		n = mtcp_table_count(e, ns, port, state);
		if (n == want || n < 0 || mtcp_now_ms() >= end)
			return n;
		mtcp_sleep_ms(20);	/* a table read walks the whole hash */
	}
}

/* ---- setup / teardown ---- */

static inline int mtcp__fail(struct mtcp_env *e, const char *what, int err)
{
	snprintf(e->err, sizeof(e->err), "%s: %s", what,
		 strerror(err < 0 ? -err : err));
	return err < 0 ? err : -err;
}

/* Send UDP datagrams one way until one arrives: the path works. */
static inline int mtcp__udp_probe(struct mtcp_env *e, int from_ns, int to_ns,
				  const char *to_ip)
{
	struct sockaddr_in sin = mtcp_sin("0.0.0.0", 0);
	struct sockaddr_in dst;
	socklen_t len = sizeof(sin);
	long long end = mtcp_now_ms() + MTCP_TIMEOUT_MS;
	int r, t, ret = -ETIMEDOUT;
	char b = 'p';

	if (mtcp_enter(to_ns))
		return -errno;
	r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (r < 0)
		return -errno;
	if (bind(r, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(r, (struct sockaddr *)&sin, &len)) {
		close(r);
		return -errno;
	}
	dst = mtcp_sin(to_ip, ntohs(sin.sin_port));
	if (mtcp_enter(from_ns)) {
		close(r);
		return -errno;
	}
	t = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (t < 0) {
		close(r);
		return -errno;
	}
	while (mtcp_now_ms() < end) {
		sendto(t, &b, 1, 0, (struct sockaddr *)&dst, sizeof(dst));
		if (mtcp_poll1(r, POLLIN, 20) > 0) {
			ret = 0;
			break;
		}
	}
	(void)e;
	close(t);
	close(r);
	return ret;
}

/*
 * Build the topology.  Returns 0, or -errno with e->err set.  The calling
 * thread is left in netns C.
 */
static inline int mtcp_env_setup(struct mtcp_env *e)
{
	long long end;
	int ret;

	memset(e, 0, sizeof(*e));
	e->ns_c = -1;
	e->ns_s = -1;
	e->proto = mtcp_proto();

	if (unshare(CLONE_NEWNET))
		return mtcp__fail(e, "unshare(CLONE_NEWNET) S", errno);
	e->ns_s = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (e->ns_s < 0)
		return mtcp__fail(e, "open netns S", errno);
	ret = mtcp_ifconf("lo", NULL, 1);
	if (ret)
		return mtcp__fail(e, "lo up in S", ret);

	if (unshare(CLONE_NEWNET))
		return mtcp__fail(e, "unshare(CLONE_NEWNET) C", errno);
	e->ns_c = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (e->ns_c < 0)
		return mtcp__fail(e, "open netns C", errno);
	ret = mtcp_ifconf("lo", NULL, 1);
	if (ret)
		return mtcp__fail(e, "lo up in C", ret);

	ret = mtcp_veth_create(MTCP_IF_C, MTCP_IF_S, e->ns_s);
	if (ret)
		return mtcp__fail(e, "create veth", ret);
	ret = mtcp_ifconf(MTCP_IF_C, MTCP_ADDR_C, 1);
	if (!ret)
		ret = mtcp_ifmac(MTCP_IF_C, e->mac_c);
	if (!ret)
		ret = mtcp_neigh_set(MTCP_IF_C, MTCP_ADDR_DEAD, mtcp_bogus_mac);
	if (ret)
		return mtcp__fail(e, "configure " MTCP_IF_C, ret);

	if (mtcp_enter(e->ns_s))
		return mtcp__fail(e, "setns S", errno);
	ret = mtcp_ifconf(MTCP_IF_S, MTCP_ADDR_S, 1);
	if (!ret)
		ret = mtcp_ifmac(MTCP_IF_S, e->mac_s);
	if (ret)
		return mtcp__fail(e, "configure " MTCP_IF_S, ret);

	/*
	 * Static neighbours both ways: no ARP, whose lost first request (sent
	 * before the qdisc is active) would cost a 1 s retry.
	 */
	ret = mtcp_neigh_set(MTCP_IF_S, MTCP_ADDR_C, e->mac_c);
	if (!ret && !mtcp_enter(e->ns_c))
		ret = mtcp_neigh_set(MTCP_IF_C, MTCP_ADDR_S, e->mac_s);
	if (ret)
		return mtcp__fail(e, "static neighbours", ret);
	if (mtcp_enter(e->ns_s))
		return mtcp__fail(e, "setns S", errno);

	/* Wait for carrier on both ends, then prove both directions work. */
	end = mtcp_now_ms() + MTCP_TIMEOUT_MS;
	for (;;) {
		int fs, fc;

		fs = mtcp_ifflags(MTCP_IF_S);
		if (mtcp_enter(e->ns_c))
			return mtcp__fail(e, "setns C", errno);
		fc = mtcp_ifflags(MTCP_IF_C);
		if (fs > 0 && fc > 0 && (fs & IFF_RUNNING) && (fc & IFF_RUNNING))
			break;
		if (mtcp_now_ms() > end)
			return mtcp__fail(e, "veth carrier", ETIMEDOUT);
		mtcp_sleep_ms(5);
		if (mtcp_enter(e->ns_s))
			return mtcp__fail(e, "setns S", errno);
	}
	ret = mtcp__udp_probe(e, e->ns_c, e->ns_s, MTCP_ADDR_S);
	if (!ret)
		ret = mtcp__udp_probe(e, e->ns_s, e->ns_c, MTCP_ADDR_C);
	if (ret)
		return mtcp__fail(e, "UDP probe across the veth", ret);

	/* Is the protocol there at all? */
	ret = mtcp_socket(e, e->ns_c);
	if (ret < 0)
		return mtcp__fail(e, e->proto == IPPROTO_MINI_TCP ?
				  "socket(AF_INET, SOCK_STREAM, 253): mini_tcp not loaded?" :
				  "socket(AF_INET, SOCK_STREAM, MTCP_PROTO)", errno);
	close(ret);
	mtcp_enter(e->ns_c);
	return 0;
}

static inline void mtcp_env_teardown(struct mtcp_env *e)
{
	int i;

	/* The namespaces go away with their last fd; restore anyway. */
	for (i = e->nsaved - 1; i >= 0; i--) {
		const char *path = mtcp_knob_path(e, e->saved[i].knob);
		char buf[32];
		int fd, len;

		if (mtcp_enter(e->saved[i].ns))
			continue;
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = snprintf(buf, sizeof(buf), "%d\n", e->saved[i].val);
		if (write(fd, buf, len) != len)
			e->err[0] = 0;
		close(fd);
	}
	e->nsaved = 0;
	if (e->ns_c >= 0)
		close(e->ns_c);
	if (e->ns_s >= 0)
		close(e->ns_s);
	e->ns_c = -1;
	e->ns_s = -1;
}

#endif /* MTCP_TEST_H */
