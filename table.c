// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp: the connection tables — who owns which port, and which socket a
 * segment is for.
 *
 * Three tables, all mini_tcp's own, shared by every network namespace (the
 * namespace is part of each key):
 *
 *  - ehash: established sockets, request socks (TCP_NEW_SYN_RECV) and
 *    TIME_WAIT socks, by 4-tuple.  RCU "nulls" chains: a reader that ends on
 *    another chain's nulls marker was moved by a concurrent rehash of a
 *    SLAB_TYPESAFE_BY_RCU object and starts over.
 *  - lhash2: listeners, by (local address, port); a lookup tries the
 *    segment's address, then INADDR_ANY.  SO_REUSEPORT groups pick a member
 *    by the flow hash (sock_reuseport).
 *  - bind table: one bucket per (namespace, port, L3 master device), whose
 *    owners are every socket and TIME_WAIT sock holding that port.  bind(),
 *    listen() and connect() decide conflicts on it, with TCP's rules.
 *
 * ehash and lhash2 are laid out as struct inet_hashinfo, with the kernel's
 * hash functions (inet_ehashfn(), ipv4_portaddr_hash()): a layout every
 * supported kernel's headers describe.  Every change to them is made here;
 * /proc/net/mini_tcp (proc.c) and mini_tcp_diag (diag.c) read them under
 * the same locks.  The bind table is private: nothing outside this file
 * reads it.
 *
 * Locking:
 *  - ehash chains: the bucket's spinlock (inet_ehash_lockp()) for writers,
 *    RCU for readers;
 *  - lhash2 chains: the bucket's spinlock, taken in process context only
 *    (listen and close); readers use RCU;
 *  - bind buckets: the hash head's spinlock, BHs off.  Order: bind head
 *    lock, then ehash lock (connect() checks 4-tuple uniqueness under both).
 */
#include <linux/kernel.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <net/inet_connection_sock.h>
#include <net/inet_hashtables.h>
#include <net/inet_timewait_sock.h>
#include <net/ip.h>
#include <net/netns/hash.h>
#include <net/secure_seq.h>
#include <net/sock_reuseport.h>

#include "mini_tcp.h"

struct inet_hashinfo mtcp_hashinfo;
EXPORT_SYMBOL_NS_GPL(mtcp_hashinfo, MTCP_NS);	/* mini_tcp_diag */

struct mtcp_bind_bucket {
	possible_net_t		net;
	int			l3mdev;
	unsigned short		port;
	/*
	 * Some owner chose this port with bind(), listen() or an autobind:
	 * connect()'s ephemeral search never shares such a port (TCP's
	 * fastreuse >= 0), only ports it picked itself.
	 */
	bool			bound;
	struct hlist_node	node;
	struct hlist_head	owners;	/* sk_bind_node and tw_bind_node */
};

struct mtcp_bind_head {
	spinlock_t		lock;	/* the chain and its buckets' owners */
	struct hlist_head	chain;
};

static struct mtcp_bind_head *mtcp_bhash;
static unsigned int mtcp_bhash_mask;
static struct kmem_cache *mtcp_bind_cachep;

/* RFC 6056 algorithm 4's perturbation table for connect()'s port search. */
#define MTCP_PERTURB_SIZE	256
static u32 mtcp_perturb[MTCP_PERTURB_SIZE];

static struct mtcp_bind_head *mtcp_bind_head(const struct net *net,
					     unsigned short port)
{
	return &mtcp_bhash[(net_hash_mix(net) + port) & mtcp_bhash_mask];
}

static struct mtcp_bind_bucket *mtcp_bind_find(struct mtcp_bind_head *head,
					       const struct net *net,
					       unsigned short port, int l3mdev)
{
	struct mtcp_bind_bucket *tb;

	hlist_for_each_entry(tb, &head->chain, node)
		if (net_eq(read_pnet(&tb->net), net) && tb->port == port &&
		    tb->l3mdev == l3mdev)
			return tb;
	return NULL;
}

static struct mtcp_bind_bucket *mtcp_bind_create(struct mtcp_bind_head *head,
						 struct net *net,
						 unsigned short port,
						 int l3mdev)
{
	struct mtcp_bind_bucket *tb;

	tb = kmem_cache_alloc(mtcp_bind_cachep, GFP_ATOMIC);
	if (!tb)
		return NULL;
	write_pnet(&tb->net, net);
	tb->port = port;
	tb->l3mdev = l3mdev;
	tb->bound = false;
	INIT_HLIST_HEAD(&tb->owners);
	hlist_add_head(&tb->node, &head->chain);
	return tb;
}

