/* store.c — the storage front: picks a backend by DSN and forwards every call to its ops table
 * (STYLE.md §7). It knows no SQL and holds no state beyond the backend handle; the contracts
 * are in store.h. DSNs: "sqlite:FILE" or a plain path (SQLite); "postgresql://…" or
 * "postgres://…" (PostgreSQL: the whole DSN is libpq's conninfo URI, store_pg.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "util/str.h"
#include "util/xmem.h"

static void
set_err(char *err, size_t errsz, const char *msg)
{
    if (err && errsz)
        snprintf(err, errsz, "%s", msg);
}

/* "name://": anything that looks like a URL with a scheme we do not know is refused rather than
 * taken for a file name. */
static bool
looks_like_url(const char *dsn)
{
    const char *p = dsn;

    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    return str_has_prefix(p, "://");
}

int
store_open(const char *dsn, unsigned flags, struct store **out, char *err, size_t errsz)
{
    const struct store_ops *ops = NULL;
    const char *target = NULL;
    struct store *st = NULL;
    void *impl = NULL;
    int rc = GH_EINVAL;

    *out = NULL;
    set_err(err, errsz, "");
    if (!dsn || !*dsn) {
        set_err(err, errsz, "no database given");
        return GH_EINVAL;
    }
    if (str_has_prefix(dsn, "postgresql://") || str_has_prefix(dsn, "postgres://")) {
        ops = &store_pg_ops;
        target = dsn;
    } else if (str_has_prefix(dsn, "sqlite:")) {
        ops = &store_sqlite_ops;
        target = dsn + strlen("sqlite:");
    } else if (looks_like_url(dsn)) {
        set_err(err, errsz,
            "unknown database type (use a file path, sqlite:FILE or postgresql://…)");
        return GH_EINVAL;
    } else {
        ops = &store_sqlite_ops;
        target = dsn;
    }
    if (!*target) {
        set_err(err, errsz, "no database file given after sqlite:");
        return GH_EINVAL;
    }
    if ((rc = ops->open(target, flags, &impl, err, errsz)) != GH_OK)
        return rc;
    st = x_calloc(1, sizeof(*st));
    st->ops = ops;
    st->impl = impl;
    *out = st;
    return GH_OK;
}

void
store_close(struct store *st)
{
    if (!st)
        return;
    st->ops->close(st->impl);
    free(st);
}

int
store_schema_version(struct store *st, int *current, int *supported)
{
    return st->ops->schema_version(st->impl, current, supported);
}

bool
store_shared(const struct store *st)
{
    return st->ops->shared;
}

int
store_ping(struct store *st, unsigned timeout_ms)
{
    int cur, sup;

    /* a backend without its own ping: the schema version is a read as cheap */
    if (!st->ops->ping)
        return store_schema_version(st, &cur, &sup);
    return st->ops->ping(st->impl, timeout_ms);
}

int
store_check(struct store *st, bool full, char **report)
{
    *report = NULL;
    return st->ops->check(st->impl, full, report);
}

int
store_meta_get(struct store *st, const char *name, char **value)
{
    *value = NULL;
    return st->ops->meta_get(st->impl, name, value);
}

int
store_meta_set(struct store *st, const char *name, const char *value)
{
    return st->ops->meta_set(st->impl, name, value);
}

int
store_meta_add(struct store *st, const char *name, const char *value)
{
    return st->ops->meta_add(st->impl, name, value);
}

int
store_user_add(struct store *st, const struct user *u)
{
    return st->ops->user_add(st->impl, u);
}

int
store_user_get(struct store *st, const char *username, struct user **out)
{
    *out = NULL;
    return st->ops->user_get(st->impl, username, out);
}

int
store_user_get_by_sub(struct store *st, const char *sub, struct user **out)
{
    *out = NULL;
    return st->ops->user_get_by_sub(st->impl, sub, out);
}

int
store_user_list(struct store *st, struct user ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return st->ops->user_list(st->impl, out, n);
}

int
store_user_set_password(struct store *st, const char *username, const char *hash, int64_t now)
{
    return st->ops->user_set_password(st->impl, username, hash, now);
}

int
store_user_set_disabled(struct store *st, const char *username, bool disabled, int64_t now)
{
    return st->ops->user_set_disabled(st->impl, username, disabled, now);
}

int
store_user_delete(struct store *st, const char *username)
{
    return st->ops->user_delete(st->impl, username);
}

int
store_client_add(struct store *st, const struct client *c)
{
    return st->ops->client_add(st->impl, c);
}

int
store_client_get(struct store *st, const char *client_id, struct client **out)
{
    *out = NULL;
    return st->ops->client_get(st->impl, client_id, out);
}

int
store_client_list(struct store *st, struct client ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return st->ops->client_list(st->impl, out, n);
}

