/* test_resource.c — resources (RFC 8707 resource indicators, issue 4): which identifiers may
 * be registered, names, resource scopes (RFC 6749 §3.3 syntax, bounds, duplicates, the
 * reserved OpenID Connect scopes), which clients may be allowed (confidential only, RFC 6749
 * §4.4) with which scopes (a subset of the resource's), and the store functions behind them
 * against real SQLite files, including what deleting a resource or a client leaves (no
 * permission rows: the foreign keys cascade). The test counts rows with the SQLite API. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "model/client.h"
#include "model/resource.h"
#include "store/store.h"
#include "util/str.h"
#include "t.h"

static char tmpdir[64];
static int seq;

#define API  "https://api.example/"
#define API2 "urn:example:billing"
#define SHOP "shop"   /* confidential */
#define SVC  "svc"    /* confidential */
#define SPA  "spa"    /* public */

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

/* A fresh database with the confidential clients shop and svc and the public client spa. */
static struct store *
fixture(char *path, size_t n)
{
    static char *uris[] = { "https://rp.example/cb", NULL }, *none[] = { NULL };
    static char *grants[] = { "client_credentials", NULL }, *scopes[] = { "openid", NULL };
    struct client c = { .client_id = SHOP, .name = "Shop", .auth_method =
        CLIENT_AUTH_SECRET_BASIC, .redirect_uris = uris, .post_logout_redirect_uris = none,
        .grant_types = grants, .scopes = scopes, .pkce_required = true };
    struct client d = c, p = c;
    struct store *st = NULL;
    char err[256];

    snprintf(path, n, "%s/r%d.db", tmpdir, ++seq);
    if (store_open(path, STORE_CREATE, &st, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "  open %s: %s\n", path, err);
        return NULL;
    }
    d.client_id = SVC;
    p.client_id = SPA;
    p.is_public = true;
    p.auth_method = CLIENT_AUTH_NONE;
    if (store_client_add(st, &c) != GH_OK || store_client_add(st, &d) != GH_OK ||
        store_client_add(st, &p) != GH_OK) {
        store_close(st);
        return NULL;
    }
    return st;
}

/* resource_create with the scopes given as one space-separated string. */
static int
create(struct store *st, const char *id, const char *name, const char *scopes, char *err,
    size_t errsz)
{
    char **list = NULL;
    struct resource_spec spec = { .id = id, .name = name };
    int rc;

    if (scopes && str_split(scopes, GH_MAX_SCOPES + 8, GH_MAX_URI, &list) != GH_OK)
        return GH_EINTERNAL;
    spec.scopes = list;
    rc = resource_create(st, &spec, 1000, NULL, err, errsz);
    str_list_free(list);
    return rc;
}

static int
allow(struct store *st, const char *id, const char *client_id, const char *scopes,
    char **granted, char *err, size_t errsz)
{
    char **list = NULL;
    int rc;

    if (scopes && str_split(scopes, GH_MAX_SCOPES + 8, GH_MAX_URI, &list) != GH_OK)
        return GH_EINTERNAL;
    rc = resource_allow_client(st, id, client_id, list, 2000, granted, err, errsz);
    str_list_free(list);
    return rc;
}

static char *
repeat(char c, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    char *s = malloc(k + n + 1);

    memcpy(s, prefix, k);
    memset(s + k, c, n);
    s[k + n] = '\0';
    return s;
}

/* --- identifiers ------------------------------------------------------------------------- */

static void
test_identifier_accepts_https_urns_and_loopback_http(void)
{
    static const char *const good[] = {
        "https://api.example/", "https://api.example", "https://api.example:8443/v1/",
        "https://api.example/a%20b/c", "https://10.0.0.1/api", "https://[2001:db8::1]/",
        "http://127.0.0.1:9000/api", "http://localhost/api", "http://[::1]:8080/",
        "urn:example:billing", "urn:ietf:params:oauth:res", "urn:ab:x",
        "urn:a-b:some/thing;v=1",
    };
    const char *why = NULL;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (resource_id_check(good[i], &why) != GH_OK)
            T_FAIL_("%s refused: %s", good[i], why);
    }
}

