/* store_sqlite_signin.c — the browser sign-in records of the SQLite backend (0002_sso.sql):
 * interactions, sessions, authorization codes, grants with refresh rotation, the access-token
 * deny list, consent and purge. Single-use objects are checked and spent in one write
 * transaction (STYLE.md §7). Helpers and transactions: store_sqlite.c. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/err.h"
#include "core/log.h"
#include "model/client.h"
#include "model/user.h"
#include "store/store.h"
#include "store/store_sqlite_int.h"
#include "util/str.h"
#include "util/xmem.h"

/* --- interactions ------------------------------------------------------------------------ */

static int
row_interaction(sqlite3_stmt *s, const char *op, struct interaction **out)
{
    struct interaction *ia = x_calloc(1, sizeof(*ia));

    *out = NULL;
    if (!sq_col_hash(s, 0, ia->id_hash) || !sq_col_hash(s, 1, ia->bind_hash)) {
        interaction_free(ia);
        return sq_bad_row(op, "interaction row: bad hash");
    }
    ia->request = sq_col_str(s, 2);
    ia->created_at = sqlite3_column_int64(s, 3);
    ia->expires_at = sqlite3_column_int64(s, 4);
    *out = ia;
    return GH_OK;
}

int
sq_interaction_add(void *impl, const struct interaction *ia)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, Q_IA_ADD, "interaction_add", true, &s)) != GH_OK)
        return rc;
    sq_bind_hash(s, 1, ia->id_hash, &brc);
    sq_bind_hash(s, 2, ia->bind_hash, &brc);
    sq_bind_text(s, 3, ia->request, &brc);
    sq_bind_int(s, 4, ia->created_at, &brc);
    sq_bind_int(s, 5, ia->expires_at, &brc);
    return sq_write_commit(b, s, brc, "interaction_add", false);
}

int
sq_interaction_get(void *impl, const unsigned char *id_hash, int64_t now,
    struct interaction **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = sq_prep(b, Q_IA_GET, "interaction_get", &s)) != GH_OK)
        goto out;
    sq_bind_hash(s, 1, id_hash, &brc);
    if ((rc = sq_bound(b, "interaction_get", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, "interaction_get")) != GH_OK)
        goto out;
    if (sqlite3_column_int64(s, 4) <= now) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    rc = row_interaction(s, "interaction_get", out);
out:
    sq_done(s);
    return rc;
}

/* Read and delete under one write lock: a second take waits for the first and then finds
 * nothing. An expired interaction is deleted too, and reported as absent. */
int
sq_interaction_take(void *impl, const unsigned char *id_hash, int64_t now,
    struct interaction **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct interaction *ia = NULL;
    bool expired;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_tx_write_light(b, "interaction_take")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_IA_GET, "interaction_take", &s)) != GH_OK)
        goto out;
    sq_bind_hash(s, 1, id_hash, &brc);
    if ((rc = sq_bound(b, "interaction_take", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, "interaction_take")) != GH_OK)
        goto out;
    if ((rc = row_interaction(s, "interaction_take", &ia)) != GH_OK)
        goto out;
    expired = ia->expires_at <= now;
    sq_done(s);
    s = NULL;
    if ((rc = sq_prep(b, Q_IA_DELETE, "interaction_take", &s)) != GH_OK)
        goto out;
    sq_bind_hash(s, 1, id_hash, &brc);
    if ((rc = sq_bound(b, "interaction_take", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_done(b, s, "interaction_take")) != GH_OK)
        goto out;
    sq_done(s);
    s = NULL;
    if ((rc = sq_tx_commit(b, "interaction_take")) != GH_OK)
        goto out;
    if (expired) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    if (out) {
        *out = ia;
        ia = NULL;
    }
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    interaction_free(ia);
    return rc;
}

/* --- sessions ---------------------------------------------------------------------------- */

