/* conn_limit.h — open connections per client address (max_connections_per_ip), counted here
 * instead of by libmicrohttpd so that trusted proxies can be left out: behind a load balancer
 * every connection comes from the balancer's few addresses, and a per-address bound on them
 * would cap the whole site at max_connections_per_ip concurrent requests per balancer (nginx
 * then answers 502). Every other peer is bounded as before; the proxies are still bounded by
 * max_connections.
 *
 * The server asks cl_admit when it accepts a connection and counts it with cl_opened once the
 * connection exists (cl_closed when it ends), so a connection libmicrohttpd gives up on between
 * the two is never counted and never leaks a slot. The price: connections accepted at the same
 * moment by several threads may pass the bound by at most that many. A fixed table of
 * 2 * max_connections slots (open addressing, backward-shift deletion) under one mutex: a
 * connection's start and end are rare next to its requests, and the table can never fill,
 * since it counts at most max_connections addresses. */
#ifndef GH_HTTP_CONN_LIMIT_H
#define GH_HTTP_CONN_LIMIT_H

#include <stdbool.h>

struct conn_limit;
struct net_list;

/* per_ip: connections one address may hold; exempt: addresses never counted (borrowed, must
 * outlive the limiter; NULL: none). NULL if max_connections or per_ip is 0. */
struct conn_limit *cl_new(unsigned max_connections, unsigned per_ip,
    const struct net_list *exempt);
void cl_free(struct conn_limit *cl);   /* NULL is a no-op */
/* Whether addr (16 bytes, util/net.h) may open one more connection now. */
bool cl_admit(struct conn_limit *cl, const unsigned char addr[16]);
void cl_opened(struct conn_limit *cl, const unsigned char addr[16]);
void cl_closed(struct conn_limit *cl, const unsigned char addr[16]);
/* The connections addr holds now (tests). */
unsigned cl_count(struct conn_limit *cl, const unsigned char addr[16]);

#endif
