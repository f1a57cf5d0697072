/* store_pg_signin.c — the browser sign-in records of the PostgreSQL backend (0002_sso.sql):
 * interactions, sessions, authorization codes, grants with refresh rotation, the access-token
 * deny list, failed sign-ins, consent and purge. Single-use objects are locked (FOR UPDATE),
 * checked and spent in one transaction, or consumed by one statement (DELETE … RETURNING), so
 * two instances can never both accept one (STYLE.md §7). Helpers: store_pg.c. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_pg_int.h"
#include "util/str.h"
#include "util/xmem.h"

/* --- interactions ------------------------------------------------------------------------ */

static int
row_interaction(const PGresult *r, const char *op, struct interaction **out)
{
    struct interaction *ia = x_calloc(1, sizeof(*ia));

    *out = NULL;
    if (!pg_hash(r, 0, 0, ia->id_hash) || !pg_hash(r, 0, 1, ia->bind_hash)) {
        interaction_free(ia);
        return pg_bad_row(op, "interaction row: bad hash");
    }
    ia->request = pg_str(r, 0, 2);
    ia->created_at = pg_int(r, 0, 3);
    ia->expires_at = pg_int(r, 0, 4);
    *out = ia;
    return GH_OK;
}

int
pg_interaction_add(void *impl, const struct interaction *ia)
{
    struct pgp p = { 0 };

    pgp_hash(&p, ia->id_hash);
    pgp_hash(&p, ia->bind_hash);
    pgp_text(&p, ia->request);
    pgp_int(&p, ia->created_at);
    pgp_int(&p, ia->expires_at);
    return pg_write1(impl, P_IA_ADD, "interaction_add", &p, false);
}

int
pg_interaction_get(void *impl, const unsigned char *id_hash, int64_t now,
    struct interaction **out)
{
    struct pgp p = { 0 };
    PGresult *r = NULL;
    int rc;

    *out = NULL;
    pgp_hash(&p, id_hash);
    if ((rc = pg_row(impl, P_IA_GET, "interaction_get", &p, &r)) != GH_OK)
        return rc;
    rc = pg_int(r, 0, 4) <= now ? GH_ENOTFOUND : row_interaction(r, "interaction_get", out);
    PQclear(r);
    return rc;
}

/* DELETE … RETURNING: of two concurrent takes (on any instances) exactly one gets the row,
 * the other waits for its commit and then deletes nothing. An expired interaction is deleted
 * too, and reported as absent. */
int
pg_interaction_take(void *impl, const unsigned char *id_hash, int64_t now,
    struct interaction **out)
{
    struct pg *b = impl;
    struct pgp p = { 0 };
    PGresult *r = NULL;
    struct interaction *ia = NULL;
    int rc;

    pgp_hash(&p, id_hash);
    if ((rc = pg_tx_write(b, "interaction_take")) != GH_OK)
        return rc;
    if ((rc = pg_row(b, P_IA_TAKE, "interaction_take", &p, &r)) != GH_OK)
        goto out;
    if ((rc = row_interaction(r, "interaction_take", &ia)) != GH_OK)
        goto out;
    if ((rc = pg_tx_commit(b, "interaction_take")) != GH_OK)
        goto out;
    if (ia->expires_at <= now) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    if (out) {
        *out = ia;
        ia = NULL;
    }
out:
    PQclear(r);
    if (rc != GH_OK)
        pg_tx_rollback(b);
    interaction_free(ia);
    return rc;
}

/* --- sessions ---------------------------------------------------------------------------- */

int
pg_session_add(void *impl, const struct session *se)
{
    struct pgp p = { 0 };

    pgp_hash(&p, se->id_hash);
    pgp_text(&p, se->sid);
    pgp_text(&p, se->sub);
    pgp_text(&p, se->amr);
    pgp_int(&p, se->auth_time);
    pgp_int(&p, se->created_at);
    pgp_int(&p, se->last_seen);
    pgp_int(&p, se->expires_at);
    return pg_write1(impl, P_SESSION_ADD, "session_add", &p, false);
}

/* A plain read; only a session found dead costs a write (its deletion). */
int
pg_session_get(void *impl, const unsigned char *id_hash, int64_t now, int64_t idle_s,
    struct session **out)
{
    struct pg *b = impl;
    struct pgp p = { 0 };
    PGresult *r = NULL;
    struct session *se = NULL;
    int rc;

