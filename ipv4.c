// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp: IPv4 routing and transmission for what is not yet (or no
 * longer) a full socket — a request sock's SYN-ACK, a reply from the
 * control socket — and route repair after an ICMP "fragmentation needed".
 *
 * The kernel has these as inet_csk_route_req(), inet_csk_route_child_sock(),
 * inet_csk_update_pmtu() and ip_build_and_send_pkt(), exported up to 6.15
 * for DCCP and no longer since: written here for this protocol, on the
 * interfaces every supported kernel exports (ip_route_output_flow(),
 * ip_local_out(), __ip_select_ident()).
 */
#include <linux/kernel.h>
#include <linux/security.h>
#include <net/inet_connection_sock.h>
#include <net/ip.h>
#include <net/route.h>

#include "mini_tcp.h"

/*
 * The flow of a request sock's replies (and of the child it becomes): from
 * the address the SYN was sent to, back to where it came from, on the
 * interface it came in on, with the listener's marks and TOS.
 */
static void mtcp_req_flow(const struct sock *sk, struct flowi4 *fl4,
			  const struct request_sock *req)
{
	const struct inet_request_sock *ireq = inet_rsk(req);

	flowi4_init_output(fl4, ireq->ir_iif, ireq->ir_mark,
			   mtcp_conn_tos(sk), mtcp_conn_scope(sk),
			   sk->sk_protocol, inet_sk_flowi_flags(sk),
			   ireq->ir_rmt_addr, ireq->ir_loc_addr,
			   ireq->ir_rmt_port, htons(ireq->ir_num),
			   mtcp_sk_uid(sk));
	security_req_classify_flow(req, flowi4_to_flowi_common(fl4));
}

/* The route of a request sock's SYN-ACK; NULL (counted) if there is none. */
struct dst_entry *mtcp_route_req(const struct sock *sk, struct flowi4 *fl4,
				 const struct request_sock *req)
{
	struct net *net = read_pnet(&inet_rsk(req)->ireq_net);
	struct rtable *rt;

	mtcp_req_flow(sk, fl4, req);
	rt = ip_route_output_flow(net, fl4, sk);
	if (IS_ERR(rt)) {
		__IP_INC_STATS(net, IPSTATS_MIB_OUTNOROUTES);
		return NULL;
	}
	return &rt->dst;
}

/* The same for the child, whose cork keeps the flow for later reroutes. */
struct dst_entry *mtcp_route_child_sock(const struct sock *sk,
					struct sock *newsk,
					const struct request_sock *req)
{
	return mtcp_route_req(sk, &inet_sk(newsk)->cork.fl.u.ip4, req);
}

/* A new route for a connected socket whose route went stale. */
static struct dst_entry *mtcp_rebuild_route(struct sock *sk)
{
	struct inet_sock *inet = inet_sk(sk);
	struct flowi4 *fl4 = &inet->cork.fl.u.ip4;
	__be32 daddr = inet->inet_daddr;
	const struct ip_options_rcu *opt;
	struct rtable *rt;

	rcu_read_lock();
	opt = rcu_dereference(inet->inet_opt);
	if (opt && opt->opt.srr)
		daddr = opt->opt.faddr;
	rt = ip_route_output_ports(sock_net(sk), fl4, sk, daddr,
				   inet->inet_saddr, inet->inet_dport,
				   inet->inet_sport, sk->sk_protocol,
				   mtcp_conn_tos(sk), sk->sk_bound_dev_if);
	rcu_read_unlock();
	if (IS_ERR(rt))
		return NULL;
	sk_setup_caps(sk, &rt->dst);
	sk->sk_route_caps &= ~NETIF_F_GSO_MASK;	/* no GSO for us */
	return &rt->dst;
}

/*
 * An ICMP said the path takes at most @mtu: record it on the route (a new
 * one if the old went stale), and return the route now in use, or NULL.
 * Called with the socket locked.
 */
struct dst_entry *mtcp_update_pmtu(struct sock *sk, u32 mtu)
{
	struct dst_entry *dst = __sk_dst_check(sk, 0);

	if (!dst) {
		dst = mtcp_rebuild_route(sk);
		if (!dst)
			return NULL;
	}
	dst->ops->update_pmtu(dst, sk, NULL, mtu, true);
	dst = __sk_dst_check(sk, 0);
	return dst ? : mtcp_rebuild_route(sk);
}

/*
 * Put an IPv4 header on @skb (a segment built by output.c, with its route
 * attached) and send it: a request sock's SYN-ACK through its listener
 * @sk, or a reply through the control socket.  No IP options: mini_tcp
 * does not echo a SYN's.  Returns what ip_local_out() returns.
 */
int mtcp_ip_send(struct sk_buff *skb, const struct sock *sk, __be32 saddr,
		 __be32 daddr, u8 tos)
{
	const struct inet_sock *inet = inet_sk(sk);
	struct rtable *rt = skb_rtable(skb);
	struct net *net = sock_net(sk);
	struct iphdr *iph;
	int ttl;

	skb_push(skb, sizeof(*iph));
	skb_reset_network_header(skb);
	iph = ip_hdr(skb);
	iph->version = 4;
	iph->ihl = 5;
	iph->tos = tos;
	ttl = READ_ONCE(inet->uc_ttl);
	iph->ttl = ttl < 0 ? ip4_dst_hoplimit(&rt->dst) : ttl;
	iph->daddr = daddr;
	iph->saddr = saddr;
	iph->protocol = sk->sk_protocol;
	/* Small segments need no IP ID (RFC 6864): they are never fragmented. */
	if (skb->len <= IPV4_MIN_MTU || ip_dont_fragment(sk, &rt->dst)) {
		iph->frag_off = htons(IP_DF);
		iph->id = 0;
	} else {
		iph->frag_off = 0;
		__ip_select_ident(net, iph, 1);
	}
	skb->priority = READ_ONCE(sk->sk_priority);
	if (!skb->mark)
		skb->mark = READ_ONCE(sk->sk_mark);
	return ip_local_out(net, skb->sk, skb);
}