static void
test_identifier_refuses_ambiguous_or_dangerous_uris(void)
{
    static const char *const bad[] = {
        "", "/api", "api.example/v1", "//api.example/", "api",        /* relative */
        "https://api.example/#", "https://api.example/#frag",         /* RFC 8707 §2 */
        "https://api.example/?", "https://api.example/?x=1",          /* query: refused */
        "urn:example:a?=q",
        "http://api.example/", "http://127.0.0.1.evil.example/",      /* http off loopback */
        "http://localhost.evil.example/", "http://10.0.0.1/",
        "https://api .example/", "https://api.example/a b", " https://api.example/",
        "https://api.example/ ", "https://api.example/\t", "https://api.example/\n",
        "https://api.example/\x7f", "https://api.example/\xc3\xa9",   /* raw non-ASCII */
        "https://api.example\\x/",
        "javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "ftp://api.example/",
        "mailto:a@example.com", "com.example.app:/api",               /* scheme allowlist */
        "HTTPS://api.example/", "Urn:example:x", "https://API.example/", /* canonical case */
        "https://user@api.example/", "https://user:pw@api.example/",
        "https://api.example/a/../b", "https://api.example/./", "https://api.example/..",
        "https://", "https:///x", "https://api.example:0/", "https://api.example:99999/",
        "https://api.example/%zz",
        "urn:x", "urn:a:b", "urn:example:", "urn:-ab:x", "urn:ab-:x", "urn:a_b:x", "urn:",
    };
    const char *why = NULL;

    T_EQ_INT(resource_id_check(NULL, &why), GH_EINVAL);
    T_ASSERT(why != NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (resource_id_check(bad[i], &why) != GH_EINVAL)
            T_FAIL_("'%s' accepted", bad[i]);
        if (!why)
            T_FAIL_("'%s' refused without a reason", bad[i]);
    }
}

static void
test_identifier_bound_is_gh_max_uri(void)
{
    char *ok = repeat('a', GH_MAX_URI - strlen(API), API);
    char *over = repeat('a', GH_MAX_URI - strlen(API) + 1, API);
    const char *why = NULL;

    T_EQ_INT(strlen(ok), GH_MAX_URI);
    T_EQ_INT(resource_id_check(ok, &why), GH_OK);
    T_EQ_INT(resource_id_check(over, &why), GH_EINVAL);
    T_ASSERT(strstr(why, "too long") != NULL);
    free(ok);
    free(over);
}

static void
test_identifier_reasons_say_what_is_wrong(void)
{
    const char *why = NULL;

    T_EQ_INT(resource_id_check("https://api.example/?a=b", &why), GH_EINVAL);
    T_ASSERT(strstr(why, "query") != NULL);
    T_EQ_INT(resource_id_check("https://api.example/#x", &why), GH_EINVAL);
    T_ASSERT(strstr(why, "fragment") != NULL);
    T_EQ_INT(resource_id_check("http://api.example/", &why), GH_EINVAL);
    T_ASSERT(strstr(why, "loopback") != NULL);
    T_EQ_INT(resource_id_check("/api", &why), GH_EINVAL);
    T_ASSERT(strstr(why, "absolute") != NULL);
    /* a scheme outside the allowlist is named as such, even where the URI is also malformed */
    T_EQ_INT(resource_id_check("file:///etc/passwd", &why), GH_EINVAL);
    T_ASSERT(strstr(why, "https") != NULL);
    T_EQ_INT(resource_id_check("JavaScript:alert(1)", &why), GH_EINVAL);
    T_ASSERT(strstr(why, "https") != NULL);
    T_EQ_INT(resource_id_check("urn:example", &why), GH_EINVAL);
    T_ASSERT(strstr(why, "RFC 8141") != NULL);
}

/* --- names and scopes -------------------------------------------------------------------- */

static void
test_name_rules(void)
{
    char *max = repeat('n', GH_MAX_NAME, ""), *over = repeat('n', GH_MAX_NAME + 1, "");
    const char *why = NULL;

    T_EQ_INT(resource_name_check("Billing API", &why), GH_OK);
    T_EQ_INT(resource_name_check("B\xc3\xbc" "cher-API", &why), GH_OK);
    T_EQ_INT(resource_name_check(max, &why), GH_OK);
    T_EQ_INT(resource_name_check(over, &why), GH_EINVAL);
    T_EQ_INT(resource_name_check("", &why), GH_EINVAL);
    T_EQ_INT(resource_name_check(NULL, &why), GH_EINVAL);
    T_EQ_INT(resource_name_check("a\nb", &why), GH_EINVAL);
    T_EQ_INT(resource_name_check("a\x1b[31mb", &why), GH_EINVAL);
    T_EQ_INT(resource_name_check("a\x7f", &why), GH_EINVAL);
    T_EQ_INT(resource_name_check("\xc3\x28", &why), GH_EINVAL);       /* invalid UTF-8 */
    T_EQ_INT(resource_name_check("\xed\xa0\x80", &why), GH_EINVAL);   /* a surrogate */
    free(max);
    free(over);
}

