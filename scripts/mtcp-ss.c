// SPDX-License-Identifier: GPL-2.0
/*
 * mtcp-ss - list mini_tcp sockets the way `ss -t` lists TCP's.
 *
 * Asks the kernel over NETLINK_SOCK_DIAG (SOCK_DIAG_BY_FAMILY, AF_INET) with
 * sdiag_protocol = 253 (-P N, or $MTCP_PROTO), which mini_tcp_diag.ko
 * answers; plain netlink, no library.
 *
 *	mtcp-ss [-P PROTO] [-a|-l] [-n] [-e] [-o] [-i] [-H] [FILTER]
 *
 *	-a  all states         -l  listeners only
 *	-e  uid, inode, cookie -o  timers        -i  tcp_info
 *	-n  numeric (always)   -H  no header     -P  protocol number
 *
 * Without -a, -l or a state filter: the connected states but SYN-RECV and
 * TIME-WAIT, as ss.  FILTER, as ss's (conditions are ANDed):
 *	state NAME ...      only these states (idiag_states)
 *	exclude NAME ...    not these
 *	sport OP :PORT      OP: = == eq != ne >= ge <= le > gt < lt
 *	dport OP :PORT      (ports: inet_diag filter bytecode)
 * NAME: established syn-sent syn-recv fin-wait-1 fin-wait-2 time-wait
 * closed close-wait last-ack listening closing, or all, connected,
 * synchronized, bucket, big.
 *
 * Exit status: 0, 1 on a netlink error (e.g. ENOENT: no handler for the
 * protocol, mini_tcp_diag.ko not loaded), 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../uapi/mini_tcp.h"

/* TCP's state numbers (include/net/tcp_states.h), which mini_tcp uses. */
enum {
	ST_ESTABLISHED = 1, ST_SYN_SENT, ST_SYN_RECV, ST_FIN_WAIT1,
	ST_FIN_WAIT2, ST_TIME_WAIT, ST_CLOSE, ST_CLOSE_WAIT, ST_LAST_ACK,
	ST_LISTEN, ST_CLOSING, ST_MAX
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define SF(s)		(1U << (s))
#define SF_ALL		((SF(ST_MAX) - 1) & ~1U)
#define SF_CONN		(SF_ALL & ~(SF(ST_LISTEN) | SF(ST_CLOSE) | \
				    SF(ST_TIME_WAIT) | SF(ST_SYN_RECV)))

static const char *const state_name[ST_MAX] = {
	[0] = "UNKNOWN",
	[ST_ESTABLISHED] = "ESTAB",
	[ST_SYN_SENT] = "SYN-SENT",
	[ST_SYN_RECV] = "SYN-RECV",
	[ST_FIN_WAIT1] = "FIN-WAIT-1",
	[ST_FIN_WAIT2] = "FIN-WAIT-2",
	[ST_TIME_WAIT] = "TIME-WAIT",
	[ST_CLOSE] = "UNCONN",
	[ST_CLOSE_WAIT] = "CLOSE-WAIT",
	[ST_LAST_ACK] = "LAST-ACK",
	[ST_LISTEN] = "LISTEN",
	[ST_CLOSING] = "CLOSING",
};

static const struct {
	const char *name;
	unsigned int mask;
} state_filters[] = {
	{ "established", SF(ST_ESTABLISHED) },
	{ "syn-sent", SF(ST_SYN_SENT) },
	{ "syn-recv", SF(ST_SYN_RECV) },
	{ "fin-wait-1", SF(ST_FIN_WAIT1) },
	{ "fin-wait-2", SF(ST_FIN_WAIT2) },
	{ "time-wait", SF(ST_TIME_WAIT) },
	{ "closed", SF(ST_CLOSE) },
	{ "close-wait", SF(ST_CLOSE_WAIT) },
	{ "last-ack", SF(ST_LAST_ACK) },
	{ "listening", SF(ST_LISTEN) },
	{ "listen", SF(ST_LISTEN) },
	{ "closing", SF(ST_CLOSING) },
	{ "all", SF_ALL },
	{ "connected", SF_ALL & ~(SF(ST_LISTEN) | SF(ST_CLOSE)) },
	{ "synchronized", SF_ALL & ~(SF(ST_LISTEN) | SF(ST_CLOSE) | SF(ST_SYN_SENT)) },
	{ "bucket", SF(ST_SYN_RECV) | SF(ST_TIME_WAIT) },
	{ "big", SF_ALL & ~(SF(ST_SYN_RECV) | SF(ST_TIME_WAIT)) },
};

static const char *const timer_name[] = {
	"off", "on", "keepalive", "timewait", "persist", "unknown"
};

