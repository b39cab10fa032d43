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
	[MTCP_MIB_BACKLOGDROP]		= "BacklogDrop",
	[MTCP_MIB_DELAYEDACKS]		= "DelayedACKs",
	[MTCP_MIB_RCVCOALESCE]		= "RcvCoalesce",
	[MTCP_MIB_RCVCOLLAPSED]		= "RcvCollapsed",
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
 * timeout, inode.
 */
static void mtcp_show_sock(struct seq_file *seq, struct sock *sk, int sl)
{
	int state = inet_sk_state_load(sk);
	unsigned long when = 0;
	int timer = 0, tx = 0, rx = 0, retrans = 0;
	kuid_t uid = GLOBAL_ROOT_UID;
	unsigned long ino = 0;

	if (state == TCP_TIME_WAIT) {
		struct inet_timewait_sock *tw = inet_twsk(sk);

		/* TIME_WAIT, or an orphan's FIN_WAIT_2 (as /proc/net/tcp) */
		state = READ_ONCE(tw->tw_substate);
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
			when = mtcp_rtx_timeout(sk) - jiffies;
		} else if (timer_pending(&icsk->icsk_keepalive_timer)) {
			timer = 2;
			when = icsk->icsk_keepalive_timer.expires - jiffies;
		}
		retrans = icsk->icsk_retransmits;
		uid = mtcp_sk_uid(sk);
		ino = sock_i_ino(sk);
	}
	if ((long)when < 0)
		when = 0;

	seq_printf(seq, "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu\n",
		   sl, sk->sk_rcv_saddr, sk->sk_num,
		   sk->sk_daddr, ntohs(sk->sk_dport), state, tx, rx, timer,
		   jiffies_delta_to_clock_t(when), retrans,
		   from_kuid_munged(seq_user_ns(seq), uid), 0, ino);
}

/*
 * The socket table is read as /proc/net/tcp is: the listener hash (lhash2),
 * then the established hash (ehash: connections, TIME_WAIT and request
 * socks).  The row being shown keeps its bucket locked, so the socket
 * cannot go away under show().  A cursor (table, bucket, offset in the
 * bucket) lets each read() resume where the last one stopped instead of
 * walking the table from the start; rows that come or go between two
 * read()s may be missed or repeated, as in /proc/net/tcp.
 *
 * For sparse, the iterator holds "bucket" from start() to stop(): where no
 * bucket is locked (the header, the end), __acquire/__release say so.
 */
struct mtcp_iter {
	struct seq_net_private p;	/* first: seq_file_net() */
	bool ehash;			/* walking ehash (else lhash2) */
	unsigned int bucket;
	unsigned int offset;		/* rows of this netns before it in the bucket */
	int sl;				/* row number */
	loff_t last_pos;		/* *pos when the cursor was last moved */
};

static unsigned int mtcp_iter_buckets(const struct mtcp_iter *it)
{
	return it->ehash ? mtcp_hashinfo.ehash_mask + 1 :
			   mtcp_hashinfo.lhash2_mask + 1;
}

static struct hlist_nulls_head *mtcp_iter_chain(const struct mtcp_iter *it)
{
	return it->ehash ? &mtcp_hashinfo.ehash[it->bucket].chain :
			   &mtcp_hashinfo.lhash2[it->bucket].nulls_head;
}

/* Listeners are hashed in process context only: spin_lock, as TCP's. */
static void mtcp_iter_lock(const struct mtcp_iter *it)
	__acquires(bucket)
{
	if (it->ehash)
		spin_lock_bh(inet_ehash_lockp(&mtcp_hashinfo, it->bucket));
	else
		spin_lock(&mtcp_hashinfo.lhash2[it->bucket].lock);
}

static void mtcp_iter_unlock(const struct mtcp_iter *it)
	__releases(bucket)
{
	if (it->ehash)
		spin_unlock_bh(inet_ehash_lockp(&mtcp_hashinfo, it->bucket));
	else
		spin_unlock(&mtcp_hashinfo.lhash2[it->bucket].lock);
}

