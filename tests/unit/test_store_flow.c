/* test_store_flow.c — the browser sign-in records of the store (0002_sso.sql) against real
 * SQLite files: interactions, sessions, authorization codes (single use, replay revokes),
 * grants and refresh rotation with reuse detection (RFC 9700 §4.14.2), the access-token
 * registry, consent, what deleting a user or client leaves usable (nothing), purge, and races
 * between two threads on separate handles. Every time is an explicit `now`; nothing sleeps.
 * The test reaches into the files with the SQLite API only to count rows. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "core/err.h"
#include "model/client.h"
#include "model/user.h"
#include "store/store.h"
#include "t.h"

static char tmpdir[64];
static int seq;

#define ALICE "sub-alice"
#define BOB   "sub-bob"
#define SHOP  "shop"
#define SPA   "spa"
#define CB    "https://rp.example/cb"

/* A distinct, recognisable 32-byte "hash" per (tag, n). */
static void
mk_hash(unsigned char h[STORE_HASH_LEN], unsigned tag, unsigned n)
{
    for (size_t i = 0; i < STORE_HASH_LEN; i++)
        h[i] = (unsigned char)(0xa5 ^ (i * 13));
    memcpy(h, &tag, sizeof(tag));
    memcpy(h + sizeof(tag), &n, sizeof(n));
}