static int opt_e, opt_o, opt_i, opt_header = 1;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mtcp-ss [-P PROTO] [-a|-l] [-n] [-e] [-o] [-i] [-H] [FILTER]\n"
		"  -a all states, -l listeners, -e uid/inode, -o timers, -i tcp_info,\n"
		"  -n numeric (always), -H no header, -P protocol (default $MTCP_PROTO or %d)\n"
		"FILTER (ANDed): state NAME | exclude NAME | sport OP :PORT | dport OP :PORT\n",
		IPPROTO_MINI_TCP);
}

static unsigned int state_mask(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(state_filters); i++)
		if (!strcmp(name, state_filters[i].name))
			return state_filters[i].mask;
	fprintf(stderr, "mtcp-ss: unknown state \"%s\"\n", name);
	exit(2);
}

/* ------------------------------------------------------------- bytecode */

enum cmp { CMP_EQ, CMP_NE, CMP_GE, CMP_LE };

struct port_cond {
	int dst;		/* dport, else sport */
	enum cmp cmp;
	unsigned int port;
};

#define MAX_CONDS 16
static struct port_cond conds[MAX_CONDS];
static int nconds;

static void add_port_cond(const char *what, const char *op, const char *val)
{
	static const struct {
		const char *op;
		enum cmp cmp;
		int adj;
	} ops[] = {
		{ "=", CMP_EQ, 0 }, { "==", CMP_EQ, 0 }, { "eq", CMP_EQ, 0 },
		{ "!=", CMP_NE, 0 }, { "ne", CMP_NE, 0 }, { "neq", CMP_NE, 0 },
		{ ">=", CMP_GE, 0 }, { "ge", CMP_GE, 0 },
		{ "<=", CMP_LE, 0 }, { "le", CMP_LE, 0 },
		{ ">", CMP_GE, 1 }, { "gt", CMP_GE, 1 },
		{ "<", CMP_LE, -1 }, { "lt", CMP_LE, -1 },
	};
	struct port_cond *c;
	char *end;
	long port;
	size_t i;

	if (nconds == MAX_CONDS) {
		fprintf(stderr, "mtcp-ss: at most %d port conditions\n", MAX_CONDS);
		exit(2);
	}
	c = &conds[nconds];
	c->dst = what[0] == 'd';
	for (i = 0; i < ARRAY_SIZE(ops); i++)
		if (!strcmp(op, ops[i].op))
			break;
	if (i == ARRAY_SIZE(ops)) {
		fprintf(stderr, "mtcp-ss: unknown operator \"%s\"\n", op);
		exit(2);
	}
	c->cmp = ops[i].cmp;
	if (*val == ':')
		val++;
	errno = 0;
	port = strtol(val, &end, 10);
	if (errno || end == val || *end || port < 0 || port > 65535) {
		fprintf(stderr, "mtcp-ss: bad port \"%s\"\n", val);
		exit(2);
	}
	port += ops[i].adj;
	if (port < 0 || port > 65535) {
		fprintf(stderr, "mtcp-ss: %s %s %s matches nothing\n", what, op, val);
		exit(2);
	}
	c->port = port;
	nconds++;
}

/*
 * One AND chain.  A condition is an op and a second op holding the port; a
 * true one goes on to the next (yes = 8), a false one jumps 4 bytes past
 * the end (no = what is left + 4), which rejects.  "!=" is "==" followed
 * by a JMP to that reject: == goes to the JMP (yes = 8), != skips it
 * (no = 12).  The kernel's audit wants the chain of "yes" to end exactly
 * at the end, as it does here.
 */
static size_t cond_len(const struct port_cond *c)
{
	return (c->cmp == CMP_NE ? 3 : 2) * sizeof(struct inet_diag_bc_op);
}

static size_t build_bytecode(unsigned char *bc)
{
	struct inet_diag_bc_op *op = (struct inet_diag_bc_op *)bc;
	size_t len = 0, left;
	int i;

	for (i = 0; i < nconds; i++)
		len += cond_len(&conds[i]);
	left = len;
	for (i = 0; i < nconds; i++) {
		const struct port_cond *c = &conds[i];

		switch (c->cmp) {
		case CMP_EQ:
		case CMP_NE:
			op->code = c->dst ? INET_DIAG_BC_D_EQ : INET_DIAG_BC_S_EQ;
			break;
		case CMP_GE:
			op->code = c->dst ? INET_DIAG_BC_D_GE : INET_DIAG_BC_S_GE;
			break;
		case CMP_LE:
			op->code = c->dst ? INET_DIAG_BC_D_LE : INET_DIAG_BC_S_LE;
			break;
		}
		op[0].yes = 2 * sizeof(*op);
		op[0].no = c->cmp == CMP_NE ? 3 * sizeof(*op) : left + 4;
		op[1].code = INET_DIAG_BC_NOP;
		op[1].yes = 0;
		op[1].no = c->port;
		if (c->cmp == CMP_NE) {
			op[2].code = INET_DIAG_BC_JMP;
			op[2].yes = sizeof(*op);
			op[2].no = left - 2 * sizeof(*op) + 4;
		}
		left -= cond_len(c);
		op += cond_len(c) / sizeof(*op);
	}
	return len;
}

