/* session.c — browser sessions (cookie with a random id, stored hashed) and the CSRF tokens of
 * the login and consent forms. See session.h for the design; the cookie attributes follow
 * RFC 6265bis §4.1.3 (__Host- prefix) and the OWASP Session Management Cheat Sheet. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "core/err.h"
#include "crypto/digest.h"
#include "crypto/rnd.h"
#include "crypto/secret.h"
#include "http/cookie.h"
#include "session/session.h"
#include "util/b64url.h"
#include "util/str.h"
#include "util/xmem.h"

bool
sess_cookie_secure(const struct app *app)
{
    return str_has_prefix(app->issuer, "https://");
}

const char *
sess_cookie_name(const struct app *app)
{
    return sess_cookie_secure(app) ? "__Host-gh_session" : "gh_session";
}

const char *
sess_bind_cookie_name(const struct app *app)
{
    return sess_cookie_secure(app) ? "__Host-gh_login" : "gh_login";
}

int
sess_new_id(char id[SESS_ID_LEN + 1], unsigned char hash[STORE_HASH_LEN])
{
    unsigned char raw[32];

    if (rnd_bytes(raw, sizeof(raw)) != GH_OK)
        return GH_ECRYPTO;
    b64url_encode(raw, sizeof(raw), id, SESS_ID_LEN + 1);
    mem_wipe(raw, sizeof(raw));
    dig_sha256(id, SESS_ID_LEN, hash);
    return GH_OK;
}

bool
sess_id_hash(const char *id, size_t len, unsigned char hash[STORE_HASH_LEN])
{
    unsigned char raw[32];
    size_t n = 0;

    if (!id || len != SESS_ID_LEN || b64url_decode(id, len, raw, sizeof(raw), &n) != GH_OK ||
        n != sizeof(raw))
        return false;
    mem_wipe(raw, sizeof(raw));
    dig_sha256(id, len, hash);
    return true;
}

int
sess_load(const struct app *app, struct store *st, const char *cookie, size_t len, int64_t now,
    struct session **out)
{
    unsigned char h[STORE_HASH_LEN];

    *out = NULL;
    if (!sess_id_hash(cookie, len, h))
        return GH_ENOTFOUND;
    return store_session_get(st, h, now, app->cfg->session_idle_timeout, out);
}

int
sess_start(const struct app *app, struct store *st, const char *sub, const char *amr,
    int64_t now, struct session **out, char set_cookie[SESS_COOKIE_MAX])
{
    char id[SESS_ID_LEN + 1];
    struct session *s = x_calloc(1, sizeof(*s));
    int rc;

    if (out)
        *out = NULL;
    if ((rc = sess_new_id(id, s->id_hash)) != GH_OK)
        goto out;
    /* sid is public (it goes into id_tokens): its own random value, never derived from id */
    if (!(s->sid = rnd_token(16))) {
        rc = GH_ECRYPTO;
        goto out;
    }
    s->sub = x_strdup(sub);
    s->amr = x_strdup(amr);
    s->auth_time = now;
    s->created_at = now;
    s->last_seen = now;
    s->expires_at = now + app->cfg->session_lifetime;
    if ((rc = store_session_add(st, s)) != GH_OK)
        goto out;
    /* a session cookie (no Max-Age): closing the browser ends it; the server-side lifetimes
     * bound it anyway */
    if ((rc = cookie_format(set_cookie, SESS_COOKIE_MAX, sess_cookie_name(app), id, -1,
             sess_cookie_secure(app))) != GH_OK)
        goto out;
    if (out) {
        *out = s;
        s = NULL;
    }
out:
    mem_wipe(id, sizeof(id));
    session_free(s);
    return rc;
}

void
sess_clear_cookie(const struct app *app, char set_cookie[SESS_COOKIE_MAX])
{
    cookie_format(set_cookie, SESS_COOKIE_MAX, sess_cookie_name(app), "", 0,
        sess_cookie_secure(app));
}

void
sess_clear_bind_cookie(const struct app *app, char set_cookie[SESS_COOKIE_MAX])
{
    cookie_format(set_cookie, SESS_COOKIE_MAX, sess_bind_cookie_name(app), "", 0,
        sess_cookie_secure(app));
}

int
sess_bind_cookie(const struct app *app, const char *id, char set_cookie[SESS_COOKIE_MAX])
{
    return cookie_format(set_cookie, SESS_COOKIE_MAX, sess_bind_cookie_name(app), id, -1,
        sess_cookie_secure(app));
}

static void
csrf_mac(const struct secrets *sec, const char *purpose, const char *interaction,
    const char *bind, unsigned char mac[SEC_HASH_LEN])
{
    char data[2 * (SESS_ID_LEN + 1)];

    /* both parts are fixed-length base64url, so the concatenation is unambiguous */
    snprintf(data, sizeof(data), "%s.%s", interaction, bind);
    sec_form_mac(sec, purpose, data, strlen(data), mac);
}

void
csrf_token(const struct secrets *sec, const char *purpose, const char *interaction,
    const char *bind, char out[SESS_CSRF_LEN + 1])
{
    unsigned char mac[SEC_HASH_LEN];

    csrf_mac(sec, purpose, interaction, bind, mac);
    b64url_encode(mac, sizeof(mac), out, SESS_CSRF_LEN + 1);
}

bool
csrf_ok(const struct secrets *sec, const char *purpose, const char *interaction,
    const char *bind, const char *token, size_t len)
{
    char want[SESS_CSRF_LEN + 1];

    if (!interaction || !bind || !token || strlen(interaction) != SESS_ID_LEN ||
        strlen(bind) != SESS_ID_LEN || len != SESS_CSRF_LEN)
        return false;
    csrf_token(sec, purpose, interaction, bind, want);
    return str_ct_eq(want, token, SESS_CSRF_LEN);
}
