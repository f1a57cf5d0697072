/* authz_req.c — parse and validate an authorization request (OIDC Core §3.1.2.1-2, RFC 6749
 * §4.1.1 and §4.1.2.1, RFC 7636 §4.3, RFC 9700 §2.1). Only response_type=code with the query
 * response mode; PKCE S256 required unless the client is a confidential client registered
 * with --pkce-optional. Deliberately not supported: request objects (request, request_uri:
 * refused with the OIDC Core §6 error codes), the claims parameter, response modes other than
 * query. Unknown parameters are ignored (OIDC Core §3.1.2.1 / RFC 6749 §3.1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/jwt.h"
#include "http/req.h"
#include "model/client.h"
#include "oidc/authz_req.h"
#include "oidc/pkce.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/str.h"
#include "util/xmem.h"

#define MAX_AGE_MAX   (10LL * 366 * 86400)
#define HINT_LEEWAY_S 60

void
authz_req_free(struct authz_req *ar)
{
    if (!ar)
        return;
    free(ar->client_id);
    free(ar->redirect_uri);
    free(ar->scope);
    free(ar->state);
    free(ar->nonce);
    free(ar->code_challenge);
    free(ar->login_hint);
    free(ar->hint_sub);
    memset(ar, 0, sizeof(*ar));
}

int
authz_check_client(struct store *st, const struct req_params *ps, struct client **client,
    const char **redirect_uri, const char **why)
{
    const char *id = req_param(ps, "client_id", NULL);
    const char *uri = req_param(ps, "redirect_uri", NULL);
    struct client *c = NULL;
    const char *w = NULL;
    int rc;

    *client = NULL;
    *redirect_uri = NULL;
    if (!id) {
        *why = "The link that brought you here does not say which application you are "
               "signing in to (it has no client_id).";
        return GH_EINVAL;
    }
    if (client_id_check(id, &w) != GH_OK) {
        *why = "The link that brought you here names the application in a form this "
               "sign-in service does not accept (the client_id is not valid).";
        return GH_EINVAL;
    }
    rc = store_client_get(st, id, &c);
    if (rc == GH_ENOTFOUND) {
        *why = "This application is not registered with this sign-in service, so you "
               "cannot sign in to it here (unknown client_id).";
        return GH_ENOTFOUND;
    }
    if (rc != GH_OK) {
        *why = "The sign-in service could not look up the application.";
        return rc;
    }
    /* OIDC Core §3.1.2.1: redirect_uri is required, and must match a registered one exactly
     * (RFC 9700 §2.1: no pattern, prefix or normalised matching). */
    if (!uri) {
        *why = "The application did not say where to send you back after signing in (it sent no "
               "redirect_uri).";
        client_free(c);
        return GH_EINVAL;
    }
    if (!client_redirect_ok(c, uri)) {
        *why = "The application asked to send you back to an address that is not "
               "registered for it. For your safety you were not sent there (redirect_uri "
               "does not match).";
        client_free(c);
        return GH_EINVAL;
    }
    *client = c;
    *redirect_uri = uri;
    return GH_OK;
}

/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static bool
scope_token_ok(const char *s, size_t n)
{
    if (n == 0 || n > GH_MAX_SCOPE_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == 0x22 || c == 0x5c)
            return false;
    }
    return true;
}

/* Call fn for each space-separated token of s; stops at the first false. */
static bool
scope_each(const char *s, bool (*fn)(const char *tok, size_t n, void *arg), void *arg)
{
    while (s && *s) {
        const char *e;
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        e = strchr(s, ' ');
        if (!e)
            e = s + strlen(s);
        if (!fn(s, (size_t)(e - s), arg))
            return false;
        s = e;
    }
    return true;
}

struct has_arg {
    const char *tok;
    size_t n;
};

static bool
not_equal(const char *tok, size_t n, void *arg)
{
    const struct has_arg *h = arg;
    return !(n == h->n && memcmp(tok, h->tok, n) == 0);
}

static bool
scope_has_n(const char *scope, const char *tok, size_t n)
{
    struct has_arg h = { tok, n };
    return !scope_each(scope, not_equal, &h);
}

bool
authz_scope_has(const char *scope, const char *s)
{
    return scope_has_n(scope, s, strlen(s));
}

static bool
in_have(const char *tok, size_t n, void *arg)
{
    return scope_has_n(arg, tok, n);
}

bool
authz_scope_subset(const char *want, const char *have)
{
    return scope_each(want, in_have, (void *)(uintptr_t)have);
}

struct scope_norm {
    struct buf out;
    const struct client *c;
    size_t count;
    const char *bad;      /* description when a token is refused */
};