/* ---------------------------------------------------------------- output */

static void fmt_addr(char *buf, size_t size, const __be32 *a, __be16 port,
		     int peer)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, a, ip, sizeof(ip));
	if (peer && !port)
		snprintf(buf, size, "%s:*", ip);
	else
		snprintf(buf, size, "%s:%u", ip, ntohs(port));
}

static void fmt_ms(char *buf, size_t size, unsigned int ms)
{
	if (ms < 1000)
		snprintf(buf, size, "%ums", ms);
	else if (ms < 60000)
		snprintf(buf, size, "%u.%03usec", ms / 1000, ms % 1000);
	else
		snprintf(buf, size, "%umin%usec", ms / 60000, ms / 1000 % 60);
}

static void print_info(const struct tcp_info *ti)
{
	printf("\t rto:%g rtt:%g/%g mss:%u rcvmss:%u advmss:%u cwnd:%u",
	       ti->tcpi_rto / 1000.0, ti->tcpi_rtt / 1000.0,
	       ti->tcpi_rttvar / 1000.0, ti->tcpi_snd_mss, ti->tcpi_rcv_mss,
	       ti->tcpi_advmss, ti->tcpi_snd_cwnd);
	if (ti->tcpi_snd_ssthresh < 0xFFFF)
		printf(" ssthresh:%u", ti->tcpi_snd_ssthresh);
	if (ti->tcpi_backoff)
		printf(" backoff:%u", ti->tcpi_backoff);
	printf(" retrans:%u/%u", ti->tcpi_retransmits, ti->tcpi_total_retrans);
	if (ti->tcpi_unacked)
		printf(" unacked:%u", ti->tcpi_unacked);
	printf(" snd_wnd:%u rcv_space:%u", ti->tcpi_snd_wnd, ti->tcpi_rcv_space);
	if (ti->tcpi_notsent_bytes)
		printf(" notsent:%u", ti->tcpi_notsent_bytes);
	printf(" ca_state:%u\n", ti->tcpi_ca_state);
}

static void print_sock(const struct nlmsghdr *nlh)
{
	const struct inet_diag_msg *r = NLMSG_DATA(nlh);
	int len = nlh->nlmsg_len - NLMSG_LENGTH(sizeof(*r));
	const struct rtattr *a = (const struct rtattr *)(r + 1);
	struct tcp_info ti;
	int have_info = 0;
	char local[64], peer[64], t[32];

	if (len < 0)
		return;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == INET_DIAG_INFO) {
			size_t n = RTA_PAYLOAD(a);

			memset(&ti, 0, sizeof(ti));
			memcpy(&ti, RTA_DATA(a), n < sizeof(ti) ? n : sizeof(ti));
			have_info = 1;
		}
	}
	fmt_addr(local, sizeof(local), r->id.idiag_src, r->id.idiag_sport, 0);
	fmt_addr(peer, sizeof(peer), r->id.idiag_dst, r->id.idiag_dport, 1);
	printf("%-10s %-6u %-6u %-21s %-21s",
	       r->idiag_state < ST_MAX ? state_name[r->idiag_state] : "UNKNOWN",
	       r->idiag_rqueue, r->idiag_wqueue, local, peer);
	if (opt_o && r->idiag_timer) {
		fmt_ms(t, sizeof(t), r->idiag_expires);
		printf(" timer:(%s,%s,%u)",
		       timer_name[r->idiag_timer < 5 ? r->idiag_timer : 5], t,
		       r->idiag_retrans);
	}
	if (opt_e)
		printf(" uid:%u ino:%u sk:%llx", r->idiag_uid, r->idiag_inode,
		       (unsigned long long)r->id.idiag_cookie[1] << 32 |
		       r->id.idiag_cookie[0]);
	putchar('\n');
	/* a listener's tcp_info holds only its backlog: the queues say it */
	if (opt_i && have_info && r->idiag_state != ST_LISTEN)
		print_info(&ti);
}

/* --------------------------------------------------------------- netlink */

