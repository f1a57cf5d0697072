/* test_user.c — username/e-mail/name rules, the password policy (NIST SP 800-63B-4), and
 * creating users and changing passwords against a temporary SQLite store. Argon2 runs with
 * the OWASP floor parameters to keep the suite fast. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/pw.h"
#include "model/user.h"
#include "store/store.h"
#include "util/clock.h"
#include "t.h"

static char tmpdir[64];
static int seq;
static const struct pw_params floor_pp = { .m_kib = 19456, .t = 2, .p = 1 };
static const struct pw_policy pol15 = { .min_len = 15 };

static struct store *
open_new(void)
{
    struct store *st = NULL;
    char path[128], err[256];

    snprintf(path, sizeof(path), "%s/u%d.db", tmpdir, ++seq);
    if (store_open(path, STORE_CREATE, &st, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "  open %s: %s\n", path, err);
        return NULL;
    }
    return st;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* --- usernames, e-mail, names ------------------------------------------------------------ */

static void
test_username_normalisation_table(void)
{
    static const struct {
        const char *in, *out;   /* out NULL: rejected */
    } cases[] = {
        { "alice", "alice" },
        { "Alice", "alice" },
        { "ALICE@Example.COM", "alice@example.com" },
        { "a", "a" },
        { "1abc", "1abc" },
        { "a.b_c+d-e@f", "a.b_c+d-e@f" },
        { "", NULL },
        { ".alice", NULL },
        { "-alice", NULL },
        { "_alice", NULL },
        { "@alice", NULL },
        { "al ice", NULL },
        { "alice\n", NULL },
        { "al\tice", NULL },
        { "\xc3\xa5lice", NULL },   /* non-ASCII */
        { "a/b", NULL },
        { "a'b", NULL },
        { "a\"b", NULL },
        { "a;b", NULL },
        { "a%b", NULL },
    };
    char buf[128];
    const char *why;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(buf, sizeof(buf), "%s", cases[i].in);
        int rc = user_username_normalize(buf, &why);
        if (cases[i].out) {
            if (rc != GH_OK)
                fprintf(stderr, "  case \"%s\": %s\n", cases[i].in, why);
            T_EQ_INT(rc, GH_OK);
            T_EQ_STR(buf, cases[i].out);
        } else {
            if (rc != GH_EINVAL)
                fprintf(stderr, "  case \"%s\" accepted\n", cases[i].in);
            T_EQ_INT(rc, GH_EINVAL);
            T_ASSERT(why != NULL);
        }
    }
}

static void
test_username_length_bounds(void)
{
    char buf[GH_MAX_USERNAME + 2];
    const char *why;

    memset(buf, 'a', GH_MAX_USERNAME);
    buf[GH_MAX_USERNAME] = '\0';
    T_EQ_INT(user_username_normalize(buf, &why), GH_OK);
    buf[GH_MAX_USERNAME] = 'a';
    buf[GH_MAX_USERNAME + 1] = '\0';
    T_EQ_INT(user_username_normalize(buf, &why), GH_EINVAL);
    T_EQ_STR(why, "username must be 1 to 64 characters");
}

static void
test_email_check_table(void)
{
    static const struct {
        const char *in;
        int rc;
    } cases[] = {
        { "a@b", GH_OK },
        { "alice@example.org", GH_OK },
        { "alice+tag@sub.example.org", GH_OK },
        { "\xc3\xbc@example.org", GH_OK },
        { "", GH_EINVAL },
        { "alice", GH_EINVAL },
        { "a@@b", GH_EINVAL },
        { "a@b@c", GH_EINVAL },
        { "@example.org", GH_EINVAL },
        { "alice@", GH_EINVAL },
        { "al ice@example.org", GH_EINVAL },
        { "alice@example.org\n", GH_EINVAL },
        { "alice@example.org\r\nBcc: x@y", GH_EINVAL },
        { "\xff@example.org", GH_EINVAL },
    };
    char longmail[GH_MAX_EMAIL + 2];
    const char *why;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = user_email_check(cases[i].in, &why);
        if (rc != cases[i].rc)
            fprintf(stderr, "  case \"%s\"\n", cases[i].in);
        T_EQ_INT(rc, cases[i].rc);
        T_ASSERT(rc == GH_OK || why != NULL);
    }
    memset(longmail, 'a', sizeof(longmail) - 1);
    longmail[sizeof(longmail) - 1] = '\0';
    memcpy(longmail + sizeof(longmail) - 13, "@example.org", 12);
    T_EQ_INT(user_email_check(longmail, &why), GH_EINVAL);      /* 255 bytes */
    T_EQ_INT(user_email_check(longmail + 1, &why), GH_OK);      /* 254 bytes */
}

