/* flow.h — the browser side of the authorization code flow, shared by the authorize, login
 * and consent endpoints (private to ep/): deciding whether the user must sign in or consent,
 * keeping the pending request server-side (an interaction), and finishing with a code or an
 * error sent back to the client. */
#ifndef GH_EP_FLOW_H
#define GH_EP_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "oidc/authz_req.h"
#include "session/session.h"

struct client;
struct req;
struct store;

enum flow_done {
    FLOW_AUTHENTICATED = 1,   /* the user signed in during this request: no login check */
    FLOW_CONSENTED = 2,       /* the user approved the scopes during this request */
};

/* An HTML error page (the client's redirect_uri is not trusted, or the browser needs to act).
 * Texts are plain words for a person, never internals. */
int flow_error_page(struct req *rq, unsigned status, const char *title, const char *message,
    const char *hint);

/* Send an error to the client's redirect_uri (RFC 6749 §4.1.2.1) with state and iss
 * (RFC 9207). 302 after a GET, 303 after a POST. */
int flow_redirect_error(struct req *rq, const struct authz_req *ar, const char *code,
    const char *desc, const char *set_cookie);

/* Decide and answer: the login page, the consent page, an error for prompt=none, or a code.
 * s: the browser's live session (NULL if none). iid: the interaction this request continues
 * (NULL: none yet). set_cookie: a Set-Cookie value to send with whatever is answered (NULL). */
int flow_authorize(struct req *rq, struct store *st, const struct client *c,
    struct authz_req *ar, const struct session *s, unsigned done, const char *iid,
    const char *set_cookie);

/* Render the login page for interaction iid with binding cookie bind (error: a message to
 * show, or NULL). */
int flow_login_page(struct req *rq, const struct client *c, const struct authz_req *ar,
    const char *iid, const char *bind, const char *error, const char *set_cookie);
/* 503 with Retry-After (http/resp.h RESP_STORE_RETRY_AFTER): the database failed (GH_ESTORE). */
int flow_store_unavailable(struct req *rq);
/* 503 with Retry-After: every password-hashing worker is busy and the queue is full. */
int flow_busy_page(struct req *rq);
/* The login form again, as 429 with Retry-After: retry_after seconds, said in plain words. */
int flow_login_page_wait(struct req *rq, const struct client *c, const struct authz_req *ar,
    const char *iid, const char *bind, int64_t retry_after);

/* The interaction named by a form: checks the binding cookie and the CSRF token (purpose
 * "login" or "consent"), loads the interaction and its request. On failure an error page has
 * been queued and *answered is true. */
int flow_form_interaction(struct req *rq, struct store *st, const char *purpose,
    const char *iid, const char *csrf, size_t csrf_len, struct authz_req *ar,
    struct client **c, const char **bind, int64_t *created_at, bool *answered);

#endif
