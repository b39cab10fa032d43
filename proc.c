// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp: /proc/net/mini_tcp_stat (counters, /proc/net/netstat's format)
 * and /proc/net/mini_tcp (the socket table, /proc/net/tcp's format).
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/tcp_states.h>

#include "mini_tcp.h"

const char *const mtcp_mib_names[MTCP_MIB_NR] = {
	[MTCP_MIB_INSEGS]		= "InSegs",
	[MTCP_MIB_OUTSEGS]		= "OutSegs",
	[MTCP_MIB_RETRANSSEGS]		= "RetransSegs",
	[MTCP_MIB_INERRS]		= "InErrs",
	[MTCP_MIB_INCSUMERRORS]		= "InCsumErrors",
	[MTCP_MIB_OUTRSTS]		= "OutRsts",
	[MTCP_MIB_ACTIVEOPENS]		= "ActiveOpens",
	[MTCP_MIB_PASSIVEOPENS]		= "PassiveOpens",
	[MTCP_MIB_ATTEMPTFAILS]		= "AttemptFails",
	[MTCP_MIB_ESTABRESETS]		= "EstabResets",
	[MTCP_MIB_LISTENOVERFLOWS]	= "ListenOverflows",
	[MTCP_MIB_LISTENDROPS]		= "ListenDrops",
	[MTCP_MIB_SYNCOOKIESSENT]	= "SyncookiesSent",
	[MTCP_MIB_SYNCOOKIESRECV]	= "SyncookiesRecv",
	[MTCP_MIB_SYNCOOKIESFAILED]	= "SyncookiesFailed",
	[MTCP_MIB_TIMEWAITRECYCLED]	= "TWRecycled",
	[MTCP_MIB_TIMEWAITKILLED]	= "TWKilled",
	[MTCP_MIB_ABORTONDATA]		= "AbortOnData",
	[MTCP_MIB_ABORTONTIMEOUT]	= "AbortOnTimeout",
	[MTCP_MIB_CHALLENGEACK]		= "ChallengeACK",
	[MTCP_MIB_ACKSKIPPEDSEQ]	= "ACKSkippedSeq",
	[MTCP_MIB_ACKSKIPPEDCHALLENGE]	= "ACKSkippedChallenge",
	[MTCP_MIB_ACKSKIPPEDSYNRECV]	= "ACKSkippedSynRecv",
	[MTCP_MIB_ACKSKIPPEDTIMEWAIT]	= "ACKSkippedTimeWait",
	[MTCP_MIB_FASTRETRANS]		= "FastRetrans",
	[MTCP_MIB_TIMEOUTS]		= "Timeouts",
	[MTCP_MIB_OFOQUEUE]		= "OFOQueue",
	[MTCP_MIB_OFODROP]		= "OFODrop",
	[MTCP_MIB_RCVQDROP]		= "RcvQDrop",
	[MTCP_MIB_MEMORYPRESSURES]	= "MemoryPressures",
	[MTCP_MIB_MEMORYPRESSURESCHRONO] = "MemoryPressuresChrono",
};

static int mtcp_stat_show(struct seq_file *seq, void *v)
{
	struct net *net = seq->private;
	struct mtcp_net *mn = mtcp_pernet(net);
	unsigned long sum[MTCP_MIB_NR] = {};
	int cpu, i;

	for_each_possible_cpu(cpu) {
		const struct mtcp_mib_cpu *m = per_cpu_ptr(mn->mib, cpu);

		for (i = 0; i < MTCP_MIB_NR; i++)
			sum[i] += READ_ONCE(m->mibs[i]);
	}

	seq_puts(seq, "MiniTcp:");
	for (i = 0; i < MTCP_MIB_NR; i++)
		seq_printf(seq, " %s", mtcp_mib_names[i]);
	seq_puts(seq, "\nMiniTcp:");
	for (i = 0; i < MTCP_MIB_NR; i++)
		seq_printf(seq, " %lu", sum[i]);
	seq_putc(seq, '\n');
	return 0;
}

/*
 * One line per socket, as /proc/net/tcp: sl, local and remote address and
 * port in hex, state (TCP_* number), tx/rx queue, timer, retransmits, uid,
 * timeout, inode.  The whole table is walked in one show(): it is for
 * tests and people, not for millions of sockets.
 */
static void mtcp_show_sock(struct seq_file *seq, struct sock *sk, int *n)
{
	int state = inet_sk_state_load(sk);
	unsigned long when = 0;
	int timer = 0, tx = 0, rx = 0, retrans = 0;
	kuid_t uid = GLOBAL_ROOT_UID;
	unsigned long ino = 0;

	if (state == TCP_TIME_WAIT) {
		struct inet_timewait_sock *tw = inet_twsk(sk);

		timer = 3;
		when = tw->tw_timer.expires - jiffies;
	} else if (state == TCP_NEW_SYN_RECV) {
		struct request_sock *req = inet_reqsk(sk);

		state = TCP_SYN_RECV;
		timer = 1;
		when = req->rsk_timer.expires - jiffies;
		retrans = req->num_timeout;
	} else {
		const struct inet_connection_sock *icsk = inet_csk(sk);
		const struct mini_sock *ms = mtcp_sk(sk);

		if (state == TCP_LISTEN) {
			rx = READ_ONCE(sk->sk_ack_backlog);
			tx = READ_ONCE(sk->sk_max_ack_backlog);
		} else {
			tx = READ_ONCE(ms->write_seq) - READ_ONCE(ms->snd_una);
			rx = READ_ONCE(ms->rcv_nxt) - READ_ONCE(ms->copied_seq);
		}
		if (icsk->icsk_pending == ICSK_TIME_RETRANS) {
			timer = 1;
			when = icsk->icsk_timeout - jiffies;
		} else if (timer_pending(&icsk->icsk_keepalive_timer)) {
			timer = 2;
			when = icsk->icsk_keepalive_timer.expires - jiffies;
		}
		retrans = icsk->icsk_retransmits;
		uid = sock_i_uid(sk);
		ino = sock_i_ino(sk);
	}
	if ((long)when < 0)
		when = 0;

	seq_printf(seq, "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu\n",
		   (*n)++, sk->sk_rcv_saddr, sk->sk_num,
		   sk->sk_daddr, ntohs(sk->sk_dport), state, tx, rx, timer,
		   jiffies_delta_to_clock_t(when), retrans,
		   from_kuid_munged(seq_user_ns(seq), uid), 0, ino);
}

static int mtcp_sockets_show(struct seq_file *seq, void *v)
{
	struct inet_hashinfo *h = &mtcp_hashinfo;
	struct net *net = seq->private;
	struct hlist_nulls_node *node;
	struct sock *sk;
	unsigned int i;
	int n = 0;

	seq_puts(seq, "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");

	for (i = 0; i <= h->lhash2_mask; i++) {
		struct inet_listen_hashbucket *ilb = &h->lhash2[i];

		if (hlist_nulls_empty(&ilb->nulls_head))
			continue;
		spin_lock_bh(&ilb->lock);
		sk_nulls_for_each(sk, node, &ilb->nulls_head)
			if (net_eq(sock_net(sk), net))
				mtcp_show_sock(seq, sk, &n);
		spin_unlock_bh(&ilb->lock);
	}

	for (i = 0; i <= h->ehash_mask; i++) {
		struct inet_ehash_bucket *head = &h->ehash[i];
		spinlock_t *lock = inet_ehash_lockp(h, i);

		if (hlist_nulls_empty(&head->chain))
			continue;
		spin_lock_bh(lock);
		sk_nulls_for_each(sk, node, &head->chain)
			if (net_eq(sock_net(sk), net))
				mtcp_show_sock(seq, sk, &n);
		spin_unlock_bh(lock);
	}
	return 0;
}

int mtcp_proc_init_net(struct net *net)
{
	if (!proc_create_net_single("mini_tcp_stat", 0444, net->proc_net,
				    mtcp_stat_show, NULL))
		return -ENOMEM;
	if (!proc_create_net_single("mini_tcp", 0444, net->proc_net,
				    mtcp_sockets_show, NULL)) {
		remove_proc_entry("mini_tcp_stat", net->proc_net);
		return -ENOMEM;
	}
	return 0;
}

void mtcp_proc_exit_net(struct net *net)
{
	remove_proc_entry("mini_tcp", net->proc_net);
	remove_proc_entry("mini_tcp_stat", net->proc_net);
}