int
sq_session_add(void *impl, const struct session *se)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, Q_SESSION_ADD, "session_add", true, &s)) != GH_OK)
        return rc;
    sq_bind_hash(s, 1, se->id_hash, &brc);
    sq_bind_text(s, 2, se->sid, &brc);
    sq_bind_text(s, 3, se->sub, &brc);
    sq_bind_text(s, 4, se->amr, &brc);
    sq_bind_int(s, 5, se->auth_time, &brc);
    sq_bind_int(s, 6, se->created_at, &brc);
    sq_bind_int(s, 7, se->last_seen, &brc);
    sq_bind_int(s, 8, se->expires_at, &brc);
    return sq_write_commit(b, s, brc, "session_add", false);
}

/* A plain read; only a session found dead costs a write (its deletion). */
int
sq_session_get(void *impl, const unsigned char *id_hash, int64_t now, int64_t idle_s,
    struct session **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct session *se = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = sq_prep(b, Q_SESSION_GET, "session_get", &s)) != GH_OK)
        goto out;
    sq_bind_hash(s, 1, id_hash, &brc);
    if ((rc = sq_bound(b, "session_get", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, "session_get")) != GH_OK)
        goto out;
    se = x_calloc(1, sizeof(*se));
    if (!sq_col_hash(s, 0, se->id_hash)) {
        rc = sq_bad_row("session_get", "session row: bad hash");
        goto out;
    }
    se->sid = sq_col_str(s, 1);
    se->sub = sq_col_str(s, 2);
    se->amr = sq_col_str(s, 3);
    se->auth_time = sqlite3_column_int64(s, 4);
    se->created_at = sqlite3_column_int64(s, 5);
    se->last_seen = sqlite3_column_int64(s, 6);
    se->expires_at = sqlite3_column_int64(s, 7);
    sq_done(s);
    s = NULL;
    /* dead: now >= expires_at, or now >= last_seen + idle_s */
    if (se->expires_at <= now || se->last_seen <= sq_sub_sat(now, idle_s)) {
        rc = sq_write_keyed(b, Q_SESSION_DELETE_DEAD, "session_get", id_hash, NULL,
            se->last_seen);
        if (rc == GH_OK || rc == GH_ENOTFOUND)
            rc = GH_ENOTFOUND;
        goto out;
    }
    *out = se;
    se = NULL;
out:
    sq_done(s);
    session_free(se);
    return rc;
}

int
sq_session_touch(void *impl, const unsigned char *id_hash, int64_t now)
{
    return sq_write_keyed(impl, Q_SESSION_TOUCH, "session_touch", id_hash, NULL, now);
}

int
sq_session_delete(void *impl, const unsigned char *id_hash)
{
    return sq_write_keyed(impl, Q_SESSION_DELETE, "session_delete", id_hash, NULL, 0);
}

/* --- authorization codes ----------------------------------------------------------------- */

int
sq_code_add(void *impl, const struct authcode *c)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, Q_CODE_ADD, "code_add", true, &s)) != GH_OK)
        return rc;
    sq_bind_hash(s, 1, c->hash, &brc);
    sq_bind_text(s, 2, c->client_id, &brc);
    sq_bind_text(s, 3, c->redirect_uri, &brc);
    sq_bind_text(s, 4, c->scope, &brc);
    sq_bind_text(s, 5, c->nonce, &brc);
    sq_bind_text(s, 6, c->code_challenge, &brc);
    sq_bind_text(s, 7, c->sub, &brc);
    sq_bind_text(s, 8, c->sid, &brc);
    sq_bind_text(s, 9, c->amr, &brc);
    sq_bind_int(s, 10, c->auth_time, &brc);
    sq_bind_int(s, 11, c->created_at, &brc);
    sq_bind_int(s, 12, c->expires_at, &brc);
    return sq_write_commit(b, s, brc, "code_add", false);
}

/* RFC 6749 §4.1.2: a code is used at most once, and a second use should revoke the tokens the
 * first one produced. Look-up, replay handling and spending share one write transaction. */