    *out = NULL;
    pgp_hash(&p, id_hash);
    if ((rc = pg_row(b, P_SESSION_GET, "session_get", &p, &r)) != GH_OK)
        goto out;
    se = x_calloc(1, sizeof(*se));
    if (!pg_hash(r, 0, 0, se->id_hash)) {
        rc = pg_bad_row("session_get", "session row: bad hash");
        goto out;
    }
    se->sid = pg_str(r, 0, 1);
    se->sub = pg_str(r, 0, 2);
    se->amr = pg_str(r, 0, 3);
    se->auth_time = pg_int(r, 0, 4);
    se->created_at = pg_int(r, 0, 5);
    se->last_seen = pg_int(r, 0, 6);
    se->expires_at = pg_int(r, 0, 7);
    /* dead: now >= expires_at, or now >= last_seen + idle_s */
    if (se->expires_at <= now || se->last_seen <= pg_sub_sat(now, idle_s)) {
        struct pgp d = { 0 };
        pgp_hash(&d, id_hash);
        pgp_int(&d, se->last_seen);
        rc = pg_write1(b, P_SESSION_DELETE_DEAD, "session_get", &d, false);
        if (rc == GH_OK)
            rc = GH_ENOTFOUND;
        goto out;
    }
    *out = se;
    se = NULL;
out:
    PQclear(r);
    session_free(se);
    return rc;
}

int
pg_session_touch(void *impl, const unsigned char *id_hash, int64_t now)
{
    struct pgp p = { 0 };

    pgp_hash(&p, id_hash);
    pgp_int(&p, now);
    return pg_write1(impl, P_SESSION_TOUCH, "session_touch", &p, true);
}

int
pg_session_delete(void *impl, const unsigned char *id_hash)
{
    struct pgp p = { 0 };

    pgp_hash(&p, id_hash);
    return pg_write1(impl, P_SESSION_DELETE, "session_delete", &p, true);
}

/* --- authorization codes ----------------------------------------------------------------- */

int
pg_code_add(void *impl, const struct authcode *c)
{
    struct pgp p = { 0 };

    pgp_hash(&p, c->hash);
    pgp_text(&p, c->client_id);
    pgp_text(&p, c->redirect_uri);
    pgp_text(&p, c->scope);
    pgp_text(&p, c->nonce);
    pgp_text(&p, c->code_challenge);
    pgp_text(&p, c->sub);
    pgp_text(&p, c->sid);
    pgp_text(&p, c->amr);
    pgp_int(&p, c->auth_time);
    pgp_int(&p, c->created_at);
    pgp_int(&p, c->expires_at);
    return pg_write1(impl, P_CODE_ADD, "code_add", &p, false);
}

/* One statement keyed by a hash (and a text, when given) inside the open transaction. */
static int
tx_keyed(struct pg *b, enum pq_id id, const char *op, const unsigned char *hash,
    const char *text, size_t *changes)
{
    struct pgp p = { 0 };

    if (hash)
        pgp_hash(&p, hash);
    if (text)
        pgp_text(&p, text);
    return pg_cmd(b, id, op, &p, changes);
}

/* RFC 6749 §4.1.2: a code is used at most once, and a second use should revoke the tokens the
 * first one produced. The code row is locked (FOR UPDATE) for the whole transaction: a
 * concurrent redemption on any instance waits, then reads the row as spent and is a replay. */
int
pg_code_take(void *impl, const unsigned char *hash, int64_t now, const char *grant_id,
    struct authcode **out)
{
    struct pg *b = impl;
    struct pgp p = { 0 };
    PGresult *r = NULL;
    struct authcode *c = NULL;
    size_t n = 0;
    bool spent;
    int rc;

    *out = NULL;
    if (!grant_id)   /* without it a later replay could not find what to revoke */
        return GH_EINVAL;
    if ((rc = pg_tx_write(b, "code_take")) != GH_OK)
        return rc;
    pgp_hash(&p, hash);
    if ((rc = pg_row(b, P_CODE_LOCK, "code_take", &p, &r)) != GH_OK)
        goto out;
    c = x_calloc(1, sizeof(*c));
    if (!pg_hash(r, 0, 0, c->hash)) {
        rc = pg_bad_row("code_take", "auth code row: bad hash");
        goto out;
    }
    c->client_id = pg_str(r, 0, 1);
    c->redirect_uri = pg_str(r, 0, 2);
    c->scope = pg_str(r, 0, 3);
    c->nonce = pg_str(r, 0, 4);
    c->code_challenge = pg_str(r, 0, 5);
    c->sub = pg_str(r, 0, 6);
    c->sid = pg_str(r, 0, 7);
    c->amr = pg_str(r, 0, 8);
    c->auth_time = pg_int(r, 0, 9);
    c->created_at = pg_int(r, 0, 10);
    c->expires_at = pg_int(r, 0, 11);
    c->grant_id = pg_str(r, 0, 12);
    spent = pg_int(r, 0, 13) != 0;
    PQclear(r);
    r = NULL;