static void
test_scopes_are_deduplicated_in_first_seen_order(void)
{
    char *in[] = { "write", "read", "write", "admin:all", "read", NULL }, **out = NULL;
    char err[256];

    T_EQ_INT(resource_scopes_normalize(in, &out, err, sizeof(err)), GH_OK);
    T_EQ_INT(str_list_len(out), 3);
    T_EQ_STR(out[0], "write");
    T_EQ_STR(out[1], "read");
    T_EQ_STR(out[2], "admin:all");
    str_list_free(out);
    T_EQ_INT(resource_scopes_normalize(NULL, &out, err, sizeof(err)), GH_OK);
    T_ASSERT(out && !out[0]);
    str_list_free(out);
}

static void
test_scopes_refuse_reserved_bad_and_too_many(void)
{
    static char *const bad[] = {
        "openid", "profile", "email", "offline_access", "OpenID", "EMAIL",   /* reserved */
        "", "a b", "a\"b", "a\\b", "caf\xc3\xa9", "a\tb", "a\x7f",           /* syntax */
    };
    char *one[2] = { NULL, NULL }, **out = NULL, err[256];
    char *max = repeat('s', GH_MAX_SCOPE_LEN, ""), *over = repeat('s', GH_MAX_SCOPE_LEN + 1, "");
    char *many[GH_MAX_SCOPES + 2], names[GH_MAX_SCOPES + 1][8];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        one[0] = bad[i];
        if (resource_scopes_normalize(one, &out, err, sizeof(err)) != GH_EINVAL)
            T_FAIL_("scope '%s' accepted", bad[i]);
        T_ASSERT(out == NULL);
    }
    one[0] = "openid";
    T_EQ_INT(resource_scopes_normalize(one, &out, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "'openid'") && strstr(err, "reserved"));
    one[0] = "x\"y";
    T_EQ_INT(resource_scopes_normalize(one, &out, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "'x\"y'") != NULL);
    one[0] = max;
    T_EQ_INT(resource_scopes_normalize(one, &out, err, sizeof(err)), GH_OK);
    str_list_free(out);
    one[0] = over;
    T_EQ_INT(resource_scopes_normalize(one, &out, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "too long") != NULL);
    for (size_t i = 0; i <= GH_MAX_SCOPES; i++) {
        snprintf(names[i], sizeof(names[i]), "s%zu", i);
        many[i] = names[i];
    }
    many[GH_MAX_SCOPES] = NULL;   /* exactly the maximum */
    T_EQ_INT(resource_scopes_normalize(many, &out, err, sizeof(err)), GH_OK);
    T_EQ_INT(str_list_len(out), GH_MAX_SCOPES);
    str_list_free(out);
    many[GH_MAX_SCOPES] = names[GH_MAX_SCOPES];
    many[GH_MAX_SCOPES + 1] = NULL;
    T_EQ_INT(resource_scopes_normalize(many, &out, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "too many") != NULL);
    free(max);
    free(over);
}

/* --- create, get, list, delete ----------------------------------------------------------- */

