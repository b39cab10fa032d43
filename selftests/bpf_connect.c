// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup connect4 BPF programs see mini_tcp's connect() (proto.pre_connect),
 * as they see TCP's: a program that refuses every connect makes connect()
 * fail with EPERM; once it is detached, connect() works again.
 *
 * The program is two instructions (r0 = verdict; exit), loaded with the
 * bpf(2) syscall: no libbpf, no compiler.  Runs for MTCP_PROTO (253, or 6
 * for kernel TCP as the oracle) over loopback in a private namespace.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

#include "mtcp_test.h"

#define CG_ROOT	"/tmp/mtcp-bpf-cgroup"
#define CG_DIR	CG_ROOT "/mtcp_connect_test"

static int bpf_call(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* A BPF_CGROUP_INET4_CONNECT program returning @verdict (1 allow, 0 deny). */
static int load_connect_prog(int verdict, char *log, size_t loglen)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = verdict },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
	attr.expected_attach_type = BPF_CGROUP_INET4_CONNECT;
	attr.insns = (__u64)(unsigned long)insns;
	attr.insn_cnt = sizeof(insns) / sizeof(insns[0]);
	attr.license = (__u64)(unsigned long)"GPL";
	attr.log_buf = (__u64)(unsigned long)log;
	attr.log_size = loglen;
	attr.log_level = 1;
	return bpf_call(BPF_PROG_LOAD, &attr);
}

static int prog_attach(int cg, int prog, int cmd)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.target_fd = cg;
	attr.attach_bpf_fd = prog;
	attr.attach_type = BPF_CGROUP_INET4_CONNECT;
	return bpf_call(cmd, &attr);
}

static int join_cgroup(const char *dir)
{
	char path[256];
	int fd, n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = dprintf(fd, "%d\n", getpid());
	close(fd);
	return n > 0 ? 0 : -1;
}

static int try_connect(__u16 port)
{
	struct sockaddr_in a = mtcp_sin("127.0.0.1", port);
	int fd = socket(AF_INET, SOCK_STREAM, mtcp_proto());
	int err = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		err = -errno;
	close(fd);
	return err;
}

TEST(cgroup_connect4_prog_sees_connect)
{
	struct sockaddr_in a = mtcp_sin("127.0.0.1", 0);
	socklen_t alen = sizeof(a);
	char log[4096] = "";
	int cg, prog, lfd;
	__u16 port;

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, mtcp_ifconf("lo", NULL, 1));

	mkdir(CG_ROOT, 0755);
	if (mount("none", CG_ROOT, "cgroup2", 0, NULL) && errno != EBUSY)
		SKIP(return, "cannot mount cgroup2: %s", strerror(errno));
	if (mkdir(CG_DIR, 0755) && errno != EEXIST)
		SKIP(return, "mkdir %s: %s", CG_DIR, strerror(errno));
	ASSERT_EQ(0, join_cgroup(CG_DIR));
	cg = open(CG_DIR, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, cg);

	prog = load_connect_prog(0, log, sizeof(log));
	if (prog < 0)
		SKIP(return, "BPF_PROG_LOAD: %s %s", strerror(errno), log);

	lfd = socket(AF_INET, SOCK_STREAM, mtcp_proto());
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(lfd, 8));
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&a, &alen));
	port = ntohs(a.sin_port);

	EXPECT_EQ(0, try_connect(port)) TH_LOG("connect() before the program");

	ASSERT_EQ(0, prog_attach(cg, prog, BPF_PROG_ATTACH))
		TH_LOG("BPF_PROG_ATTACH: %s", strerror(errno));
	EXPECT_EQ(-EPERM, try_connect(port))
		TH_LOG("connect() with a refusing connect4 program attached");

	ASSERT_EQ(0, prog_attach(cg, prog, BPF_PROG_DETACH));
	EXPECT_EQ(0, try_connect(port)) TH_LOG("connect() after detaching");

	close(lfd);
	close(prog);
	close(cg);
	join_cgroup(CG_ROOT);
	rmdir(CG_DIR);
	umount2(CG_ROOT, MNT_DETACH);
}

TEST_HARNESS_MAIN