/* Count rows with the raw API (read-only use of the file). */
static long long
count(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* A fresh database with users alice and bob and clients shop (confidential) and spa (public). */
static struct store *
fixture(char *path, size_t n)
{
    static char *uris[] = { CB, NULL }, *grants[] = { "authorization_code", NULL };
    static char *scopes[] = { "openid", NULL }, *none[] = { NULL };
    struct store *st = NULL;
    struct user a = { .sub = ALICE, .username = "alice", .created_at = 1, .updated_at = 1 };
    struct user b = { .sub = BOB, .username = "bob", .created_at = 1, .updated_at = 1 };
    struct client c = { .client_id = SHOP, .name = "Shop", .auth_method =
        CLIENT_AUTH_SECRET_BASIC, .redirect_uris = uris, .post_logout_redirect_uris = none,
        .grant_types = grants, .scopes = scopes, .pkce_required = true };
    struct client d = c;
    char err[256];

    snprintf(path, n, "%s/f%d.db", tmpdir, ++seq);
    if (store_open(path, STORE_CREATE, &st, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "  open %s: %s\n", path, err);
        return NULL;
    }
    d.client_id = SPA;
    d.is_public = true;
    d.auth_method = CLIENT_AUTH_NONE;
    if (store_user_add(st, &a) != GH_OK || store_user_add(st, &b) != GH_OK ||
        store_client_add(st, &c) != GH_OK || store_client_add(st, &d) != GH_OK) {
        store_close(st);
        return NULL;
    }
    return st;
}

static struct authcode
mk_code(unsigned n, char *client_id, char *sub, int64_t expires_at)
{
    struct authcode c = { .client_id = client_id, .redirect_uri = CB,
        .scope = "openid profile", .nonce = "n-0S6", .code_challenge =
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", .sub = sub, .sid = "sid-1",
        .amr = "pwd", .auth_time = 90, .created_at = 100, .expires_at = expires_at };
    mk_hash(c.hash, 0xc0de, n);
    return c;
}

static struct grant
mk_grant(char *id, char *client_id, char *sub, int64_t expires_at)
{
    struct grant g = { .id = id, .client_id = client_id, .sub = sub,
        .scope = "openid offline_access", .sid = "sid-1", .amr = "pwd", .auth_time = 90,
        .created_at = 100, .expires_at = expires_at };
    return g;
}

/* --- interactions ------------------------------------------------------------------------ */

static void
test_interaction_add_get_take_once(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct interaction ia = { .request = "{\"client_id\":\"shop\"}", .created_at = 100,
        .expires_at = 1000 }, *got = NULL;

    T_ASSERT(st);
    mk_hash(ia.id_hash, 1, 1);
    mk_hash(ia.bind_hash, 1, 2);
    T_EQ_INT(store_interaction_add(st, &ia), GH_OK);
    T_EQ_INT(store_interaction_add(st, &ia), GH_EEXIST);
    T_EQ_INT(store_interaction_get(st, ia.id_hash, 999, &got), GH_OK);
    T_ASSERT(memcmp(got->id_hash, ia.id_hash, STORE_HASH_LEN) == 0);
    T_ASSERT(memcmp(got->bind_hash, ia.bind_hash, STORE_HASH_LEN) == 0);
    T_EQ_STR(got->request, ia.request);
    T_EQ_INT(got->created_at, 100);
    T_EQ_INT(got->expires_at, 1000);
    interaction_free(got);
    got = (struct interaction *)1;
    /* expires_at <= now is expired */
    T_EQ_INT(store_interaction_get(st, ia.id_hash, 1000, &got), GH_ENOTFOUND);
    T_ASSERT(got == NULL);
    T_EQ_INT(store_interaction_get(st, ia.bind_hash, 1, &got), GH_ENOTFOUND);

    T_EQ_INT(store_interaction_take(st, ia.id_hash, 999, &got), GH_OK);
    T_EQ_STR(got->request, ia.request);
    interaction_free(got);
    got = (struct interaction *)1;
    T_EQ_INT(store_interaction_take(st, ia.id_hash, 999, &got), GH_ENOTFOUND);
    T_ASSERT(got == NULL);
    T_EQ_INT(store_interaction_get(st, ia.id_hash, 999, &got), GH_ENOTFOUND);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM interactions"), 0);
}

static void
test_interaction_take_expired_deletes_it(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct interaction ia = { .request = "{}", .created_at = 100, .expires_at = 200 };

    T_ASSERT(st);
    mk_hash(ia.id_hash, 1, 1);
    mk_hash(ia.bind_hash, 1, 2);
    T_EQ_INT(store_interaction_add(st, &ia), GH_OK);
    T_EQ_INT(store_interaction_take(st, ia.id_hash, 200, NULL), GH_ENOTFOUND);
    T_EQ_INT(count(path, "SELECT count(*) FROM interactions"), 0);
    /* and out may be NULL on success */
    T_EQ_INT(store_interaction_add(st, &ia), GH_OK);
    T_EQ_INT(store_interaction_take(st, ia.id_hash, 199, NULL), GH_OK);
    T_EQ_INT(store_interaction_take(st, ia.id_hash, 199, NULL), GH_ENOTFOUND);
    store_close(st);
}

/* --- sessions ---------------------------------------------------------------------------- */

static struct session
mk_session(unsigned n, char *sid, char *sub)
{
    struct session s = { .sid = sid, .sub = sub, .amr = "pwd",
        .auth_time = 100, .created_at = 100, .last_seen = 100, .expires_at = 10000 };
    mk_hash(s.id_hash, 5, n);
    return s;
}

static void
test_session_roundtrip_touch_delete(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct session s = mk_session(1, "sid-1", ALICE), dup = mk_session(2, "sid-1", BOB);
    struct session nouser = mk_session(3, "sid-3", "sub-nobody"), *got = NULL;
    unsigned char unknown[STORE_HASH_LEN];

    T_ASSERT(st);
    mk_hash(unknown, 5, 99);
    T_EQ_INT(store_session_add(st, &s), GH_OK);
    T_EQ_INT(store_session_add(st, &s), GH_EEXIST);
    T_EQ_INT(store_session_add(st, &dup), GH_EEXIST);        /* sid is unique too */
    T_EQ_INT(store_session_add(st, &nouser), GH_ENOTFOUND);  /* no such user */
    T_EQ_INT(store_session_get(st, s.id_hash, 200, 1800, &got), GH_OK);
    T_ASSERT(memcmp(got->id_hash, s.id_hash, STORE_HASH_LEN) == 0);
    T_EQ_STR(got->sid, "sid-1");
    T_EQ_STR(got->sub, ALICE);
    T_EQ_STR(got->amr, "pwd");
    T_EQ_INT(got->auth_time, 100);
    T_EQ_INT(got->created_at, 100);
    T_EQ_INT(got->last_seen, 100);
    T_EQ_INT(got->expires_at, 10000);
    session_free(got);

    T_EQ_INT(store_session_touch(st, s.id_hash, 1500), GH_OK);
    T_EQ_INT(store_session_touch(st, s.id_hash, 1400), GH_OK);  /* never moves back */
    T_EQ_INT(store_session_get(st, s.id_hash, 3000, 1800, &got), GH_OK);
    T_EQ_INT(got->last_seen, 1500);
    session_free(got);
    T_EQ_INT(store_session_touch(st, unknown, 1500), GH_ENOTFOUND);

    T_EQ_INT(store_session_delete(st, s.id_hash), GH_OK);
    T_EQ_INT(store_session_delete(st, s.id_hash), GH_ENOTFOUND);
    got = (struct session *)1;
    T_EQ_INT(store_session_get(st, s.id_hash, 200, 1800, &got), GH_ENOTFOUND);
    T_ASSERT(got == NULL);
    store_close(st);
}

/* Idle end: now >= last_seen + idle_s; absolute end: now >= expires_at. A dead session found by
 * get is deleted; one second earlier it is alive. */
static void
test_session_get_deletes_dead_sessions(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct session idle = mk_session(1, "sid-1", ALICE), old = mk_session(2, "sid-2", ALICE);
    struct session *got = NULL;

    T_ASSERT(st);
    old.last_seen = 9000;
    T_EQ_INT(store_session_add(st, &idle), GH_OK);
    T_EQ_INT(store_session_add(st, &old), GH_OK);
    T_EQ_INT(store_session_get(st, idle.id_hash, 1899, 1800, &got), GH_OK);
    session_free(got);
    T_EQ_INT(store_session_get(st, old.id_hash, 9999, 1800, &got), GH_OK);
    session_free(got);
    T_EQ_INT(count(path, "SELECT count(*) FROM sessions"), 2);

    T_EQ_INT(store_session_get(st, idle.id_hash, 1900, 1800, &got), GH_ENOTFOUND);
    T_EQ_INT(count(path, "SELECT count(*) FROM sessions WHERE sid = 'sid-1'"), 0);
    T_EQ_INT(store_session_get(st, old.id_hash, 10000, 1800, &got), GH_ENOTFOUND);
    T_EQ_INT(count(path, "SELECT count(*) FROM sessions"), 0);
    /* a huge idle time does not wrap around */
    T_EQ_INT(store_session_add(st, &idle), GH_OK);
    T_EQ_INT(store_session_get(st, idle.id_hash, 5000, INT64_MAX, &got), GH_OK);
    session_free(got);
    store_close(st);
}

/* --- authorization codes ----------------------------------------------------------------- */

static void
test_code_is_single_use_and_roundtrips(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct authcode c = mk_code(1, SHOP, ALICE, 160), bare = mk_code(2, SPA, BOB, 160);
    struct authcode *got = NULL;

    T_ASSERT(st);
    bare.nonce = NULL;
    bare.code_challenge = NULL;
    bare.sid = NULL;
    c.grant_id = "ignored";   /* a new code is never redeemed */
    T_EQ_INT(store_code_add(st, &c), GH_OK);
    T_EQ_INT(store_code_add(st, &c), GH_EEXIST);
    T_EQ_INT(store_code_add(st, &bare), GH_OK);
    T_EQ_INT(count(path, "SELECT count(*) FROM auth_codes WHERE grant_id IS NULL"), 2);

    T_EQ_INT(store_code_take(st, c.hash, 159, "g1", &got), GH_OK);
    T_ASSERT(memcmp(got->hash, c.hash, STORE_HASH_LEN) == 0);
    T_EQ_STR(got->client_id, SHOP);
    T_EQ_STR(got->redirect_uri, CB);
    T_EQ_STR(got->scope, "openid profile");
    T_EQ_STR(got->nonce, "n-0S6");
    T_EQ_STR(got->code_challenge, c.code_challenge);
    T_EQ_STR(got->sub, ALICE);
    T_EQ_STR(got->sid, "sid-1");
    T_EQ_STR(got->amr, "pwd");
    T_EQ_INT(got->auth_time, 90);
    T_EQ_INT(got->created_at, 100);
    T_EQ_INT(got->expires_at, 160);
    T_EQ_STR(got->grant_id, "g1");
    authcode_free(got);
    got = (struct authcode *)1;
    /* RFC 6749 §4.1.2: never twice, whatever grant id the second request brings */
    T_EQ_INT(store_code_take(st, c.hash, 159, "g2", &got), GH_EDENIED);
    T_ASSERT(got == NULL);
    T_EQ_INT(store_code_take(st, c.hash, 159, "g1", &got), GH_EDENIED);

    T_EQ_INT(store_code_take(st, bare.hash, 100, "g3", &got), GH_OK);
    T_ASSERT(got->nonce == NULL && got->code_challenge == NULL && got->sid == NULL);
    authcode_free(got);
    store_close(st);
    T_EQ_INT(count(path, "SELECT grant_id = 'g1' AND spent AND replayed FROM auth_codes "
                         "WHERE client_id = 'shop'"), 1);
}

static void
test_code_failure_paths(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct authcode c = mk_code(1, SHOP, ALICE, 160), *got = NULL;
    struct authcode ghost = mk_code(2, "no-such-client", ALICE, 160);
    struct authcode nouser = mk_code(3, SHOP, "sub-nobody", 160);
    unsigned char unknown[STORE_HASH_LEN];

    T_ASSERT(st);
    mk_hash(unknown, 0xc0de, 99);
    T_EQ_INT(store_code_add(st, &ghost), GH_ENOTFOUND);
    T_EQ_INT(store_code_add(st, &nouser), GH_ENOTFOUND);
    T_EQ_INT(store_code_add(st, &c), GH_OK);
    T_EQ_INT(store_code_take(st, unknown, 100, "g1", &got), GH_ENOTFOUND);
    T_EQ_INT(store_code_take(st, c.hash, 100, NULL, &got), GH_EINVAL);
    /* expired: expires_at <= now, and left unspent */
    T_EQ_INT(store_code_take(st, c.hash, 160, "g1", &got), GH_EEXPIRED);
    T_ASSERT(got == NULL);
    T_EQ_INT(count(path, "SELECT spent FROM auth_codes"), 0);
    T_EQ_INT(store_code_take(st, c.hash, 159, "g1", &got), GH_OK);
    authcode_free(got);
    store_close(st);
}

/* SECURITY.md P9: a replayed code kills what the first redemption produced. */
static void
test_code_replay_revokes_the_grant(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct authcode c = mk_code(1, SHOP, ALICE, 160), *got = NULL;
    struct grant g = mk_grant("g1", SHOP, ALICE, 5000), *gg = NULL;
    unsigned char r0[STORE_HASH_LEN], r1[STORE_HASH_LEN];

    T_ASSERT(st);
    mk_hash(r0, 7, 0);
    mk_hash(r1, 7, 1);
    T_EQ_INT(store_code_add(st, &c), GH_OK);
    T_EQ_INT(store_code_take(st, c.hash, 110, "g1", &got), GH_OK);
    authcode_free(got);
    T_EQ_INT(store_grant_add(st, &g, r0, 1000), GH_OK);
    T_EQ_INT(store_token_check(st, "g1.jti-1", "g1"), GH_OK);

    /* long past the code's expiry: still a replay, still revokes */
    T_EQ_INT(store_code_take(st, c.hash, 900, "g-attacker", &got), GH_EDENIED);
    T_EQ_INT(store_grant_get(st, "g1", &gg), GH_OK);
    T_ASSERT(gg->revoked);
    grant_free(gg);
    gg = NULL;
    T_EQ_INT(store_token_check(st, "g1.jti-1", "g1"), GH_EDENIED);
    T_EQ_INT(store_refresh_rotate(st, r0, r1, 120, 1000, &gg), GH_EDENIED);
    T_ASSERT(gg == NULL);
    T_EQ_INT(store_grant_get(st, "g-attacker", &gg), GH_ENOTFOUND);
    store_close(st);
}

/* The replay lands between code_take and grant_add of the first redemption: the grant must
 * never come into being. */
static void
test_replay_before_grant_add_stores_the_grant_revoked(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct authcode c = mk_code(1, SHOP, ALICE, 160), *got = NULL;
    struct grant g = mk_grant("g1", SHOP, ALICE, 5000), *gg = NULL;
    struct grant other = mk_grant("g2", SHOP, ALICE, 5000);
    unsigned char r0[STORE_HASH_LEN];

    T_ASSERT(st);
    mk_hash(r0, 7, 0);
    T_EQ_INT(store_code_add(st, &c), GH_OK);
    T_EQ_INT(store_code_take(st, c.hash, 110, "g1", &got), GH_OK);
    authcode_free(got);
    T_EQ_INT(store_code_take(st, c.hash, 111, "g9", &got), GH_EDENIED);
    /* the first redemption still completes (one of N racing requests succeeds), but what it
     * stores is already revoked: its refresh token and access tokens never work */
    T_EQ_INT(store_grant_add(st, &g, r0, 1000), GH_OK);
    T_EQ_INT(store_grant_get(st, "g1", &gg), GH_OK);
    T_ASSERT(gg->revoked);
    grant_free(gg);
    T_EQ_INT(store_token_check(st, "g1.jti-r", "g1"), GH_EDENIED);
    unsigned char r1[STORE_HASH_LEN];
    mk_hash(r1, 8, 0);
    T_EQ_INT(store_refresh_rotate(st, r0, r1, 120, 1000, &gg), GH_EDENIED);
    /* an unrelated grant id is not affected */
    unsigned char r2[STORE_HASH_LEN];
    mk_hash(r2, 9, 0);
    T_EQ_INT(store_grant_add(st, &other, r2, 1000), GH_OK);
    T_EQ_INT(store_grant_get(st, "g2", &gg), GH_OK);
    T_ASSERT(!gg->revoked);
    grant_free(gg);
    store_close(st);
}

/* --- grants ------------------------------------------------------------------------------ */

static void
test_grant_add_get_revoke(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct grant g = mk_grant("g1", SHOP, ALICE, 5000), *got = NULL;
    struct grant nosid = mk_grant("g2", SPA, BOB, 6000);
    struct grant svc = mk_grant("g3", SHOP, SHOP, 6000);          /* client_credentials */
    struct grant ghost_user = mk_grant("g4", SHOP, "sub-nobody", 6000);
    struct grant ghost_client = mk_grant("g5", "nope", ALICE, 6000);
    struct grant other_client = mk_grant("g6", SPA, SHOP, 6000);  /* sub is another client */
    unsigned char r0[STORE_HASH_LEN];

    T_ASSERT(st);
    mk_hash(r0, 7, 0);
    g.refresh_gen = 7;   /* ignored: a new grant starts at 0, unrevoked */
    g.revoked = true;
    nosid.sid = NULL;
    nosid.amr = NULL;
    T_EQ_INT(store_grant_add(st, &g, r0, 1000), GH_OK);
    T_EQ_INT(store_grant_add(st, &g, NULL, 0), GH_EEXIST);
    T_EQ_INT(store_grant_add(st, &nosid, r0, 1000), GH_EEXIST);  /* the refresh hash is taken */
    T_EQ_INT(store_grant_get(st, "g2", &got), GH_ENOTFOUND);      /* ... and nothing was kept */
    T_EQ_INT(store_grant_add(st, &nosid, NULL, 0), GH_OK);
    T_EQ_INT(store_grant_add(st, &svc, NULL, 0), GH_OK);
    T_EQ_INT(store_grant_add(st, &ghost_user, NULL, 0), GH_ENOTFOUND);
    T_EQ_INT(store_grant_add(st, &ghost_client, NULL, 0), GH_ENOTFOUND);
    T_EQ_INT(store_grant_add(st, &other_client, NULL, 0), GH_ENOTFOUND);

    T_EQ_INT(store_grant_get(st, "g1", &got), GH_OK);
    T_EQ_STR(got->id, "g1");
    T_EQ_STR(got->client_id, SHOP);
    T_EQ_STR(got->sub, ALICE);
    T_EQ_STR(got->scope, "openid offline_access");
    T_EQ_STR(got->sid, "sid-1");
    T_EQ_STR(got->amr, "pwd");
    T_EQ_INT(got->auth_time, 90);
    T_EQ_INT(got->created_at, 100);
    T_EQ_INT(got->expires_at, 5000);
    T_EQ_INT(got->refresh_gen, 0);
    T_ASSERT(!got->revoked);
    grant_free(got);
    T_EQ_INT(store_grant_get(st, "g2", &got), GH_OK);
    T_ASSERT(got->sid == NULL && got->amr == NULL);
    grant_free(got);
    got = (struct grant *)1;
    T_EQ_INT(store_grant_get(st, "g4", &got), GH_ENOTFOUND);
    T_ASSERT(got == NULL);

    T_EQ_INT(store_grant_revoke(st, "g1"), GH_OK);
    T_EQ_INT(store_grant_revoke(st, "g1"), GH_OK);   /* idempotent */
    T_EQ_INT(store_grant_revoke(st, "g4"), GH_ENOTFOUND);
    T_EQ_INT(store_grant_get(st, "g1", &got), GH_OK);
    T_ASSERT(got->revoked);
    grant_free(got);
    T_EQ_INT(store_grant_get(st, "g2", &got), GH_OK);
    T_ASSERT(!got->revoked);
    grant_free(got);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM refresh_tokens"), 1);
}

/* --- refresh rotation -------------------------------------------------------------------- */

static void
test_refresh_rotation_happy_path(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct grant g = mk_grant("g1", SHOP, ALICE, 5000), *got = NULL;
    unsigned char r[4][STORE_HASH_LEN];

    T_ASSERT(st);
    for (unsigned i = 0; i < 4; i++)
        mk_hash(r[i], 7, i);
    T_EQ_INT(store_grant_add(st, &g, r[0], 1000), GH_OK);
    for (unsigned i = 0; i < 3; i++) {
        T_EQ_INT(store_refresh_rotate(st, r[i], r[i + 1], 500 + i, 1500 + i, &got), GH_OK);
        T_EQ_STR(got->id, "g1");
        T_EQ_STR(got->sub, ALICE);
        T_EQ_INT(got->refresh_gen, i + 1);
        T_ASSERT(!got->revoked);
        grant_free(got);
        got = NULL;
    }
    store_close(st);
    /* old tokens are kept for reuse detection, each with its generation and idle end */
    T_EQ_INT(count(path, "SELECT count(*) FROM refresh_tokens WHERE grant_id = 'g1'"), 4);
    T_EQ_INT(count(path, "SELECT max(gen) FROM refresh_tokens"), 3);
    T_EQ_INT(count(path, "SELECT idle_until FROM refresh_tokens WHERE gen = 3"), 1502);
}

/* peek shows the grant of a family's current, not idle token (to check a narrowed scope
 * first; introspection) and spends nothing. */
static void
test_refresh_peek_spends_nothing(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct grant g = mk_grant("g1", SHOP, ALICE, 5000), *got = NULL;
    unsigned char r0[STORE_HASH_LEN], r1[STORE_HASH_LEN], unknown[STORE_HASH_LEN];

    T_ASSERT(st);
    mk_hash(r0, 7, 0);
    mk_hash(r1, 7, 1);
    mk_hash(unknown, 7, 99);
    T_EQ_INT(store_grant_add(st, &g, r0, 1000), GH_OK);
    T_EQ_INT(store_refresh_peek(st, r0, 50, &got), GH_OK);
    T_EQ_STR(got->id, "g1");
    T_EQ_STR(got->scope, "openid offline_access");
    T_EQ_INT(got->refresh_gen, 0);
    grant_free(got);
    got = (struct grant *)1;
    T_EQ_INT(store_refresh_peek(st, unknown, 50, &got), GH_ENOTFOUND);
    T_ASSERT(got == NULL);
    T_EQ_INT(store_refresh_peek(st, r0, 1000, &got), GH_ENOTFOUND);   /* idle end reached */
    /* the peeked token still rotates */
    T_EQ_INT(store_refresh_rotate(st, r0, r1, 100, 1000, &got), GH_OK);
    grant_free(got);
    got = NULL;
    /* the rotated token names no live grant any more; the new one does */
    T_EQ_INT(store_refresh_peek(st, r0, 100, &got), GH_ENOTFOUND);
    T_EQ_INT(store_refresh_peek(st, r1, 100, &got), GH_OK);
    grant_free(got);
    /* revocation is the caller's to see */
    T_EQ_INT(store_grant_revoke(st, "g1"), GH_OK);
    T_EQ_INT(store_refresh_peek(st, r1, 100, &got), GH_OK);
    T_EQ_INT(got->refresh_gen, 1);
    T_ASSERT(got->revoked);
    grant_free(got);
    store_close(st);
}

/* RFC 9700 §4.14.2: an older generation presented again revokes that family, and only it. */
static void
test_refresh_reuse_revokes_the_family_only(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct grant a = mk_grant("ga", SHOP, ALICE, 5000), b = mk_grant("gb", SHOP, ALICE, 5000);
    struct grant *got = NULL;
    unsigned char a0[STORE_HASH_LEN], a1[STORE_HASH_LEN], a2[STORE_HASH_LEN];
    unsigned char b0[STORE_HASH_LEN], b1[STORE_HASH_LEN];

    T_ASSERT(st);
    mk_hash(a0, 0xa, 0);
    mk_hash(a1, 0xa, 1);
    mk_hash(a2, 0xa, 2);
    mk_hash(b0, 0xb, 0);
    mk_hash(b1, 0xb, 1);
    T_EQ_INT(store_grant_add(st, &a, a0, 1000), GH_OK);
    T_EQ_INT(store_grant_add(st, &b, b0, 1000), GH_OK);
    T_EQ_INT(store_refresh_rotate(st, a0, a1, 200, 1000, &got), GH_OK);
    grant_free(got);
    got = NULL;

    T_EQ_INT(store_refresh_rotate(st, a0, a2, 201, 1000, &got), GH_EDENIED);
    T_ASSERT(got == NULL);
    T_EQ_INT(store_grant_get(st, "ga", &got), GH_OK);
    T_ASSERT(got->revoked);
    T_EQ_INT(got->refresh_gen, 1);
    grant_free(got);
    got = NULL;
    /* the current token of the family is dead too, and so is its access token */
    T_EQ_INT(store_refresh_rotate(st, a1, a2, 202, 1000, &got), GH_EDENIED);
    T_EQ_INT(store_token_check(st, "ga.jti-a", "ga"), GH_EDENIED);
    /* the user's other grant lives on */
    T_EQ_INT(store_token_check(st, "gb.jti-b", "gb"), GH_OK);
    T_EQ_INT(store_refresh_rotate(st, b0, b1, 203, 1000, &got), GH_OK);
    T_ASSERT(!got->revoked);
    grant_free(got);
    store_close(st);
    /* a0 and a1 only: the reuse stored nothing */
    T_EQ_INT(count(path, "SELECT count(*) FROM refresh_tokens WHERE grant_id = 'ga'"), 2);
}

static void
test_refresh_expiry_and_failure_paths(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct grant g = mk_grant("g1", SHOP, ALICE, 1000), *got = NULL;
    unsigned char r0[STORE_HASH_LEN], r1[STORE_HASH_LEN], r2[STORE_HASH_LEN];
    unsigned char unknown[STORE_HASH_LEN];

    T_ASSERT(st);
    mk_hash(r0, 7, 0);
    mk_hash(r1, 7, 1);
    mk_hash(r2, 7, 2);
    mk_hash(unknown, 7, 99);
    T_EQ_INT(store_grant_add(st, &g, r0, 500), GH_OK);
    T_EQ_INT(store_refresh_rotate(st, unknown, r1, 100, 900, &got), GH_ENOTFOUND);
    /* idle end: idle_until <= now; nothing advances and nothing is revoked */
    T_EQ_INT(store_refresh_rotate(st, r0, r1, 500, 900, &got), GH_EEXPIRED);
    T_ASSERT(got == NULL);
    T_EQ_INT(store_grant_get(st, "g1", &got), GH_OK);
    T_EQ_INT(got->refresh_gen, 0);
    T_ASSERT(!got->revoked);
    grant_free(got);
    got = NULL;
    /* the new hash collides with a stored token: GH_EEXIST, and the generation stays */
    T_EQ_INT(store_refresh_rotate(st, r0, r0, 499, 900, &got), GH_EEXIST);
    T_EQ_INT(store_refresh_rotate(st, r0, r1, 499, 2000, &got), GH_OK);
    T_EQ_INT(got->refresh_gen, 1);
    grant_free(got);
    got = NULL;
    /* absolute end: the grant's expires_at <= now, even with a token idle end past it */
    T_EQ_INT(store_refresh_rotate(st, r1, r2, 1000, 2000, &got), GH_EEXPIRED);
    T_EQ_INT(store_refresh_rotate(st, r1, r2, 999, 2000, &got), GH_OK);
    T_EQ_INT(got->refresh_gen, 2);
    grant_free(got);
    got = NULL;
    /* a revoked grant: GH_EDENIED before anything else */
    T_EQ_INT(store_grant_revoke(st, "g1"), GH_OK);
    T_EQ_INT(store_refresh_rotate(st, r2, unknown, 999, 2000, &got), GH_EDENIED);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM refresh_tokens"), 3);
}

/* --- access tokens and consent ----------------------------------------------------------- */

static void
test_token_check_follows_the_grant_and_the_deny_list(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct grant g = mk_grant("g1", SHOP, ALICE, 5000);

    T_ASSERT(st);
    T_EQ_INT(store_grant_add(st, &g, NULL, 0), GH_OK);
    T_EQ_INT(store_token_check(st, "g1.a", "g1"), GH_OK);
    T_EQ_INT(store_token_check(st, "svc.b", NULL), GH_OK);           /* no grant: deny list only */
    T_EQ_INT(store_token_check(st, "gx.c", "no-such-grant"), GH_ENOTFOUND);
    /* revoked one by one (RFC 7009): only that jti, twice is fine */
    T_EQ_INT(store_token_revoke(st, "g1.a", 400), GH_OK);
    T_EQ_INT(store_token_revoke(st, "g1.a", 400), GH_OK);
    T_EQ_INT(store_token_check(st, "g1.a", "g1"), GH_EDENIED);
    T_EQ_INT(store_token_check(st, "G1.A", "g1"), GH_OK);            /* exact, case-sensitive */
    T_EQ_INT(store_token_check(st, "g1.other", "g1"), GH_OK);
    T_EQ_INT(store_token_revoke(st, "svc.b", 400), GH_OK);
    T_EQ_INT(store_token_check(st, "svc.b", NULL), GH_EDENIED);
    /* the grant revoked: every token of it */
    T_EQ_INT(store_grant_revoke(st, "g1"), GH_OK);
    T_EQ_INT(store_token_check(st, "g1.other", "g1"), GH_EDENIED);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM revoked_tokens"), 2);
}

static void
test_jti_is_accepted_once_per_issuer_until_purged(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    size_t removed = 0;

    T_ASSERT(st);
    T_EQ_INT(store_jti_use(st, "svc-a", "j1", 500), GH_OK);
    T_EQ_INT(store_jti_use(st, "svc-a", "j1", 900), GH_EEXIST);   /* replay */
    T_EQ_INT(store_jti_use(st, "svc-b", "j1", 500), GH_OK);       /* another issuer's jti */
    T_EQ_INT(store_jti_use(st, "svc-a", "J1", 500), GH_OK);       /* exact */
    T_EQ_INT(store_purge(st, 499, 0, &removed), GH_OK);
    T_EQ_INT(store_jti_use(st, "svc-a", "j1", 900), GH_EEXIST);   /* not expired yet */
    T_EQ_INT(store_purge(st, 500, 0, &removed), GH_OK);
    T_EQ_INT(removed, 3);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM used_jtis"), 0);
}

static void
test_consent_get_set(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    char *scope = (char *)"x";

    T_ASSERT(st);
    T_EQ_INT(store_consent_get(st, ALICE, SHOP, &scope), GH_ENOTFOUND);
    T_ASSERT(scope == NULL);
    T_EQ_INT(store_consent_set(st, ALICE, SHOP, "openid", 100), GH_OK);
    T_EQ_INT(store_consent_set(st, ALICE, SHOP, "openid email", 200), GH_OK);
    T_EQ_INT(store_consent_set(st, BOB, SHOP, "openid profile", 200), GH_OK);
    T_EQ_INT(store_consent_get(st, ALICE, SHOP, &scope), GH_OK);
    T_EQ_STR(scope, "openid email");
    free(scope);
    T_EQ_INT(store_consent_get(st, BOB, SHOP, &scope), GH_OK);
    T_EQ_STR(scope, "openid profile");
    free(scope);
    T_EQ_INT(store_consent_get(st, ALICE, SPA, &scope), GH_ENOTFOUND);
    T_EQ_INT(store_consent_set(st, "sub-nobody", SHOP, "openid", 100), GH_ENOTFOUND);
    T_EQ_INT(store_consent_set(st, ALICE, "nope", "openid", 100), GH_ENOTFOUND);
    store_close(st);
    T_EQ_INT(count(path, "SELECT created_at FROM consents WHERE sub = 'sub-alice'"), 200);
    T_EQ_INT(count(path, "SELECT count(*) FROM consents"), 2);
}

/* --- deleting users and clients ---------------------------------------------------------- */

/* Everything of one user (or of one client), and the same for bystanders. */
static void
give_everything(struct store *st, char *sub, char *client_id, unsigned tag, char *grant_id,
    char *jti)
{
    struct session s = mk_session(tag, grant_id, sub);   /* the grant id doubles as sid */
    struct authcode c = mk_code(tag, client_id, sub, 160), *got = NULL;
    struct grant g = mk_grant(grant_id, client_id, sub, 5000);
    unsigned char r0[STORE_HASH_LEN];

    mk_hash(r0, tag, 0);
    T_EQ_INT(store_session_add(st, &s), GH_OK);
    T_EQ_INT(store_code_add(st, &c), GH_OK);
    c.hash[STORE_HASH_LEN - 1] ^= 0xff;                    /* a second, redeemed code */
    T_EQ_INT(store_code_add(st, &c), GH_OK);
    T_EQ_INT(store_code_take(st, c.hash, 100, grant_id, &got), GH_OK);
    authcode_free(got);
    T_EQ_INT(store_grant_add(st, &g, r0, 1000), GH_OK);
    (void)jti;   /* access tokens are not stored; their jti names the grant */
    T_EQ_INT(store_consent_set(st, sub, client_id, "openid", 100), GH_OK);
}

/* Whether everything give_everything() made is (usable) or is not (gone). */
static void
assert_everything(struct store *st, char *sub, char *client_id, unsigned tag, char *grant_id,
    const char *jti, bool usable)
{
    struct session s = mk_session(tag, grant_id, sub), *sg = NULL;
    struct authcode c = mk_code(tag, client_id, sub, 160), *cg = NULL;
    struct grant *g = NULL;
    unsigned char r0[STORE_HASH_LEN], r1[STORE_HASH_LEN];
    char *scope = NULL;
    int want = usable ? GH_OK : GH_ENOTFOUND;

    mk_hash(r0, tag, 0);
    mk_hash(r1, tag, 1);
    T_EQ_INT(store_session_get(st, s.id_hash, 200, 1800, &sg), want);
    session_free(sg);
    T_EQ_INT(store_token_check(st, jti, grant_id), want);
    T_EQ_INT(store_consent_get(st, sub, client_id, &scope), want);
    free(scope);
    T_EQ_INT(store_grant_get(st, grant_id, &g), want);
    grant_free(g);
    g = NULL;
    T_EQ_INT(store_refresh_rotate(st, r0, r1, 200, 1000, &g), want);
    grant_free(g);
    c.hash[STORE_HASH_LEN - 1] ^= 0xff;
    /* the redeemed code: a replay (denied) while it exists, unknown once gone */
    T_EQ_INT(store_code_take(st, c.hash, 100, "gx", &cg), usable ? GH_EDENIED : GH_ENOTFOUND);
    c.hash[STORE_HASH_LEN - 1] ^= 0xff;
    T_EQ_INT(store_code_take(st, c.hash, 100, "gy", &cg), want);
    authcode_free(cg);
}

static void
test_user_delete_leaves_nothing_usable(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));

    T_ASSERT(st);
    give_everything(st, ALICE, SHOP, 1, "ga", "jti-a");
    give_everything(st, BOB, SHOP, 2, "gb", "jti-b");
    T_EQ_INT(store_user_delete(st, "alice"), GH_OK);
    assert_everything(st, ALICE, SHOP, 1, "ga", "jti-a", false);
    assert_everything(st, BOB, SHOP, 2, "gb", "jti-b", true);
    store_close(st);
    T_EQ_INT(count(path, "SELECT (SELECT count(*) FROM sessions WHERE sub = 'sub-alice') + "
                         "(SELECT count(*) FROM auth_codes WHERE sub = 'sub-alice') + "
                         "(SELECT count(*) FROM grants WHERE sub = 'sub-alice') + "
                         "(SELECT count(*) FROM refresh_tokens WHERE grant_id = 'ga') + "
                         "(SELECT count(*) FROM consents WHERE sub = 'sub-alice')"), 0);
}