static void mtcp_bind_destroy_if_empty(struct mtcp_bind_bucket *tb)
{
	if (hlist_empty(&tb->owners)) {
		__hlist_del(&tb->node);
		kmem_cache_free(mtcp_bind_cachep, tb);
	}
}

/* Under the head lock. */
static void mtcp_bind_add(struct sock *sk, struct mtcp_bind_bucket *tb)
{
	inet_sk(sk)->inet_num = tb->port;
	sk_add_bind_node(sk, &tb->owners);
	mtcp_sk(sk)->bind_bucket = tb;
}

static bool mtcp_addr_overlap(const struct sock *sk, const struct sock *sk2)
{
	return !sk->sk_rcv_saddr || !sk2->sk_rcv_saddr ||
	       sk->sk_rcv_saddr == sk2->sk_rcv_saddr;
}

/*
 * May @sk take a port @sk2 holds?  TCP's rules (inet_bind_conflict()):
 * devices must differ, or one side is not bound to one; otherwise both
 * need SO_REUSEADDR and @sk2 must not listen (with @relax: a bind();
 * an autobind wants a port nobody shares), or both need SO_REUSEPORT with
 * the same owner (a TIME_WAIT holder has none) and @reuseport_ok.
 */
static bool mtcp_bind_conflict_one(const struct sock *sk, struct sock *sk2,
				   kuid_t uid, bool relax, bool reuseport_cb_ok,
				   bool reuseport_ok)
{
	int dev2 = READ_ONCE(sk2->sk_bound_dev_if);
	bool same_owner;

	if (sk == sk2)
		return false;
	if (sk->sk_bound_dev_if && dev2 && sk->sk_bound_dev_if != dev2)
		return false;
	/* mtcp_sk_uid() reads a full socket: TIME_WAIT has no owner. */
	same_owner = sk2->sk_state == TCP_TIME_WAIT ||
		     uid_eq(uid, mtcp_sk_uid(sk2));

	if (sk->sk_reuse && sk2->sk_reuse && sk2->sk_state != TCP_LISTEN) {
		if (relax && !(!reuseport_ok && sk->sk_reuseport &&
			       sk2->sk_reuseport && reuseport_cb_ok &&
			       same_owner))
			return false;
		return mtcp_addr_overlap(sk, sk2);
	}
	if (reuseport_ok && sk->sk_reuseport && sk2->sk_reuseport &&
	    reuseport_cb_ok && same_owner)
		return false;
	return mtcp_addr_overlap(sk, sk2);
}

/* Under the head lock of @tb. */
static bool mtcp_bind_conflict(const struct sock *sk,
			       const struct mtcp_bind_bucket *tb,
			       bool relax, bool reuseport_ok)
{
	kuid_t uid = mtcp_sk_uid(sk);
	struct sock_reuseport *reuse;
	bool reuseport_cb_ok;
	struct sock *sk2;

	/* A listener's group that lost its last listener may be rejoined. */
	rcu_read_lock();
	reuse = rcu_dereference(sk->sk_reuseport_cb);
	reuseport_cb_ok = !reuse || READ_ONCE(reuse->num_closed_socks);
	rcu_read_unlock();

	sk_for_each_bound(sk2, &tb->owners)
		if (mtcp_bind_conflict_one(sk, sk2, uid, relax,
					   reuseport_cb_ok, reuseport_ok))
			return true;
	return false;
}

/*
 * An autobind (bind() to port 0, listen() or sendmsg() unbound): a random
 * free port, odd ones first: connect() starts with even ones (as TCP).
 * With ip_autobind_reuse, a second pass accepts a port shared under
 * SO_REUSEADDR.
 */
static int mtcp_autobind(struct sock *sk)
{
	int l3mdev = inet_sk_bound_l3mdev(sk);
	struct net *net = sock_net(sk);
	u32 remaining, offset, i;
	bool relax = false;
	int low, high, port;

again:
	inet_sk_get_local_port_range(sk, &low, &high);
	high++;				/* [low, high[ */
	remaining = high - low;
	if (remaining > 1)
		remaining &= ~1U;
	offset = get_random_u32() % remaining;
	offset |= 1U;
other_parity:
	port = low + offset;
	for (i = 0; i < remaining; i += 2, port += 2) {
		struct mtcp_bind_head *head;
		struct mtcp_bind_bucket *tb;

		if (port >= high)
			port -= remaining;
		if (inet_is_local_reserved_port(net, port))
			continue;
		head = mtcp_bind_head(net, port);
		spin_lock_bh(&head->lock);
		tb = mtcp_bind_find(head, net, port, l3mdev);
		if (tb && mtcp_bind_conflict(sk, tb, relax, false)) {
			spin_unlock_bh(&head->lock);
			cond_resched();
			continue;
		}
		if (!tb)
			tb = mtcp_bind_create(head, net, port, l3mdev);
		if (!tb) {
			spin_unlock_bh(&head->lock);
			return -ENOBUFS;
		}
		tb->bound = true;
		mtcp_bind_add(sk, tb);
		spin_unlock_bh(&head->lock);
		return 0;
	}
	offset--;
	if (!(offset & 1))
		goto other_parity;
	if (READ_ONCE(net->ipv4.sysctl_ip_autobind_reuse) && !relax) {
		relax = true;
		goto again;
	}
	return -EADDRINUSE;
}