    if (spent) {
        /* A replay, however late: mark it, so a grant not stored yet is stored revoked by
         * grant_add (which locks this row first), and revoke the one stored. */
        if ((rc = tx_keyed(b, P_CODE_MARK_REPLAYED, "code_take", hash, NULL, NULL)) != GH_OK ||
            (rc = tx_keyed(b, P_GRANT_REVOKE, "code_take", NULL,
                 c->grant_id ? c->grant_id : "", NULL)) != GH_OK ||
            (rc = pg_tx_commit(b, "code_take")) != GH_OK)
            goto out;
        rc = GH_EDENIED;
        goto out;
    }
    if (c->expires_at <= now) {
        rc = GH_EEXPIRED;
        goto out;
    }
    if ((rc = tx_keyed(b, P_CODE_SPEND, "code_take", hash, grant_id, &n)) != GH_OK)
        goto out;
    if (n != 1) {   /* cannot happen under the row lock */
        rc = pg_bad_row("code_take", "auth code changed under its row lock");
        goto out;
    }
    if ((rc = pg_tx_commit(b, "code_take")) != GH_OK)
        goto out;
    free(c->grant_id);
    c->grant_id = x_strdup(grant_id);
    *out = c;
    c = NULL;
out:
    PQclear(r);
    if (rc != GH_OK)
        pg_tx_rollback(b);
    authcode_free(c);
    return rc;
}

/* --- grants and refresh tokens ----------------------------------------------------------- */

static int
insert_refresh(struct pg *b, const unsigned char *hash, const char *grant_id, int64_t gen,
    int64_t idle_until, const char *op)
{
    struct pgp p = { 0 };

    pgp_hash(&p, hash);
    pgp_text(&p, grant_id);
    pgp_int(&p, gen);
    pgp_int(&p, idle_until);
    return pg_cmd(b, P_REFRESH_ADD, op, &p, NULL);
}

/* The grant selected by id (P_GRANT_GET, text) or by its current refresh token
 * (P_REFRESH_PEEK, hash and now) into a new struct grant: GH_OK, GH_ENOTFOUND. */
static int
load_grant(struct pg *b, enum pq_id id, const char *text, const unsigned char *hash,
    int64_t now, const char *op, struct grant **out)
{
    struct pgp p = { 0 };
    PGresult *r = NULL;
    struct grant *g;
    int rc;

    *out = NULL;
    if (hash) {
        pgp_hash(&p, hash);
        pgp_int(&p, now);
    } else {
        pgp_text(&p, text);
    }
    if ((rc = pg_row(b, id, op, &p, &r)) != GH_OK)
        return rc;
    g = x_calloc(1, sizeof(*g));
    g->id = pg_str(r, 0, 0);
    g->client_id = pg_str(r, 0, 1);
    g->sub = pg_str(r, 0, 2);
    g->scope = pg_str(r, 0, 3);
    g->sid = pg_str(r, 0, 4);
    g->amr = pg_str(r, 0, 5);
    g->auth_time = pg_int(r, 0, 6);
    g->created_at = pg_int(r, 0, 7);
    g->expires_at = pg_int(r, 0, 8);
    g->refresh_gen = pg_int(r, 0, 9);
    g->revoked = pg_int(r, 0, 10) != 0;
    PQclear(r);
    *out = g;
    return GH_OK;
}

/* A new grant starts at refresh generation 0 and unrevoked, whatever g says. Locks, in this
 * order (a user delete takes the user row, then the code rows: no cycle): the subject's user
 * row (FOR KEY SHARE, so the user cannot be deleted before we commit) and the code this grant
 * comes from (FOR UPDATE, so a replay either comes first and we see it, or waits and then
 * revokes what we stored). */
