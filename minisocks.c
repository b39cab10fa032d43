// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp: the small socks and the queues between them — request socks and
 * their SYN-ACK timer, the accept queue, TIME_WAIT socks and their timer,
 * and the end of a full socket.
 *
 * The kernel's inet_connection_sock code has all of these, but from 6.16 on
 * (DCCP gone) it no longer exports them, and where it does it works on
 * TCP's tables.  These are written for mini_tcp's (table.c).
 *
 * References:
 *  - a request sock in ehash holds three: the table's, its timer's, and
 *    one for the accept queue (given to the child's entry there);
 *  - a TIME_WAIT sock holds three: ehash's, its port's, its timer's.
 * Each is dropped by whoever takes the request or sock out of that place.
 */
#include <linux/kernel.h>
#include <net/inet_connection_sock.h>
#include <net/inet_timewait_sock.h>
#include <net/request_sock.h>
#include <net/xfrm.h>

#include "compat.h"
#include "mini_tcp.h"

/* ------------------------------------------------------- a full socket */

/*
 * The last of a closed, orphaned socket (inet_csk_destroy_sock()): what
 * proto.destroy does not free, the orphan count, the caller's reference.
 */
void mtcp_csk_destroy(struct sock *sk)
{
	WARN_ON(sk->sk_state != TCP_CLOSE);
	WARN_ON(!sock_flag(sk, SOCK_DEAD));
	WARN_ON(!sk_unhashed(sk));

	sk->sk_prot->destroy(sk);
	sk_stream_kill_queues(sk);
	xfrm_sk_free_policy(sk);
	this_cpu_dec(mtcp_orphan_count);
	sock_put(sk);
}

/*
 * A child that cannot live (no route, no port): an orphan from the start,
 * unlocked and with its clone reference dropped, ready for mtcp_done().
 */
void mtcp_prepare_forced_close(struct sock *sk)
	__releases(&sk->sk_lock.slock)
{
	bh_unlock_sock(sk);	/* locked by sk_clone_lock() */
	sock_put(sk);
	sock_set_flag(sk, SOCK_DEAD);
	this_cpu_inc(mtcp_orphan_count);
}

/* ------------------------------------------------------- request socks */

/*
 * A request sock for listener @sk (which it holds a reference on, if
 * @attach), as reqsk_alloc() + inet_reqsk_alloc(): identity, addresses and
 * options come from the SYN (mtcp_init_req()).  No reference yet.
 */
struct request_sock *mtcp_reqsk_alloc(struct sock *sk, bool attach)
{
	const struct request_sock_ops *ops = &mtcp_request_sock_ops;
	struct inet_request_sock *ireq;
	struct request_sock *req;

	req = kmem_cache_alloc(ops->slab, GFP_ATOMIC | __GFP_NOWARN);
	if (!req)
		return NULL;
	req->rsk_listener = NULL;
	if (attach) {
		if (unlikely(!refcount_inc_not_zero(&sk->sk_refcnt))) {
			kmem_cache_free(ops->slab, req);
			return NULL;
		}
		req->rsk_listener = sk;
	}
	req->rsk_ops = ops;
	req_to_sk(req)->sk_prot = sk->sk_prot;
	sk_node_init(&req_to_sk(req)->sk_node);
	sk_tx_queue_clear(req_to_sk(req));
	req->saved_syn = NULL;
	req->num_timeout = 0;
	req->num_retrans = 0;
	req->sk = NULL;
	refcount_set(&req->rsk_refcnt, 0);

	ireq = inet_rsk(req);
	ireq->ireq_opt = NULL;
#if IS_ENABLED(CONFIG_IPV6)
	ireq->pktopts = NULL;
#endif
	atomic64_set(&ireq->ir_cookie, 0);
	ireq->ireq_state = TCP_NEW_SYN_RECV;
	write_pnet(&ireq->ireq_net, sock_net(sk));
	ireq->ireq_family = sk->sk_family;
	return req;
}

/* The last reference is gone (reqsk_free(), on every kernel's terms). */
void mtcp_reqsk_free(struct request_sock *req)
{
	req->rsk_ops->destructor(req);
	if (req->rsk_listener)
		sock_put(req->rsk_listener);
	kfree(req->saved_syn);
	kmem_cache_free(req->rsk_ops->slab, req);
}

void mtcp_reqsk_put(struct request_sock *req)
{
	if (refcount_dec_and_test(&req->rsk_refcnt))
		mtcp_reqsk_free(req);
}

static void mtcp_reqsk_timer(struct timer_list *t);

/* Retransmit a SYN-ACK; the retransmission counts if it went out. */
int mtcp_rtx_syn_ack(const struct sock *sk, struct request_sock *req)
{
	int err = mtcp_v4_rtx_synack(sk, req);

	if (!err)
		req->num_retrans++;
	return err;
}

/*
 * A new request sock into ehash, its SYN-ACK timer armed.  False if a
 * request for the same 4-tuple got there first (the caller frees @req).
 */
bool mtcp_reqsk_hash_add(struct sock *sk, struct request_sock *req,
			 unsigned long timeout)
{
	bool dup;

	if (!mtcp_ehash_insert(req_to_sk(req), NULL, &dup))
		return false;
	timer_setup(&req->rsk_timer, mtcp_reqsk_timer, TIMER_PINNED);
	mod_timer(&req->rsk_timer, jiffies + timeout);
	/* Every field is written before a lookup can take a reference. */
	smp_wmb();
	refcount_set(&req->rsk_refcnt, 2 + 1);
	inet_csk_reqsk_queue_added(sk);
	return true;
}

/*
 * Forget a request: out of ehash (its reference), its timer stopped unless
 * we are that timer (its reference).  True if it was still in ehash.
 */
static bool __mtcp_reqsk_drop(struct sock *sk, struct request_sock *req,
			      bool from_timer)
{
	bool unlinked = mtcp_ehash_remove_req(req);

	if (!from_timer && timer_delete_sync(&req->rsk_timer))
		mtcp_reqsk_put(req);
	if (unlinked) {
		reqsk_queue_removed(&inet_csk(sk)->icsk_accept_queue, req);
		mtcp_reqsk_put(req);
	}
	return unlinked;
}

bool mtcp_reqsk_drop(struct sock *sk, struct request_sock *req)
{
	return __mtcp_reqsk_drop(sk, req, false);
}

void mtcp_reqsk_drop_and_put(struct sock *sk, struct request_sock *req)
{
	mtcp_reqsk_drop(sk, req);
	mtcp_reqsk_put(req);
}

/*
 * The SYN-ACK timer: retransmit with exponential backoff, up to the
 * listener's SYN-ACK retries.  When the request queue is more than half
 * full and mostly of requests that have already timed out once, old ones
 * get fewer tries, so that young ones keep room (reqsk_timer_handler()).
 */
static void mtcp_reqsk_timer(struct timer_list *t)
{
	struct request_sock *req = mtcp_from_timer(req, t, rsk_timer);
	struct sock *sk = req->rsk_listener;
	struct request_sock_queue *queue = &inet_csk(sk)->icsk_accept_queue;
	int max_retries, qlen;

	if (inet_sk_state_load(sk) != TCP_LISTEN)
		goto drop;

	max_retries = READ_ONCE(inet_csk(sk)->icsk_syn_retries) ? :
		      READ_ONCE(mtcp_pernet(sock_net(sk))->sysctl_synack_retries);
	qlen = reqsk_queue_len(queue);
	if ((qlen << 1) > max(8U, READ_ONCE(sk->sk_max_ack_backlog))) {
		int young = reqsk_queue_len_young(queue) << 1;

		while (max_retries > 2) {
			if (qlen < young)
				break;
			max_retries--;
			young <<= 1;
		}
	}
	/* Out of tries, or no SYN-ACK could be sent for a request not acked. */
	if (req->num_timeout >= max_retries ||
	    (mtcp_rtx_syn_ack(sk, req) && !inet_rsk(req)->acked))
		goto drop;

	if (req->num_timeout++ == 0)
		atomic_dec(&queue->young);
	mod_timer(&req->rsk_timer,
		  jiffies + min_t(unsigned long,
				  (unsigned long)MTCP_TIMEOUT_INIT << req->num_timeout,
				  MTCP_RTO_MAX));
	return;
drop:
	__mtcp_reqsk_drop(req->rsk_listener, req, true);
	mtcp_reqsk_put(req);		/* the timer's */
}

/* ------------------------------------------------------- accept queue */

/*
 * The child of listener @sk for request @req: a copy of the listener,
 * locked, in SYN_RECEIVED with the request's identity.  The kernel's
 * inet_csk_clone_lock() where it is exported (it also runs the LSM's
 * inet_csk_clone hook, which a module cannot call); else the same here.
 */
struct sock *mtcp_csk_clone_lock(const struct sock *sk,
				 const struct request_sock *req, gfp_t prio)
{
#ifdef MTCP_HAVE_EXPORT_INET_CSK_CLONE_LOCK
	return inet_csk_clone_lock(sk, req, prio);
#else
	const struct inet_request_sock *ireq = inet_rsk(req);
	struct inet_connection_sock *newicsk;
	struct sock *newsk;

	newsk = sk_clone_lock(sk, prio);
	if (!newsk)
		return NULL;
	newicsk = inet_csk(newsk);
	inet_sk_set_state(newsk, TCP_SYN_RECV);
	newicsk->icsk_bind_hash = NULL;
	inet_sk(newsk)->inet_dport = ireq->ir_rmt_port;
	inet_sk(newsk)->inet_num = ireq->ir_num;
	inet_sk(newsk)->inet_sport = htons(ireq->ir_num);
	/* Listeners are freed after an RCU grace period, not their children. */
	sock_reset_flag(newsk, SOCK_RCU_FREE);
	inet_sk(newsk)->mc_list = NULL;
	newsk->sk_mark = ireq->ir_mark;
	atomic64_set(&newsk->sk_cookie, atomic64_read(&ireq->ir_cookie));
	newicsk->icsk_retransmits = 0;
	newicsk->icsk_backoff = 0;
	newicsk->icsk_probes_out = 0;
	/* Not a listener: its accept queue must never be used. */
	memset(&newicsk->icsk_accept_queue, 0,
	       sizeof(newicsk->icsk_accept_queue));
	return newsk;
#endif
}

/*
 * A child whose listener has closed: reset and destroyed like an orphan
 * (inet_child_forget()).  Both locked by the caller.
 */
static void mtcp_child_forget(struct sock *sk, struct sock *child)
{
	sk->sk_prot->disconnect(child, O_NONBLOCK);
	sock_orphan(child);
	this_cpu_inc(mtcp_orphan_count);
	mtcp_csk_destroy(child);
}

/*
 * The child goes to the accept queue with the request that made it.
 * NULL if the listener closed meanwhile: the child is then reset.
 */
struct sock *mtcp_accept_queue_add(struct sock *sk, struct request_sock *req,
				   struct sock *child)
{
	struct request_sock_queue *queue = &inet_csk(sk)->icsk_accept_queue;

	spin_lock(&queue->rskq_lock);
	if (unlikely(sk->sk_state != TCP_LISTEN)) {
		mtcp_child_forget(sk, child);
		child = NULL;
	} else {
		req->sk = child;
		req->dl_next = NULL;
		if (!queue->rskq_accept_head)
			WRITE_ONCE(queue->rskq_accept_head, req);
		else
			queue->rskq_accept_tail->dl_next = req;
		queue->rskq_accept_tail = req;
		sk_acceptq_added(sk);
	}
	spin_unlock(&queue->rskq_lock);
	return child;
}

/*
 * The ACK that completes a request made @child, and the insertion into
 * ehash decided (@own_req) whether this CPU won the request: then the
 * request leaves the request queue for the accept queue.  Returns the
 * child, locked, or NULL.
 */
struct sock *mtcp_complete_hashdance(struct sock *sk, struct sock *child,
				     struct request_sock *req, bool own_req)
{
	if (own_req) {
		/* ehash already swapped it for the child: only the timer. */
		mtcp_reqsk_drop(sk, req);
		reqsk_queue_removed(&inet_csk(sk)->icsk_accept_queue, req);
		if (mtcp_accept_queue_add(sk, req, child))
			return child;
	}
	/* Another CPU owns the request (or the listener is gone): undo. */
	__acquire(child);	/* locked by sk_clone_lock() */
	bh_unlock_sock(child);
	sock_put(child);
	return NULL;
}

#ifndef MTCP_HAVE_EXPORT_INET_CSK_ACCEPT
/* Wait for a child in the accept queue; called with the listener locked. */
static int mtcp_wait_for_connect(struct sock *sk, long timeo)
{
	struct request_sock_queue *queue = &inet_csk(sk)->icsk_accept_queue;
	DEFINE_WAIT(wait);
	int err;

	for (;;) {
		prepare_to_wait_exclusive(sk_sleep(sk), &wait,
					  TASK_INTERRUPTIBLE);
		release_sock(sk);
		if (reqsk_queue_empty(queue))
			timeo = schedule_timeout(timeo);
		lock_sock(sk);
		err = 0;
		if (!reqsk_queue_empty(queue))
			break;
		err = -EINVAL;
		if (sk->sk_state != TCP_LISTEN)
			break;
		err = sock_intr_errno(timeo);
		if (signal_pending(current))
			break;
		err = -EAGAIN;
		if (!timeo)
			break;
	}
	finish_wait(sk_sleep(sk), &wait);
	return err;
}

/*
 * proto.accept where the kernel no longer exports inet_csk_accept() (its
 * memory cgroup charge of the child moved to inet_accept() then).
 */
struct sock *mtcp_csk_accept(struct sock *sk, struct proto_accept_arg *arg)
{
	struct request_sock_queue *queue = &inet_csk(sk)->icsk_accept_queue;
	struct request_sock *req = NULL;
	struct sock *newsk = NULL;
	int err;

	lock_sock(sk);
	err = -EINVAL;
	if (sk->sk_state != TCP_LISTEN)
		goto out;
	if (reqsk_queue_empty(queue)) {
		long timeo = sock_rcvtimeo(sk, arg->flags & O_NONBLOCK);

		err = -EAGAIN;
		if (!timeo)
			goto out;
		err = mtcp_wait_for_connect(sk, timeo);
		if (err)
			goto out;
	}
	req = reqsk_queue_remove(queue, sk);
	arg->is_empty = reqsk_queue_empty(queue);
	newsk = req->sk;
out:
	release_sock(sk);
	if (req)
		mtcp_reqsk_put(req);
	else
		arg->err = err;
	return newsk;
}
#endif

/* listen(): an empty accept queue, TCP_LISTEN, a port, into lhash2. */
int mtcp_listen_start(struct sock *sk, int next_state)
{
	struct request_sock_queue *queue = &inet_csk(sk)->icsk_accept_queue;
	struct inet_sock *inet = inet_sk(sk);
	int err;

	memset(queue, 0, sizeof(*queue));
	spin_lock_init(&queue->rskq_lock);
	spin_lock_init(&queue->fastopenq.lock);
	WRITE_ONCE(sk->sk_ack_backlog, 0);
	inet_csk_delack_init(sk);

	/*
	 * The state first: the port check below must see a listener (two
	 * SO_REUSEADDR sockets may share a port, but not both listen on it).
	 */
	inet_sk_set_state(sk, next_state);
	err = sk->sk_prot->get_port(sk, inet->inet_num);
	if (!err) {
		inet->inet_sport = htons(inet->inet_num);
		sk_dst_reset(sk);
		err = sk->sk_prot->hash(sk);
		if (!err)
			return 0;
	}
	inet_sk_set_state(sk, TCP_CLOSE);
	return err;
}

/*
 * A listener closes: every child still in its accept queue is reset and
 * destroyed.  Requests still in ehash die at their timer, which sees the
 * listener closed.
 */
void mtcp_listen_stop(struct sock *sk)
{
	struct request_sock_queue *queue = &inet_csk(sk)->icsk_accept_queue;
	struct request_sock *req;

	while ((req = reqsk_queue_remove(queue, sk)) != NULL) {
		struct sock *child = req->sk;

		local_bh_disable();
		bh_lock_sock(child);
		WARN_ON(sock_owned_by_user(child));
		sock_hold(child);
		mtcp_child_forget(sk, child);
		mtcp_reqsk_put(req);
		bh_unlock_sock(child);
		local_bh_enable();
		sock_put(child);
		cond_resched();
	}
	WARN_ON_ONCE(sk->sk_ack_backlog);
}

/* --------------------------------------------------------- TIME_WAIT */

/*
 * The last reference to a TIME_WAIT sock is gone.  Not inet_twsk_put():
 * from 6.16 its inet_twsk_free() takes every TIME_WAIT sock for one of
 * TCP's and reads TCP's MD5 and AO keys at tcp_timewait_sock's offsets,
 * past the end of ours.  Our callers run in softirq or with BHs off (or
 * hold a module reference, as mini_tcp_diag), so the module cannot go
 * while this returns.
 */
static void mtcp_twsk_free(struct inet_timewait_sock *tw)
{
	struct module *owner = tw->tw_prot->owner;

	kmem_cache_free(tw->tw_prot->twsk_prot->twsk_slab, tw);
	module_put(owner);	/* mtcp_twsk_alloc()'s */
}

void mtcp_twsk_put(struct inet_timewait_sock *tw)
{
	if (refcount_dec_and_test(&tw->tw_refcnt))
		mtcp_twsk_free(tw);
}

/* sock_gen_put() for what mini_tcp's tables hold: a socket, request or TIME_WAIT sock. */
void mtcp_sock_gen_put(struct sock *sk)
{
	if (sk->sk_state == TCP_TIME_WAIT)
		mtcp_twsk_put(inet_twsk(sk));
	else if (sk->sk_state == TCP_NEW_SYN_RECV)
		mtcp_reqsk_put(inet_reqsk(sk));
	else
		sock_put(sk);
}
EXPORT_SYMBOL_NS_GPL(mtcp_sock_gen_put, MTCP_NS);	/* mini_tcp_diag */

static void mtcp_twsk_kill(struct inet_timewait_sock *tw)
{
	struct mtcp_net *mn = mtcp_pernet(twsk_net(tw));

	mtcp_twsk_unhash(tw);
	refcount_dec(&mn->tw_death_row.tw_refcount);
	mtcp_twsk_put(tw);	/* the timer's */
}

static void mtcp_tw_timer(struct timer_list *t)
{
	mtcp_twsk_kill(mtcp_from_timer((struct inet_timewait_sock *)NULL, t,
				       tw_timer));
}

/*
 * A TIME_WAIT sock with @sk's identity, in TCP_TIME_WAIT or an orphan's
 * TCP_FIN_WAIT2 (@substate), or NULL if there are too many
 * (tw_max_buckets) or no memory.  Not yet in any table.
 */
struct inet_timewait_sock *mtcp_twsk_alloc(const struct sock *sk, int substate)
{
	struct mtcp_net *mn = mtcp_pernet(sock_net(sk));
	const struct inet_sock *inet = inet_sk(sk);
	struct inet_timewait_sock *tw;

	if (refcount_read(&mn->tw_death_row.tw_refcount) - 1 >=
	    READ_ONCE(mn->tw_death_row.sysctl_max_tw_buckets))
		return NULL;
	tw = kmem_cache_alloc(sk->sk_prot_creator->twsk_prot->twsk_slab,
			      GFP_ATOMIC);
	if (!tw)
		return NULL;

	tw->tw_dr = &mn->tw_death_row;
	tw->tw_daddr = inet->inet_daddr;
	tw->tw_rcv_saddr = inet->inet_rcv_saddr;
	tw->tw_bound_dev_if = sk->sk_bound_dev_if;
	tw->tw_tos = inet->tos;
	tw->tw_num = inet->inet_num;
	tw->tw_state = TCP_TIME_WAIT;
	tw->tw_substate = substate;
	tw->tw_sport = inet->inet_sport;
	tw->tw_dport = inet->inet_dport;
	tw->tw_family = sk->sk_family;
	tw->tw_reuse = sk->sk_reuse;
	tw->tw_reuseport = sk->sk_reuseport;
	tw->tw_hash = sk->sk_hash;
	tw->tw_ipv6only = 0;
	tw->tw_transparent = mtcp_inet_transparent(sk);
	tw->tw_prot = sk->sk_prot_creator;
	atomic64_set(&tw->tw_cookie, atomic64_read(&sk->sk_cookie));
	twsk_net_set(tw, sock_net(sk));
	timer_setup(&tw->tw_timer, mtcp_tw_timer, TIMER_PINNED);
	mtcp_twsk((struct sock *)tw)->bind_bucket = NULL;
	/* No reference until it is in the tables: lookups skip it. */
	refcount_set(&tw->tw_refcnt, 0);
	/* mtcp_twsk_free() gives it back when the last reference goes. */
	__module_get(tw->tw_prot->owner);
	return tw;
}

/*
 * @tw takes @sk's place: its timer armed for @timeo, among the port's
 * owners, and in ehash instead of @sk.  @tw is not ours to touch after.
 */
void mtcp_twsk_hashdance(struct inet_timewait_sock *tw, struct sock *sk,
			 int timeo)
{
	struct mtcp_net *mn = mtcp_pernet(sock_net(sk));
	bool bound;

	/* BHs off: the pinned timer cannot fire here before we are done. */
	local_bh_disable();
	mod_timer(&tw->tw_timer, jiffies + timeo);
	refcount_inc(&mn->tw_death_row.tw_refcount);

	bound = mtcp_bind_twsk_add(tw, sk);
	/* Before a lookup can find it: ehash's, the timer's, the port's. */
	refcount_set(&tw->tw_refcnt, 2 + bound);
	mtcp_ehash_twsk_replace(tw, sk);
	local_bh_enable();
}

/* A segment restarted the TIME_WAIT timer (RFC 9293 §3.10.7.4). */
void mtcp_twsk_reschedule(struct inet_timewait_sock *tw, int timeo)
{
	mod_timer_pending(&tw->tw_timer, jiffies + timeo);
}

/* End TIME_WAIT now (an RST, a new SYN), and drop the caller's reference. */
void mtcp_twsk_deschedule_put(struct inet_timewait_sock *tw)
{
	if (timer_delete_sync(&tw->tw_timer))
		mtcp_twsk_kill(tw);
	mtcp_twsk_put(tw);
}

/*
 * The TIME_WAIT socks of dying namespaces (they hold no reference on
 * theirs).  Called from pernet exit_batch, serialised by its caller.
 */
void mtcp_twsk_purge(void)
{
	struct inet_hashinfo *h = &mtcp_hashinfo;
	unsigned int slot;

	for (slot = 0; slot <= h->ehash_mask; slot++) {
		struct inet_ehash_bucket *head = &h->ehash[slot];
		struct hlist_nulls_node *node;
		struct sock *sk;

		if (hlist_nulls_empty(&head->chain))
			continue;
restart_rcu:
		cond_resched();
		rcu_read_lock();
restart:
		sk_nulls_for_each_rcu(sk, node, &head->chain) {
			struct inet_timewait_sock *tw = inet_twsk(sk);

			if (sk->sk_state != TCP_TIME_WAIT ||
			    check_net(twsk_net(tw)))
				continue;
			if (unlikely(!refcount_inc_not_zero(&tw->tw_refcnt)))
				continue;
			if (unlikely(sk->sk_state != TCP_TIME_WAIT ||
				     check_net(twsk_net(tw)))) {
				mtcp_twsk_put(tw);
				goto restart;
			}
			rcu_read_unlock();
			local_bh_disable();
			mtcp_twsk_deschedule_put(tw);
			local_bh_enable();
			goto restart_rcu;
		}
		if (get_nulls_value(node) != slot)
			goto restart;
		rcu_read_unlock();
	}
}