/*
 * proto.get_port: bind() (and listen(), which asks again with the state
 * already TCP_LISTEN, so that two SO_REUSEADDR sockets cannot both
 * listen).  A socket already in the bucket stays there.
 */
int mtcp_get_port(struct sock *sk, unsigned short snum)
{
	int l3mdev = inet_sk_bound_l3mdev(sk);
	struct net *net = sock_net(sk);
	struct mtcp_bind_head *head;
	struct mtcp_bind_bucket *tb;
	int err = 0;

	if (!snum)
		return mtcp_autobind(sk);

	head = mtcp_bind_head(net, snum);
	spin_lock_bh(&head->lock);
	tb = mtcp_bind_find(head, net, snum, l3mdev);
	if (!tb) {
		tb = mtcp_bind_create(head, net, snum, l3mdev);
		if (!tb)
			err = -EADDRINUSE;	/* as TCP, for want of memory */
	} else if (sk->sk_reuse != SK_FORCE_REUSE &&
		   mtcp_bind_conflict(sk, tb, true, true)) {
		err = -EADDRINUSE;
	}
	if (!err) {
		tb->bound = true;
		if (!mtcp_sk(sk)->bind_bucket)
			mtcp_bind_add(sk, tb);
		WARN_ON(mtcp_sk(sk)->bind_bucket != tb);
	}
	spin_unlock_bh(&head->lock);
	return err;
}

/* Give the port back (close, a failed connect).  Clears inet_num. */
void mtcp_put_port(struct sock *sk)
{
	struct mtcp_bind_bucket *tb = mtcp_sk(sk)->bind_bucket;
	struct mtcp_bind_head *head;

	if (!tb)
		return;
	head = mtcp_bind_head(sock_net(sk), tb->port);
	spin_lock_bh(&head->lock);
	__sk_del_bind_node(sk);
	mtcp_sk(sk)->bind_bucket = NULL;
	inet_sk(sk)->inet_num = 0;
	mtcp_bind_destroy_if_empty(tb);
	spin_unlock_bh(&head->lock);
}

/*
 * A child takes its listener's port: the same bucket, or (a segment
 * redirected by TPROXY to another port) the bucket of its own port.
 */
int mtcp_inherit_port(const struct sock *sk, struct sock *child)
{
	unsigned short port = inet_sk(child)->inet_num;
	struct mtcp_bind_bucket *tb = mtcp_sk(sk)->bind_bucket;
	int l3mdev = inet_sk_bound_l3mdev(sk);
	struct net *net = sock_net(sk);
	struct mtcp_bind_head *head;

	head = mtcp_bind_head(net, port);
	spin_lock_bh(&head->lock);
	if (!tb) {
		spin_unlock_bh(&head->lock);
		return -ENOENT;
	}
	if (tb->port != port || tb->l3mdev != l3mdev) {
		tb = mtcp_bind_find(head, net, port, l3mdev) ? :
		     mtcp_bind_create(head, net, port, l3mdev);
		if (!tb) {
			spin_unlock_bh(&head->lock);
			return -ENOMEM;
		}
	}
	mtcp_bind_add(child, tb);
	spin_unlock_bh(&head->lock);
	return 0;
}

/*
 * connect() without a source address: the route's becomes the socket's.
 * Under the bind lock, so that a conflict check never sees it half-set.
 */
void mtcp_set_saddr(struct sock *sk, __be32 saddr)
{
	struct mtcp_bind_bucket *tb = mtcp_sk(sk)->bind_bucket;
	struct mtcp_bind_head *head;

	if (!tb) {
		inet_sk(sk)->inet_saddr = saddr;
		sk_rcv_saddr_set(sk, saddr);
		return;
	}
	head = mtcp_bind_head(sock_net(sk), tb->port);
	spin_lock_bh(&head->lock);
	inet_sk(sk)->inet_saddr = saddr;
	sk_rcv_saddr_set(sk, saddr);
	spin_unlock_bh(&head->lock);
}