int
store_client_set_secret(struct store *st, const char *client_id, const unsigned char hash[32],
    const unsigned char *sealed, size_t sealed_len, int64_t now)
{
    return st->ops->client_set_secret(st->impl, client_id, hash, sealed, sealed_len, now);
}

int
store_client_delete(struct store *st, const char *client_id)
{
    return st->ops->client_delete(st->impl, client_id);
}

int
store_key_insert(struct store *st, const struct key_meta *k, int64_t alg_keys)
{
    if (k->sealed && (k->sealed_len == 0 || k->sealed_len > STORE_KEY_SEALED_MAX))
        return GH_EINVAL;
    return st->ops->key_add(st->impl, k, alg_keys < 0 ? STORE_KEY_ANY : alg_keys);
}

int
store_key_add(struct store *st, const char *kid, const char *alg, int64_t created_at)
{
    return store_key_add_at(st, kid, alg, created_at, 0);
}

int
store_key_add_at(struct store *st, const char *kid, const char *alg, int64_t created_at,
    int64_t activate_at)
{
    struct key_meta k = { .kid = (char *)(uintptr_t)kid, .alg = (char *)(uintptr_t)alg,
        .created_at = created_at, .activate_at = activate_at };

    return store_key_insert(st, &k, STORE_KEY_ANY);
}

int
store_key_retire(struct store *st, const char *kid, int64_t retire_at)
{
    return st->ops->key_retire(st->impl, kid, retire_at);
}

int
store_key_list(struct store *st, struct key_meta **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return st->ops->key_list(st->impl, out, n);
}

void
store_key_list_free(struct key_meta *list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++) {
        free(list[i].kid);
        free(list[i].alg);
        mem_wipe_free(list[i].sealed, list[i].sealed_len);
    }
    free(list);
}

/* --- browser sign-in and tokens ---------------------------------------------------------- */

/* The records below hold hashes of secrets, never the secrets: nothing to wipe. */
void
interaction_free(struct interaction *ia)
{
    if (!ia)
        return;
    free(ia->request);
    free(ia);
}

void
session_free(struct session *s)
{
    if (!s)
        return;
    free(s->sid);
    free(s->sub);
    free(s->amr);
    free(s);
}

void
authcode_free(struct authcode *c)
{
    if (!c)
        return;
    free(c->client_id);
    free(c->redirect_uri);
    free(c->scope);
    free(c->nonce);
    free(c->code_challenge);
    free(c->sub);
    free(c->sid);
    free(c->amr);
    free(c->grant_id);
    free(c);
}

void
grant_free(struct grant *g)
{
    if (!g)
        return;
    free(g->id);
    free(g->client_id);
    free(g->sub);
    free(g->scope);
    free(g->sid);
    free(g->amr);
    free(g);
}

int
store_interaction_add(struct store *st, const struct interaction *ia)
{
    return st->ops->interaction_add(st->impl, ia);
}

int
store_interaction_get(struct store *st, const unsigned char id_hash[STORE_HASH_LEN], int64_t now,
    struct interaction **out)
{
    *out = NULL;
    return st->ops->interaction_get(st->impl, id_hash, now, out);
}

int
store_interaction_take(struct store *st, const unsigned char id_hash[STORE_HASH_LEN],
    int64_t now, struct interaction **out)
{
    if (out)
        *out = NULL;
    return st->ops->interaction_take(st->impl, id_hash, now, out);
}

int
store_session_add(struct store *st, const struct session *s)
{
    return st->ops->session_add(st->impl, s);
}

int
store_session_get(struct store *st, const unsigned char id_hash[STORE_HASH_LEN], int64_t now,
    int64_t idle_s, struct session **out)
{
    *out = NULL;
    return st->ops->session_get(st->impl, id_hash, now, idle_s, out);
}

int
store_session_touch(struct store *st, const unsigned char id_hash[STORE_HASH_LEN], int64_t now)
{
    return st->ops->session_touch(st->impl, id_hash, now);
}

int
store_session_delete(struct store *st, const unsigned char id_hash[STORE_HASH_LEN])
{
    return st->ops->session_delete(st->impl, id_hash);
}

int
store_code_add(struct store *st, const struct authcode *c)
{
    return st->ops->code_add(st->impl, c);
}

int
store_code_take(struct store *st, const unsigned char hash[STORE_HASH_LEN], int64_t now,
    const char *grant_id, struct authcode **out)
{
    *out = NULL;
    return st->ops->code_take(st->impl, hash, now, grant_id, out);
}

int
store_grant_add(struct store *st, const struct grant *g,
    const unsigned char refresh_hash[STORE_HASH_LEN], int64_t refresh_idle_until)
{
    return st->ops->grant_add(st->impl, g, refresh_hash, refresh_idle_until);
}