static void
test_client_delete_leaves_nothing_usable(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct grant svc = mk_grant("gs", SHOP, SHOP, 5000), *g = NULL;

    T_ASSERT(st);
    give_everything(st, ALICE, SHOP, 1, "ga", "jti-a");
    give_everything(st, BOB, SPA, 2, "gb", "jti-b");
    T_EQ_INT(store_grant_add(st, &svc, NULL, 0), GH_OK);
    T_EQ_INT(store_client_delete(st, SHOP), GH_OK);
    /* alice's session is hers, not the client's: it stays */
    assert_everything(st, BOB, SPA, 2, "gb", "jti-b", true);
    T_EQ_INT(store_grant_get(st, "ga", &g), GH_ENOTFOUND);
    T_EQ_INT(store_grant_get(st, "gs", &g), GH_ENOTFOUND);
    T_EQ_INT(store_token_check(st, "jti-a", "ga"), GH_ENOTFOUND);
    store_close(st);
    T_EQ_INT(count(path, "SELECT (SELECT count(*) FROM auth_codes WHERE client_id = 'shop') + "
                         "(SELECT count(*) FROM grants WHERE client_id = 'shop') + "
                         "(SELECT count(*) FROM refresh_tokens WHERE grant_id = 'ga') + "
                         "(SELECT count(*) FROM consents WHERE client_id = 'shop')"), 0);
    T_EQ_INT(count(path, "SELECT count(*) FROM sessions WHERE sub = 'sub-alice'"), 1);
}