/* The connection is gone: an address connect() chose goes with it. */
void mtcp_reset_saddr(struct sock *sk)
{
	if (!(sk->sk_userlocks & SOCK_BINDADDR_LOCK))
		mtcp_set_saddr(sk, 0);
}

/*
 * TIME_WAIT joins @sk among its port's owners (@sk leaves when it is
 * destroyed).  Returns whether it did: the port then holds a reference.
 */
bool mtcp_bind_twsk_add(struct inet_timewait_sock *tw, struct sock *sk)
{
	struct mtcp_bind_bucket *tb = mtcp_sk(sk)->bind_bucket;
	struct mtcp_bind_head *head;

	if (WARN_ON_ONCE(!tb))
		return false;
	head = mtcp_bind_head(sock_net(sk), tb->port);
	spin_lock_bh(&head->lock);
	mtcp_twsk((struct sock *)tw)->bind_bucket = tb;
	hlist_add_head(&tw->tw_bind_node, &tb->owners);
	spin_unlock_bh(&head->lock);
	return true;
}

/* Returns whether @tw was an owner (each holds a reference for it). */
static bool mtcp_bind_twsk_del(struct inet_timewait_sock *tw)
{
	struct mtcp_timewait_sock *mtw = mtcp_twsk((struct sock *)tw);
	struct mtcp_bind_bucket *tb = mtw->bind_bucket;
	struct mtcp_bind_head *head;

	if (!tb)
		return false;
	head = mtcp_bind_head(twsk_net(tw), tb->port);
	spin_lock_bh(&head->lock);
	__hlist_del(&tw->tw_bind_node);
	mtw->bind_bucket = NULL;
	mtcp_bind_destroy_if_empty(tb);
	spin_unlock_bh(&head->lock);
	return true;
}

/* ------------------------------------------------------------- ehash */

static u32 mtcp_sk_ehashfn(const struct sock *sk)
{
	return inet_ehashfn(sock_net(sk), sk->sk_rcv_saddr, sk->sk_num,
			    sk->sk_daddr, sk->sk_dport);
}

static bool mtcp_ehash_match(const struct sock *sk, const struct net *net,
			     __be32 saddr, __be16 sport, __be32 daddr,
			     u16 hnum, int dif, int sdif)
{
	return net_eq(sock_net(sk), net) && sk->sk_num == hnum &&
	       sk->sk_dport == sport && sk->sk_daddr == saddr &&
	       sk->sk_rcv_saddr == daddr &&
	       inet_sk_bound_dev_eq((struct net *)net,
				    READ_ONCE(sk->sk_bound_dev_if), dif, sdif);
}

/*
 * The socket, request sock or TIME_WAIT sock for a segment from
 * saddr:sport to daddr:hnum, with a reference, or NULL.
 */
struct sock *mtcp_lookup_established(struct net *net, __be32 saddr,
				     __be16 sport, __be32 daddr, u16 hnum,
				     int dif, int sdif)
{
	u32 hash = inet_ehashfn(net, daddr, hnum, saddr, sport);
	unsigned int slot = hash & mtcp_hashinfo.ehash_mask;
	struct inet_ehash_bucket *head = &mtcp_hashinfo.ehash[slot];
	struct hlist_nulls_node *node;
	struct sock *sk;

	rcu_read_lock();
begin:
	sk_nulls_for_each_rcu(sk, node, &head->chain) {
		if (sk->sk_hash != hash ||
		    !mtcp_ehash_match(sk, net, saddr, sport, daddr, hnum,
				      dif, sdif))
			continue;
		if (unlikely(!refcount_inc_not_zero(&sk->sk_refcnt)))
			goto out;	/* being freed: as good as gone */
		/* SLAB_TYPESAFE_BY_RCU: it may have been reused meanwhile. */
		if (unlikely(!mtcp_ehash_match(sk, net, saddr, sport, daddr,
					       hnum, dif, sdif))) {
			mtcp_sock_gen_put(sk);
			goto begin;
		}
		rcu_read_unlock();
		return sk;
	}
	/* Moved to another chain while we walked: start over. */
	if (get_nulls_value(node) != slot)
		goto begin;
out:
	rcu_read_unlock();
	return NULL;
}
EXPORT_SYMBOL_NS_GPL(mtcp_lookup_established, MTCP_NS);	/* mini_tcp_diag */

/*
 * Put a socket or request sock into ehash, replacing @osk (a request sock
 * its child takes over) if given; else, with @found_dup, refuse if the
 * 4-tuple is taken.  Returns false if @osk was already gone or the tuple
 * taken.
 */
