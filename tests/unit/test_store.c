/* test_store.c — the storage layer against real SQLite files in a temporary directory:
 * opening, migrations and refusals, and every record type's round trip and error mapping.
 * The test reaches into the files with the SQLite API only to tamper with them. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/err.h"
#include "model/client.h"
#include "model/user.h"
#include "store/store.h"
#include "t.h"

static char tmpdir[64];
static int seq;

/* The numbered files of src/store/schema/sqlite, compiled in by schema/embed.sh: to build an
 * old database. */
extern const char *const store_sqlite_migrations[];

/* A fresh database path for each caller. */
static const char *
db_path(char *buf, size_t n)
{
    snprintf(buf, n, "%s/t%d.db", tmpdir, ++seq);
    return buf;
}

static struct store *
open_new(char *path, size_t n)
{
    struct store *st = NULL;
    char err[256];

    db_path(path, n);
    if (store_open(path, STORE_CREATE, &st, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "  open %s: %s\n", path, err);
        return NULL;
    }
    return st;
}

/* Run one statement with the raw API (tampering only); returns the first column of the first
 * row as an integer, or -1. */
static long long
raw(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* Run SQL (several statements) with the raw API; SQLITE_OK or the error. */
static int
raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void
write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    T_ASSERT(f != NULL);
    T_ASSERT(fwrite(data, 1, n, f) == n);
    T_ASSERT(fclose(f) == 0);
}

static struct user
mk_user(char *sub, char *username)
{
    struct user u = { .sub = sub, .username = username, .password_hash = "$argon2id$x",
        .created_at = 100, .updated_at = 100 };
    return u;
}

/* --- open and migrate -------------------------------------------------------------------- */

