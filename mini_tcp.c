// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp: module init and exit, registration, per-netns state.
 *
 * Registration order (and exit in exactly the reverse order):
 *   proto_register -> register_pernet_subsys -> inet_add_protocol ->
 *   inet_register_protosw.
 * Every namespace has its control socket, counters and sysctls before a
 * segment can reach us; and socket() can create a socket only once all
 * the rest is in place - socket() autoloads the module, and may race
 * with this function from the moment the protosw is visible.  Nothing
 * after that last step can fail, so no socket ever outlives a failed
 * load.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/sysctl.h>
#include <linux/vmalloc.h>
#include <net/inet_common.h>
#include <net/net_namespace.h>
#include <net/protocol.h>

#include "mini_tcp.h"
#include "uapi/mini_tcp.h"

int mtcp_ipproto = IPPROTO_MINI_TCP;
EXPORT_SYMBOL_NS_GPL(mtcp_ipproto, MTCP_NS);	/* mini_tcp_diag */
module_param_named(ipproto, mtcp_ipproto, int, 0444);
MODULE_PARM_DESC(ipproto, "IP protocol number to register (default 253)");

static unsigned int ehash_entries = 16384;
module_param(ehash_entries, uint, 0444);
MODULE_PARM_DESC(ehash_entries, "Buckets of the connection hash (power of 2)");

unsigned int mtcp_net_id __read_mostly;

/* ---------------------------------------------------------------- sysctls */

static int max_syncnt = 127;		/* as TCP's MAX_TCP_SYNCNT */
static int max_retries = 255;
static int max_backlog = 65536;
static int max_timeout = 600 * HZ;	/* 10 minutes */

/* Seconds to jiffies like proc_dointvec_jiffies, refusing 0 and > 600 s. */
static int mtcp_proc_timeout(mtcp_ctl_const struct ctl_table *table, int write,
			     void *buffer, size_t *lenp, loff_t *ppos)
{
	struct ctl_table tmp = *table;
	int val = READ_ONCE(*(int *)table->data);
	int err;

	tmp.data = &val;
	err = proc_dointvec_jiffies(&tmp, write, buffer, lenp, ppos);
	if (err || !write)
		return err;
	if (val < HZ || val > max_timeout)
		return -EINVAL;
	WRITE_ONCE(*(int *)table->data, val);
	return 0;
}