int
pg_grant_add(void *impl, const struct grant *g, const unsigned char *refresh_hash,
    int64_t refresh_idle_until)
{
    struct pg *b = impl;
    struct pgp p = { 0 }, q = { 0 }, a = { 0 };
    PGresult *r = NULL;
    bool replayed = false;
    int rc;

    if ((rc = pg_tx_write(b, "grant_add")) != GH_OK)
        return rc;
    pgp_text(&p, g->client_id);
    pgp_text(&p, g->sub);
    if ((rc = pg_row(b, P_GRANT_SUBJECT, "grant_add", &p, &r)) != GH_OK) {
        if (rc == GH_ENOTFOUND)
            rc = pg_bad_row("grant_add", "check returned no row");
        goto out;
    }
    if (pg_int(r, 0, 0) != 1) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    PQclear(r);
    r = NULL;
    pgp_text(&q, g->id);
    if ((rc = pg_exec(b, P_GRANT_CODE_LOCK, "grant_add", &q, &r)) != GH_OK)
        goto out;
    /* RFC 6749 §4.1.2: replayed while its first redemption was in flight: stored revoked */
    for (int i = 0; i < PQntuples(r); i++)
        replayed = replayed || pg_int(r, i, 0) != 0;
    pgp_text(&a, g->id);
    pgp_text(&a, g->client_id);
    pgp_text(&a, g->sub);
    pgp_text(&a, g->scope);
    pgp_text(&a, g->sid);
    pgp_text(&a, g->amr);
    pgp_int(&a, g->auth_time);
    pgp_int(&a, g->created_at);
    pgp_int(&a, g->expires_at);
    pgp_int(&a, replayed ? 1 : 0);
    if ((rc = pg_cmd(b, P_GRANT_ADD, "grant_add", &a, NULL)) != GH_OK)
        goto out;
    if (refresh_hash &&
        (rc = insert_refresh(b, refresh_hash, g->id, 0, refresh_idle_until, "grant_add")) !=
            GH_OK)
        goto out;
    rc = pg_tx_commit(b, "grant_add");
out:
    PQclear(r);
    if (rc != GH_OK)
        pg_tx_rollback(b);
    return rc;
}

int
pg_grant_get(void *impl, const char *id, struct grant **out)
{
    return load_grant(impl, P_GRANT_GET, id, NULL, 0, "grant_get", out);
}

int
pg_refresh_peek(void *impl, const unsigned char *hash, int64_t now, struct grant **out)
{
    return load_grant(impl, P_REFRESH_PEEK, NULL, hash, now, "refresh_peek", out);
}

int
pg_grant_revoke(void *impl, const char *id)
{
    struct pgp p = { 0 };

    pgp_text(&p, id);
    return pg_write1(impl, P_GRANT_REVOKE, "grant_revoke", &p, true);
}

/* ASVS 7.4.2/7.4.3: every session ended and every grant revoked, in one transaction. */
int
pg_user_revoke(void *impl, const char *sub, size_t *n)
{
    static const enum pq_id ids[] = { P_USER_SESSIONS_DELETE, P_USER_GRANTS_REVOKE };
    struct pg *b = impl;
    size_t count = 0;
    int rc;

    if (n)
        *n = 0;
    if ((rc = pg_tx_write(b, "user_revoke")) != GH_OK)
        return rc;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        size_t c = 0;
        if ((rc = tx_keyed(b, ids[i], "user_revoke", NULL, sub, &c)) != GH_OK)
            goto out;
        count += c;
    }
    if ((rc = pg_tx_commit(b, "user_revoke")) == GH_OK && n)
        *n = count;
out:
    if (rc != GH_OK)
        pg_tx_rollback(b);
    return rc;
}

/* RFC 9700 §4.14.2: rotation with reuse detection. The family's grant row is locked (FOR
 * UPDATE OF g) before its generation is read, so two requests with one token, on any
 * instances, take turns: the second reads the advanced generation and revokes the family. */
