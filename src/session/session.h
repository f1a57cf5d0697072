/* session.h — browser sessions and the tokens that tie a form to a browser (STYLE.md §1).
 *
 * A session is a 256-bit random id in a cookie (HttpOnly, SameSite=Lax, Path=/; with an https
 * issuer also Secure and the "__Host-" prefix, so no sibling domain or plain-http page can set
 * it). Only SHA-256(id) is stored. A new id is minted at every login (no session fixation).
 * Before login, a second random cookie (the "login binding") ties the pending authorization
 * request and its CSRF token to this browser: a form posted from another browser, or without
 * the cookie, is refused. CSRF tokens are HMACs (crypto/secret.h sec_form_mac) of purpose,
 * interaction id and binding cookie, so they are never stored and cannot be moved between
 * forms, requests or browsers. */
#ifndef GH_SESSION_SESSION_H
#define GH_SESSION_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct app;
struct secrets;

#define SESS_ID_LEN     43    /* base64url of 32 random bytes */
#define SESS_CSRF_LEN   43
#define SESS_COOKIE_MAX 256   /* a formatted Set-Cookie value */

/* Cookie names for this realm ("__Host-" prefixed when the issuer is https). */
const char *sess_cookie_name(const struct app *app);
const char *sess_bind_cookie_name(const struct app *app);
bool sess_cookie_secure(const struct app *app);

/* A fresh random id (SESS_ID_LEN chars + NUL) and its SHA-256. GH_OK or GH_ECRYPTO. */
int  sess_new_id(char id[SESS_ID_LEN + 1], unsigned char hash[STORE_HASH_LEN]);
/* SHA-256 of a presented id; false when it is not SESS_ID_LEN base64url characters (then it
 * cannot be one of ours and no lookup is needed). */
bool sess_id_hash(const char *id, size_t len, unsigned char hash[STORE_HASH_LEN]);

/* The live session named by the cookie value (may be NULL): GH_OK and *out, or GH_ENOTFOUND
 * (no cookie, malformed, unknown, expired, idle too long); GH_ESTORE. */
int  sess_load(const struct app *app, struct store *st, const char *cookie, size_t len,
         int64_t now, struct session **out);
/* Start a session for sub: stores it and formats its Set-Cookie value into set_cookie.
 * *out (may be NULL) gets the stored record. */
int  sess_start(const struct app *app, struct store *st, const char *sub, const char *amr,
         int64_t now, struct session **out, char set_cookie[SESS_COOKIE_MAX]);
/* Set-Cookie value that deletes the session cookie / the binding cookie. */
void sess_clear_cookie(const struct app *app, char set_cookie[SESS_COOKIE_MAX]);
void sess_clear_bind_cookie(const struct app *app, char set_cookie[SESS_COOKIE_MAX]);
/* Set-Cookie value for a binding cookie with value id. */
int  sess_bind_cookie(const struct app *app, const char *id, char set_cookie[SESS_COOKIE_MAX]);

/* CSRF token for a form: base64url(HMAC(purpose, interaction id, binding cookie)). */
void csrf_token(const struct secrets *sec, const char *purpose, const char *interaction,
         const char *bind, char out[SESS_CSRF_LEN + 1]);
/* Constant-time check of a presented token; false if any input is missing or malformed. */
bool csrf_ok(const struct secrets *sec, const char *purpose, const char *interaction,
         const char *bind, const char *token, size_t len);

#endif