bool mtcp_ehash_insert(struct sock *sk, struct sock *osk,
		       bool *found_dup)
{
	struct inet_ehash_bucket *head;
	struct hlist_nulls_node *node;
	spinlock_t *lock;	/* the ehash chain's */
	struct sock *esk;
	bool ok = true;

	WARN_ON_ONCE(!sk_unhashed(sk));
	sk->sk_hash = mtcp_sk_ehashfn(sk);
	head = inet_ehash_bucket(&mtcp_hashinfo, sk->sk_hash);
	lock = inet_ehash_lockp(&mtcp_hashinfo, sk->sk_hash);

	spin_lock_bh(lock);
	if (osk) {
		WARN_ON_ONCE(sk->sk_hash != osk->sk_hash);
		ok = sk_nulls_del_node_init_rcu(osk);
	} else if (found_dup) {
		*found_dup = false;
		sk_nulls_for_each(esk, node, &head->chain) {
			if (esk->sk_hash == sk->sk_hash &&
			    mtcp_ehash_match(esk, sock_net(sk), sk->sk_daddr,
					     sk->sk_dport, sk->sk_rcv_saddr,
					     sk->sk_num, sk->sk_bound_dev_if,
					     0)) {
				*found_dup = true;
				ok = false;
				break;
			}
		}
	}
	if (ok)
		__sk_nulls_add_node_rcu(sk, &head->chain);
	spin_unlock_bh(lock);
	return ok;
}

/*
 * A new full socket into ehash (a child).  On failure it is destroyed
 * here, as an orphan; the caller keeps its reference and lock.
 */
bool mtcp_ehash_nolisten(struct sock *sk, struct sock *osk,
			 bool *found_dup)
{
	if (mtcp_ehash_insert(sk, osk, found_dup)) {
		sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
		return true;
	}
	this_cpu_inc(mtcp_orphan_count);
	inet_sk_set_state(sk, TCP_CLOSE);
	sock_set_flag(sk, SOCK_DEAD);
	mtcp_csk_destroy(sk);
	return false;
}

/* Take a request sock out of ehash; true if it was there. */
bool mtcp_ehash_remove_req(struct request_sock *req)
{
	struct sock *sk = req_to_sk(req);
	spinlock_t *lock;	/* the ehash chain's */
	bool found;

	if (!sk_hashed(sk))
		return false;
	lock = inet_ehash_lockp(&mtcp_hashinfo, req->rsk_hash);
	spin_lock_bh(lock);
	found = __sk_nulls_del_node_init_rcu(sk);
	spin_unlock_bh(lock);
	return found;
}

/*
 * TIME_WAIT takes @sk's ehash slot, in one step under the chain lock, so
 * that a lookup finds one or the other.  BHs off.
 */
void mtcp_ehash_twsk_replace(struct inet_timewait_sock *tw, struct sock *sk)
{
	struct inet_ehash_bucket *head = inet_ehash_bucket(&mtcp_hashinfo,
							   sk->sk_hash);
	spinlock_t *lock = inet_ehash_lockp(&mtcp_hashinfo, sk->sk_hash);

	spin_lock(lock);
	hlist_nulls_add_head_rcu(&tw->tw_node, &head->chain);
	if (__sk_nulls_del_node_init_rcu(sk))
		sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
	spin_unlock(lock);
}

/* TIME_WAIT is over: out of ehash and its port, dropping their references. */
void mtcp_twsk_unhash(struct inet_timewait_sock *tw)
{
	spinlock_t *lock = inet_ehash_lockp(&mtcp_hashinfo, tw->tw_hash);

	spin_lock(lock);
	sk_nulls_del_node_init_rcu((struct sock *)tw);	/* puts ehash's ref */
	spin_unlock(lock);
	if (mtcp_bind_twsk_del(tw))
		__sock_put((struct sock *)tw);		/* the port's */
}

/*
 * Is the 4-tuple @sk would have with local port @lport free?  If so @sk
 * takes it: port numbers set, into ehash.  Under the bind head lock.
 * A TIME_WAIT sock on the tuple makes it taken: mini_tcp has no
 * timestamps to tell an old duplicate from the new connection's segments
 * (TCP's tw_reuse needs them).
 */