/* The first row at or after it->bucket, its bucket locked; NULL at the end. */
static struct sock *mtcp_iter_first(struct seq_file *seq)
	__acquires(bucket)
{
	struct mtcp_iter *it = seq->private;
	struct hlist_nulls_node *node;
	struct sock *sk;

	it->offset = 0;
	for (;;) {
		for (; it->bucket < mtcp_iter_buckets(it); it->bucket++) {
			cond_resched();
			if (hlist_nulls_empty(mtcp_iter_chain(it)))
				continue;
			mtcp_iter_lock(it);
			sk_nulls_for_each(sk, node, mtcp_iter_chain(it))
				if (net_eq(sock_net(sk), seq_file_net(seq)))
					return sk;
			mtcp_iter_unlock(it);
		}
		if (it->ehash) {
			__acquire(bucket);
			return NULL;
		}
		it->ehash = true;
		it->bucket = 0;
	}
}

/* The row after @sk, whose bucket is locked. */
static struct sock *mtcp_iter_next(struct seq_file *seq, struct sock *sk)
	__releases(bucket) __acquires(bucket)
{
	struct mtcp_iter *it = seq->private;
	struct hlist_nulls_node *node;

	it->sl++;
	it->offset++;
	sk = sk_nulls_next(sk);
	sk_nulls_for_each_from(sk, node)
		if (net_eq(sock_net(sk), seq_file_net(seq)))
			return sk;
	mtcp_iter_unlock(it);
	it->bucket++;
	return mtcp_iter_first(seq);
}

/* Row @n (0 is the first), walking from the start. */
static struct sock *mtcp_iter_idx(struct seq_file *seq, loff_t n)
	__acquires(bucket)
{
	struct mtcp_iter *it = seq->private;
	struct sock *sk;

	it->ehash = false;
	it->bucket = 0;
	it->sl = 0;
	sk = mtcp_iter_first(seq);
	while (sk && n--)
		sk = mtcp_iter_next(seq, sk);
	return sk;
}

/* The row under the cursor: its bucket, @offset rows in (or the next one). */
static struct sock *mtcp_iter_resume(struct seq_file *seq)
	__acquires(bucket)
{
	struct mtcp_iter *it = seq->private;
	unsigned int bucket = it->bucket, offset = it->offset;
	bool ehash = it->ehash;
	int sl = it->sl;
	struct sock *sk;

	sk = mtcp_iter_first(seq);
	while (sk && offset-- && it->bucket == bucket && it->ehash == ehash)
		sk = mtcp_iter_next(seq, sk);
	it->sl = sl;
	return sk;
}

/* *pos 0 is the header line, *pos n the row n - 1. */
static void *mtcp_seq_start(struct seq_file *seq, loff_t *pos)
	__acquires(bucket)
{
	struct mtcp_iter *it = seq->private;
	void *v;

	if (!*pos) {
		__acquire(bucket);
		v = SEQ_START_TOKEN;
	} else if (*pos == it->last_pos) {
		v = mtcp_iter_resume(seq);
	} else {
		v = mtcp_iter_idx(seq, *pos - 1);
	}
	it->last_pos = *pos;
	return v;
}

static void *mtcp_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct mtcp_iter *it = seq->private;

	if (v == SEQ_START_TOKEN) {
		__release(bucket);
		v = mtcp_iter_idx(seq, 0);
	} else {
		v = mtcp_iter_next(seq, v);
	}
	it->last_pos = ++*pos;
	return v;
}

static void mtcp_seq_stop(struct seq_file *seq, void *v)
	__releases(bucket)
{
	if (v && v != SEQ_START_TOKEN)
		mtcp_iter_unlock(seq->private);
	else
		__release(bucket);
}

static int mtcp_seq_show(struct seq_file *seq, void *v)
{
	struct mtcp_iter *it = seq->private;

	if (v == SEQ_START_TOKEN)
		seq_puts(seq, "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
	else
		mtcp_show_sock(seq, v, it->sl);
	return 0;
}

static const struct seq_operations mtcp_seq_ops = {
	.start	= mtcp_seq_start,
	.next	= mtcp_seq_next,
	.stop	= mtcp_seq_stop,
	.show	= mtcp_seq_show,
};

int mtcp_proc_init_net(struct net *net)
{
	if (!proc_create_net_single("mini_tcp_stat", 0444, net->proc_net,
				    mtcp_stat_show, NULL))
		return -ENOMEM;
	if (!proc_create_net("mini_tcp", 0444, net->proc_net, &mtcp_seq_ops,
			     sizeof(struct mtcp_iter))) {
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
