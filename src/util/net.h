/* net.h — IP addresses and networks as 16 bytes (IPv4 as IPv4-mapped IPv6, ::ffff:a.b.c.d),
 * lists of trusted networks, and finding the client in an X-Forwarded-For header.
 *
 * Behind a reverse proxy the TCP peer is the proxy. Only when the peer is a trusted proxy
 * (the operator's `trusted_proxies`) does X-Forwarded-For count, and then from the right:
 * each proxy appends the address it received the request from, so entries are skipped while
 * they are trusted proxies too, and the first one that is not is the client. Entries to the
 * left of it were written by the client itself and are never believed. */
#ifndef GH_UTIL_NET_H
#define GH_UTIL_NET_H

#include <stdbool.h>
#include <stddef.h>

#define NET_ADDR_TEXT 46   /* INET6_ADDRSTRLEN */
#define NET_MAX_NETS  64   /* trusted_proxies entries */
#define NET_MAX_XFF   2048 /* X-Forwarded-For bytes considered; a longer header is ignored */

struct net { unsigned char addr[16]; unsigned prefix; };   /* prefix in bits, of the 128 */
struct net_list { struct net v[NET_MAX_NETS]; size_t n; };

/* Parse "192.0.2.7", "2001:db8::1" or "::ffff:192.0.2.7" (no port, no brackets, no zone). */
bool net_addr_parse(const char *s, size_t len, unsigned char out[16]);
/* The text of an address (IPv4-mapped ones as IPv4); out holds NET_ADDR_TEXT bytes. */
void net_addr_text(const unsigned char a[16], char out[NET_ADDR_TEXT]);
bool net_addr_is_v4(const unsigned char a[16]);
/* A socket address (AF_INET or AF_INET6) as 16 bytes; false for any other family or NULL. */
struct sockaddr;
bool net_addr_from_sockaddr(const struct sockaddr *sa, unsigned char out[16]);

/* Parse a LIST of addresses and networks ("10.0.0.0/8, 127.0.0.1 ::1 fd00::/8"): items
 * separated by commas and/or spaces, each an address or address/prefix (0-32 for IPv4, 0-128
 * for IPv6) with no host bits set beyond the prefix. Empty text is an empty list.
 * GH_OK, GH_EINVAL (*why), GH_ETOOBIG (more than NET_MAX_NETS). */
int  net_list_parse(const char *s, struct net_list *out, const char **why);
bool net_list_has(const struct net_list *l, const unsigned char a[16]);

/* The client address given the TCP peer, the X-Forwarded-For value (NULL: none; several
 * headers joined with ", "), and the trusted proxies: the peer unless it is trusted and the
 * header is usable; else the rightmost entry that is not a trusted proxy (the leftmost when
 * all are). A malformed entry ends the walk: the last address accepted before it is the
 * client. A header over NET_MAX_XFF bytes is ignored (the peer). */
void net_forwarded_client(const unsigned char peer[16], const char *xff,
         const struct net_list *trusted, unsigned char out[16]);

#endif