static bool mtcp_ehash_claim(struct sock *sk, u16 lport)
{
	struct net *net = sock_net(sk);
	struct inet_ehash_bucket *head;
	struct hlist_nulls_node *node;
	spinlock_t *lock;	/* the ehash chain's */
	struct sock *sk2;
	u32 hash;

	hash = inet_ehashfn(net, sk->sk_rcv_saddr, lport, sk->sk_daddr,
			    sk->sk_dport);
	head = inet_ehash_bucket(&mtcp_hashinfo, hash);
	lock = inet_ehash_lockp(&mtcp_hashinfo, hash);

	spin_lock(lock);
	sk_nulls_for_each(sk2, node, &head->chain) {
		if (sk2->sk_hash == hash &&
		    mtcp_ehash_match(sk2, net, sk->sk_daddr, sk->sk_dport,
				     sk->sk_rcv_saddr, lport,
				     sk->sk_bound_dev_if, 0)) {
			spin_unlock(lock);
			return false;
		}
	}
	inet_sk(sk)->inet_num = lport;
	inet_sk(sk)->inet_sport = htons(lport);
	sk->sk_hash = hash;
	WARN_ON(!sk_unhashed(sk));
	__sk_nulls_add_node_rcu(sk, &head->chain);
	spin_unlock(lock);
	sock_prot_inuse_add(net, sk->sk_prot, 1);
	return true;
}

/*
 * connect(): into ehash with a unique 4-tuple.  A bound socket keeps its
 * port; else the port is searched as RFC 6056 algorithm 4 (TCP's): from a
 * keyed hash of the addresses and destination port, plus a perturbation
 * that moves on with each use, even ports first.  Ports that bind() chose
 * are never shared; ports connect() chose are, by connections to other
 * destinations.
 */
int mtcp_hash_connect(struct sock *sk)
{
	int l3mdev = inet_sk_bound_l3mdev(sk);
	struct inet_sock *inet = inet_sk(sk);
	struct mtcp_bind_bucket *tb;
	struct net *net = sock_net(sk);
	struct mtcp_bind_head *head;
	u32 remaining, offset, index;
	int low, high, port, i;
	u64 port_offset;

	tb = mtcp_sk(sk)->bind_bucket;
	if (tb) {
		int err = 0;

		head = mtcp_bind_head(net, tb->port);
		spin_lock_bh(&head->lock);
		if (!mtcp_ehash_claim(sk, tb->port))
			err = -EADDRNOTAVAIL;
		spin_unlock_bh(&head->lock);
		return err;
	}

	inet_sk_get_local_port_range(sk, &low, &high);
	high++;				/* [low, high[ */
	remaining = high - low;
	if (remaining > 1)
		remaining &= ~1U;

	port_offset = secure_ipv4_port_ephemeral(inet->inet_rcv_saddr,
						 inet->inet_daddr,
						 inet->inet_dport);
	index = port_offset & (MTCP_PERTURB_SIZE - 1);
	offset = READ_ONCE(mtcp_perturb[index]) + (port_offset >> 32);
	offset %= remaining;
	offset &= ~1U;			/* even ports first */
other_parity:
	port = low + offset;
	for (i = 0; i < remaining; i += 2, port += 2) {
		if (port >= high)
			port -= remaining;
		if (inet_is_local_reserved_port(net, port))
			continue;
		head = mtcp_bind_head(net, port);
		spin_lock_bh(&head->lock);
		tb = mtcp_bind_find(head, net, port, l3mdev);
		if (tb) {
			if (!tb->bound && mtcp_ehash_claim(sk, port))
				goto found;
		} else {
			tb = mtcp_bind_create(head, net, port, l3mdev);
			if (!tb) {
				spin_unlock_bh(&head->lock);
				return -ENOMEM;
			}
			if (mtcp_ehash_claim(sk, port))
				goto found;
			mtcp_bind_destroy_if_empty(tb);
		}
		spin_unlock_bh(&head->lock);
		cond_resched();
	}
	offset++;
	if ((offset & 1) && remaining > 1)
		goto other_parity;
	return -EADDRNOTAVAIL;

found:
	mtcp_bind_add(sk, tb);
	spin_unlock_bh(&head->lock);
	/* Move the next search on, a little at random (as TCP). */
	i = max_t(int, i, (get_random_u32() & 7) * 2);
	WRITE_ONCE(mtcp_perturb[index], READ_ONCE(mtcp_perturb[index]) + i + 2);
	return 0;
}

/* ----------------------------------------------------------- listeners */

static struct inet_listen_hashbucket *mtcp_lhash2_bucket(const struct net *net,
							 __be32 addr, u16 port)
{
	u32 hash = ipv4_portaddr_hash(net, addr, port);

	return &mtcp_hashinfo.lhash2[hash & mtcp_hashinfo.lhash2_mask];
}

/* Join the SO_REUSEPORT group of a listener on the same address, or start one. */
static int mtcp_reuseport_add(struct sock *sk,
			      struct inet_listen_hashbucket *ilb2)
{
	kuid_t uid = mtcp_sk_uid(sk);
	struct hlist_nulls_node *node;
	struct sock *sk2;