/* --- purge ------------------------------------------------------------------------------- */

static void
test_purge_removes_exactly_the_dead(void)
{
    char path[128];
    struct store *st = fixture(path, sizeof(path));
    struct interaction ia = { .request = "{}", .created_at = 0 };
    struct session s = mk_session(0, "sid-0", ALICE);
    struct grant g = mk_grant("g-old", SHOP, ALICE, 1000), live = mk_grant("g-new", SHOP,
        ALICE, 3000);
    unsigned char r[3][STORE_HASH_LEN];
    size_t removed = 99;

    T_ASSERT(st);
    /* at now = 2000 with grace 500: */
    for (unsigned i = 0; i < 3; i++) {
        struct authcode c = mk_code(i, SHOP, ALICE, 1400 + 100 * (int64_t)i);
        mk_hash(ia.id_hash, 1, i);
        mk_hash(ia.bind_hash, 2, i);
        ia.expires_at = 2000 + i;                              /* 1 dead, 2 live */
        T_EQ_INT(store_interaction_add(st, &ia), GH_OK);
        mk_hash(s.id_hash, 5, i);
        s.sid = i == 0 ? "sid-0" : i == 1 ? "sid-1" : "sid-2";
        s.expires_at = 2000 + i;                               /* 1 dead, 2 live */
        T_EQ_INT(store_session_add(st, &s), GH_OK);
        T_EQ_INT(store_code_add(st, &c), GH_OK);               /* 1400, 1500 dead; 1600 kept */
        mk_hash(r[i], 7, i);
    }
    T_EQ_INT(store_grant_add(st, &g, r[0], 900), GH_OK);       /* dead, with 2 refresh tokens */
    T_EQ_INT(store_grant_add(st, &live, r[2], 900), GH_OK);    /* its token idles out: kept */
    {
        struct grant *tmp = NULL;
        T_EQ_INT(store_refresh_rotate(st, r[0], r[1], 100, 900, &tmp), GH_OK);
        grant_free(tmp);
    }
    T_EQ_INT(store_token_revoke(st, "a-dead", 2000), GH_OK);   /* deny-list entries */
    T_EQ_INT(store_token_revoke(st, "a-live", 2001), GH_OK);
    T_EQ_INT(store_consent_set(st, ALICE, SHOP, "openid", 1), GH_OK);      /* never purged */

    T_EQ_INT(store_purge(st, 2000, 500, &removed), GH_OK);
    /* 1 interaction + 1 session + 2 codes + 1 deny-list entry + 2 refresh tokens + 1 grant */
    T_EQ_INT(removed, 8);
    T_EQ_INT(store_purge(st, 2000, 500, &removed), GH_OK);
    T_EQ_INT(removed, 0);
    T_EQ_INT(store_purge(st, 2000, 500, NULL), GH_OK);
    T_EQ_INT(store_token_check(st, "a-live", NULL), GH_EDENIED);     /* still listed */
    T_EQ_INT(store_token_check(st, "g-new.x", "g-new"), GH_OK);
    T_EQ_INT(store_token_check(st, "g-old.x", "g-old"), GH_ENOTFOUND);  /* grant purged */
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM interactions"), 2);
    T_EQ_INT(count(path, "SELECT count(*) FROM sessions"), 2);
    T_EQ_INT(count(path, "SELECT count(*) FROM auth_codes"), 1);
    T_EQ_INT(count(path, "SELECT count(*) FROM grants"), 1);
    T_EQ_INT(count(path, "SELECT count(*) FROM refresh_tokens"), 1);
    T_EQ_INT(count(path, "SELECT count(*) FROM revoked_tokens"), 1);
    T_EQ_INT(count(path, "SELECT count(*) FROM consents"), 1);
}