static int dump(int proto, unsigned int states)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
		struct rtattr rta;
		unsigned char bc[MAX_CONDS * 3 * sizeof(struct inet_diag_bc_op)];
	} req;
	struct sockaddr_nl nladdr = { .nl_family = AF_NETLINK };
	static char buf[64 * 1024];
	size_t bclen = 0;
	int fd, done = 0, err = 0;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = 1;
	req.r.sdiag_family = AF_INET;
	req.r.sdiag_protocol = proto;
	req.r.idiag_states = states;
	if (opt_i)
		req.r.idiag_ext |= 1 << (INET_DIAG_INFO - 1);
	req.r.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	req.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(req.r));
	if (nconds) {
		bclen = build_bytecode(req.bc);
		req.rta.rta_type = INET_DIAG_REQ_BYTECODE;
		req.rta.rta_len = RTA_LENGTH(bclen);
		req.nlh.nlmsg_len += RTA_SPACE(bclen);
	}

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0) {
		perror("mtcp-ss: socket(AF_NETLINK, NETLINK_SOCK_DIAG)");
		return 1;
	}
	if (sendto(fd, &req, req.nlh.nlmsg_len, 0, (struct sockaddr *)&nladdr,
		   sizeof(nladdr)) < 0) {
		perror("mtcp-ss: sendto");
		close(fd);
		return 1;
	}
	if (opt_header)
		printf("%-10s %-6s %-6s %-21s %-21s\n", "State", "Recv-Q",
		       "Send-Q", "Local Address:Port", "Peer Address:Port");
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		int rem = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("mtcp-ss: recv");
			err = 1;
			break;
		}
		if (n == 0)
			break;
		for (; NLMSG_OK(h, rem); h = NLMSG_NEXT(h, rem)) {
			if (h->nlmsg_seq != 1)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				int e = 0;

				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					memcpy(&e, NLMSG_DATA(h), sizeof(e));
				if (e < 0) {
					fprintf(stderr, "mtcp-ss: sock_diag for protocol %d: %s%s\n",
						proto, strerror(-e), e == -ENOENT ?
						" (is mini_tcp_diag.ko loaded?)" : "");
					err = 1;
				}
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				fprintf(stderr, "mtcp-ss: sock_diag for protocol %d: %s%s\n",
					proto, strerror(-e->error),
					e->error == -ENOENT ?
					" (is mini_tcp_diag.ko loaded?)" : "");
				err = 1;
				done = 1;
				break;
			}
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
				print_sock(h);
		}
	}
	close(fd);
	fflush(stdout);
	return err;
}

int main(int argc, char **argv)
{
	unsigned int states = 0, excl = 0;
	int proto = IPPROTO_MINI_TCP, opt, all = 0, listen = 0, have_states = 0;
	const char *env = getenv("MTCP_PROTO");
	char *end;

	if (env && *env)
		proto = atoi(env);
	while ((opt = getopt(argc, argv, "+P:alneoiHh")) != -1) {
		switch (opt) {
		case 'P':
			proto = strtol(optarg, &end, 10);
			if (*end || end == optarg) {
				usage(stderr);
				return 2;
			}
			break;
		case 'a':
			all = 1;
			break;
		case 'l':
			listen = 1;
			break;
		case 'n':
			break;
		case 'e':
			opt_e = 1;
			break;
		case 'o':
			opt_o = 1;
			break;
		case 'i':
			opt_i = 1;
			break;
		case 'H':
			opt_header = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (proto <= 0 || proto > 255) {
		fprintf(stderr, "mtcp-ss: protocol %d out of range\n", proto);
		return 2;
	}
	for (; optind < argc; optind++) {
		const char *w = argv[optind];

		if (!strcmp(w, "and") || !strcmp(w, "&&"))
			continue;
		if (!strcmp(w, "state") || !strcmp(w, "exclude") || !strcmp(w, "excl")) {
			if (++optind == argc) {
				usage(stderr);
				return 2;
			}
			if (w[0] == 's') {
				states |= state_mask(argv[optind]);
				have_states = 1;
			} else {
				excl |= state_mask(argv[optind]);
			}
		} else if (!strcmp(w, "sport") || !strcmp(w, "dport")) {
			/* sport = :N, or sport :N */
			if (optind + 1 < argc && argv[optind + 1][0] == ':') {
				add_port_cond(w, "=", argv[optind + 1]);
				optind++;
			} else if (optind + 2 < argc) {
				add_port_cond(w, argv[optind + 1], argv[optind + 2]);
				optind += 2;
			} else {
				usage(stderr);
				return 2;
			}
		} else {
			fprintf(stderr, "mtcp-ss: unknown filter word \"%s\"\n", w);
			usage(stderr);
			return 2;
		}
	}
	if (!have_states)
		states = all ? SF_ALL : listen ? SF(ST_LISTEN) : SF_CONN;
	states &= ~excl;
	return dump(proto, states);
}