	sk_nulls_for_each_rcu(sk2, node, &ilb2->nulls_head) {
		if (sk2 != sk && sk2->sk_reuseport &&
		    sk2->sk_bound_dev_if == sk->sk_bound_dev_if &&
		    mtcp_sk(sk2)->bind_bucket == mtcp_sk(sk)->bind_bucket &&
		    sk2->sk_rcv_saddr == sk->sk_rcv_saddr &&
		    sk2->sk_state == TCP_LISTEN &&
		    uid_eq(uid, mtcp_sk_uid(sk2)))
			return reuseport_add_sock(sk, sk2, !sk->sk_rcv_saddr);
	}
	return reuseport_alloc(sk, !sk->sk_rcv_saddr);
}

/* proto.hash: a listener into lhash2 (others go through ehash functions). */
int mtcp_hash_sk(struct sock *sk)
{
	struct inet_listen_hashbucket *ilb2;
	int err = 0;

	if (sk->sk_state != TCP_LISTEN) {
		if (sk->sk_state != TCP_CLOSE &&
		    mtcp_ehash_insert(sk, NULL, NULL))
			sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
		return 0;
	}
	ilb2 = mtcp_lhash2_bucket(sock_net(sk), sk->sk_rcv_saddr, sk->sk_num);
	spin_lock(&ilb2->lock);
	if (sk->sk_reuseport) {
		err = mtcp_reuseport_add(sk, ilb2);
		if (err)
			goto unlock;
	}
	__sk_nulls_add_node_rcu(sk, &ilb2->nulls_head);
	/* Lookups hold no reference on a listener: free it after a grace period. */
	sock_set_flag(sk, SOCK_RCU_FREE);
	sock_prot_inuse_add(sock_net(sk), sk->sk_prot, 1);
unlock:
	spin_unlock(&ilb2->lock);
	return err;
}

/* proto.unhash: out of lhash2 or ehash, whichever the state says. */
void mtcp_unhash(struct sock *sk)
{
	if (sk_unhashed(sk))
		return;

	if (sk->sk_state == TCP_LISTEN) {
		struct inet_listen_hashbucket *ilb2;

		ilb2 = mtcp_lhash2_bucket(sock_net(sk), sk->sk_rcv_saddr,
					  sk->sk_num);
		spin_lock(&ilb2->lock);
		if (rcu_access_pointer(sk->sk_reuseport_cb))
			reuseport_detach_sock(sk);
		if (__sk_nulls_del_node_init_rcu(sk))
			sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
		spin_unlock(&ilb2->lock);
	} else {
		spinlock_t *lock = inet_ehash_lockp(&mtcp_hashinfo, sk->sk_hash);

		spin_lock_bh(lock);
		if (__sk_nulls_del_node_init_rcu(sk))
			sock_prot_inuse_add(sock_net(sk), sk->sk_prot, -1);
		spin_unlock_bh(lock);
	}
}

/* TCP's scoring: a device match beats none; the CPU that takes the flow wins ties. */
static int mtcp_listener_score(struct sock *sk, const struct net *net,
			       u16 hnum, __be32 daddr, int dif, int sdif)
{
	int score;

	if (!net_eq(sock_net(sk), net) || sk->sk_num != hnum ||
	    sk->sk_rcv_saddr != daddr ||
	    !inet_sk_bound_dev_eq((struct net *)net, sk->sk_bound_dev_if,
				  dif, sdif))
		return -1;
	score = sk->sk_bound_dev_if ? 2 : 1;
	if (READ_ONCE(sk->sk_incoming_cpu) == raw_smp_processor_id())
		score++;
	return score;
}

static struct sock *mtcp_lhash2_lookup(const struct net *net,
				       struct inet_listen_hashbucket *ilb2,
				       struct sk_buff *skb, int doff,
				       __be32 saddr, __be16 sport,
				       __be32 daddr, u16 hnum,
				       int dif, int sdif)
{
	struct sock *sk, *result = NULL;
	struct hlist_nulls_node *node;
	int score, hiscore = 0;

	sk_nulls_for_each_rcu(sk, node, &ilb2->nulls_head) {
		score = mtcp_listener_score(sk, net, hnum, daddr, dif, sdif);
		if (score <= hiscore)
			continue;
		if (sk->sk_reuseport) {
			u32 phash = inet_ehashfn(net, daddr, hnum, saddr, sport);
			struct sock *rsk = reuseport_select_sock(sk, phash,
								 skb, doff);

			if (rsk)
				return rsk;
		}
		result = sk;
		hiscore = score;
	}
	return result;
}

/*
 * The listener for a segment, under rcu_read_lock(), without a reference.
 * @skb may be NULL (no SO_REUSEPORT BPF program then, the flow hash only).
 */