/* --- races on two handles ---------------------------------------------------------------- */

#define ROUNDS 100

enum race_kind { RACE_REFRESH, RACE_CODE, RACE_INTERACTION };

struct racer {
    const char *path;
    enum race_kind kind;
    unsigned id;
    pthread_barrier_t *bar;
    int rc[ROUNDS];
    int open_rc;
};

static void *
race(void *arg)
{
    struct racer *r = arg;
    struct store *st = NULL;
    char err[256];

    r->open_rc = store_open(r->path, STORE_WORKER, &st, err, sizeof(err));
    for (unsigned i = 0; i < ROUNDS; i++) {
        unsigned char old[STORE_HASH_LEN], fresh[STORE_HASH_LEN];
        char gid[32];
        pthread_barrier_wait(r->bar);   /* round i is set up: both racers go */
        r->rc[i] = GH_EINTERNAL;
        if (r->open_rc != GH_OK)
            continue;
        if (r->kind == RACE_REFRESH) {
            struct grant *g = NULL;
            mk_hash(old, 0x100, i);
            mk_hash(fresh, 0x200 + r->id, i);
            r->rc[i] = store_refresh_rotate(st, old, fresh, 100, 900, &g);
            grant_free(g);
        } else if (r->kind == RACE_CODE) {
            struct authcode *c = NULL;
            struct authcode tmpl = mk_code(i, SHOP, ALICE, 160);
            snprintf(gid, sizeof(gid), "g-%u-%u", i, r->id);
            r->rc[i] = store_code_take(st, tmpl.hash, 100, gid, &c);
            authcode_free(c);
        } else {
            mk_hash(old, 0x300, i);
            r->rc[i] = store_interaction_take(st, old, 100, NULL);
        }
    }
    store_close(st);
    return NULL;
}