int
pg_refresh_rotate(void *impl, const unsigned char *old_hash, const unsigned char *new_hash,
    int64_t now, int64_t new_idle_until, struct grant **out)
{
    struct pg *b = impl;
    struct pgp p = { 0 }, a = { 0 };
    PGresult *r = NULL;
    char *grant_id = NULL;
    int64_t gen, idle_until, cur_gen, expires_at;
    size_t n = 0;
    bool revoked;
    int rc;

    *out = NULL;
    if ((rc = pg_tx_write(b, "refresh_rotate")) != GH_OK)
        return rc;
    pgp_hash(&p, old_hash);
    if ((rc = pg_row(b, P_REFRESH_LOCK, "refresh_rotate", &p, &r)) != GH_OK)
        goto out;
    grant_id = pg_str(r, 0, 0);
    gen = pg_int(r, 0, 1);
    idle_until = pg_int(r, 0, 2);
    cur_gen = pg_int(r, 0, 3);
    revoked = pg_int(r, 0, 4) != 0;
    expires_at = pg_int(r, 0, 5);
    PQclear(r);
    r = NULL;

    if (revoked) {
        rc = GH_EDENIED;
        goto out;
    }
    if (expires_at <= now || idle_until <= now) {
        rc = GH_EEXPIRED;
        goto out;
    }
    if (gen != cur_gen) {
        if ((rc = tx_keyed(b, P_GRANT_REVOKE, "refresh_rotate", NULL, grant_id, NULL)) !=
                GH_OK ||
            (rc = pg_tx_commit(b, "refresh_rotate")) != GH_OK)
            goto out;
        rc = GH_EDENIED;   /* RFC 9700 §4.14.2: reuse; the family is now revoked */
        goto out;
    }
    pgp_text(&a, grant_id);
    pgp_int(&a, gen);
    if ((rc = pg_cmd(b, P_GRANT_ADVANCE, "refresh_rotate", &a, &n)) != GH_OK)
        goto out;
    if (n != 1) {   /* cannot happen under the row lock */
        rc = pg_bad_row("refresh_rotate", "grant changed under its row lock");
        goto out;
    }
    if ((rc = insert_refresh(b, new_hash, grant_id, gen + 1, new_idle_until,
             "refresh_rotate")) != GH_OK)
        goto out;
    if ((rc = load_grant(b, P_GRANT_GET, grant_id, NULL, 0, "refresh_rotate", out)) != GH_OK) {
        if (rc == GH_ENOTFOUND)
            rc = pg_bad_row("refresh_rotate", "grant vanished under its row lock");
        goto out;
    }
    if ((rc = pg_tx_commit(b, "refresh_rotate")) != GH_OK) {
        grant_free(*out);
        *out = NULL;
    }
out:
    PQclear(r);
    if (rc != GH_OK)
        pg_tx_rollback(b);
    free(grant_id);
    return rc;
}

/* --- access tokens ----------------------------------------------------------------------- */

int
pg_token_revoke(void *impl, const char *jti, int64_t expires_at)
{
    struct pgp p = { 0 };

    pgp_text(&p, jti);
    pgp_int(&p, expires_at);
    return pg_write1(impl, P_ACCESS_ADD, "token_revoke", &p, false);
}

int
pg_token_check(void *impl, const char *jti, const char *grant_id)
{
    struct pgp p = { 0 };
    PGresult *r = NULL;
    int rc;

    pgp_text(&p, jti);
    pgp_text(&p, grant_id);   /* NULL binds NULL: matches no grant */
    if ((rc = pg_row(impl, P_ACCESS_CHECK, "token_check", &p, &r)) != GH_OK)
        return rc == GH_ENOTFOUND ? pg_bad_row("token_check", "no row") : rc;
    if (pg_int(r, 0, 0) != 0)
        rc = GH_EDENIED;                                  /* revoked on its own */
    else if (grant_id && pg_isnull(r, 0, 1))
        rc = GH_ENOTFOUND;                                /* its grant is gone */
    else if (grant_id && pg_int(r, 0, 1) != 0)
        rc = GH_EDENIED;                                  /* its grant was revoked */
    PQclear(r);
    return rc;
}

/* --- failed sign-ins --------------------------------------------------------------------- */

/* A row (failures, locked_until, expires_at) into *c; zeros when it has expired. */
static void
login_row(const PGresult *r, int64_t now, struct login_count *c)
{
    memset(c, 0, sizeof(*c));
    if (pg_int(r, 0, 2) > now) {
        c->failures = pg_int(r, 0, 0);
        c->locked_until = pg_int(r, 0, 1);
        c->expires_at = pg_int(r, 0, 2);
    }
}

/* The row is made to exist (an empty, expired one when new) and then locked, so that two
 * concurrent first failures on two instances also take turns: a lock on a row that does not
 * exist yet would lock nothing. */
