/* oauth_err.h — what a client may learn about a failed request (STYLE.md §4): the HTTP status,
 * the RFC 6749 §4.1.2.1 / §5.2 / RFC 6750 §3.1 error code and a short fixed description
 * without internals. Details go to the log, where the failure is decided. */
#ifndef GH_OIDC_OAUTH_ERR_H
#define GH_OIDC_OAUTH_ERR_H

struct oauth_err {
    unsigned status;    /* 0: unset (the caller answers server_error / 500) */
    const char *code;   /* static: "invalid_request", "invalid_grant", ... */
    const char *desc;   /* static text or NULL */
};

static inline void
oauth_err_set(struct oauth_err *oe, unsigned status, const char *code, const char *desc)
{
    oe->status = status;
    oe->code = code;
    oe->desc = desc;
}

#endif