struct sock *mtcp_lookup_listener(const struct net *net, struct sk_buff *skb,
				  int doff, __be32 saddr, __be16 sport,
				  __be32 daddr, u16 hnum, int dif, int sdif)
{
	struct sock *sk;

	sk = mtcp_lhash2_lookup(net, mtcp_lhash2_bucket(net, daddr, hnum),
				skb, doff, saddr, sport, daddr, hnum, dif, sdif);
	if (sk)
		return sk;
	return mtcp_lhash2_lookup(net, mtcp_lhash2_bucket(net, htonl(INADDR_ANY),
							  hnum),
				  skb, doff, saddr, sport, htonl(INADDR_ANY),
				  hnum, dif, sdif);
}
EXPORT_SYMBOL_NS_GPL(mtcp_lookup_listener, MTCP_NS);	/* mini_tcp_diag */

/*
 * The socket a received segment is for: a connection (with a reference,
 * *refcounted set) or else a listener (RCU-protected, no reference).
 */
struct sock *mtcp_lookup_skb(struct net *net, struct sk_buff *skb, int doff,
			     __be16 sport, __be16 dport, int sdif,
			     bool *refcounted)
{
	const struct iphdr *iph = ip_hdr(skb);
	u16 hnum = ntohs(dport);
	struct sock *sk;

	sk = mtcp_lookup_established(net, iph->saddr, sport, iph->daddr,
				     hnum, inet_iif(skb), sdif);
	*refcounted = true;
	if (sk)
		return sk;
	*refcounted = false;
	return mtcp_lookup_listener(net, skb, doff, iph->saddr, sport,
				    iph->daddr, hnum, inet_iif(skb), sdif);
}

/* ------------------------------------------------------- setup, teardown */

int mtcp_tables_init(unsigned int ehash_entries)
{
	struct inet_hashinfo *h = &mtcp_hashinfo;
	unsigned int i, nbind, nlocks;

	if (!ehash_entries || !is_power_of_2(ehash_entries) ||
	    ehash_entries > (1U << 24)) {
		pr_err("ehash_entries must be a power of 2 up to 2^24\n");
		return -EINVAL;
	}
	nbind = min(ehash_entries, 65536U);
	/* One lock for every few chains, as the kernel sizes its own. */
	nlocks = min(roundup_pow_of_two(4 * num_possible_cpus() * 64U),
		     ehash_entries);

	mtcp_bind_cachep = kmem_cache_create("mini_tcp_bind_bucket",
					     sizeof(struct mtcp_bind_bucket),
					     0, SLAB_HWCACHE_ALIGN, NULL);
	h->ehash = kvmalloc_array(ehash_entries, sizeof(*h->ehash), GFP_KERNEL);
	h->ehash_locks = kvmalloc_array(nlocks, sizeof(spinlock_t), GFP_KERNEL);
	h->lhash2 = kvmalloc_array(nbind, sizeof(*h->lhash2), GFP_KERNEL);
	mtcp_bhash = kvmalloc_array(nbind, sizeof(*mtcp_bhash), GFP_KERNEL);
	if (!mtcp_bind_cachep || !h->ehash || !h->ehash_locks || !h->lhash2 ||
	    !mtcp_bhash) {
		mtcp_tables_free();
		return -ENOMEM;
	}

	h->ehash_mask = ehash_entries - 1;
	for (i = 0; i < ehash_entries; i++)
		INIT_HLIST_NULLS_HEAD(&h->ehash[i].chain, i);
	h->ehash_locks_mask = nlocks - 1;
	for (i = 0; i < nlocks; i++)
		spin_lock_init(&h->ehash_locks[i]);
	h->lhash2_mask = nbind - 1;
	for (i = 0; i < nbind; i++) {
		spin_lock_init(&h->lhash2[i].lock);
		INIT_HLIST_NULLS_HEAD(&h->lhash2[i].nulls_head,
				      i + LISTENING_NULLS_BASE);
	}
	mtcp_bhash_mask = nbind - 1;
	for (i = 0; i < nbind; i++) {
		spin_lock_init(&mtcp_bhash[i].lock);
		INIT_HLIST_HEAD(&mtcp_bhash[i].chain);
	}
	get_random_bytes(mtcp_perturb, sizeof(mtcp_perturb));
	return 0;
}

/* After every socket is gone (each holds a module reference). */
void mtcp_tables_free(void)
{
	struct inet_hashinfo *h = &mtcp_hashinfo;

	kvfree(mtcp_bhash);
	mtcp_bhash = NULL;
	kvfree(h->lhash2);
	kvfree(h->ehash_locks);
	kvfree(h->ehash);
	memset(h, 0, sizeof(*h));
	kmem_cache_destroy(mtcp_bind_cachep);
	mtcp_bind_cachep = NULL;
}