int
pg_login_count(void *impl, const char *name, int64_t now, store_login_decide_fn decide,
    void *arg)
{
    struct pg *b = impl;
    struct pgp p = { 0 }, u = { 0 };
    struct login_count c;
    PGresult *r = NULL;
    int rc;

    if ((rc = pg_tx_write(b, "login_count")) != GH_OK)
        return rc;
    pgp_text(&p, name);
    if ((rc = pg_cmd(b, P_LOGIN_ENSURE, "login_count", &p, NULL)) != GH_OK)
        goto out;
    if ((rc = pg_row(b, P_LOGIN_LOCK, "login_count", &p, &r)) != GH_OK) {
        if (rc == GH_ENOTFOUND)
            rc = pg_bad_row("login_count", "row vanished under its lock");
        goto out;
    }
    login_row(r, now, &c);
    if ((rc = decide(arg, &c)) != GH_OK)
        goto out;
    pgp_text(&u, name);
    pgp_int(&u, c.failures);
    pgp_int(&u, c.locked_until);
    pgp_int(&u, c.expires_at);
    if ((rc = pg_cmd(b, P_LOGIN_PUT, "login_count", &u, NULL)) != GH_OK)
        goto out;
    rc = pg_tx_commit(b, "login_count");
out:
    PQclear(r);
    if (rc != GH_OK)
        pg_tx_rollback(b);
    return rc;
}

int
pg_login_get(void *impl, const char *name, int64_t now, struct login_count *out)
{
    struct pgp p = { 0 };
    PGresult *r = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    pgp_text(&p, name);
    if ((rc = pg_row(impl, P_LOGIN_GET, "login_get", &p, &r)) == GH_OK)
        login_row(r, now, out);
    PQclear(r);
    return rc == GH_ENOTFOUND ? GH_OK : rc;
}

int
pg_login_reset(void *impl, const char *name)
{
    struct pgp p = { 0 };

    pgp_text(&p, name);
    return pg_write1(impl, P_LOGIN_DELETE, "login_reset", &p, false);
}

/* --- consent ----------------------------------------------------------------------------- */

int
pg_consent_get(void *impl, const char *sub, const char *client_id, char **scope)
{
    struct pgp p = { 0 };
    PGresult *r = NULL;
    int rc;

    *scope = NULL;
    pgp_text(&p, sub);
    pgp_text(&p, client_id);
    if ((rc = pg_row(impl, P_CONSENT_GET, "consent_get", &p, &r)) == GH_OK)
        *scope = pg_str(r, 0, 0);
    PQclear(r);
    return rc;
}

int
pg_consent_set(void *impl, const char *sub, const char *client_id, const char *scope,
    int64_t now)
{
    struct pgp p = { 0 };

    pgp_text(&p, sub);
    pgp_text(&p, client_id);
    pgp_text(&p, scope);
    pgp_int(&p, now);
    return pg_write1(impl, P_CONSENT_SET, "consent_set", &p, false);
}

/* --- purge ------------------------------------------------------------------------------- */

/* One transaction; the tokens of ended grants go before the grants so that they are counted. */
int
pg_purge(void *impl, int64_t now, int64_t grace, size_t *removed)
{
    static const enum pq_id steps[] = { P_PURGE_JTIS, P_PURGE_INTERACTIONS, P_PURGE_SESSIONS,
        P_PURGE_CODES, P_PURGE_ACCESS, P_PURGE_REFRESH, P_PURGE_GRANTS, P_PURGE_LOGINS };
    struct pg *b = impl;
    size_t total = 0;
    int rc;

    if ((rc = pg_tx_write(b, "purge")) != GH_OK)
        return rc;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        /* codes live `grace` seconds past expiry, so a late replay still revokes */
        int64_t cutoff = steps[i] == P_PURGE_CODES ? pg_sub_sat(now, grace > 0 ? grace : 0)
                                                   : now;
        struct pgp p = { 0 };
        size_t n = 0;
        pgp_int(&p, cutoff);
        if ((rc = pg_cmd(b, steps[i], "purge", &p, &n)) != GH_OK)
            goto out;
        total += n;
    }
    if ((rc = pg_tx_commit(b, "purge")) != GH_OK)
        goto out;
    if (removed)
        *removed = total;
out:
    if (rc != GH_OK)
        pg_tx_rollback(b);
    return rc;
}