static bool
norm_add(const char *tok, size_t n, void *arg)
{
    struct scope_norm *sn = arg;
    bool allowed = false;

    if (!scope_token_ok(tok, n)) {
        sn->bad = "scope contains an invalid token";
        return false;
    }
    if (sn->out.len && scope_has_n(buf_str(&sn->out), tok, n))
        return true;   /* a repeated token carries nothing new */
    for (char *const *p = sn->c->scopes; *p; p++) {
        if (strlen(*p) == n && memcmp(*p, tok, n) == 0)
            allowed = true;
    }
    /* OIDC Core §3.1.2.1: scope values not understood SHOULD be ignored; RFC 6749 §3.3 lets
     * the server grant less than asked and say so in the token response's scope. A scope the
     * client is not registered for is therefore dropped, never granted. */
    if (!allowed)
        return true;
    if (++sn->count > GH_MAX_SCOPES) {
        sn->bad = "too many scopes";
        return false;
    }
    return (sn->out.len == 0 || buf_add(&sn->out, " ", 1) == GH_OK) &&
           buf_add(&sn->out, tok, n) == GH_OK;
}

static char *
dup_param(const struct req_params *ps, const char *name)
{
    const char *v = req_param(ps, name, NULL);
    return v ? x_strdup(v) : NULL;
}

static int
fail(struct oauth_err *oe, const char *code, const char *desc)
{
    oauth_err_set(oe, 302, code, desc);
    return GH_EINVAL;
}

static int
parse_prompt(const char *v, unsigned *out)
{
    unsigned bits = 0;
    bool none = false;
    size_t count = 0;

    while (v && *v) {
        const char *e = strchr(v, ' ');
        size_t n = e ? (size_t)(e - v) : strlen(v);
        if (n == 4 && memcmp(v, "none", 4) == 0)
            none = true;
        else if ((n == 5 && memcmp(v, "login", 5) == 0) ||
                 (n == 14 && memcmp(v, "select_account", 14) == 0))
            bits |= PROMPT_LOGIN;
        else if (n == 7 && memcmp(v, "consent", 7) == 0)
            bits |= PROMPT_CONSENT;
        /* other values (e.g. "create") are not defined by OIDC Core and are ignored */
        if (n)
            count++;
        v = e ? e + 1 : v + n;
    }
    /* OIDC Core §3.1.2.1: "none" with any other value is an error. */
    if (none && count > 1)
        return GH_EINVAL;
    *out = none ? PROMPT_NONE : bits;
    return GH_OK;
}

int
authz_parse(const struct req_params *ps, const struct client *c, const struct keyring *kr,
    const char *issuer, struct authz_req *ar, struct oauth_err *oe)
{
    const char *rt, *mode, *scope, *cc, *ccm, *v;
    struct scope_norm sn = { .c = c };
    size_t len = 0;

    memset(ar, 0, sizeof(*ar));
    ar->client_id = x_strdup(c->client_id);
    ar->redirect_uri = dup_param(ps, "redirect_uri");
    ar->max_age = -1;
    /* state first: every later error carries it back */
    if ((v = req_param(ps, "state", &len)) != NULL) {
        if (len > GH_MAX_STATE)
            return fail(oe, "invalid_request", "state is too long");
        ar->state = x_strdup(v);
    }
    if (req_param(ps, "request", NULL))
        return fail(oe, "request_not_supported", "request objects are not supported");
    if (req_param(ps, "request_uri", NULL))
        return fail(oe, "request_uri_not_supported", "request_uri is not supported");
    if (!(rt = req_param(ps, "response_type", NULL)))
        return fail(oe, "invalid_request", "response_type is required");
    if (strcmp(rt, "code") != 0)
        return fail(oe, "unsupported_response_type", "only response_type=code is supported");
    if ((mode = req_param(ps, "response_mode", NULL)) && strcmp(mode, "query") != 0)
        return fail(oe, "invalid_request", "only response_mode=query is supported");
    if (!str_list_has(c->grant_types, "authorization_code"))
        return fail(oe, "unauthorized_client",
            "this client may not use the authorization code grant");

    if (!(scope = req_param(ps, "scope", NULL)))
        return fail(oe, "invalid_scope", "scope is required");
    buf_init(&sn.out, GH_MAX_SCOPES * (GH_MAX_SCOPE_LEN + 1));
    if (!scope_each(scope, norm_add, &sn) || sn.out.len == 0) {
        buf_free(&sn.out);
        return fail(oe, "invalid_scope",
            sn.bad ? sn.bad : "no requested scope is allowed for this client");
    }
    ar->scope = buf_steal(&sn.out);
    ar->openid = authz_scope_has(ar->scope, "openid");

    if ((v = req_param(ps, "nonce", &len)) != NULL) {
        if (len > GH_MAX_NONCE)
            return fail(oe, "invalid_request", "nonce is too long");
        ar->nonce = x_strdup(v);
    }

    /* RFC 7636 §4.3 and RFC 9700 §2.1.1: S256 only; a challenge without a method would mean
     * "plain", which is refused like an explicit plain. */
    cc = req_param(ps, "code_challenge", NULL);
    ccm = req_param(ps, "code_challenge_method", NULL);
    if (ccm && strcmp(ccm, "S256") != 0)
        return fail(oe, "invalid_request", "code_challenge_method must be S256");
    if (cc && !ccm)
        return fail(oe, "invalid_request", "code_challenge_method is required (S256)");
    if (ccm && !cc)
        return fail(oe, "invalid_request", "code_challenge is required");
    if (cc && !pkce_challenge_ok(cc))
        return fail(oe, "invalid_request", "code_challenge is not a S256 challenge");
    if (!cc && (c->is_public || c->pkce_required))
        return fail(oe, "invalid_request", "PKCE is required: send code_challenge (S256)");
    ar->code_challenge = cc ? x_strdup(cc) : NULL;

    if (parse_prompt(req_param(ps, "prompt", NULL), &ar->prompt) != GH_OK)
        return fail(oe, "invalid_request", "prompt=none cannot be combined with other values");
    if ((v = req_param(ps, "max_age", NULL)) != NULL) {
        uint64_t n;
        if (str_to_u64(v, 0, MAX_AGE_MAX, &n) != GH_OK)
            return fail(oe, "invalid_request", "max_age must be a number of seconds");
        ar->max_age = (int64_t)n;
    }
    if ((v = req_param(ps, "login_hint", &len)) != NULL && len <= GH_MAX_EMAIL)
        ar->login_hint = x_strdup(v);   /* a hint only: an unusable one is dropped */
    if ((v = req_param(ps, "id_token_hint", &len)) != NULL) {
        struct jwt_expect ex = { .typ = "JWT", .iss = issuer, .now = clock_now(),
                                 .leeway = HINT_LEEWAY_S, .allow_expired = true };
        json_t *claims = NULL;
        const char *sub;
        if (jwt_verify(kr, v, len, &ex, &claims) != GH_OK ||
            !(sub = json_string_value(json_object_get(claims, "sub")))) {
            json_decref(claims);
            return fail(oe, "invalid_request", "id_token_hint is not a valid ID token from here");
        }
        ar->hint_sub = x_strdup(sub);
        json_decref(claims);
    }
    return GH_OK;
}

