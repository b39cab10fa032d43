/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mini_tcp: what programs need to use the protocol.
 *
 *	int fd = socket(AF_INET, SOCK_STREAM, IPPROTO_MINI_TCP);
 *
 * Everything else is the ordinary socket API.  Options at level IPPROTO_TCP
 * (TCP_NODELAY, TCP_INFO, ...) are accepted with TCP's numbers from
 * <netinet/tcp.h>; TCP_INFO reports the connection state in tcpi_state.
 */
#ifndef _UAPI_MINI_TCP_H
#define _UAPI_MINI_TCP_H

/* Default IP protocol number (RFC 3692 experimental); module parameter ipproto. */
#define IPPROTO_MINI_TCP	253

#endif /* _UAPI_MINI_TCP_H */