static void
test_name_check_table(void)
{
    char big[GH_MAX_NAME + 2];
    const char *why;

    T_EQ_INT(user_name_check("Alice Ünicode-Smith", &why), GH_OK);
    T_EQ_INT(user_name_check("山田 太郎", &why), GH_OK);
    T_EQ_INT(user_name_check("", &why), GH_EINVAL);
    T_EQ_INT(user_name_check("a\tb", &why), GH_EINVAL);
    T_EQ_INT(user_name_check("a\x7f", &why), GH_EINVAL);
    T_EQ_INT(user_name_check("a\nb", &why), GH_EINVAL);
    T_EQ_INT(user_name_check("\xc3", &why), GH_EINVAL);
    T_EQ_INT(user_name_check("\xc0\xaf", &why), GH_EINVAL);   /* overlong '/' */
    memset(big, 'n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    T_EQ_INT(user_name_check(big, &why), GH_EINVAL);           /* 257 bytes */
    T_EQ_INT(user_name_check(big + 1, &why), GH_OK);           /* 256 bytes */
}

/* --- password policy --------------------------------------------------------------------- */

static int
acceptable(const struct pw_policy *pol, const char *user, const char *pw, const char **why)
{
    return user_password_acceptable(pol, user, pw, strlen(pw), why);
}

static void
test_password_policy_table(void)
{
    static const struct {
        const char *pw;
        int rc;
        const char *why;
    } cases[] = {
        { "abcdefghijklmn", GH_EINVAL, "password must be at least 15 characters" },
        { "kq7vxm2pzt9wlr4", GH_OK, NULL },
        { "correct horse battery staple", GH_OK, NULL },
        { "  leading and trailing spaces  ", GH_OK, NULL },
        { "пароль для входа в систему", GH_OK, NULL },
        /* 10 CJK characters are 30 bytes but only 10 characters */
        { "密码密码安全的长句子", GH_EINVAL, "password must be at least 15 characters" },
        { "这是一个相当长而且安全的中文密码句子", GH_OK, NULL },
        { "password123456789", GH_EINVAL, "password is too common" },
        { "Password123456789!", GH_EINVAL, "password is too common" },
        { "PASSWORD12345678", GH_EINVAL, "password is too common" },
        { "passwordpassword", GH_EINVAL, "password is too common" },
        { "2024qwertyqwerty!", GH_EINVAL, "password is too common" },
        { "aaaaaaaaaaaaaaaaaaaa", GH_EINVAL, "password must not be one repeated character" },
        { "AaAaAaAaAaAaAaAaAa", GH_EINVAL, "password must not be one repeated character" },
        { "ééééééééééééééééé", GH_EINVAL, "password must not be one repeated character" },
        { "gatehousegatehouse", GH_EINVAL, "password must not be the name of this service" },
        { "GateHouse2024!!!!!", GH_EINVAL, "password must not be the name of this service" },
        { "alice.smith12345", GH_EINVAL, "password must not be the username" },
        { "ALICE.SMITHALICE.SMITH", GH_EINVAL, "password must not be the username" },
        { "alice.smith is my name", GH_OK, NULL },
    };
    const char *why;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = acceptable(&pol15, "alice.smith", cases[i].pw, &why);
        if (rc != cases[i].rc)
            fprintf(stderr, "  case \"%s\": %d %s\n", cases[i].pw, rc, why ? why : "");
        T_EQ_INT(rc, cases[i].rc);
        if (cases[i].why)
            T_EQ_STR(why, cases[i].why);
    }
}

static void
test_password_length_bounds(void)
{
    char *pw = malloc(GH_MAX_PASSWORD + 2);
    const char *why;

    T_ASSERT(pw);
    /* a non-repeating ASCII pattern */
    for (size_t i = 0; i < GH_MAX_PASSWORD + 1; i++)
        pw[i] = (char)('!' + (i * 7 + i / 94) % 94);
    T_EQ_INT(user_password_acceptable(&pol15, "bob", pw, 15, &why), GH_OK);
    T_EQ_INT(user_password_acceptable(&pol15, "bob", pw, 64, &why), GH_OK);
    T_EQ_INT(user_password_acceptable(&pol15, "bob", pw, 256, &why), GH_OK);
    T_EQ_INT(user_password_acceptable(&pol15, "bob", pw, GH_MAX_PASSWORD, &why), GH_OK);
    T_EQ_INT(user_password_acceptable(&pol15, "bob", pw, GH_MAX_PASSWORD + 1, &why),
        GH_ETOOBIG);
    T_EQ_STR(why, "password is too long (at most 1024 bytes)");
    /* the size check comes first: 1025 bytes of invalid UTF-8 are still "too big" */
    memset(pw, 0xff, GH_MAX_PASSWORD + 1);
    T_EQ_INT(user_password_acceptable(&pol15, "bob", pw, GH_MAX_PASSWORD + 1, &why),
        GH_ETOOBIG);
    T_EQ_INT(user_password_acceptable(&pol15, "bob", pw, GH_MAX_PASSWORD, &why), GH_EINVAL);
    T_EQ_STR(why, "password is not valid UTF-8");
    free(pw);
}