int
store_grant_get(struct store *st, const char *id, struct grant **out)
{
    *out = NULL;
    return st->ops->grant_get(st->impl, id, out);
}

int
store_grant_revoke(struct store *st, const char *id)
{
    return st->ops->grant_revoke(st->impl, id);
}

int
store_user_revoke(struct store *st, const char *sub, size_t *n)
{
    return st->ops->user_revoke(st->impl, sub, n);
}

int
store_refresh_rotate(struct store *st, const unsigned char old_hash[STORE_HASH_LEN],
    const unsigned char new_hash[STORE_HASH_LEN], int64_t now, int64_t new_idle_until,
    struct grant **out)
{
    *out = NULL;
    return st->ops->refresh_rotate(st->impl, old_hash, new_hash, now, new_idle_until, out);
}

int
store_refresh_peek(struct store *st, const unsigned char hash[STORE_HASH_LEN], int64_t now,
    struct grant **out)
{
    *out = NULL;
    return st->ops->refresh_peek(st->impl, hash, now, out);
}

int
store_token_revoke(struct store *st, const char *jti, int64_t expires_at)
{
    return st->ops->token_revoke(st->impl, jti, expires_at);
}

int
store_jti_use(struct store *st, const char *iss, const char *jti, int64_t expires_at)
{
    return st->ops->jti_use(st->impl, iss, jti, expires_at);
}

int
store_login_count(struct store *st, const char *name, int64_t now, store_login_decide_fn decide,
    void *arg)
{
    return st->ops->login_count(st->impl, name, now, decide, arg);
}

int
store_login_get(struct store *st, const char *name, int64_t now, struct login_count *out)
{
    memset(out, 0, sizeof(*out));
    return st->ops->login_get(st->impl, name, now, out);
}

int
store_login_reset(struct store *st, const char *name)
{
    return st->ops->login_reset(st->impl, name);
}

int
store_issuer_allow(struct store *st, const char *issuer, const char *client_id)
{
    return st->ops->issuer_allow(st->impl, issuer, client_id);
}

int
store_issuer_disallow(struct store *st, const char *issuer, const char *client_id)
{
    return st->ops->issuer_disallow(st->impl, issuer, client_id);
}

int
store_read_begin(struct store *st)
{
    return st->ops->read_begin(st->impl);
}

void
store_read_end(struct store *st)
{
    if (st)
        st->ops->read_end(st->impl);
}

void
store_sync_defer(struct store *st, bool on)
{
    st->ops->sync_defer(st->impl, on);
}

uint64_t
store_sync_take(struct store *st)
{
    return st->ops->sync_take(st->impl);
}

int
store_sync_wait(struct store *st, uint64_t ticket)
{
    return st->ops->sync_wait(st->impl, ticket);
}

int
store_token_check(struct store *st, const char *jti, const char *grant_id)
{
    return st->ops->token_check(st->impl, jti, grant_id);
}

int
store_consent_get(struct store *st, const char *sub, const char *client_id, char **scope)
{
    *scope = NULL;
    return st->ops->consent_get(st->impl, sub, client_id, scope);
}

int
store_consent_set(struct store *st, const char *sub, const char *client_id, const char *scope,
    int64_t now)
{
    return st->ops->consent_set(st->impl, sub, client_id, scope, now);
}

int
store_purge(struct store *st, int64_t now, int64_t grace, size_t *removed)
{
    if (removed)
        *removed = 0;
    return st->ops->purge(st->impl, now, grace, removed);
}

/* --- service-to-service: resources (issue 4) --------------------------------------------- */

void
resource_free(struct resource *r)
{
    if (!r)
        return;
    free(r->id);
    free(r->name);
    str_list_free(r->scopes);
    free(r);
}

void
resource_list_free(struct resource **list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        resource_free(list[i]);
    free(list);
}

void
resource_client_list_free(struct resource_client *list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++) {
        free(list[i].client_id);
        free(list[i].scope);
    }
    free(list);
}

int
store_resource_add(struct store *st, const struct resource *r)
{
    return st->ops->resource_add(st->impl, r);
}

int
store_resource_get(struct store *st, const char *id, struct resource **out)
{
    *out = NULL;
    return st->ops->resource_get(st->impl, id, out);
}

int
store_resource_list(struct store *st, struct resource ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return st->ops->resource_list(st->impl, out, n);
}

int
store_resource_delete(struct store *st, const char *id)
{
    return st->ops->resource_delete(st->impl, id);
}

int
store_resource_allow(struct store *st, const char *resource, const char *client_id,
    const char *scope, int64_t now)
{
    return st->ops->resource_allow(st->impl, resource, client_id, scope, now);
}