int
sq_code_take(void *impl, const unsigned char *hash, int64_t now, const char *grant_id,
    struct authcode **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    struct authcode *c = NULL;
    bool spent;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if (!grant_id)   /* without it a later replay could not find what to revoke */
        return GH_EINVAL;
    if ((rc = sq_tx_write_light(b, "code_take")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_CODE_GET, "code_take", &s)) != GH_OK)
        goto out;
    sq_bind_hash(s, 1, hash, &brc);
    if ((rc = sq_bound(b, "code_take", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, "code_take")) != GH_OK)
        goto out;
    c = x_calloc(1, sizeof(*c));
    if (!sq_col_hash(s, 0, c->hash)) {
        rc = sq_bad_row("code_take", "auth code row: bad hash");
        goto out;
    }
    c->client_id = sq_col_str(s, 1);
    c->redirect_uri = sq_col_str(s, 2);
    c->scope = sq_col_str(s, 3);
    c->nonce = sq_col_str(s, 4);
    c->code_challenge = sq_col_str(s, 5);
    c->sub = sq_col_str(s, 6);
    c->sid = sq_col_str(s, 7);
    c->amr = sq_col_str(s, 8);
    c->auth_time = sqlite3_column_int64(s, 9);
    c->created_at = sqlite3_column_int64(s, 10);
    c->expires_at = sqlite3_column_int64(s, 11);
    c->grant_id = sq_col_str(s, 12);
    spent = sqlite3_column_int(s, 13) != 0;
    sq_done(s);
    s = NULL;

    if (spent) {
        /* A replay, however late (spent codes are kept for the purge grace): mark it, so a
         * grant not stored yet is stored revoked by grant_add, and revoke the one stored. A
         * revocation must survive a power cut: this transaction becomes durable. */
        sq_tx_make_durable(b);
        if ((rc = sq_prep(b, Q_CODE_MARK_REPLAYED, "code_take", &s)) != GH_OK)
            goto out;
        sq_bind_hash(s, 1, hash, &brc);
        if ((rc = sq_bound(b, "code_take", brc)) != GH_OK ||
            (rc = sq_step_done(b, s, "code_take")) != GH_OK)
            goto out;
        sq_done(s);
        s = NULL;
        if ((rc = sq_prep(b, Q_GRANT_REVOKE, "code_take", &s)) != GH_OK)
            goto out;
        sq_bind_text(s, 1, c->grant_id, &brc);
        if ((rc = sq_bound(b, "code_take", brc)) != GH_OK ||
            (rc = sq_step_done(b, s, "code_take")) != GH_OK)
            goto out;
        sq_done(s);
        s = NULL;
        if ((rc = sq_tx_commit(b, "code_take")) != GH_OK)
            goto out;
        rc = GH_EDENIED;
        goto out;
    }
    if (c->expires_at <= now) {
        rc = GH_EEXPIRED;
        goto out;
    }
    if ((rc = sq_prep(b, Q_CODE_SPEND, "code_take", &s)) != GH_OK)
        goto out;
    sq_bind_hash(s, 1, hash, &brc);
    sq_bind_text(s, 2, grant_id, &brc);
    if ((rc = sq_bound(b, "code_take", brc)) != GH_OK ||
        (rc = sq_step_done(b, s, "code_take")) != GH_OK)
        goto out;
    if (sqlite3_changes(b->db) != 1) {   /* cannot happen under the write lock */
        rc = sq_bad_row("code_take", "auth code changed under the write lock");
        goto out;
    }
    sq_done(s);
    s = NULL;
    if ((rc = sq_tx_commit(b, "code_take")) != GH_OK)
        goto out;
    free(c->grant_id);
    c->grant_id = x_strdup(grant_id);
    *out = c;
    c = NULL;
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    authcode_free(c);
    return rc;
}

/* --- grants and refresh tokens ----------------------------------------------------------- */

static int
insert_refresh(struct sq *b, const unsigned char *hash, const char *grant_id, int64_t gen,
    int64_t idle_until, const char *op)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_prep(b, Q_REFRESH_ADD, op, &s)) != GH_OK)
        return rc;
    sq_bind_hash(s, 1, hash, &brc);
    sq_bind_text(s, 2, grant_id, &brc);
    sq_bind_int(s, 3, gen, &brc);
    sq_bind_int(s, 4, idle_until, &brc);
    if ((rc = sq_bound(b, op, brc)) == GH_OK)
        rc = sq_step_done(b, s, op);
    sq_done(s);
    return rc;
}