static void
test_password_invalid_utf8_and_nul_rejected(void)
{
    const char *why;

    T_EQ_INT(acceptable(&pol15, "bob", "abcdefghij\xc3\x28klmnopq", &why), GH_EINVAL);
    T_EQ_STR(why, "password is not valid UTF-8");
    T_EQ_INT(acceptable(&pol15, "bob", "abcdefghijklmnop\xed\xa0\x80", &why), GH_EINVAL);
    T_EQ_INT(user_password_acceptable(&pol15, "bob", "abcdefgh\0ijklmnopq", 18, &why),
        GH_EINVAL);
    T_EQ_STR(why, "password must not contain NUL bytes");
}

static void
test_password_min_length_has_a_floor(void)
{
    struct pw_policy weak = { .min_len = 4 }, p8 = { .min_len = 8 }, p20 = { .min_len = 20 };
    const char *why;

    T_EQ_INT(acceptable(&weak, "bob", "kq7vxm2", &why), GH_EINVAL);   /* 7 < floor 8 */
    T_EQ_STR(why, "password must be at least 8 characters");
    T_EQ_INT(acceptable(&weak, "bob", "kq7vxm2p", &why), GH_OK);
    T_EQ_INT(acceptable(&p8, "bob", "password", &why), GH_EINVAL);
    T_EQ_STR(why, "password is too common");
    T_EQ_INT(acceptable(&p8, "bob", "PassWord1", &why), GH_EINVAL);
    T_EQ_INT(acceptable(&p20, "bob", "kq7vxm2pzt9wlr4kq7v", &why), GH_EINVAL);
    T_EQ_STR(why, "password must be at least 20 characters");
    T_EQ_INT(acceptable(NULL, "bob", "kq7vxm2pzt9wlr", &why), GH_EINVAL);  /* default 15 */
}

static void
test_password_is_common(void)
{
    T_ASSERT(user_password_is_common("password", 8));
    T_ASSERT(user_password_is_common("PassWord", 8));
    T_ASSERT(user_password_is_common("123456", 6));
    T_ASSERT(user_password_is_common("qwerty2024!", 11));
    T_ASSERT(!user_password_is_common("correct horse battery staple", 28));
    T_ASSERT(!user_password_is_common("kq7vxm2pzt9wlr4", 15));
}

/* --- create and set password ------------------------------------------------------------- */