/* Two threads on two STORE_WORKER handles present the same single-use object at the same
 * moment, ROUNDS times: exactly one wins each round and the other sees a replay (SECURITY.md
 * P10, P15). */
static void
run_race(enum race_kind kind)
{
    char path[128], gid[32];
    struct store *st = fixture(path, sizeof(path));
    pthread_barrier_t bar;
    struct racer r[2] = { { .path = path, .kind = kind, .id = 0, .bar = &bar },
        { .path = path, .kind = kind, .id = 1, .bar = &bar } };
    pthread_t th[2];
    int want_loser = kind == RACE_INTERACTION ? GH_ENOTFOUND : GH_EDENIED;

    T_ASSERT(st);
    T_EQ_INT(pthread_barrier_init(&bar, NULL, 3), 0);
    /* no T_ASSERT from here to the joins: a longjmp would leave the racers at the barrier */
    for (int i = 0; i < 2; i++) {
        if (pthread_create(&th[i], NULL, race, &r[i]) != 0) {
            perror("pthread_create");
            abort();
        }
    }
    for (unsigned i = 0; i < ROUNDS; i++) {
        unsigned char h[STORE_HASH_LEN];
        if (kind == RACE_REFRESH) {
            struct grant g;
            snprintf(gid, sizeof(gid), "g-%u", i);
            g = mk_grant(gid, SHOP, ALICE, 5000);
            mk_hash(h, 0x100, i);
            if (store_grant_add(st, &g, h, 1000) != GH_OK)
                fprintf(stderr, "  round %u: grant_add failed\n", i);
        } else if (kind == RACE_CODE) {
            struct authcode c = mk_code(i, SHOP, ALICE, 160);
            if (store_code_add(st, &c) != GH_OK)
                fprintf(stderr, "  round %u: code_add failed\n", i);
        } else {
            struct interaction ia = { .request = "{}", .created_at = 1, .expires_at = 1000 };
            mk_hash(ia.id_hash, 0x300, i);
            mk_hash(ia.bind_hash, 0x301, i);
            if (store_interaction_add(st, &ia) != GH_OK)
                fprintf(stderr, "  round %u: interaction_add failed\n", i);
        }
        pthread_barrier_wait(&bar);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    T_EQ_INT(r[0].open_rc, GH_OK);
    T_EQ_INT(r[1].open_rc, GH_OK);
    for (unsigned i = 0; i < ROUNDS; i++) {
        int a = r[0].rc[i], b = r[1].rc[i];
        if (!((a == GH_OK && b == want_loser) || (a == want_loser && b == GH_OK)))
            fprintf(stderr, "  round %u: %d %d\n", i, a, b);
        T_ASSERT((a == GH_OK && b == want_loser) || (a == want_loser && b == GH_OK));
    }
    store_close(st);
    if (kind == RACE_REFRESH) {
        /* one new token per family; the loser's reuse revoked every family */
        T_EQ_INT(count(path, "SELECT count(*) FROM refresh_tokens"), 2 * ROUNDS);
        T_EQ_INT(count(path, "SELECT count(*) FROM grants WHERE refresh_gen = 1 AND revoked"),
            ROUNDS);
    } else if (kind == RACE_CODE) {
        /* the winner's grant id is the one recorded */
        T_EQ_INT(count(path, "SELECT count(*) FROM auth_codes WHERE spent AND replayed"), ROUNDS);
    } else {
        T_EQ_INT(count(path, "SELECT count(*) FROM interactions"), 0);
    }
}

static void
test_race_refresh_rotation_one_winner_per_generation(void)
{
    run_race(RACE_REFRESH);
}

static void
test_race_code_redemption_one_winner(void)
{
    run_race(RACE_CODE);
}

static void
test_race_interaction_take_one_winner(void)
{
    run_race(RACE_INTERACTION);
}

int
main(void)
{
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gh-test-flow-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    t_init("store_flow");
    T_RUN(test_interaction_add_get_take_once);
    T_RUN(test_interaction_take_expired_deletes_it);
    T_RUN(test_session_roundtrip_touch_delete);
    T_RUN(test_session_get_deletes_dead_sessions);
    T_RUN(test_code_is_single_use_and_roundtrips);
    T_RUN(test_code_failure_paths);
    T_RUN(test_code_replay_revokes_the_grant);
    T_RUN(test_replay_before_grant_add_stores_the_grant_revoked);
    T_RUN(test_grant_add_get_revoke);
    T_RUN(test_refresh_rotation_happy_path);
    T_RUN(test_refresh_peek_spends_nothing);
    T_RUN(test_refresh_reuse_revokes_the_family_only);
    T_RUN(test_refresh_expiry_and_failure_paths);
    T_RUN(test_token_check_follows_the_grant_and_the_deny_list);
    T_RUN(test_jti_is_accepted_once_per_issuer_until_purged);
    T_RUN(test_consent_get_set);
    T_RUN(test_user_delete_leaves_nothing_usable);
    T_RUN(test_client_delete_leaves_nothing_usable);
    T_RUN(test_purge_removes_exactly_the_dead);
    T_RUN(test_race_refresh_rotation_one_winner_per_generation);
    T_RUN(test_race_code_redemption_one_winner);
    T_RUN(test_race_interaction_take_one_winner);
    rc = t_done();
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