json_t *
authz_req_to_json(const struct authz_req *ar)
{
    json_t *j = json_object();

#define PUT_S(k, v) \
    if ((v) && json_object_set_new(j, k, json_string(v)) != 0) \
        goto fail;
    PUT_S("client_id", ar->client_id);
    PUT_S("redirect_uri", ar->redirect_uri);
    PUT_S("scope", ar->scope);
    PUT_S("state", ar->state);
    PUT_S("nonce", ar->nonce);
    PUT_S("code_challenge", ar->code_challenge);
    PUT_S("login_hint", ar->login_hint);
    PUT_S("hint_sub", ar->hint_sub);
#undef PUT_S
    if (json_object_set_new(j, "prompt", json_integer(ar->prompt)) != 0 ||
        json_object_set_new(j, "max_age", json_integer(ar->max_age)) != 0)
        goto fail;
    return j;
fail:
    json_decref(j);
    return NULL;
}

static int
get_s(const json_t *j, const char *k, bool required, char **out)
{
    const json_t *v = json_object_get(j, k);

    if (!v)
        return required ? GH_EINVAL : GH_OK;
    if (!json_is_string(v))
        return GH_EINVAL;
    *out = x_strdup(json_string_value(v));
    return GH_OK;
}

int
authz_req_from_json(const json_t *j, struct authz_req *ar)
{
    const json_t *p = json_object_get(j, "prompt"), *m = json_object_get(j, "max_age");

    memset(ar, 0, sizeof(*ar));
    if (!json_is_object(j) || !json_is_integer(p) || !json_is_integer(m) ||
        get_s(j, "client_id", true, &ar->client_id) != GH_OK ||
        get_s(j, "redirect_uri", true, &ar->redirect_uri) != GH_OK ||
        get_s(j, "scope", true, &ar->scope) != GH_OK ||
        get_s(j, "state", false, &ar->state) != GH_OK ||
        get_s(j, "nonce", false, &ar->nonce) != GH_OK ||
        get_s(j, "code_challenge", false, &ar->code_challenge) != GH_OK ||
        get_s(j, "login_hint", false, &ar->login_hint) != GH_OK ||
        get_s(j, "hint_sub", false, &ar->hint_sub) != GH_OK) {
        authz_req_free(ar);
        return GH_EINVAL;
    }
    ar->prompt = (unsigned)json_integer_value(p) & (PROMPT_NONE | PROMPT_LOGIN | PROMPT_CONSENT);
    ar->max_age = json_integer_value(m);
    ar->openid = authz_scope_has(ar->scope, "openid");
    return GH_OK;
}