/* The grant selected by id (Q_GRANT_GET, key text) or by one of its refresh tokens
 * (Q_REFRESH_PEEK, key hash) into a new struct grant: GH_OK, GH_ENOTFOUND. */
static int
load_grant(struct sq *b, enum q_id id, const char *text, const unsigned char *hash,
    int64_t now, const char *op, struct grant **out)
{
    sqlite3_stmt *s = NULL;
    struct grant *g = NULL;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = sq_prep(b, id, op, &s)) != GH_OK)
        goto out;
    if (hash)
        sq_bind_hash(s, 1, hash, &brc);
    else
        sq_bind_text(s, 1, text, &brc);
    if (sqlite3_bind_parameter_count(s) >= 2)
        sq_bind_int(s, 2, now, &brc);
    if ((rc = sq_bound(b, op, brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, op)) != GH_OK)
        goto out;
    g = x_calloc(1, sizeof(*g));
    g->id = sq_col_str(s, 0);
    g->client_id = sq_col_str(s, 1);
    g->sub = sq_col_str(s, 2);
    g->scope = sq_col_str(s, 3);
    g->sid = sq_col_str(s, 4);
    g->amr = sq_col_str(s, 5);
    g->auth_time = sqlite3_column_int64(s, 6);
    g->created_at = sqlite3_column_int64(s, 7);
    g->expires_at = sqlite3_column_int64(s, 8);
    g->refresh_gen = sqlite3_column_int64(s, 9);
    g->revoked = sqlite3_column_int(s, 10) != 0;
    *out = g;
out:
    sq_done(s);
    return rc;
}

/* A new grant starts at refresh generation 0 and unrevoked, whatever g says. Its subject must
 * exist: a user (one deleted meanwhile takes its codes with it, so this closes the window
 * between code_take and grant_add) or the client itself (client_credentials). */