int
store_resource_disallow(struct store *st, const char *resource, const char *client_id)
{
    return st->ops->resource_disallow(st->impl, resource, client_id);
}

int
store_resource_client_scope(struct store *st, const char *resource, const char *client_id,
    char **scope)
{
    *scope = NULL;
    return st->ops->resource_client_scope(st->impl, resource, client_id, scope);
}

int
store_resource_clients(struct store *st, const char *resource, struct resource_client **out,
    size_t *n)
{
    *out = NULL;
    *n = 0;
    return st->ops->resource_clients(st->impl, resource, out, n);
}

int
store_client_resources(struct store *st, const char *client_id, char ***ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    return st->ops->client_resources(st->impl, client_id, ids, n);
}

/* --- trusted issuers (JWT-bearer grant, issue 4) ---------------------------------------- */

void
trusted_issuer_free(struct trusted_issuer *ti)
{
    if (!ti)
        return;
    free(ti->issuer);
    free(ti->jwks);
    free(ti->jwks_uri);
    str_list_free(ti->clients);
    free(ti);
}

void
trusted_issuer_list_free(struct trusted_issuer **list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        trusted_issuer_free(list[i]);
    free(list);
}

int
store_issuer_add(struct store *st, const struct trusted_issuer *ti)
{
    return st->ops->issuer_add(st->impl, ti);
}

int
store_issuer_get(struct store *st, const char *issuer, struct trusted_issuer **out)
{
    *out = NULL;
    return st->ops->issuer_get(st->impl, issuer, out);
}

int
store_issuer_list(struct store *st, struct trusted_issuer ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return st->ops->issuer_list(st->impl, out, n);
}

int
store_issuer_set_disabled(struct store *st, const char *issuer, bool disabled, int64_t now)
{
    return st->ops->issuer_set_disabled(st->impl, issuer, disabled, now);
}

int
store_issuer_delete(struct store *st, const char *issuer)
{
    return st->ops->issuer_delete(st->impl, issuer);
}

int
store_jwt_grant_check(struct store *st, const char *client_id, const char *grant_type,
    const char *issuer, const char *user_sub, const char **why)
{
    *why = NULL;
    return st->ops->jwt_grant_check(st->impl, client_id, grant_type, issuer, user_sub, why);
}

/* --- for the backends (store_impl.h): string lists, and the element kinds of their lists -- */

/* Append owned (taken over, not copied), keeping the list NULL-terminated. */
static void
strvec_add(struct store_strvec *sv, char *owned)
{
    if (sv->n + 1 >= sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 8;
        sv->v = x_realloc(sv->v, sv->cap * sizeof(*sv->v));
    }
    sv->v[sv->n++] = owned;
    sv->v[sv->n] = NULL;
}

void
store_strvec_push(struct store_strvec *sv, const char *s)
{
    strvec_add(sv, x_strdup(s));
}

char **
store_strvec_take(struct store_strvec *sv)
{
    char **v = sv->v ? sv->v : x_calloc(1, sizeof(*v));

    sv->v = NULL;
    sv->n = sv->cap = 0;
    return v;
}

char **
store_split_spaces(const char *s)
{
    struct store_strvec sv = { 0 };

    while (s && *s) {
        size_t n;
        if (*s == ' ') {
            s++;
            continue;
        }
        n = strcspn(s, " ");
        strvec_add(&sv, x_strndup(s, n));
        s += n;
    }
    return store_strvec_take(&sv);
}

static void
users_free(void *list, size_t n)
{
    user_list_free(list, n);
}

static void
clients_free(void *list, size_t n)
{
    client_list_free(list, n);
}

static void
keys_free(void *list, size_t n)
{
    store_key_list_free(list, n);
}

static void
resources_free(void *list, size_t n)
{
    resource_list_free(list, n);
}

static void
resource_clients_free(void *list, size_t n)
{
    resource_client_list_free(list, n);
}

static void
issuers_free(void *list, size_t n)
{
    trusted_issuer_list_free(list, n);
}

static void
texts_free(void *list, size_t n)
{
    (void)n;
    str_list_free(list);   /* NULL-terminated: the list helpers keep a zeroed element last */
}

const struct store_elems store_elems_user = { sizeof(struct user *), users_free };
const struct store_elems store_elems_client = { sizeof(struct client *), clients_free };
const struct store_elems store_elems_key = { sizeof(struct key_meta), keys_free };
const struct store_elems store_elems_resource = { sizeof(struct resource *), resources_free };
const struct store_elems store_elems_resource_client = { sizeof(struct resource_client),
    resource_clients_free };
const struct store_elems store_elems_issuer = { sizeof(struct trusted_issuer *), issuers_free };
const struct store_elems store_elems_text = { sizeof(char *), texts_free };
