// SPDX-License-Identifier: GPL-2.0
/*
 * mini_tcp: segmentation offload (GSO) for protocol 253.
 *
 * output.c hands IP one skb of up to 64 KiB of a connection's data (a
 * write-queue skb of several MSS, sent as a clone) where TCP would hand it
 * a TSO skb.  Loopback and veth (and bridges, bonds and the other virtual
 * devices with NETIF_F_GSO_SOFTWARE) carry it whole to the receiver; any
 * other device gets it cut into MSS-sized segments by mtcp_gso_segment()
 * below, called by the core (validate_xmit_skb -> inet_gso_segment) through
 * the offload we register for our protocol number.
 *
 * The GSO type is SKB_GSO_SCTP, as SCTP's own offload (net/sctp/offload.c)
 * uses it: no driver advertises NETIF_F_GSO_SCTP as a hardware feature
 * (only the software set has it), so no NIC ever segments our skbs, and
 * certainly not as TCP, which SKB_GSO_TCPV4 would invite.
 *
 * One thing the core assumes of the type: skb_gso_transport_seglen() counts
 * an SCTP header, 12 bytes, for each segment, where ours is 20 and more.
 * The MTU checks of ip_finish_output_gso() and ip_forward() would then let
 * through segments up to 8 bytes too large.  So gso_size says the MSS plus
 * that difference (MTCP_GSO_PAD); mtcp_gso_segment() takes it off again.
 */

#include <linux/skbuff.h>
#include <net/ip.h>
#include <net/protocol.h>

#include "mini_tcp.h"

/*
 * Segment @skb (transport header at skb->data) for a device with
 * @features: every segment gets its sequence number, FIN and PSH only on
 * the last, and its checksum - left partial, seeded with its own length
 * in the pseudo-header, where the device checksums any protocol
 * (NETIF_F_HW_CSUM), computed here elsewhere (mtcp_csum() in output.c
 * says why never for NETIF_F_IP_CSUM).  inet_gso_segment() then fixes
 * each IP header.
 */
static struct sk_buff *mtcp_gso_segment(struct sk_buff *skb,
					netdev_features_t features)
{
	struct sk_buff *segs = ERR_PTR(-EINVAL), *seg;
	unsigned int thlen, mss;
	struct tcphdr *th;
	u32 seq;

	if (!(skb_shinfo(skb)->gso_type & SKB_GSO_SCTP) ||
	    skb->ip_summed != CHECKSUM_PARTIAL ||
	    !pskb_may_pull(skb, sizeof(*th)))
		goto out;
	th = tcp_hdr(skb);
	thlen = th->doff * 4;
	if (thlen < sizeof(*th) || !pskb_may_pull(skb, thlen) ||
	    skb_checksum_start(skb) != skb_transport_header(skb))
		goto out;
	th = tcp_hdr(skb);
	if (skb_shinfo(skb)->gso_size <= MTCP_GSO_PAD ||
	    skb_shinfo(skb)->gso_size == GSO_BY_FRAGS)
		goto out;
	mss = skb_shinfo(skb)->gso_size - MTCP_GSO_PAD;
	if (skb->len - thlen <= mss)
		goto out;
	seq = ntohl(th->seq);

	if (skb_gso_ok(skb, features | NETIF_F_GSO_ROBUST)) {
		/* The device takes it whole (from an untrusted source). */
		skb_shinfo(skb)->gso_segs = DIV_ROUND_UP(skb->len - thlen, mss);
		segs = NULL;
		goto out;
	}

	/*
	 * The shared info may be the write queue's (we are a clone): make it
	 * ours before gso_size says the MSS for skb_segment().
	 */
	if (skb_unclone(skb, GFP_ATOMIC)) {
		segs = ERR_PTR(-ENOMEM);
		goto out;
	}
	__skb_pull(skb, thlen);
	skb_shinfo(skb)->gso_size = mss;
	/* Partial everywhere; finished below where the device cannot. */
	segs = skb_segment(skb, features | NETIF_F_HW_CSUM);
	skb_shinfo(skb)->gso_size = mss + MTCP_GSO_PAD;
	if (IS_ERR(segs))
		goto out;

	for (seg = segs; seg; seg = seg->next) {
		const struct iphdr *iph = ip_hdr(seg);
		unsigned int len = seg->len - skb_transport_offset(seg);

		th = tcp_hdr(seg);
		th->seq = htonl(seq);
		seq += len - thlen;
		if (seg->next) {
			th->fin = 0;
			th->psh = 0;
		}
		th->check = ~csum_tcpudp_magic(iph->saddr, iph->daddr, len,
					       iph->protocol, 0);
		if (!(features & NETIF_F_HW_CSUM) && skb_checksum_help(seg)) {
			kfree_skb_list(segs);
			segs = ERR_PTR(-ENOMEM);
			goto out;
		}
	}
out:
	return segs;
}

static const struct net_offload mtcp_offload = {
	.callbacks = {
		.gso_segment = mtcp_gso_segment,
	},
};

/* Returns -EBUSY when another offload holds our protocol number. */
int mtcp_offload_init(void)
{
	return inet_add_offload(&mtcp_offload, mtcp_ipproto) ? -EBUSY : 0;
}

/* After this no segmentation runs our callback (inet_del_offload waits). */
void mtcp_offload_exit(void)
{
	inet_del_offload(&mtcp_offload, mtcp_ipproto);
}