int
sq_grant_add(void *impl, const struct grant *g, const unsigned char *refresh_hash,
    int64_t refresh_idle_until)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    bool replayed, subject;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_tx_write(b, "grant_add")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_GRANT_ADD_CHECK, "grant_add", &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, g->id, &brc);
    sq_bind_text(s, 2, g->client_id, &brc);
    sq_bind_text(s, 3, g->sub, &brc);
    if ((rc = sq_bound(b, "grant_add", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, "grant_add")) != GH_OK) {
        if (rc == GH_ENOTFOUND)
            rc = sq_bad_row("grant_add", "check returned no row");
        goto out;
    }
    replayed = sqlite3_column_int(s, 0) != 0;
    subject = sqlite3_column_int(s, 1) != 0;
    sq_done(s);
    s = NULL;
    /* RFC 6749 §4.1.2: the code this grant comes from was replayed while its first redemption
     * was in flight. The grant is stored revoked, exactly as if the replay had come a moment
     * later: the first redemption still gets its answer (of N racing requests exactly one
     * succeeds), and its tokens are dead. */
    if (!subject) {
        rc = GH_ENOTFOUND;
        goto out;
    }
    if ((rc = sq_prep(b, Q_GRANT_ADD, "grant_add", &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, g->id, &brc);
    sq_bind_text(s, 2, g->client_id, &brc);
    sq_bind_text(s, 3, g->sub, &brc);
    sq_bind_text(s, 4, g->scope, &brc);
    sq_bind_text(s, 5, g->sid, &brc);
    sq_bind_text(s, 6, g->amr, &brc);
    sq_bind_int(s, 7, g->auth_time, &brc);
    sq_bind_int(s, 8, g->created_at, &brc);
    sq_bind_int(s, 9, g->expires_at, &brc);
    sq_bind_int(s, 10, replayed ? 1 : 0, &brc);
    if ((rc = sq_bound(b, "grant_add", brc)) != GH_OK ||
        (rc = sq_step_done(b, s, "grant_add")) != GH_OK)
        goto out;
    sq_done(s);
    s = NULL;
    if (refresh_hash &&
        (rc = insert_refresh(b, refresh_hash, g->id, 0, refresh_idle_until, "grant_add")) !=
            GH_OK)
        goto out;
    rc = sq_tx_commit(b, "grant_add");
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    return rc;
}

int
sq_grant_get(void *impl, const char *id, struct grant **out)
{
    return load_grant(impl, Q_GRANT_GET, id, NULL, 0, "grant_get", out);
}

/* A read, nothing spent and nothing checked: the caller still rotates (or not) afterwards. */
int
sq_refresh_peek(void *impl, const unsigned char *hash, int64_t now, struct grant **out)
{
    return load_grant(impl, Q_REFRESH_PEEK, NULL, hash, now, "refresh_peek", out);
}

int
sq_grant_revoke(void *impl, const char *id)
{
    return sq_write_keyed(impl, Q_GRANT_REVOKE, "grant_revoke", NULL, id, 0);
}

/* ASVS 7.4.2/7.4.3: a password change or a disabled account ends every session and revokes
 * every grant (refresh tokens and access tokens) of the user, in one transaction. */
int
sq_user_revoke(void *impl, const char *sub, size_t *n)
{
    static const enum q_id ids[] = { Q_USER_SESSIONS_DELETE, Q_USER_GRANTS_REVOKE };
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    size_t count = 0;
    int brc = SQLITE_OK, rc;

    if (n)
        *n = 0;
    if ((rc = sq_tx_write(b, "user_revoke")) != GH_OK)
        return rc;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        if ((rc = sq_prep(b, ids[i], "user_revoke", &s)) != GH_OK)
            goto out;
        sq_bind_text(s, 1, sub, &brc);
        if ((rc = sq_bound(b, "user_revoke", brc)) != GH_OK ||
            (rc = sq_step_done(b, s, "user_revoke")) != GH_OK)
            goto out;
        count += (size_t)sqlite3_changes(b->db);
        sq_done(s);
        s = NULL;
    }
    if ((rc = sq_tx_commit(b, "user_revoke")) == GH_OK && n)
        *n = count;
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    return rc;
}

/* RFC 9700 §4.14.2: rotation with reuse detection. Only the newest token of a family (gen ==
 * grants.refresh_gen) rotates; an older one proves that two parties hold tokens of the family,
 * so the family (and only it) is revoked. Everything happens under one write lock, and the
 * generation advances with a compare-and-set, so two racing requests with one token cannot
 * both win: the second sees an old generation and revokes. */