static void
test_user_create_and_read_back(void)
{
    struct store *st = open_new();
    struct user *u = NULL, *v = NULL, *got = NULL;
    const char *pw = "correct horse battery staple";
    const char *why = NULL;
    int64_t before = clock_now();

    T_ASSERT(st);
    T_EQ_INT(user_create(st, &floor_pp, &pol15, "Alice", "alice@example.org", "Alice Ä", pw,
                 strlen(pw), &u, &why), GH_OK);
    T_ASSERT(u);
    T_EQ_STR(u->username, "alice");
    T_EQ_STR(u->email, "alice@example.org");
    T_EQ_STR(u->name, "Alice Ä");
    T_ASSERT(!u->disabled);
    T_ASSERT(u->created_at >= before && u->created_at == u->updated_at);
    /* sub: 43 base64url characters (256 bits), unrelated to the username */
    T_EQ_INT(strlen(u->sub), 43);
    T_EQ_INT(strspn(u->sub, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        43);
    T_ASSERT(strncmp(u->password_hash, "$argon2id$", 10) == 0);
    T_EQ_INT(pw_verify(u->password_hash, pw, strlen(pw)), GH_OK);
    T_EQ_INT(pw_verify(u->password_hash, "wrong", 5), GH_EDENIED);
    T_EQ_INT(store_user_get_by_sub(st, u->sub, &got), GH_OK);
    T_EQ_STR(got->username, "alice");
    user_free(got);

    T_EQ_INT(user_create(st, &floor_pp, &pol15, "bob", NULL, NULL, pw, strlen(pw), &v, &why),
        GH_OK);
    T_ASSERT(v->email == NULL && v->name == NULL);
    T_ASSERT(strcmp(u->sub, v->sub) != 0);
    user_free(u);
    user_free(v);
    store_close(st);
}

static void
test_user_create_rejects_and_stores_nothing(void)
{
    struct store *st = open_new();
    struct user *u = (struct user *)1, **list = NULL;
    const char *pw = "correct horse battery staple", *why = NULL;
    size_t n = 9;

    T_ASSERT(st);
    T_EQ_INT(user_create(st, &floor_pp, &pol15, "alice", NULL, NULL, pw, strlen(pw), NULL,
                 &why), GH_OK);
    T_EQ_INT(user_create(st, &floor_pp, &pol15, "ALICE", NULL, NULL, pw, strlen(pw), &u, &why),
        GH_EEXIST);
    T_ASSERT(u == NULL);
    T_EQ_STR(why, "username is already taken");
    T_EQ_INT(user_create(st, &floor_pp, &pol15, ".bad", NULL, NULL, pw, strlen(pw), &u, &why),
        GH_EINVAL);
    T_EQ_INT(user_create(st, &floor_pp, &pol15, "carol", "not-an-email", NULL, pw, strlen(pw),
                 &u, &why), GH_EINVAL);
    T_EQ_INT(user_create(st, &floor_pp, &pol15, "carol", NULL, "bad\nname", pw, strlen(pw), &u,
                 &why), GH_EINVAL);
    T_EQ_INT(user_create(st, &floor_pp, &pol15, "carol", NULL, NULL, "short", 5, &u, &why),
        GH_EINVAL);
    T_EQ_STR(why, "password must be at least 15 characters");
    T_EQ_INT(user_create(st, &floor_pp, &pol15, "carol", NULL, NULL, "carolcarolcarol", 15, &u,
                 &why), GH_EINVAL);
    T_EQ_STR(why, "password must not be the username");
    T_EQ_INT(store_user_list(st, &list, &n), GH_OK);
    T_EQ_INT(n, 1);
    user_list_free(list, n);
    store_close(st);
}

static void
test_user_create_without_password(void)
{
    struct store *st = open_new();
    struct user *u = NULL;
    const char *why = NULL;

    T_ASSERT(st);
    T_EQ_INT(user_create(st, &floor_pp, &pol15, "svc", NULL, NULL, NULL, 0, &u, &why), GH_OK);
    T_ASSERT(u->password_hash == NULL);
    user_free(u);
    store_close(st);
}

static void
test_user_set_password(void)
{
    struct store *st = open_new();
    struct user *u = NULL;
    const char *old = "correct horse battery staple", *nw = "a different long passphrase";
    const char *why = NULL;

    T_ASSERT(st);
    T_EQ_INT(user_create(st, &floor_pp, &pol15, "alice", NULL, NULL, old, strlen(old), NULL,
                 &why), GH_OK);
    T_EQ_INT(user_set_password(st, &floor_pp, &pol15, "Alice", nw, strlen(nw), &why), GH_OK);
    T_EQ_INT(store_user_get(st, "alice", &u), GH_OK);
    T_EQ_INT(pw_verify(u->password_hash, nw, strlen(nw)), GH_OK);
    T_EQ_INT(pw_verify(u->password_hash, old, strlen(old)), GH_EDENIED);
    user_free(u);
    T_EQ_INT(user_set_password(st, &floor_pp, &pol15, "alice", "password123456789", 17, &why),
        GH_EINVAL);
    T_EQ_STR(why, "password is too common");
    T_EQ_INT(user_set_password(st, &floor_pp, &pol15, "nobody", nw, strlen(nw), &why),
        GH_ENOTFOUND);
    /* the rejected change did not touch the stored hash */
    T_EQ_INT(store_user_get(st, "alice", &u), GH_OK);
    T_EQ_INT(pw_verify(u->password_hash, nw, strlen(nw)), GH_OK);
    user_free(u);
    store_close(st);
}

int
main(void)
{
    int rc;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gh-test-user-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    clock_init();
    t_init("user");
    T_RUN(test_username_normalisation_table);
    T_RUN(test_username_length_bounds);
    T_RUN(test_email_check_table);
    T_RUN(test_name_check_table);
    T_RUN(test_password_policy_table);
    T_RUN(test_password_length_bounds);
    T_RUN(test_password_invalid_utf8_and_nul_rejected);
    T_RUN(test_password_min_length_has_a_floor);
    T_RUN(test_password_is_common);
    T_RUN(test_user_create_and_read_back);
    T_RUN(test_user_create_rejects_and_stores_nothing);
    T_RUN(test_user_create_without_password);
    T_RUN(test_user_set_password);
    rc = t_done();
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