static void
test_migration_from_empty_sets_user_version(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    int cur = -1, sup = -1;

    T_ASSERT(st);
    T_EQ_INT(store_schema_version(st, &cur, &sup), GH_OK);
    T_ASSERT(sup >= 1);
    T_EQ_INT(cur, sup);
    store_close(st);
    T_EQ_INT(raw(path, "PRAGMA user_version"), sup);
    T_EQ_INT(raw(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'users'"), 1);
    T_EQ_INT(raw(path, "PRAGMA application_id"), 1195922245);
}

static void
test_wal_and_settings_applied(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));

    T_ASSERT(st);
    store_close(st);
    T_EQ_INT(raw(path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}

static void
test_reopen_is_idempotent(void)
{
    char path[128], err[256], *v = NULL;
    struct store *st = open_new(path, sizeof(path));
    int cur = 0, sup = 0;

    T_ASSERT(st);
    T_EQ_INT(store_meta_set(st, "issuer", "https://id.example"), GH_OK);
    store_close(st);
    for (int i = 0; i < 3; i++) {
        st = NULL;
        T_EQ_INT(store_open(path, STORE_CREATE, &st, err, sizeof(err)), GH_OK);
        T_EQ_INT(store_schema_version(st, &cur, &sup), GH_OK);
        T_EQ_INT(cur, sup);
        T_EQ_INT(store_meta_get(st, "issuer", &v), GH_OK);
        T_EQ_STR(v, "https://id.example");
        free(v);
        v = NULL;
        store_close(st);
    }
    /* and without STORE_CREATE */
    T_EQ_INT(store_open(path, 0, &st, err, sizeof(err)), GH_OK);
    store_close(st);
}

static void
test_newer_schema_refused(void)
{
    char path[128], err[256], want[256];
    struct store *st = open_new(path, sizeof(path));
    int cur = 0, sup = 0;

    T_ASSERT(st);
    T_EQ_INT(store_schema_version(st, &cur, &sup), GH_OK);
    store_close(st);
    snprintf(want, sizeof(want), "PRAGMA user_version = %d", sup + 1);
    raw(path, want);
    T_EQ_INT(raw(path, "PRAGMA user_version"), sup + 1);
    st = (struct store *)1;
    T_EQ_INT(store_open(path, 0, &st, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(st == NULL);
    snprintf(want, sizeof(want),
        "%s has schema version %d, newer than this gatehouse supports (%d); upgrade gatehouse",
        path, sup + 1, sup);
    T_EQ_STR(err, want);
    /* nothing was changed */
    T_EQ_INT(raw(path, "PRAGMA user_version"), sup + 1);
}

static void
test_missing_file_without_create_is_enotfound(void)
{
    char path[128], err[256], want[256];
    struct store *st = (struct store *)1;

    db_path(path, sizeof(path));
    T_EQ_INT(store_open(path, 0, &st, err, sizeof(err)), GH_ENOTFOUND);
    T_ASSERT(st == NULL);
    snprintf(want, sizeof(want), "no database at %s (run: gatehouse init)", path);
    T_EQ_STR(err, want);
    T_ASSERT(access(path, F_OK) != 0);  /* not created as a side effect */
    T_EQ_INT(store_open(path, STORE_READONLY | STORE_CREATE, &st, err, sizeof(err)),
        GH_ENOTFOUND);
    T_ASSERT(access(path, F_OK) != 0);
}

static void
test_garbage_file_refused(void)
{
    char path[128], err[256], junk[8192];
    struct store *st = NULL;

    db_path(path, sizeof(path));
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (char)('A' + i % 23);
    write_file(path, junk, sizeof(junk));
    T_EQ_INT(store_open(path, STORE_CREATE, &st, err, sizeof(err)), GH_ESTORE);
    T_ASSERT(st == NULL);
    T_ASSERT(strstr(err, "is not a SQLite database") != NULL);
    T_ASSERT(strstr(err, path) != NULL);
}

static void
test_corrupt_database_refused(void)
{
    char path[128], err[256], name[32];
    struct store *st = open_new(path, sizeof(path));
    unsigned char junk[4096];
    FILE *f;

    T_ASSERT(st);
    for (int i = 0; i < 200; i++) {
        char sub[16];
        struct user u;
        snprintf(sub, sizeof(sub), "sub%d", i);
        snprintf(name, sizeof(name), "user%d", i);
        u = mk_user(sub, name);
        T_EQ_INT(store_user_add(st, &u), GH_OK);
    }
    store_close(st);
    T_EQ_INT(raw(path, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
    /* Smash page 3 onwards (b-tree pages of the tables), keeping the header intact. */
    memset(junk, 0x5a, sizeof(junk));
    f = fopen(path, "r+b");
    T_ASSERT(f);
    T_EQ_INT(fseek(f, 2 * 4096, SEEK_SET), 0);
    T_EQ_INT(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
    T_EQ_INT(fclose(f), 0);
    st = NULL;
    T_EQ_INT(store_open(path, 0, &st, err, sizeof(err)), GH_ESTORE);
    T_ASSERT(st == NULL);
    T_ASSERT(strstr(err, "is corrupt") != NULL);
}

static void
test_foreign_sqlite_database_refused(void)
{
    char path[128], err[256];
    struct store *st = NULL;

    db_path(path, sizeof(path));
    raw(path, "CREATE TABLE users (x)");
    T_EQ_INT(store_open(path, 0, &st, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "is not a gatehouse database") != NULL);
    T_EQ_INT(raw(path, "PRAGMA user_version"), 0);
}

static void
test_readonly_never_migrates(void)
{
    char path[128], err[256];
    struct store *st = NULL;

    db_path(path, sizeof(path));
    write_file(path, "", 0);  /* an empty file is an empty SQLite database */
    T_EQ_INT(store_open(path, STORE_READONLY, &st, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(st == NULL);
    T_ASSERT(strstr(err, "schema version 0, older than this gatehouse") != NULL);
    T_EQ_INT(raw(path, "PRAGMA user_version"), 0);
    /* read-write does migrate it */
    T_EQ_INT(store_open(path, 0, &st, err, sizeof(err)), GH_OK);
    store_close(st);
    T_ASSERT(raw(path, "PRAGMA user_version") >= 1);
}

static void
test_readonly_handle_reads_but_cannot_write(void)
{
    char path[128], err[256], *v = NULL;
    struct store *st = open_new(path, sizeof(path));

    T_ASSERT(st);
    T_EQ_INT(store_meta_set(st, "k", "v"), GH_OK);
    store_close(st);
    st = NULL;
    T_EQ_INT(store_open(path, STORE_READONLY, &st, err, sizeof(err)), GH_OK);
    T_EQ_INT(store_meta_get(st, "k", &v), GH_OK);
    T_EQ_STR(v, "v");
    free(v);
    T_EQ_INT(store_meta_set(st, "k", "w"), GH_ESTORE);
    store_close(st);
}

static void
test_readonly_file_refused_with_message(void)
{
    char path[128], err[256];
    struct store *st = open_new(path, sizeof(path));

    T_ASSERT(st);
    store_close(st);
    st = NULL;
    if (geteuid() == 0)
        return;  /* root writes anyway; nothing to test */
    T_EQ_INT(chmod(path, 0400), 0);
    T_EQ_INT(store_open(path, 0, &st, err, sizeof(err)), GH_ESTORE);
    T_ASSERT(strstr(err, "is read-only") != NULL);
    T_EQ_INT(chmod(path, 0600), 0);
}

static void
test_dsn_dispatch(void)
{
    char path[128], dsn[160], err[256];
    struct store *st = NULL;

    db_path(path, sizeof(path));
    snprintf(dsn, sizeof(dsn), "sqlite:%s", path);
    T_EQ_INT(store_open(dsn, STORE_CREATE, &st, err, sizeof(err)), GH_OK);
    store_close(st);
    T_ASSERT(access(path, F_OK) == 0);
    st = NULL;
    /* postgresql:// and postgres:// go to the PostgreSQL backend: nothing listens on port 1,
     * so the connection fails, with the database named and no password in the message */
    T_EQ_INT(store_open("postgresql://u:hunter2@127.0.0.1:1/gh", 0, &st, err, sizeof(err)),
        GH_ESTORE);
    T_ASSERT(strstr(err, "cannot connect to gh@127.0.0.1:1") != NULL);
    T_ASSERT(strstr(err, "hunter2") == NULL);
    T_ASSERT(st == NULL);
    T_EQ_INT(store_open("postgres://u@127.0.0.1:1/gh", 0, &st, err, sizeof(err)), GH_ESTORE);
    T_ASSERT(strstr(err, "cannot connect to gh@127.0.0.1:1") != NULL);
    T_ASSERT(st == NULL);
    T_EQ_INT(store_open("mysql://db/gh", STORE_CREATE, &st, err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(store_open("", STORE_CREATE, &st, err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(store_open("sqlite:", STORE_CREATE, &st, err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(store_open(tmpdir, STORE_CREATE, &st, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(st == NULL);
}

static void
test_check_reports_ok(void)
{
    char path[128], *rep = NULL;
    struct store *st = open_new(path, sizeof(path));

    T_ASSERT(st);
    T_EQ_INT(store_check(st, false, &rep), GH_OK);
    T_EQ_STR(rep, "ok");
    free(rep);
    rep = NULL;
    T_EQ_INT(store_check(st, true, &rep), GH_OK);
    T_EQ_STR(rep, "ok");
    free(rep);
    store_close(st);
}

/* --- meta and keys ----------------------------------------------------------------------- */

static void
test_meta_get_set(void)
{
    char path[128], *v = (char *)"x";
    struct store *st = open_new(path, sizeof(path));

    T_ASSERT(st);
    T_EQ_INT(store_meta_get(st, "issuer", &v), GH_ENOTFOUND);
    T_ASSERT(v == NULL);
    T_EQ_INT(store_meta_set(st, "issuer", "https://a.example"), GH_OK);
    T_EQ_INT(store_meta_set(st, "issuer", "https://b.example"), GH_OK);
    T_EQ_INT(store_meta_get(st, "issuer", &v), GH_OK);
    T_EQ_STR(v, "https://b.example");
    free(v);
    T_EQ_INT(store_meta_get(st, "ISSUER", &v), GH_ENOTFOUND);
    /* add: only when unset; an existing value stays */
    T_EQ_INT(store_meta_add(st, "issuer", "https://c.example"), GH_EEXIST);
    T_EQ_INT(store_meta_add(st, "realm_secret", "first"), GH_OK);
    T_EQ_INT(store_meta_add(st, "realm_secret", "second"), GH_EEXIST);
    T_EQ_INT(store_meta_get(st, "issuer", &v), GH_OK);
    T_EQ_STR(v, "https://b.example");
    free(v);
    T_EQ_INT(store_meta_get(st, "realm_secret", &v), GH_OK);
    T_EQ_STR(v, "first");
    free(v);
    store_close(st);
}

static void
test_key_add_list_oldest_first(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct key_meta *k = NULL;
    size_t n = 99;

    T_ASSERT(st);
    T_EQ_INT(store_key_list(st, &k, &n), GH_OK);
    T_EQ_INT(n, 0);
    store_key_list_free(k, n);
    T_EQ_INT(store_key_add(st, "kid-c", "RS256", 300), GH_OK);
    T_EQ_INT(store_key_add(st, "kid-a", "ES256", 100), GH_OK);
    T_EQ_INT(store_key_add(st, "kid-b2", "RS256", 200), GH_OK);
    T_EQ_INT(store_key_add(st, "kid-b1", "ES256", 200), GH_OK);
    T_EQ_INT(store_key_add(st, "kid-a", "RS256", 400), GH_EEXIST);
    T_EQ_INT(store_key_list(st, &k, &n), GH_OK);
    T_EQ_INT(n, 4);
    T_EQ_STR(k[0].kid, "kid-a");
    T_EQ_STR(k[0].alg, "ES256");
    T_EQ_INT(k[0].created_at, 100);
    T_EQ_STR(k[1].kid, "kid-b2");  /* same time: insertion order */
    T_EQ_STR(k[2].kid, "kid-b1");
    T_EQ_STR(k[3].kid, "kid-c");
    T_EQ_INT(k[3].created_at, 300);
    store_key_list_free(k, n);
    store_close(st);
}

/* Two processes rotating at once: the second insert, made with the count of keys of its alg it
 * saw before the first one's, adds nothing. Sealed keys come back byte for byte. */
static void
test_key_insert_is_conditional_and_keeps_the_sealed_key(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    unsigned char blob[40];
    struct key_meta a = { .kid = (char *)"kid-a", .alg = (char *)"RS256", .created_at = 10 };
    struct key_meta b = { .kid = (char *)"kid-b", .alg = (char *)"RS256", .created_at = 20,
        .activate_at = 200, .sealed = blob, .sealed_len = sizeof(blob) };
    struct key_meta c = { .kid = (char *)"kid-c", .alg = (char *)"RS256", .created_at = 21,
        .activate_at = 201 };
    struct key_meta e = { .kid = (char *)"kid-e", .alg = (char *)"ES256", .created_at = 22 };
    struct key_meta *k = NULL;
    size_t n = 0;

    T_ASSERT(st);
    for (size_t i = 0; i < sizeof(blob); i++)
        blob[i] = (unsigned char)(i * 7 + 1);
    T_EQ_INT(store_key_insert(st, &a, 0), GH_OK);
    T_EQ_INT(store_key_insert(st, &b, 1), GH_OK);       /* saw kid-a only: right */
    T_EQ_INT(store_key_insert(st, &c, 1), GH_EEXIST);   /* saw kid-a only: kid-b came since */
    T_EQ_INT(store_key_insert(st, &e, 0), GH_OK);       /* other algs do not count */
    T_EQ_INT(store_key_insert(st, &c, STORE_KEY_ANY), GH_OK);
    b.sealed_len = STORE_KEY_SEALED_MAX + 1;
    T_EQ_INT(store_key_insert(st, &b, STORE_KEY_ANY), GH_EINVAL);
    T_EQ_INT(store_key_list(st, &k, &n), GH_OK);
    T_EQ_INT(n, 4);
    T_EQ_STR(k[1].kid, "kid-b");
    T_EQ_INT(k[1].activate_at, 200);
    T_EQ_INT(k[1].sealed_len, sizeof(blob));
    T_ASSERT(k[1].sealed && memcmp(k[1].sealed, blob, sizeof(blob)) == 0);
    T_ASSERT(k[0].sealed == NULL && k[0].sealed_len == 0);
    T_ASSERT(k[2].sealed == NULL && k[3].sealed == NULL);
    store_key_list_free(k, n);
    store_close(st);
}

/* --- users ------------------------------------------------------------------------------- */

static void
test_user_add_get_list(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct user u = mk_user("sub-b", "bob"), v = mk_user("sub-a", "alice"), *got = NULL;
    struct user **list = NULL;
    size_t n = 0;

    T_ASSERT(st);
    u.email = "bob@example.org";
    u.name = "Bob Ünicode";
    u.disabled = true;
    u.created_at = 1700000000;
    u.updated_at = 1700000001;
    v.password_hash = NULL;
    T_EQ_INT(store_user_add(st, &u), GH_OK);
    T_EQ_INT(store_user_add(st, &v), GH_OK);

    T_EQ_INT(store_user_get(st, "bob", &got), GH_OK);
    T_EQ_STR(got->sub, "sub-b");
    T_EQ_STR(got->username, "bob");
    T_EQ_STR(got->email, "bob@example.org");
    T_EQ_STR(got->name, "Bob Ünicode");
    T_EQ_STR(got->password_hash, "$argon2id$x");
    T_ASSERT(got->disabled);
    T_EQ_INT(got->created_at, 1700000000);
    T_EQ_INT(got->updated_at, 1700000001);
    user_free(got);

    T_EQ_INT(store_user_get_by_sub(st, "sub-a", &got), GH_OK);
    T_EQ_STR(got->username, "alice");
    T_ASSERT(got->email == NULL && got->name == NULL && got->password_hash == NULL);
    T_ASSERT(!got->disabled);
    user_free(got);
    got = (struct user *)1;
    T_EQ_INT(store_user_get(st, "carol", &got), GH_ENOTFOUND);
    T_ASSERT(got == NULL);
    T_EQ_INT(store_user_get_by_sub(st, "sub-x", &got), GH_ENOTFOUND);

    T_EQ_INT(store_user_list(st, &list, &n), GH_OK);
    T_EQ_INT(n, 2);
    T_EQ_STR(list[0]->username, "alice");
    T_EQ_STR(list[1]->username, "bob");
    user_list_free(list, n);
    store_close(st);
}

static void
test_user_list_empty(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct user **list = NULL;
    size_t n = 7;

    T_ASSERT(st);
    T_EQ_INT(store_user_list(st, &list, &n), GH_OK);
    T_EQ_INT(n, 0);
    user_list_free(list, n);
    store_close(st);
}

static void
test_user_duplicate_is_eexist_case_insensitive(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct user a = mk_user("s1", "alice"), b = mk_user("s2", "Alice"), c = mk_user("s1", "carol");
    struct user *got = NULL;

    T_ASSERT(st);
    T_EQ_INT(store_user_add(st, &a), GH_OK);
    T_EQ_INT(store_user_add(st, &b), GH_EEXIST);  /* username, any case */
    T_EQ_INT(store_user_add(st, &c), GH_EEXIST);  /* sub */
    T_EQ_INT(store_user_get(st, "ALICE", &got), GH_OK);
    T_EQ_STR(got->sub, "s1");
    user_free(got);
    T_EQ_INT(store_user_get(st, "carol", &got), GH_ENOTFOUND);
    store_close(st);
}

static void
test_user_sub_never_reused_after_delete(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct user a = mk_user("s-old", "alice"), again = mk_user("s-old", "mallory");
    struct user fresh = mk_user("s-new", "alice"), *got = NULL;

    T_ASSERT(st);
    T_EQ_INT(store_user_add(st, &a), GH_OK);
    T_EQ_INT(store_user_delete(st, "alice"), GH_OK);
    T_EQ_INT(store_user_get(st, "alice", &got), GH_ENOTFOUND);
    T_EQ_INT(store_user_add(st, &again), GH_EEXIST);
    T_EQ_INT(store_user_get(st, "mallory", &got), GH_ENOTFOUND);
    /* the username itself may come back, with a new subject */
    T_EQ_INT(store_user_add(st, &fresh), GH_OK);
    T_EQ_INT(store_user_get(st, "alice", &got), GH_OK);
    T_EQ_STR(got->sub, "s-new");
    user_free(got);
    T_EQ_INT(store_user_get_by_sub(st, "s-old", &got), GH_ENOTFOUND);
    T_EQ_INT(store_user_delete(st, "alice"), GH_OK);
    T_EQ_INT(store_user_delete(st, "alice"), GH_ENOTFOUND);
    store_close(st);
    T_EQ_INT(raw(path, "SELECT count(*) FROM retired_subs"), 2);
    /* even a direct UPDATE cannot change a sub */
    T_EQ_INT(raw(path, "INSERT INTO users (sub, username, created_at, updated_at) "
                       "VALUES ('s3', 'dave', 1, 1)"), -1);
    T_EQ_INT(raw(path, "UPDATE users SET sub = 's4' WHERE username = 'dave' RETURNING 1"), -1);
    T_EQ_INT(raw(path, "SELECT count(*) FROM users WHERE sub = 's3'"), 1);
}

static void
test_user_disable_enable(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct user a = mk_user("s1", "alice"), *got = NULL;

    T_ASSERT(st);
    T_EQ_INT(store_user_add(st, &a), GH_OK);
    T_EQ_INT(store_user_set_disabled(st, "Alice", true, 500), GH_OK);
    T_EQ_INT(store_user_get(st, "alice", &got), GH_OK);
    T_ASSERT(got->disabled);
    T_EQ_INT(got->updated_at, 500);
    T_EQ_INT(got->created_at, 100);
    user_free(got);
    T_EQ_INT(store_user_set_disabled(st, "alice", false, 600), GH_OK);
    T_EQ_INT(store_user_get(st, "alice", &got), GH_OK);
    T_ASSERT(!got->disabled);
    T_EQ_INT(got->updated_at, 600);
    user_free(got);
    T_EQ_INT(store_user_set_disabled(st, "nobody", true, 1), GH_ENOTFOUND);
    store_close(st);
}

static void
test_user_set_password(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct user a = mk_user("s1", "alice"), *got = NULL;

    T_ASSERT(st);
    T_EQ_INT(store_user_add(st, &a), GH_OK);
    T_EQ_INT(store_user_set_password(st, "alice", "$argon2id$new", 700), GH_OK);
    T_EQ_INT(store_user_get(st, "alice", &got), GH_OK);
    T_EQ_STR(got->password_hash, "$argon2id$new");
    T_EQ_INT(got->updated_at, 700);
    user_free(got);
    T_EQ_INT(store_user_set_password(st, "nobody", "$argon2id$new", 700), GH_ENOTFOUND);
    store_close(st);
}

static void
test_sql_injection_looking_values_are_data(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    char evil_user[] = "robert'); DROP TABLE users;--";
    char evil_sub[] = "x' OR '1'='1";
    struct user a = mk_user(evil_sub, evil_user), b = mk_user("s2", "alice"), *got = NULL;
    char *uris[] = { "https://rp.example/cb?q=';DELETE FROM clients;--", NULL };
    char *grants[] = { "authorization_code", NULL }, *scopes[] = { "openid", NULL };
    char *empty[] = { NULL };
    struct client c = { .client_id = "c' OR 1=1 --", .name = "\"; DROP TABLE clients; --",
        .auth_method = CLIENT_AUTH_NONE, .is_public = true, .redirect_uris = uris,
        .post_logout_redirect_uris = empty, .grant_types = grants, .scopes = scopes,
        .pkce_required = true };
    struct client *cg = NULL;
    struct user **list = NULL;
    size_t n = 0;

    T_ASSERT(st);
    T_EQ_INT(store_user_add(st, &a), GH_OK);
    T_EQ_INT(store_user_add(st, &b), GH_OK);
    T_EQ_INT(store_user_get(st, evil_user, &got), GH_OK);
    T_EQ_STR(got->username, evil_user);
    T_EQ_STR(got->sub, evil_sub);
    user_free(got);
    T_EQ_INT(store_user_get(st, "' OR '1'='1", &got), GH_ENOTFOUND);
    T_EQ_INT(store_user_get_by_sub(st, "' OR ''='", &got), GH_ENOTFOUND);
    T_EQ_INT(store_user_list(st, &list, &n), GH_OK);
    T_EQ_INT(n, 2);
    user_list_free(list, n);

    T_EQ_INT(store_client_add(st, &c), GH_OK);
    T_EQ_INT(store_client_get(st, "c' OR 1=1 --", &cg), GH_OK);
    T_EQ_STR(cg->name, "\"; DROP TABLE clients; --");
    T_EQ_STR(cg->redirect_uris[0], uris[0]);
    client_free(cg);
    T_EQ_INT(store_client_get(st, "x' OR '1'='1", &cg), GH_ENOTFOUND);
    T_EQ_INT(store_client_delete(st, "' OR 1=1 --"), GH_ENOTFOUND);
    store_close(st);
    T_EQ_INT(raw(path, "SELECT count(*) FROM clients"), 1);
}

/* --- clients ----------------------------------------------------------------------------- */

static char *redirs3[] = { "https://rp.example/z", "https://rp.example/a", "http://127.0.0.1:9/cb",
    NULL };
static char *logouts2[] = { "https://rp.example/bye", "https://rp.example/adieu", NULL };
static char *grants2[] = { "authorization_code", "refresh_token", NULL };
static char *scopes3[] = { "openid", "profile", "x:y,z", NULL };
static char *none[] = { NULL };

static struct client
mk_client(char *id)
{
    struct client c = { .client_id = id, .name = "Shop", .is_public = false,
        .auth_method = CLIENT_AUTH_SECRET_JWT, .redirect_uris = redirs3,
        .post_logout_redirect_uris = logouts2, .grant_types = grants2, .scopes = scopes3,
        .has_secret = true, .pkce_required = true, .created_at = 10, .updated_at = 11 };
    for (size_t i = 0; i < sizeof(c.secret_hash); i++)
        c.secret_hash[i] = (unsigned char)(i * 7 + 1);
    return c;
}

static void
assert_list(char **got, char **want)
{
    size_t i;

    T_ASSERT(got != NULL);
    for (i = 0; want[i]; i++) {
        T_ASSERT(got[i] != NULL);
        T_EQ_STR(got[i], want[i]);
    }
    T_ASSERT(got[i] == NULL);
}

/* store_read_begin: the reads of one request see one state; a write ends the snapshot. */
static void
test_read_snapshot_sees_one_state_until_it_ends(void)
{
    char path[128], err[256];
    struct store *st = open_new(path, sizeof(path)), *other = NULL;
    struct client c = mk_client("shop"), *got = NULL;
    struct user u = mk_user("sub-a", "alice"), *ug = NULL;

    T_ASSERT(st);
    T_EQ_INT(store_client_add(st, &c), GH_OK);
    T_EQ_INT(store_open(path, STORE_WORKER, &other, err, sizeof(err)), GH_OK);
    T_EQ_INT(store_read_begin(st), GH_OK);
    T_EQ_INT(store_read_begin(st), GH_OK);   /* nested: a no-op */
    T_EQ_INT(store_client_get(st, "shop", &got), GH_OK);
    client_free(got);
    got = NULL;
    /* another connection deletes the client: the snapshot still sees it */
    T_EQ_INT(store_client_delete(other, "shop"), GH_OK);
    T_EQ_INT(store_client_get(st, "shop", &got), GH_OK);
    client_free(got);
    got = NULL;
    T_EQ_INT(store_user_get(st, "nobody", &ug), GH_ENOTFOUND);   /* a miss keeps it open */
    T_EQ_INT(store_client_get(st, "shop", &got), GH_OK);
    client_free(got);
    got = NULL;
    store_read_end(st);
    T_EQ_INT(store_client_get(st, "shop", &got), GH_ENOTFOUND);
    /* a write inside a snapshot ends it first, and then sees the latest state */
    T_EQ_INT(store_client_add(st, &c), GH_OK);
    T_EQ_INT(store_read_begin(st), GH_OK);
    T_EQ_INT(store_client_get(st, "shop", &got), GH_OK);
    client_free(got);
    got = NULL;
    T_EQ_INT(store_user_add(other, &u), GH_OK);
    T_EQ_INT(store_user_add(st, &u), GH_EEXIST);   /* not hidden by the snapshot */
    T_EQ_INT(store_user_get(st, "alice", &ug), GH_OK);
    user_free(ug);
    store_read_end(st);
    store_read_end(st);                       /* without one: a no-op */
    store_close(other);
    store_close(st);
}

static void
test_client_roundtrip_keeps_list_order(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    unsigned char sealed[] = { 1, 2, 3, 0, 5 };
    struct client c = mk_client("shop"), *got = NULL;

    T_ASSERT(st);
    c.secret_sealed = sealed;
    c.secret_sealed_len = sizeof(sealed);
    T_EQ_INT(store_client_add(st, &c), GH_OK);
    T_EQ_INT(store_client_get(st, "shop", &got), GH_OK);
    T_EQ_STR(got->client_id, "shop");
    T_EQ_STR(got->name, "Shop");
    T_ASSERT(!got->is_public);
    T_EQ_INT(got->auth_method, CLIENT_AUTH_SECRET_JWT);
    assert_list(got->redirect_uris, redirs3);
    assert_list(got->post_logout_redirect_uris, logouts2);
    assert_list(got->grant_types, grants2);
    assert_list(got->scopes, scopes3);
    T_ASSERT(got->jwks == NULL);
    T_ASSERT(got->has_secret);
    T_ASSERT(memcmp(got->secret_hash, c.secret_hash, sizeof(c.secret_hash)) == 0);
    T_EQ_INT(got->secret_sealed_len, sizeof(sealed));
    T_ASSERT(memcmp(got->secret_sealed, sealed, sizeof(sealed)) == 0);
    T_EQ_INT(got->created_at, 10);
    T_EQ_INT(got->updated_at, 11);
    client_free(got);
    T_EQ_INT(store_client_get(st, "SHOP", &got), GH_ENOTFOUND);  /* client_ids are exact */
    store_close(st);
}

static void
test_client_public_without_secret_roundtrip(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct client c = mk_client("spa"), *got = NULL;

    T_ASSERT(st);
    c.is_public = true;
    c.auth_method = CLIENT_AUTH_NONE;
    c.has_secret = false;
    c.post_logout_redirect_uris = none;
    c.scopes = none;
    c.jwks = "{\"keys\":[]}";
    T_EQ_INT(store_client_add(st, &c), GH_OK);
    T_EQ_INT(store_client_get(st, "spa", &got), GH_OK);
    T_ASSERT(got->is_public);
    T_EQ_INT(got->auth_method, CLIENT_AUTH_NONE);
    T_ASSERT(!got->has_secret);
    T_ASSERT(got->secret_sealed == NULL && got->secret_sealed_len == 0);
    T_ASSERT(got->post_logout_redirect_uris && got->post_logout_redirect_uris[0] == NULL);
    T_ASSERT(got->scopes && got->scopes[0] == NULL);
    T_EQ_STR(got->jwks, "{\"keys\":[]}");
    client_free(got);
    store_close(st);
}

static void
test_client_duplicate_writes_nothing(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct client c = mk_client("shop"), d = mk_client("shop");
    char *other[] = { "https://evil.example/1", "https://evil.example/2", NULL };

    T_ASSERT(st);
    T_EQ_INT(store_client_add(st, &c), GH_OK);
    d.redirect_uris = other;
    d.name = "Other";
    T_EQ_INT(store_client_add(st, &d), GH_EEXIST);
    store_close(st);
    T_EQ_INT(raw(path, "SELECT count(*) FROM clients"), 1);
    T_EQ_INT(raw(path, "SELECT count(*) FROM client_uris"), 5);
    T_EQ_INT(raw(path, "SELECT count(*) FROM client_uris WHERE uri LIKE '%evil%'"), 0);
}

/* A failure after the client row is written (here: a tampering trigger on the third URI)
 * must leave neither the row nor the first URIs behind, and the handle usable. */
static void
test_client_add_failing_midway_rolls_back(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct client c = mk_client("shop"), ok = mk_client("ok"), *got = NULL;

    T_ASSERT(st);
    raw(path, "CREATE TRIGGER boom BEFORE INSERT ON client_uris WHEN NEW.uri LIKE 'http:%' "
              "BEGIN SELECT RAISE(ABORT, 'boom'); END");
    T_EQ_INT(store_client_add(st, &c), GH_ESTORE);
    T_EQ_INT(store_client_get(st, "shop", &got), GH_ENOTFOUND);
    ok.redirect_uris = logouts2;
    T_EQ_INT(store_client_add(st, &ok), GH_OK);
    store_close(st);
    T_EQ_INT(raw(path, "SELECT count(*) FROM clients"), 1);
    T_EQ_INT(raw(path, "SELECT count(*) FROM client_uris"), 4);
}

static void
test_client_delete_cascades_uris(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct client a = mk_client("a"), b = mk_client("b"), *got = NULL;

    T_ASSERT(st);
    T_EQ_INT(store_client_add(st, &a), GH_OK);
    T_EQ_INT(store_client_add(st, &b), GH_OK);
    T_EQ_INT(store_client_delete(st, "a"), GH_OK);
    T_EQ_INT(store_client_get(st, "a", &got), GH_ENOTFOUND);
    T_EQ_INT(store_client_delete(st, "a"), GH_ENOTFOUND);
    T_EQ_INT(store_client_get(st, "b", &got), GH_OK);
    assert_list(got->redirect_uris, redirs3);
    client_free(got);
    store_close(st);
    T_EQ_INT(raw(path, "SELECT count(*) FROM client_uris"), 5);
    T_EQ_INT(raw(path, "SELECT count(*) FROM client_uris WHERE client NOT IN "
                       "(SELECT id FROM clients)"), 0);
}

static void
test_client_list_ordered(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct client a = mk_client("zeta"), b = mk_client("alpha"), c = mk_client("Mid");
    struct client **list = NULL;
    size_t n = 0;

    T_ASSERT(st);
    b.redirect_uris = none;
    T_EQ_INT(store_client_add(st, &a), GH_OK);
    T_EQ_INT(store_client_add(st, &b), GH_OK);
    T_EQ_INT(store_client_add(st, &c), GH_OK);
    T_EQ_INT(store_client_list(st, &list, &n), GH_OK);
    T_EQ_INT(n, 3);
    T_EQ_STR(list[0]->client_id, "Mid");
    T_EQ_STR(list[1]->client_id, "alpha");
    T_EQ_STR(list[2]->client_id, "zeta");
    T_ASSERT(list[1]->redirect_uris[0] == NULL);
    assert_list(list[2]->redirect_uris, redirs3);
    assert_list(list[2]->post_logout_redirect_uris, logouts2);
    client_list_free(list, n);
    store_close(st);
}

static void
test_client_set_secret(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct client c = mk_client("shop"), *got = NULL;
    unsigned char h[32], sealed[7] = { 9, 9, 9, 9, 9, 9, 9 };

    T_ASSERT(st);
    memset(h, 0xab, sizeof(h));
    T_EQ_INT(store_client_add(st, &c), GH_OK);
    T_EQ_INT(store_client_set_secret(st, "shop", h, sealed, sizeof(sealed), 99), GH_OK);
    T_EQ_INT(store_client_get(st, "shop", &got), GH_OK);
    T_ASSERT(got->has_secret);
    T_ASSERT(memcmp(got->secret_hash, h, 32) == 0);
    T_EQ_INT(got->secret_sealed_len, 7);
    T_EQ_INT(got->updated_at, 99);
    assert_list(got->redirect_uris, redirs3);
    client_free(got);
    T_EQ_INT(store_client_set_secret(st, "shop", h, NULL, 0, 100), GH_OK);
    T_EQ_INT(store_client_get(st, "shop", &got), GH_OK);
    T_ASSERT(got->secret_sealed == NULL);
    client_free(got);
    T_EQ_INT(store_client_set_secret(st, "nope", h, NULL, 0, 100), GH_ENOTFOUND);
    store_close(st);
}

static void
test_client_login_settings_roundtrip(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));
    struct client a = mk_client("erp"), b = mk_client("dflt"), p = mk_client("spa");
    struct client *got = NULL, **list = NULL;
    size_t n = 0;

    T_ASSERT(st);
    a.consent = true;
    a.pkce_required = false;
    a.signing_alg = "PS256";
    T_EQ_INT(store_client_add(st, &a), GH_OK);
    T_EQ_INT(store_client_add(st, &b), GH_OK);   /* signing_alg NULL: the default */
    T_EQ_INT(store_client_get(st, "erp", &got), GH_OK);
    T_ASSERT(got->consent);
    T_ASSERT(!got->pkce_required);
    T_EQ_STR(got->signing_alg, "PS256");
    client_free(got);
    T_EQ_INT(store_client_list(st, &list, &n), GH_OK);
    T_EQ_INT(n, 2);
    T_EQ_STR(list[0]->client_id, "dflt");
    T_ASSERT(!list[0]->consent);
    T_ASSERT(list[0]->pkce_required);
    T_EQ_STR(list[0]->signing_alg, "RS256");
    T_EQ_STR(list[1]->signing_alg, "PS256");
    client_list_free(list, n);

    /* The schema itself refuses a public client without PKCE and an unknown alg. */
    p.is_public = true;
    p.auth_method = CLIENT_AUTH_NONE;
    p.has_secret = false;
    p.pkce_required = false;
    T_EQ_INT(store_client_add(st, &p), GH_ESTORE);
    p.pkce_required = true;
    p.signing_alg = "none";
    T_EQ_INT(store_client_add(st, &p), GH_ESTORE);
    T_EQ_INT(store_client_get(st, "spa", &got), GH_ENOTFOUND);
    store_close(st);
    T_EQ_INT(raw(path, "UPDATE clients SET pkce_required = 0 WHERE client_id = 'dflt' "
                       "RETURNING 1"), 1);   /* confidential: allowed */
    T_EQ_INT(raw(path, "UPDATE clients SET public = 1 WHERE client_id = 'dflt' RETURNING 1"),
        -1);
    T_EQ_INT(raw(path, "UPDATE clients SET signing_alg = 'HS256' RETURNING 1"), -1);
}

/* A database made by the first release (schema 1) with a client in it: the upgrade gives the
 * client the login-flow defaults and keeps everything else. */
static void
test_migration_from_v1_keeps_clients_with_defaults(void)
{
    char path[128], err[256];
    struct store *st = NULL;
    struct client *got = NULL;
    int cur = 0, sup = 0;

    db_path(path, sizeof(path));
    T_EQ_INT(raw_exec(path, store_sqlite_migrations[0]), SQLITE_OK);
    T_EQ_INT(raw_exec(path, "PRAGMA user_version = 1; "
                            "INSERT INTO clients (client_id, name, public, auth_method, "
                            "grant_types, scopes, created_at, updated_at) VALUES ('old', 'Old', "
                            "1, 'none', 'authorization_code', 'openid', 5, 6); "
                            "INSERT INTO client_uris VALUES (1, 0, 0, 'https://rp.example/cb')"),
        SQLITE_OK);
    T_EQ_INT(store_open(path, 0, &st, err, sizeof(err)), GH_OK);
    T_EQ_INT(store_schema_version(st, &cur, &sup), GH_OK);
    T_ASSERT(sup >= 2);
    T_EQ_INT(cur, sup);
    T_EQ_INT(store_client_get(st, "old", &got), GH_OK);
    T_EQ_STR(got->name, "Old");
    T_ASSERT(got->is_public);
    T_EQ_STR(got->redirect_uris[0], "https://rp.example/cb");
    T_ASSERT(!got->consent);
    T_ASSERT(got->pkce_required);
    T_EQ_STR(got->signing_alg, "RS256");
    T_EQ_INT(got->created_at, 5);
    client_free(got);
    store_close(st);
    T_EQ_INT(raw(path, "SELECT count(*) FROM sqlite_schema WHERE name IN ('interactions', "
                       "'sessions', 'auth_codes', 'grants', 'refresh_tokens', 'revoked_tokens', "
                       "'consents')"), 7);
}

/* Stored hashes are exactly 32 bytes and the sign-in tables are STRICT: a row that does not fit
 * cannot be written, not even past the store API. */
static void
test_sso_tables_refuse_malformed_rows(void)
{
    char path[128];
    struct store *st = open_new(path, sizeof(path));

    T_ASSERT(st);
    store_close(st);
    T_EQ_INT(raw(path, "INSERT INTO interactions VALUES (zeroblob(32), zeroblob(32), '{}', 1, 2) "
                       "RETURNING 1"), 1);
    T_EQ_INT(raw(path, "INSERT INTO interactions VALUES (zeroblob(31), zeroblob(32), '{}', 1, 2) "
                       "RETURNING 1"), -1);
    T_EQ_INT(raw(path, "INSERT INTO interactions VALUES (NULL, zeroblob(32), '{}', 1, 2) "
                       "RETURNING 1"), -1);
    T_EQ_INT(raw(path, "INSERT INTO interactions VALUES (randomblob(32), zeroblob(33), '{}', 1, "
                       "2) RETURNING 1"), -1);
    T_EQ_INT(raw(path, "INSERT INTO interactions VALUES (randomblob(32), zeroblob(32), '{}', "
                       "'soon', 2) RETURNING 1"), -1);
    T_EQ_INT(raw(path, "INSERT INTO refresh_tokens VALUES ('0123456789abcdef0123456789abcdef', "
                       "'g', 0, 1) RETURNING 1"), -1);   /* text, not a blob */
    T_EQ_INT(raw(path, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                       "('interactions', 'sessions', 'auth_codes', 'grants', 'refresh_tokens', "
                       "'revoked_tokens', 'consents') AND sql LIKE '%STRICT%'"), 7);
}

static void
test_two_handles_see_each_others_writes(void)
{
    char path[128], err[256], *v = NULL;
    struct store *a = open_new(path, sizeof(path)), *b = NULL;

    T_ASSERT(a);
    T_EQ_INT(store_open(path, 0, &b, err, sizeof(err)), GH_OK);
    T_EQ_INT(store_meta_set(a, "k", "1"), GH_OK);
    T_EQ_INT(store_meta_get(b, "k", &v), GH_OK);
    T_EQ_STR(v, "1");
    free(v);
    T_EQ_INT(store_meta_set(b, "k", "2"), GH_OK);
    T_EQ_INT(store_meta_get(a, "k", &v), GH_OK);
    T_EQ_STR(v, "2");
    free(v);
    store_close(a);
    store_close(b);
}

int
main(void)
{
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gh-test-store-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    t_init("store");
    T_RUN(test_migration_from_empty_sets_user_version);
    T_RUN(test_wal_and_settings_applied);
    T_RUN(test_reopen_is_idempotent);
    T_RUN(test_newer_schema_refused);
    T_RUN(test_missing_file_without_create_is_enotfound);
    T_RUN(test_garbage_file_refused);
    T_RUN(test_corrupt_database_refused);
    T_RUN(test_foreign_sqlite_database_refused);
    T_RUN(test_readonly_never_migrates);
    T_RUN(test_readonly_handle_reads_but_cannot_write);
    T_RUN(test_readonly_file_refused_with_message);
    T_RUN(test_dsn_dispatch);
    T_RUN(test_check_reports_ok);
    T_RUN(test_meta_get_set);
    T_RUN(test_key_add_list_oldest_first);
    T_RUN(test_key_insert_is_conditional_and_keeps_the_sealed_key);
    T_RUN(test_user_add_get_list);
    T_RUN(test_user_list_empty);
    T_RUN(test_user_duplicate_is_eexist_case_insensitive);
    T_RUN(test_user_sub_never_reused_after_delete);
    T_RUN(test_user_disable_enable);
    T_RUN(test_user_set_password);
    T_RUN(test_sql_injection_looking_values_are_data);
    T_RUN(test_read_snapshot_sees_one_state_until_it_ends);
    T_RUN(test_client_roundtrip_keeps_list_order);
    T_RUN(test_client_public_without_secret_roundtrip);
    T_RUN(test_client_duplicate_writes_nothing);
    T_RUN(test_client_add_failing_midway_rolls_back);
    T_RUN(test_client_delete_cascades_uris);
    T_RUN(test_client_list_ordered);
    T_RUN(test_client_set_secret);
    T_RUN(test_client_login_settings_roundtrip);
    T_RUN(test_migration_from_v1_keeps_clients_with_defaults);
    T_RUN(test_sso_tables_refuse_malformed_rows);
    T_RUN(test_two_handles_see_each_others_writes);
    rc = t_done();
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