int
sq_refresh_rotate(void *impl, const unsigned char *old_hash, const unsigned char *new_hash,
    int64_t now, int64_t new_idle_until, struct grant **out)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    char *grant_id = NULL;
    int64_t gen, idle_until, cur_gen, expires_at;
    bool revoked;
    int brc = SQLITE_OK, rc;

    *out = NULL;
    if ((rc = sq_tx_write(b, "refresh_rotate")) != GH_OK)
        return rc;
    if ((rc = sq_prep(b, Q_REFRESH_FIND, "refresh_rotate", &s)) != GH_OK)
        goto out;
    sq_bind_hash(s, 1, old_hash, &brc);
    if ((rc = sq_bound(b, "refresh_rotate", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, "refresh_rotate")) != GH_OK)
        goto out;
    grant_id = sq_col_str(s, 0);
    gen = sqlite3_column_int64(s, 1);
    idle_until = sqlite3_column_int64(s, 2);
    cur_gen = sqlite3_column_int64(s, 3);
    revoked = sqlite3_column_int(s, 4) != 0;
    expires_at = sqlite3_column_int64(s, 5);
    sq_done(s);
    s = NULL;

    if (revoked) {
        rc = GH_EDENIED;
        goto out;
    }
    if (expires_at <= now || idle_until <= now) {
        rc = GH_EEXPIRED;
        goto out;
    }
    if (gen != cur_gen) {
        if ((rc = sq_prep(b, Q_GRANT_REVOKE, "refresh_rotate", &s)) != GH_OK)
            goto out;
        sq_bind_text(s, 1, grant_id, &brc);
        if ((rc = sq_bound(b, "refresh_rotate", brc)) != GH_OK ||
            (rc = sq_step_done(b, s, "refresh_rotate")) != GH_OK)
            goto out;
        sq_done(s);
        s = NULL;
        if ((rc = sq_tx_commit(b, "refresh_rotate")) != GH_OK)
            goto out;
        rc = GH_EDENIED;   /* RFC 9700 §4.14.2: reuse; the family is now revoked */
        goto out;
    }
    if ((rc = sq_prep(b, Q_GRANT_ADVANCE, "refresh_rotate", &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, grant_id, &brc);
    sq_bind_int(s, 2, gen, &brc);
    if ((rc = sq_bound(b, "refresh_rotate", brc)) != GH_OK ||
        (rc = sq_step_done(b, s, "refresh_rotate")) != GH_OK)
        goto out;
    if (sqlite3_changes(b->db) != 1) {   /* cannot happen under the write lock */
        rc = sq_bad_row("refresh_rotate", "grant changed under the write lock");
        goto out;
    }
    sq_done(s);
    s = NULL;
    if ((rc = insert_refresh(b, new_hash, grant_id, gen + 1, new_idle_until,
             "refresh_rotate")) != GH_OK)
        goto out;
    if ((rc = load_grant(b, Q_GRANT_GET, grant_id, NULL, 0, "refresh_rotate", out)) != GH_OK) {
        if (rc == GH_ENOTFOUND)
            rc = sq_bad_row("refresh_rotate", "grant vanished under the write lock");
        goto out;
    }
    if ((rc = sq_tx_commit(b, "refresh_rotate")) != GH_OK) {
        grant_free(*out);
        *out = NULL;
    }
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    free(grant_id);
    return rc;
}

/* --- access tokens ----------------------------------------------------------------------- */

int
sq_token_revoke(void *impl, const char *jti, int64_t expires_at)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, Q_ACCESS_ADD, "token_revoke", false, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, jti, &brc);
    sq_bind_int(s, 2, expires_at, &brc);
    return sq_write_commit(b, s, brc, "token_revoke", false);
}

int
sq_token_check(void *impl, const char *jti, const char *grant_id)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_prep(b, Q_ACCESS_CHECK, "token_check", &s)) != GH_OK)
        goto out;
    sq_bind_text(s, 1, jti, &brc);
    sq_bind_text(s, 2, grant_id, &brc);   /* NULL binds NULL: matches no grant */
    if ((rc = sq_bound(b, "token_check", brc)) != GH_OK)
        goto out;
    if ((rc = sq_step_row(b, s, "token_check")) != GH_OK)
        goto out;
    if (sqlite3_column_int(s, 0) != 0)
        rc = GH_EDENIED;                                  /* revoked on its own */
    else if (grant_id && sqlite3_column_type(s, 1) == SQLITE_NULL)
        rc = GH_ENOTFOUND;                                /* its grant is gone */
    else if (grant_id && sqlite3_column_int(s, 1) != 0)
        rc = GH_EDENIED;                                  /* its grant was revoked */
out:
    sq_done(s);
    return rc;
}

/* --- failed sign-ins ---------------------------------------------------------------------- */

