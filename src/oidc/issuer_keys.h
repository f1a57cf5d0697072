/* issuer_keys.h — a cache of remote key sets (JWKS fetched from a jwks_uri): those of trusted
 * issuers (JWT-bearer grant, RFC 7523 §2.1; named by the issuer) and those of private_key_jwt
 * clients (RFC 7523 §2.2; named CLIENT_KEYS_PREFIX + client_id, oidc/client_auth.h, which no
 * issuer identifier can shadow for another URL: entries are keyed by name and URL). "issuer"
 * below is that name. Each set is fetched with util/fetch.c's bounds, kept in memory per
 * (issuer, jwks_uri) for ttl_s, and fetched again early when an assertion names a kid the cached set lacks — at
 * most once per refetch_s per issuer, so made-up kids cannot turn into a stream of requests to
 * the issuer. After ttl_s without a successful fetch the keys are dropped (fail closed): an
 * attacker who can block the fetch cannot keep a removed key in use.
 *
 * Thread-safe: one mutex guards the table; no fetch runs under it. Two threads wanting the same
 * issuer's keys share one fetch (the second waits for it when it may block). A fetch never
 * runs on an HTTP thread: callers there pass may_fetch = false and, when told a fetch is due,
 * redo the request on a worker thread (http/server.c req_defer). */
#ifndef GH_OIDC_ISSUER_KEYS_H
#define GH_OIDC_ISSUER_KEYS_H

#include <stdbool.h>

struct issuer_keys;

/* A cache keeping keys ttl_s seconds, fetching an issuer again at most every refetch_s seconds,
 * each fetch bounded by fetch_timeout_ms (connect, and the whole transfer). Never NULL. */
struct issuer_keys *issuer_keys_new(unsigned ttl_s, unsigned refetch_s, long fetch_timeout_ms);
void issuer_keys_free(struct issuer_keys *ik);       /* NULL is a no-op */

/* The JWKS of issuer, fetched from uri, to verify an assertion whose header names kid (NULL:
 * none). A fetch is due when there are no keys younger than ttl_s, or kid is not in them, and
 * the last attempt for this issuer began refetch_s or more ago.
 * may_fetch false: never blocks; when a fetch is due, *need_fetch = true and GH_OK with *jwks
 * NULL. may_fetch true: a due fetch is made here (or waited for, if another thread makes it).
 * GH_OK with *jwks (caller frees; the kid may still be missing from it: the signature check
 * then fails); GH_ENOTFOUND: no usable keys (never fetched, or the last good set is older
 * than ttl_s, and no fetch is due or it failed; logged). */
int  issuer_keys_get(struct issuer_keys *ik, const char *issuer, const char *uri,
         const char *kid, bool may_fetch, char **jwks, bool *need_fetch);

/* How many fetches were attempted since start (all issuers); for tests and metrics. */
unsigned long issuer_keys_fetches(struct issuer_keys *ik);

#endif
