/* client_req.h — the first steps every back-channel endpoint a client calls (token,
 * introspection, revocation) shares: parse the form body, then authenticate the client
 * exactly as RFC 6749 §2.3 / §3.2.1 and oidc/client_auth.c say. The error answers are the
 * token endpoint's (RFC 6749 §5.2): JSON, no-store, 401 invalid_client with
 * WWW-Authenticate: Basic when Basic credentials were tried. */
#ifndef GH_EP_CLIENT_REQ_H
#define GH_EP_CLIENT_REQ_H

#include <stdbool.h>

#include "http/req.h"
#include "oidc/oauth_err.h"

struct client;
struct store;

struct client_req {
    struct req_params ps;    /* the form body */
    struct client *c;        /* the authenticated client; NULL until client_req_auth succeeds */
    bool basic;              /* Basic credentials were presented (for WWW-Authenticate) */
    char *buser, *bpass;     /* private: the decoded Basic credentials */
};

enum client_req_flags {
    CLIENT_REQ_CONFIDENTIAL = 1,  /* refuse public clients (auth method none): 401
                                   * invalid_client, as if unauthenticated */
};

/* Parse rq's form body into cq->ps and authenticate the caller (flags: enum
 * client_req_flags). true: cq->c is the client. false: a response was queued (400
 * invalid_request for a bad body or conflicting credentials, 401 invalid_client, 429
 * temporarily_unavailable with Retry-After when the client's address is over
 * client_auth_ip_failures — checked first, before anything is parsed — or the authenticated
 * client over client_rate, 503 when the store is down or the worker queue full) or could not
 * be, and *rc is what the handler must return — or, with *rc GH_OK and nothing queued, the request was suspended to fetch the
 * client's jwks_uri keys (req_defer) and the handler runs again from the start when they are
 * cached; it must not treat that deferral as its own (client_req_prefetched). Either way the
 * caller calls client_req_free(cq) afterwards. st must be non-NULL. */
bool client_req_auth(struct req *rq, struct store *st, unsigned flags, struct client_req *cq,
         int *rc);
/* true when rq's finished deferral is client_req_auth()'s key fetch, not the handler's own
 * work: a handler that defers work of its own checks this before reading req_deferred(). The
 * next client_req_auth() drops it (req_defer_clear). */
bool client_req_prefetched(const struct req *rq);
/* Free what client_req_auth() left in cq (wipes the secret). Safe on a zeroed cq. */
void client_req_free(struct client_req *cq);

/* Queue the RFC 6749 §5.2 answer for oe (oe->status 0: 500 server_error); basic adds
 * WWW-Authenticate: Basic to a 401. Returns what resp_* returned. */
int  client_req_error(struct req *rq, const struct oauth_err *oe, bool basic);

#endif