/* Load name's row into *c (zeros when there is none or it has expired). */
static int
login_load(struct sq *b, const char *name, int64_t now, struct login_count *c, const char *op)
{
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    memset(c, 0, sizeof(*c));
    if ((rc = sq_prep(b, Q_LOGIN_GET, op, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, name, &brc);
    if ((rc = sq_bound(b, op, brc)) == GH_OK && (rc = sq_step_row(b, s, op)) == GH_OK &&
        sqlite3_column_int64(s, 2) > now) {
        c->failures = sqlite3_column_int64(s, 0);
        c->locked_until = sqlite3_column_int64(s, 1);
        c->expires_at = sqlite3_column_int64(s, 2);
    }
    sq_done(s);
    return rc == GH_ENOTFOUND ? GH_OK : rc;
}

int
sq_login_count(void *impl, const char *name, int64_t now, store_login_decide_fn decide,
    void *arg)
{
    struct sq *b = impl;
    struct login_count c;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_tx_write_light(b, "login_count")) != GH_OK)
        return rc;
    if ((rc = login_load(b, name, now, &c, "login_count")) != GH_OK)
        goto fail;
    if ((rc = decide(arg, &c)) != GH_OK)
        goto fail;
    if ((rc = sq_prep(b, Q_LOGIN_PUT, "login_count", &s)) != GH_OK)
        goto fail;
    sq_bind_text(s, 1, name, &brc);
    sq_bind_int(s, 2, c.failures, &brc);
    sq_bind_int(s, 3, c.locked_until, &brc);
    sq_bind_int(s, 4, c.expires_at, &brc);
    return sq_write_commit(b, s, brc, "login_count", false);
fail:
    sq_tx_rollback(b);
    return rc;
}

int
sq_login_get(void *impl, const char *name, int64_t now, struct login_count *out)
{
    return login_load(impl, name, now, out, "login_get");
}

int
sq_login_reset(void *impl, const char *name)
{
    int rc = sq_write_keyed(impl, Q_LOGIN_DELETE, "login_reset", NULL, name, 0);

    return rc == GH_ENOTFOUND ? GH_OK : rc;
}

/* --- consent ----------------------------------------------------------------------------- */

int
sq_consent_get(void *impl, const char *sub, const char *client_id, char **scope)
{
    return sq_row_text(impl, Q_CONSENT_GET, "consent_get", sub, client_id, scope);
}

int
sq_consent_set(void *impl, const char *sub, const char *client_id, const char *scope,
    int64_t now)
{
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_write_begin(b, Q_CONSENT_SET, "consent_set", false, &s)) != GH_OK)
        return rc;
    sq_bind_text(s, 1, sub, &brc);
    sq_bind_text(s, 2, client_id, &brc);
    sq_bind_text(s, 3, scope, &brc);
    sq_bind_int(s, 4, now, &brc);
    return sq_write_commit(b, s, brc, "consent_set", false);
}

/* --- purge ------------------------------------------------------------------------------- */

/* One write transaction; the order matters: the tokens of ended grants go before the grants so
 * that they are counted (the cascade would delete them uncounted). */
int
sq_purge(void *impl, int64_t now, int64_t grace, size_t *removed)
{
    static const enum q_id steps[] = { Q_PURGE_JTIS, Q_PURGE_INTERACTIONS, Q_PURGE_SESSIONS,
        Q_PURGE_CODES,
        Q_PURGE_ACCESS, Q_PURGE_REFRESH, Q_PURGE_GRANTS, Q_PURGE_LOGINS };
    struct sq *b = impl;
    sqlite3_stmt *s = NULL;
    size_t n = 0;
    int brc = SQLITE_OK, rc;

    if ((rc = sq_tx_write(b, "purge")) != GH_OK)
        return rc;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        /* codes live `grace` seconds past expiry, so a late replay still revokes */
        int64_t cutoff = steps[i] == Q_PURGE_CODES ? sq_sub_sat(now, grace > 0 ? grace : 0) : now;
        if ((rc = sq_prep(b, steps[i], "purge", &s)) != GH_OK)
            goto out;
        sq_bind_int(s, 1, cutoff, &brc);
        if ((rc = sq_bound(b, "purge", brc)) != GH_OK || (rc = sq_step_done(b, s, "purge")) != GH_OK)
            goto out;
        n += (size_t)sqlite3_changes(b->db);
        sq_done(s);
        s = NULL;
    }
    if ((rc = sq_tx_commit(b, "purge")) != GH_OK)
        goto out;
    if (removed)
        *removed = n;
out:
    sq_done(s);
    if (rc != GH_OK)
        sq_tx_rollback(b);
    return rc;
}