static const struct ctl_table mtcp_sysctl_template[] = {
	{
		.procname	= "syncookies",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_TWO,
	},
	{
		.procname	= "max_syn_backlog",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ONE,
		.extra2		= &max_backlog,
	},
	{
		.procname	= "syn_retries",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ONE,
		.extra2		= &max_syncnt,
	},
	{
		.procname	= "synack_retries",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ONE,
		.extra2		= &max_syncnt,
	},
	{
		.procname	= "retries2",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ONE,
		.extra2		= &max_retries,
	},
	{
		.procname	= "orphan_retries",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ONE,
		.extra2		= &max_retries,
	},
	{
		.procname	= "fin_timeout",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= mtcp_proc_timeout,
	},
	{
		.procname	= "tw_timeout",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= mtcp_proc_timeout,
	},
	{
		/* milliseconds, as tcp_invalid_ratelimit */
		.procname	= "invalid_ratelimit",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_ms_jiffies,
	},
	{
		.procname	= "challenge_ack_limit",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
	},
	{
		.procname	= "window_scaling",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{
		.procname	= "moderate_rcvbuf",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{
		.procname	= "gso",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	/* Module-wide from here on: see mtcp_sysctl_init_net(). */
	{
		.procname	= "mem",
		.maxlen		= sizeof(sysctl_mtcp_mem),
		.mode		= 0644,
		.proc_handler	= proc_doulongvec_minmax,
	},
	{
		.procname	= "rmem",
		.maxlen		= sizeof(sysctl_mtcp_rmem),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ONE,
	},
	{
		.procname	= "wmem",
		.maxlen		= sizeof(sysctl_mtcp_wmem),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ONE,
	},
	{ }
};

static int mtcp_sysctl_init_net(struct net *net, struct mtcp_net *mn)
{
	int *data[] = {
		&mn->sysctl_syncookies, &mn->sysctl_max_syn_backlog,
		&mn->sysctl_syn_retries, &mn->sysctl_synack_retries,
		&mn->sysctl_retries2, &mn->sysctl_orphan_retries,
		&mn->sysctl_fin_timeout, &mn->sysctl_tw_timeout,
		&mn->sysctl_invalid_ratelimit, &mn->sysctl_challenge_ack_limit,
		&mn->sysctl_window_scaling, &mn->sysctl_moderate_rcvbuf,
		&mn->sysctl_gso,
	};
	/*
	 * The memory limits are module-wide, as TCP's tcp_mem is: the
	 * protocol's memory_allocated they bound is one counter for every
	 * namespace, and rmem/wmem reach the core through proto.sysctl_rmem
	 * and sysctl_wmem.  (TCP's tcp_rmem/tcp_wmem are per namespace, found
	 * through proto.sysctl_rmem_offset into struct net; a module has no
	 * room in struct net.)  Shown in every namespace, writable only from
	 * the initial one: a container must not raise the host's limits.
	 */
	void *global[] = { sysctl_mtcp_mem, sysctl_mtcp_rmem, sysctl_mtcp_wmem };
	struct ctl_table *table;
	unsigned int i;

	BUILD_BUG_ON(ARRAY_SIZE(data) + ARRAY_SIZE(global) !=
		     ARRAY_SIZE(mtcp_sysctl_template) - 1);

	table = kmemdup(mtcp_sysctl_template, sizeof(mtcp_sysctl_template),
			GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(data); i++)
		table[i].data = data[i];
	for (i = 0; i < ARRAY_SIZE(global); i++) {
		struct ctl_table *t = &table[ARRAY_SIZE(data) + i];

		t->data = global[i];
		if (!net_eq(net, &init_net))
			t->mode = 0444;
	}

	mn->sysctl_hdr = mtcp_register_net_sysctl(net, "net/mini_tcp", table,
						  ARRAY_SIZE(mtcp_sysctl_template) - 1);
	if (!mn->sysctl_hdr) {
		kfree(table);
		return -ENOMEM;
	}
	return 0;
}

static void mtcp_sysctl_exit_net(struct mtcp_net *mn)
{
	const struct ctl_table *table = mn->sysctl_hdr->ctl_table_arg;

	unregister_net_sysctl_table(mn->sysctl_hdr);
	kfree(table);
}

/* ------------------------------------------------------------- per netns */

static int __net_init mtcp_net_init(struct net *net)
{
	struct mtcp_net *mn = mtcp_pernet(net);
	int err;

	/* Linux TCP's defaults. */
	mn->sysctl_syncookies = 1;
	mn->sysctl_max_syn_backlog = 1024;
	mn->sysctl_syn_retries = 6;
	mn->sysctl_synack_retries = 5;
	mn->sysctl_retries2 = 15;
	mn->sysctl_orphan_retries = 8;
	mn->sysctl_fin_timeout = 60 * HZ;
	mn->sysctl_tw_timeout = 60 * HZ;
	mn->sysctl_invalid_ratelimit = HZ / 2;
	mn->sysctl_challenge_ack_limit = INT_MAX;	/* off, as TCP's */
	mn->sysctl_window_scaling = 1;
	mn->sysctl_moderate_rcvbuf = 1;
	mn->sysctl_gso = 1;

	refcount_set(&mn->tw_death_row.tw_refcount, 1);
	mn->tw_death_row.sysctl_max_tw_buckets = 262144;

	mn->mib = alloc_percpu(struct mtcp_mib_cpu);
	if (!mn->mib)
		return -ENOMEM;

	/*
	 * A raw socket, not one of ours: a SOCK_STREAM socket of this
	 * protocol would hold a reference on the module for as long as the
	 * namespace lives, and rmmod could never succeed.
	 */
	err = inet_ctl_sock_create(&mn->ctl_sk, PF_INET, SOCK_RAW,
				   mtcp_ipproto, net);
	if (err)
		goto free_mib;

	err = mtcp_sysctl_init_net(net, mn);
	if (err)
		goto free_ctl;

	err = mtcp_proc_init_net(net);
	if (err)
		goto free_sysctl;
	return 0;

free_sysctl:
	mtcp_sysctl_exit_net(mn);
free_ctl:
	inet_ctl_sock_destroy(mn->ctl_sk);
free_mib:
	free_percpu(mn->mib);
	return err;
}

static void __net_exit mtcp_net_exit(struct net *net)
{
	struct mtcp_net *mn = mtcp_pernet(net);

	mtcp_proc_exit_net(net);
	mtcp_sysctl_exit_net(mn);
	inet_ctl_sock_destroy(mn->ctl_sk);
}

/*
 * Request and TIME_WAIT socks hold no reference on their namespace: purge
 * those of the dying namespaces before their counters and death row go.
 */
static void __net_exit mtcp_net_exit_batch(struct list_head *net_exit_list)
{
	static DEFINE_MUTEX(exit_batch_mutex);
	struct net *net;

	/*
	 * cleanup_net() and a failed setup_net() may run this at once, and
	 * the purge kills the TIME_WAIT socks of every dying namespace:
	 * one at a time, or one may free a death row the other still uses.
	 */
	mutex_lock(&exit_batch_mutex);
	mtcp_twsk_purge();

	list_for_each_entry(net, net_exit_list, exit_list) {
		struct mtcp_net *mn = mtcp_pernet(net);

		WARN_ON_ONCE(!refcount_dec_and_test(&mn->tw_death_row.tw_refcount));
		free_percpu(mn->mib);
	}
	mutex_unlock(&exit_batch_mutex);
}

static struct pernet_operations mtcp_net_ops = {
	.init		= mtcp_net_init,
	.exit		= mtcp_net_exit,
	.exit_batch	= mtcp_net_exit_batch,
	.id		= &mtcp_net_id,
	.size		= sizeof(struct mtcp_net),
};

/* ------------------------------------------------------------ registration */

static const struct net_protocol mtcp_protocol = {
	.handler	= mtcp_v4_rcv,
	.err_handler	= mtcp_v4_err,
	.no_policy	= 1,	/* input.c does the xfrm policy check itself */
};

static struct inet_protosw mtcp_protosw = {
	.type		= SOCK_STREAM,
	.prot		= &mtcp_prot,
	.ops		= &mtcp_stream_ops,
	.flags		= INET_PROTOSW_ICSK,
};

static int __init mtcp_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct mtcp_skb_cb) > sizeof_field(struct sk_buff, cb));

	if (mtcp_ipproto <= 0 || mtcp_ipproto >= IPPROTO_MAX) {
		pr_err("ipproto=%d is not an IP protocol number\n", mtcp_ipproto);
		return -EINVAL;
	}
	mtcp_protosw.protocol = mtcp_ipproto;
	/* SO_PEEK_OFF exactly where the kernel's TCP takes it (socket.c) */
	if (inet_stream_ops.set_peek_off)
		mtcp_protosw.ops = &mtcp_stream_peek_off_ops;
	mtcp_secret_init();

	err = mtcp_tables_init(ehash_entries);
	if (err)
		return err;
	err = mtcp_mem_init();
	if (err)
		goto free_tables;

	err = proto_register(&mtcp_prot, 1);
	if (err)
		goto free_mem;

	err = register_pernet_subsys(&mtcp_net_ops);
	if (err)
		goto unregister_proto;

	/* Returns -1, not an errno, when the slot is taken. */
	if (inet_add_protocol(&mtcp_protocol, mtcp_ipproto) < 0) {
		pr_err("IP protocol %d is already registered\n", mtcp_ipproto);
		err = -EBUSY;
		goto unregister_pernet;
	}

	/* Before the first socket: every skb we send may be segmented. */
	err = mtcp_offload_init();
	if (err) {
		pr_err("IP protocol %d already has an offload (GSO)\n", mtcp_ipproto);
		goto del_protocol;
	}

	/*
	 * inet_register_protosw() returns nothing: when a permanent protocol
	 * holds the number it refuses and leaves our entry unlinked, which
	 * inet_unregister_protosw() must never see.  (inet_add_protocol()
	 * has refused every number a permanent protosw holds: this is the
	 * belt to its braces.)
	 */
	inet_register_protosw(&mtcp_protosw);
	if (!mtcp_protosw.list.next) {
		pr_err("IP protocol %d is already registered\n", mtcp_ipproto);
		err = -EBUSY;
		goto del_offload;
	}

	pr_info("registered as IP protocol %d\n", mtcp_ipproto);
	return 0;

del_offload:
	mtcp_offload_exit();
del_protocol:
	inet_del_protocol(&mtcp_protocol, mtcp_ipproto);
unregister_pernet:
	unregister_pernet_subsys(&mtcp_net_ops);
unregister_proto:
	proto_unregister(&mtcp_prot);
free_mem:
	mtcp_mem_exit();
free_tables:
	mtcp_tables_free();
	return err;
}

static void __exit mtcp_exit(void)
{
	inet_unregister_protosw(&mtcp_protosw);
	inet_del_protocol(&mtcp_protocol, mtcp_ipproto);
	/* inet_del_protocol waited for readers; none of our handlers runs. */
	unregister_pernet_subsys(&mtcp_net_ops);
	/* No socket is left to send; an skb of ours still queued for a
	 * device is dropped instead of segmented (-EPROTONOSUPPORT).
	 */
	mtcp_offload_exit();
	proto_unregister(&mtcp_prot);
	mtcp_mem_exit();
	mtcp_tables_free();
}

module_init(mtcp_init);
module_exit(mtcp_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mini_tcp: TCP connection management as a transport protocol");
/* Autoload on socket(AF_INET, SOCK_STREAM, 253); SOCK_STREAM is an enum
 * and would be stringified by name, hence its number.
 */
MODULE_ALIAS_NET_PF_PROTO_TYPE(PF_INET, IPPROTO_MINI_TCP, 1 /* SOCK_STREAM */);