static void
test_create_round_trips_and_defaults_the_name(void)
{
    char path[128], err[256];
    struct store *st = fixture(path, sizeof(path));
    struct resource *r = NULL;

    T_ASSERT(st);
    T_EQ_INT(create(st, API, "Orders API", "read write read", err, sizeof(err)), GH_OK);
    T_EQ_INT(create(st, API2, NULL, NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(store_resource_get(st, API, &r), GH_OK);
    T_EQ_STR(r->id, API);
    T_EQ_STR(r->name, "Orders API");
    T_EQ_INT(str_list_len(r->scopes), 2);
    T_EQ_STR(r->scopes[0], "read");
    T_EQ_STR(r->scopes[1], "write");
    T_EQ_INT(r->created_at, 1000);
    resource_free(r);
    T_EQ_INT(store_resource_get(st, API2, &r), GH_OK);
    T_EQ_STR(r->name, API2);                  /* default: the identifier */
    T_ASSERT(r->scopes && !r->scopes[0]);     /* never NULL */
    resource_free(r);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM resources WHERE scopes = 'read write'"), 1);
}

static void
test_identifiers_are_compared_byte_for_byte(void)
{
    char path[128], err[256];
    struct store *st = fixture(path, sizeof(path));
    struct resource *r = NULL;

    T_ASSERT(st);
    T_EQ_INT(create(st, API, NULL, NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(store_resource_get(st, "https://api.example", &r), GH_ENOTFOUND);
    T_ASSERT(r == NULL);
    T_EQ_INT(store_resource_get(st, "https://api.example/%2F", &r), GH_ENOTFOUND);
    /* a different string is a different resource, even where a normaliser would merge them */
    T_EQ_INT(create(st, "https://api.example", NULL, NULL, err, sizeof(err)), GH_OK);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM resources"), 2);
}

static void
test_create_refuses_bad_input_and_stores_nothing(void)
{
    char path[128], err[256];
    struct store *st = fixture(path, sizeof(path));

    T_ASSERT(st);
    T_EQ_INT(create(st, "https://api.example/#x", NULL, NULL, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "fragment") != NULL);
    T_EQ_INT(create(st, API, "", NULL, err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(create(st, API, "bad\nname", NULL, err, sizeof(err)), GH_EINVAL);
    T_EQ_INT(create(st, API, NULL, "read openid", err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "'openid'") != NULL);
    T_EQ_INT(create(st, API, NULL, NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(create(st, API, "again", "read", err, sizeof(err)), GH_EEXIST);
    T_ASSERT(strstr(err, "already exists") != NULL);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM resources"), 1);
    T_EQ_INT(count(path, "SELECT count(*) FROM resources WHERE name = '" API "'"), 1);
}

static void
test_list_is_ordered_by_identifier_bytes(void)
{
    char path[128], err[256];
    struct store *st = fixture(path, sizeof(path));
    struct resource **list = NULL;
    size_t n = 99;

    T_ASSERT(st);
    T_EQ_INT(store_resource_list(st, &list, &n), GH_OK);
    T_EQ_INT(n, 0);
    resource_list_free(list, n);
    T_EQ_INT(create(st, "urn:example:b", NULL, NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(create(st, "https://b.example/", NULL, NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(create(st, "https://a.example/", NULL, NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(store_resource_list(st, &list, &n), GH_OK);
    T_EQ_INT(n, 3);
    T_EQ_STR(list[0]->id, "https://a.example/");
    T_EQ_STR(list[1]->id, "https://b.example/");
    T_EQ_STR(list[2]->id, "urn:example:b");
    resource_list_free(list, n);
    store_close(st);
}

static void
test_delete_unknown_is_not_found(void)
{
    char path[128], err[256];
    struct store *st = fixture(path, sizeof(path));

    T_ASSERT(st);
    T_EQ_INT(store_resource_delete(st, API), GH_ENOTFOUND);
    T_EQ_INT(create(st, API, NULL, NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(store_resource_delete(st, API), GH_OK);
    T_EQ_INT(store_resource_delete(st, API), GH_ENOTFOUND);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM resources"), 0);
}

/* --- allow, disallow ---------------------------------------------------------------------- */

static void
test_allow_stores_a_subset_and_rerun_replaces_it(void)
{
    char path[128], err[256], *granted = NULL, *scope = NULL, **ids = NULL;
    struct store *st = fixture(path, sizeof(path));
    struct resource_client *cl = NULL;
    size_t n = 0;

    T_ASSERT(st);
    T_EQ_INT(create(st, API, NULL, "read write admin", err, sizeof(err)), GH_OK);
    T_EQ_INT(create(st, API2, NULL, "charge", err, sizeof(err)), GH_OK);
    T_EQ_INT(allow(st, API, SVC, "write read write", &granted, err, sizeof(err)), GH_OK);
    T_EQ_STR(granted, "write read");
    free(granted);
    T_EQ_INT(store_resource_client_scope(st, API, SVC, &scope), GH_OK);
    T_EQ_STR(scope, "write read");
    free(scope);
    /* again: replaces, never adds */
    T_EQ_INT(allow(st, API, SVC, "admin", &granted, err, sizeof(err)), GH_OK);
    T_EQ_STR(granted, "admin");
    free(granted);
    T_EQ_INT(store_resource_client_scope(st, API, SVC, &scope), GH_OK);
    T_EQ_STR(scope, "admin");
    free(scope);
    /* no scopes: the audience only */
    T_EQ_INT(allow(st, API, SHOP, NULL, &granted, err, sizeof(err)), GH_OK);
    T_EQ_STR(granted, "");
    free(granted);
    T_EQ_INT(store_resource_client_scope(st, API, SHOP, &scope), GH_OK);
    T_EQ_STR(scope, "");
    free(scope);
    T_EQ_INT(allow(st, API2, SVC, "charge", NULL, err, sizeof(err)), GH_OK);

    T_EQ_INT(store_resource_clients(st, API, &cl, &n), GH_OK);
    T_EQ_INT(n, 2);
    T_EQ_STR(cl[0].client_id, SHOP);
    T_EQ_STR(cl[0].scope, "");
    T_EQ_STR(cl[1].client_id, SVC);
    T_EQ_STR(cl[1].scope, "admin");
    T_EQ_INT(cl[1].created_at, 2000);
    resource_client_list_free(cl, n);
    T_EQ_INT(store_client_resources(st, SVC, &ids, &n), GH_OK);
    T_EQ_INT(n, 2);
    T_EQ_STR(ids[0], API);
    T_EQ_STR(ids[1], API2);
    T_ASSERT(ids[2] == NULL);
    str_list_free(ids);
    T_EQ_INT(store_client_resources(st, SPA, &ids, &n), GH_OK);
    T_EQ_INT(n, 0);
    T_ASSERT(ids && !ids[0]);
    str_list_free(ids);
    T_EQ_INT(store_resource_clients(st, "urn:example:nothing", &cl, &n), GH_OK);
    T_EQ_INT(n, 0);
    resource_client_list_free(cl, n);
    T_EQ_INT(store_resource_client_scope(st, API2, SHOP, &scope), GH_ENOTFOUND);
    T_ASSERT(scope == NULL);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM resource_clients"), 3);
}

static void
test_allow_refuses_and_changes_nothing(void)
{
    char path[128], err[256], *granted = (char *)"x";
    struct store *st = fixture(path, sizeof(path));

    T_ASSERT(st);
    T_EQ_INT(create(st, API, NULL, "read write", err, sizeof(err)), GH_OK);
    T_EQ_INT(allow(st, API, SVC, "read", NULL, err, sizeof(err)), GH_OK);

    T_EQ_INT(allow(st, "https://nope.example/", SVC, "read", &granted, err, sizeof(err)),
        GH_ENOTFOUND);
    T_ASSERT(granted == NULL);
    T_ASSERT(strstr(err, "no resource 'https://nope.example/'") != NULL);
    T_EQ_INT(allow(st, API, "nobody", "read", NULL, err, sizeof(err)), GH_ENOTFOUND);
    T_ASSERT(strstr(err, "no client 'nobody'") != NULL);
    /* RFC 6749 §4.4: public clients cannot use client_credentials */
    T_EQ_INT(allow(st, API, SPA, NULL, NULL, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "public") != NULL);
    /* the error names the first scope the resource does not have */
    T_EQ_INT(allow(st, API, SVC, "write delete admin", NULL, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "'delete'") != NULL && strstr(err, "'admin'") == NULL);
    T_EQ_INT(allow(st, API, SVC, "openid", NULL, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(strstr(err, "reserved") != NULL);
    T_EQ_INT(allow(st, API, SVC, "re\"ad", NULL, err, sizeof(err)), GH_EINVAL);
    /* the earlier permission is intact */
    T_EQ_INT(store_resource_client_scope(st, API, SVC, &granted), GH_OK);
    T_EQ_STR(granted, "read");
    free(granted);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM resource_clients"), 1);
}

static void
test_store_allow_needs_both_rows(void)
{
    char path[128], err[256];
    struct store *st = fixture(path, sizeof(path));

    T_ASSERT(st);
    T_EQ_INT(create(st, API, NULL, NULL, err, sizeof(err)), GH_OK);
    /* the foreign keys, not only the model's checks */
    T_EQ_INT(store_resource_allow(st, "urn:example:none", SVC, "", 1), GH_ENOTFOUND);
    T_EQ_INT(store_resource_allow(st, API, "nobody", "", 1), GH_ENOTFOUND);
    T_EQ_INT(store_resource_allow(st, API, SVC, NULL, 1), GH_OK);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM resource_clients WHERE scopes = ''"), 1);
}

static void
test_disallow_once(void)
{
    char path[128], err[256], *scope = NULL;
    struct store *st = fixture(path, sizeof(path));

    T_ASSERT(st);
    T_EQ_INT(create(st, API, NULL, "read", err, sizeof(err)), GH_OK);
    T_EQ_INT(allow(st, API, SVC, "read", NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(allow(st, API, SHOP, "read", NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(store_resource_disallow(st, API, SVC), GH_OK);
    T_EQ_INT(store_resource_disallow(st, API, SVC), GH_ENOTFOUND);
    T_EQ_INT(store_resource_disallow(st, "urn:example:none", SVC), GH_ENOTFOUND);
    T_EQ_INT(store_resource_client_scope(st, API, SVC, &scope), GH_ENOTFOUND);
    T_EQ_INT(store_resource_client_scope(st, API, SHOP, &scope), GH_OK);   /* untouched */
    free(scope);
    store_close(st);
    T_EQ_INT(count(path, "SELECT count(*) FROM resource_clients"), 1);
}

/* Deleting either side removes the permission (ON DELETE CASCADE), so a client registered
 * later under the same client_id never inherits it. */
static void
test_deleting_resource_or_client_removes_permissions(void)
{
    static char *none[] = { NULL }, *grants[] = { "client_credentials", NULL };
    struct client again = { .client_id = SVC, .name = "new svc", .auth_method =
        CLIENT_AUTH_SECRET_BASIC, .redirect_uris = none, .post_logout_redirect_uris = none,
        .grant_types = grants, .scopes = none };
    char path[128], err[256], *scope = NULL, **ids = NULL;
    struct store *st = fixture(path, sizeof(path));
    size_t n = 0;

    T_ASSERT(st);
    T_EQ_INT(create(st, API, NULL, "read", err, sizeof(err)), GH_OK);
    T_EQ_INT(create(st, API2, NULL, "read", err, sizeof(err)), GH_OK);
    T_EQ_INT(allow(st, API, SVC, "read", NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(allow(st, API, SHOP, "read", NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(allow(st, API2, SVC, "read", NULL, err, sizeof(err)), GH_OK);
    T_EQ_INT(count(path, "SELECT count(*) FROM resource_clients"), 3);

    T_EQ_INT(store_client_delete(st, SVC), GH_OK);
    T_EQ_INT(count(path, "SELECT count(*) FROM resource_clients"), 1);
    T_EQ_INT(store_client_add(st, &again), GH_OK);
    T_EQ_INT(store_resource_client_scope(st, API, SVC, &scope), GH_ENOTFOUND);
    T_EQ_INT(store_client_resources(st, SVC, &ids, &n), GH_OK);
    T_EQ_INT(n, 0);
    str_list_free(ids);

    T_EQ_INT(store_resource_delete(st, API), GH_OK);
    T_EQ_INT(count(path, "SELECT count(*) FROM resource_clients"), 0);
    T_EQ_INT(create(st, API, NULL, "read", err, sizeof(err)), GH_OK);
    T_EQ_INT(store_resource_client_scope(st, API, SHOP, &scope), GH_ENOTFOUND);
    T_EQ_INT(count(path, "SELECT count(*) FROM resources"), 2);
    store_close(st);
}

int
main(void)
{
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gh-test-res-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    t_init("resource");
    log_set_level(LOG_WARN);   /* no migration lines */
    T_RUN(test_identifier_accepts_https_urns_and_loopback_http);
    T_RUN(test_identifier_refuses_ambiguous_or_dangerous_uris);
    T_RUN(test_identifier_bound_is_gh_max_uri);
    T_RUN(test_identifier_reasons_say_what_is_wrong);
    T_RUN(test_name_rules);
    T_RUN(test_scopes_are_deduplicated_in_first_seen_order);
    T_RUN(test_scopes_refuse_reserved_bad_and_too_many);
    T_RUN(test_create_round_trips_and_defaults_the_name);
    T_RUN(test_identifiers_are_compared_byte_for_byte);
    T_RUN(test_create_refuses_bad_input_and_stores_nothing);
    T_RUN(test_list_is_ordered_by_identifier_bytes);
    T_RUN(test_delete_unknown_is_not_found);
    T_RUN(test_allow_stores_a_subset_and_rerun_replaces_it);
    T_RUN(test_allow_refuses_and_changes_nothing);
    T_RUN(test_store_allow_needs_both_rows);
    T_RUN(test_disallow_once);
    T_RUN(test_deleting_resource_or_client_removes_permissions);
    rc = t_done();
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
