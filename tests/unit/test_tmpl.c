/* test_tmpl.c — tmpl/: escaping (XSS payloads as values), sections, load-time rejection of
 * malformed templates and bad file names, output and UTF-8 bounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "t.h"
#include "tmpl/tmpl.h"
#include "util/buf.h"

#define NV(a) (sizeof(a) / sizeof((a)[0]))

/* Compile src, render it with vars into a fresh buffer, return a malloc'd copy (or NULL). */
static char *
render(const char *src, const struct tmpl_var *vars, size_t nvars)
{
    struct tmpl *t = NULL;
    struct buf b;
    char err[128];
    char *s = NULL;

    buf_init(&b, 4096);
    if (tmpl_compile(src, strlen(src), &t, err, sizeof(err)) != GH_OK) {
        fprintf(stderr, "  compile: %s\n", err);
        return NULL;
    }
    if (tmpl_render(t, vars, nvars, &b) == GH_OK)
        s = buf_steal(&b);
    buf_free(&b);
    tmpl_free(t);
    return s;
}

/* Render src with one variable v=val and compare with want. */
static int
render1_is(const char *src, const char *val, const char *want)
{
    struct tmpl_var v[] = { { "v", val } };
    char *s = render(src, v, 1);
    int ok = s && strcmp(s, want) == 0;

    if (!ok)
        fprintf(stderr, "  got \"%s\", want \"%s\"\n", s ? s : "(null)", want);
    free(s);
    return ok;
}

/* Compile must fail with rc, and err must start with the given "line:col: " prefix. */
static int
rejects_at(const char *src, int want_rc, const char *pos)
{
    struct tmpl *t = (struct tmpl *)1;
    char err[256];
    int rc = tmpl_compile(src, strlen(src), &t, err, sizeof(err));
    int ok = rc == want_rc && t == NULL && strncmp(err, pos, strlen(pos)) == 0 &&
             err[strlen(pos)] == ' ';

    if (!ok)
        fprintf(stderr, "  \"%s\": rc %d err \"%s\" (want %d at %s)\n", src, rc, err, want_rc,
            pos);
    tmpl_free(rc == GH_OK ? t : NULL);
    return ok;
}

static void
test_literal_and_variables(void)
{
    struct tmpl_var v[] = { { "a", "1" }, { "b_2", "two" }, { "a", "shadowed" } };
    char *s = render("x{{a}}y{{b_2}}z{{missing}}!", v, NV(v));

    T_EQ_STR(s, "x1ytwoz!");
    free(s);
    T_ASSERT(render1_is("", "x", ""));
    T_ASSERT(render1_is("no tags } { }} here", "x", "no tags } { }} here"));
    T_ASSERT(render1_is("{{v}}", NULL, ""));
    T_ASSERT(render1_is("caf\xc3\xa9 {{v}}", "\xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac"));
}

static void
test_escapes_every_special_char(void)
{
    T_ASSERT(render1_is("{{v}}", "&", "&amp;"));
    T_ASSERT(render1_is("{{v}}", "<", "&lt;"));
    T_ASSERT(render1_is("{{v}}", ">", "&gt;"));
    T_ASSERT(render1_is("{{v}}", "\"", "&quot;"));
    T_ASSERT(render1_is("{{v}}", "'", "&#39;"));
    T_ASSERT(render1_is("[{{v}}]", "a&b<c>d\"e'f", "[a&amp;b&lt;c&gt;d&quot;e&#39;f]"));
    T_ASSERT(render1_is("{{v}}", "&amp;", "&amp;amp;")); /* no double-decode shortcuts */
}

static void
test_xss_values_come_out_inert(void)
{
    T_ASSERT(render1_is("<p>{{v}}</p>", "<script>alert(1)</script>",
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"));
    T_ASSERT(render1_is("<input value=\"{{v}}\">", "\"><svg onload=alert(1)>",
        "<input value=\"&quot;&gt;&lt;svg onload=alert(1)&gt;\">"));
    T_ASSERT(render1_is("<a title='{{v}}'>", "'onmouseover='x",
        "<a title='&#39;onmouseover=&#39;x'>"));
}

static void
test_value_is_not_reexpanded(void)
{
    struct tmpl_var v[] = { { "v", "{{7*7}}{{w}}{{#w}}" }, { "w", "SECRET" } };
    char *s = render("{{v}}", v, NV(v));

    T_EQ_STR(s, "{{7*7}}{{w}}{{#w}}");
    free(s);
}

static void
test_sections_on_off_inverted(void)
{
    T_ASSERT(render1_is("a{{#v}}[on {{v}}]{{/v}}b", "x", "a[on x]b"));
    T_ASSERT(render1_is("a{{#v}}[on]{{/v}}b", "", "ab"));
    T_ASSERT(render1_is("a{{#v}}[on]{{/v}}b", NULL, "ab"));
    T_ASSERT(render1_is("a{{^v}}[off]{{/v}}b", "x", "ab"));
    T_ASSERT(render1_is("a{{^v}}[off]{{/v}}b", "", "a[off]b"));
    T_ASSERT(render1_is("a{{^v}}[off]{{/v}}b", NULL, "a[off]b"));
    T_ASSERT(render1_is("{{#v}}1{{/v}}{{^v}}2{{/v}}{{#v}}3{{/v}}", "y", "13"));
}

static void
test_nested_sections(void)
{
    const char *src = "<{{#a}}A{{#b}}B{{^c}}!c{{/c}}{{/b}}a{{/a}}{{^a}}none{{/a}}>";
    struct tmpl_var all[] = { { "a", "1" }, { "b", "1" }, { "c", "1" } };
    struct tmpl_var ab[] = { { "a", "1" }, { "b", "1" } };
    struct tmpl_var a[] = { { "a", "1" }, { "c", "1" } };
    char *s;

    T_EQ_STR((s = render(src, all, NV(all))), "<ABa>");
    free(s);
    T_EQ_STR((s = render(src, ab, NV(ab))), "<AB!ca>");
    free(s);
    T_EQ_STR((s = render(src, a, NV(a))), "<Aa>");
    free(s);
    T_EQ_STR((s = render(src, NULL, 0)), "<none>");
    free(s);
}

static void
test_depth_bound(void)
{
    struct tmpl_var all[] = { { "s0", "x" }, { "s1", "x" }, { "s2", "x" }, { "s3", "x" },
        { "s4", "x" }, { "s5", "x" }, { "s6", "x" }, { "s7", "x" } };
    char ok[512], deep[512], *s;
    size_t n = 0;
    int i;

    T_EQ_INT(NV(all), GH_MAX_TEMPLATE_DEPTH);
    for (i = 0; i < GH_MAX_TEMPLATE_DEPTH; i++)
        n += (size_t)snprintf(ok + n, sizeof(ok) - n, "{{#s%d}}", i);
    n += (size_t)snprintf(ok + n, sizeof(ok) - n, "in");
    for (i = GH_MAX_TEMPLATE_DEPTH - 1; i >= 0; i--)
        n += (size_t)snprintf(ok + n, sizeof(ok) - n, "{{/s%d}}", i);
    T_EQ_STR((s = render(ok, all, NV(all))), "in");
    free(s);
    T_EQ_STR((s = render(ok, all, NV(all) - 1)), ""); /* innermost s7 unset */
    free(s);
    for (n = 0, i = 0; i <= GH_MAX_TEMPLATE_DEPTH; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{{#s%d}}", i);
    /* the ninth opening tag starts at byte 8 * 7 = 56 */
    T_ASSERT(rejects_at(deep, GH_ETOOBIG, "1:57:"));
}

static void
test_malformed_rejected_with_position(void)
{
    T_ASSERT(rejects_at("abc{{", GH_EINVAL, "1:4:"));
    T_ASSERT(rejects_at("abc{{v", GH_EINVAL, "1:4:"));
    T_ASSERT(rejects_at("abc{{v}", GH_EINVAL, "1:4:"));
    T_ASSERT(rejects_at("x\nab{{v}x", GH_EINVAL, "2:3:"));
    T_ASSERT(rejects_at("x\n\n  {{#v}}open", GH_EINVAL, "3:3:"));
    T_ASSERT(rejects_at("{{#a}}{{#b}}{{/b}}", GH_EINVAL, "1:1:"));
    T_ASSERT(rejects_at("ok\n{{/v}}", GH_EINVAL, "2:1:"));
    T_ASSERT(rejects_at("{{#a}}{{#b}}{{/a}}{{/b}}", GH_EINVAL, "1:13:"));
    T_ASSERT(rejects_at("{{#a}}{{/b}}", GH_EINVAL, "1:7:"));
    T_ASSERT(rejects_at("{{^a}}{{/b}}", GH_EINVAL, "1:7:"));
    T_ASSERT(rejects_at("{{}}", GH_EINVAL, "1:1:"));
    T_ASSERT(rejects_at("{{#}}", GH_EINVAL, "1:1:"));
    T_ASSERT(rejects_at("{{{v}}}", GH_EINVAL, "1:1:")); /* no raw-output syntax */
    T_ASSERT(rejects_at("{{&v}}", GH_EINVAL, "1:1:"));
    T_ASSERT(rejects_at("{{!comment}}", GH_EINVAL, "1:1:"));
    T_ASSERT(rejects_at("{{>partial}}", GH_EINVAL, "1:1:"));
}

static void
test_bad_names_rejected(void)
{
    char name[64], src[80];

    T_ASSERT(rejects_at("{{V}}", GH_EINVAL, "1:1:"));
    T_ASSERT(rejects_at("{{ v }}", GH_EINVAL, "1:1:"));
    T_ASSERT(rejects_at("{{a-b}}", GH_EINVAL, "1:1:"));
    T_ASSERT(rejects_at("{{a.b}}", GH_EINVAL, "1:1:"));
    T_ASSERT(rejects_at("x{{7*7}}", GH_EINVAL, "1:2:"));
    T_ASSERT(rejects_at("{{#a b}}{{/a b}}", GH_EINVAL, "1:1:"));
    T_ASSERT(rejects_at("{{caf\xc3\xa9}}", GH_EINVAL, "1:1:"));
    memset(name, 'n', GH_MAX_TEMPLATE_VAR);
    name[GH_MAX_TEMPLATE_VAR] = '\0';
    snprintf(src, sizeof(src), "{{%s}}", name);
    T_ASSERT(render1_is(src, "x", ""));
    name[GH_MAX_TEMPLATE_VAR] = 'n';
    name[GH_MAX_TEMPLATE_VAR + 1] = '\0';
    snprintf(src, sizeof(src), "{{%s}}", name);
    T_ASSERT(rejects_at(src, GH_EINVAL, "1:1:"));
}

static void
test_bad_template_bytes_rejected(void)
{
    struct tmpl *t = NULL;
    char err[128];

    T_EQ_INT(tmpl_compile("ab\0{{v}}", 8, &t, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(t == NULL);
    T_ASSERT(strncmp(err, "1:3: ", 5) == 0);
    T_EQ_INT(tmpl_compile("a\xc0\xaf", 3, &t, err, sizeof(err)), GH_EINVAL);
    T_ASSERT(t == NULL);
    /* err may be absent */
    T_EQ_INT(tmpl_compile("{{", 2, &t, NULL, 0), GH_EINVAL);
    T_ASSERT(t == NULL);
}

static void
test_overlong_template_rejected(void)
{
    char *big = malloc(GH_MAX_TEMPLATE + 1);
    struct tmpl *t = NULL;
    char err[128];

    T_ASSERT(big);
    memset(big, 'a', GH_MAX_TEMPLATE + 1);
    T_EQ_INT(tmpl_compile(big, GH_MAX_TEMPLATE, &t, err, sizeof(err)), GH_OK);
    T_ASSERT(t != NULL);
    tmpl_free(t);
    t = (struct tmpl *)1;
    T_EQ_INT(tmpl_compile(big, GH_MAX_TEMPLATE + 1, &t, err, sizeof(err)), GH_ETOOBIG);
    T_ASSERT(t == NULL);
    free(big);
}

static void
test_output_bound(void)
{
    struct tmpl_var v[] = { { "v", "<<<<" } }; /* 4 bytes in, 16 escaped */
    struct tmpl *t = NULL;
    struct buf b;
    char err[128];

    T_EQ_INT(tmpl_compile("ab{{v}}", 7, &t, err, sizeof(err)), GH_OK);
    buf_init(&b, 18);
    T_EQ_INT(tmpl_render(t, v, 1, &b), GH_OK);
    T_EQ_STR(buf_str(&b), "ab&lt;&lt;&lt;&lt;");
    buf_free(&b);
    buf_init(&b, 17);
    T_EQ_INT(tmpl_render(t, v, 1, &b), GH_ETOOBIG);
    T_EQ_STR(buf_str(&b), "");
    buf_free(&b);
    buf_init(&b, 1);
    T_EQ_INT(tmpl_render(t, v, 1, &b), GH_ETOOBIG);
    buf_free(&b);
    tmpl_free(t);
}

static void
test_invalid_utf8_value_rejected(void)
{
    const char *bad[] = { "\xff", "a\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80" };
    struct tmpl *t = NULL;
    struct buf b;
    size_t i;

    T_EQ_INT(tmpl_compile("x{{v}}", 6, &t, NULL, 0), GH_OK);
    for (i = 0; i < NV(bad); i++) {
        /* even an unused variable must be valid, and nothing is written */
        struct tmpl_var v[] = { { "v", "ok" }, { "unused", bad[i] } };

        buf_init(&b, 64);
        T_EQ_INT(tmpl_render(t, v, NV(v), &b), GH_EINVAL);
        T_EQ_INT(b.len, 0);
        buf_free(&b);
    }
    tmpl_free(t);
}

/* A scratch directory with one good and one broken template; caller removes it. */
static void
make_dir(char *dir, size_t n)
{
    FILE *f;

    snprintf(dir, n, "/tmp/gh_tmpl_XXXXXX");
    T_ASSERT(mkdtemp(dir) != NULL);
    {
        char p[256];

        snprintf(p, sizeof(p), "%s/login_page-x.html", dir);
        T_ASSERT((f = fopen(p, "w")) != NULL);
        fputs("<h1>{{title}}</h1>\n", f);
        fclose(f);
        snprintf(p, sizeof(p), "%s/broken.html", dir);
        T_ASSERT((f = fopen(p, "w")) != NULL);
        fputs("line one\n  {{#x}}\n", f);
        fclose(f);
        snprintf(p, sizeof(p), "%s/x.txt", dir);
        T_ASSERT((f = fopen(p, "w")) != NULL);
        fputs("plain", f);
        fclose(f);
        snprintf(p, sizeof(p), "%s/sub", dir);
        T_ASSERT(mkdir(p, 0700) == 0);
        snprintf(p, sizeof(p), "%s/sub/b.html", dir);
        T_ASSERT((f = fopen(p, "w")) != NULL);
        fputs("nested", f);
        fclose(f);
    }
}

static void
rm_dir(const char *dir)
{
    const char *files[] = { "login_page-x.html", "broken.html", "x.txt", "sub/b.html", "big.html" };
    char p[256];
    size_t i;

    for (i = 0; i < NV(files); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/sub", dir);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/dir.html", dir);
    rmdir(p);
    rmdir(dir);
}

static void
test_load_file(void)
{
    struct tmpl_var v[] = { { "title", "<Hi>" } };
    struct tmpl *t = NULL;
    struct buf b;
    char dir[64], err[256];
    int rc;

    make_dir(dir, sizeof(dir));
    rc = tmpl_load_file(dir, "login_page-x.html", &t, err, sizeof(err));
    if (rc == GH_OK) {
        buf_init(&b, 256);
        rc = tmpl_render(t, v, 1, &b);
        if (rc == GH_OK && strcmp(buf_str(&b), "<h1>&lt;Hi&gt;</h1>\n") != 0)
            rc = GH_EINTERNAL;
        buf_free(&b);
        tmpl_free(t);
    }
    T_EQ_INT(rc, GH_OK);

    t = (struct tmpl *)1;
    rc = tmpl_load_file(dir, "broken.html", &t, err, sizeof(err));
    T_ASSERT(t == NULL);
    rm_dir(dir);
    T_EQ_INT(rc, GH_EINVAL);
    T_ASSERT(strncmp(err, "broken.html:2:3: ", 17) == 0);
}

static void
test_load_file_refuses_bad_names(void)
{
    const char *names[] = { "../x.html", "a/b.html", "sub/b.html", "x.txt", ".html", "X.html",
        "a.html.txt", "a..html", "a.htm", "a.HTML", "", "/etc/passwd" };
    struct tmpl *t = NULL;
    char dir[64], err[256], long_name[GH_MAX_TEMPLATE_NAME + 2];
    size_t i;
    int bad = 0;

    make_dir(dir, sizeof(dir));
    for (i = 0; i < NV(names); i++) {
        t = (struct tmpl *)1;
        if (tmpl_load_file(dir, names[i], &t, err, sizeof(err)) != GH_EINVAL || t != NULL) {
            fprintf(stderr, "  accepted \"%s\"\n", names[i]);
            bad++;
        }
    }
    memset(long_name, 'a', sizeof(long_name));
    memcpy(long_name + sizeof(long_name) - 6, ".html", 6); /* 65 bytes */
    if (tmpl_load_file(dir, long_name, &t, err, sizeof(err)) != GH_EINVAL)
        bad++;
    if (tmpl_load_file(dir, NULL, &t, err, sizeof(err)) != GH_EINVAL)
        bad++;
    if (tmpl_load_file(dir, "missing.html", &t, err, sizeof(err)) != GH_ENOTFOUND || t)
        bad++;
    if (tmpl_load_file("/nonexistent-gh-dir", "login_page-x.html", &t, err, sizeof(err)) !=
        GH_ENOTFOUND)
        bad++;
    rm_dir(dir);
    T_EQ_INT(bad, 0);
}

static void
test_load_file_size_bound(void)
{
    char dir[64], p[256], err[256];
    struct tmpl *t = (struct tmpl *)1;
    FILE *f;
    int rc, i;

    make_dir(dir, sizeof(dir));
    snprintf(p, sizeof(p), "%s/big.html", dir);
    f = fopen(p, "w");
    if (f) {
        for (i = 0; i <= GH_MAX_TEMPLATE; i++)
            fputc('a', f);
        fclose(f);
    }
    rc = tmpl_load_file(dir, "big.html", &t, err, sizeof(err));
    /* refused by the file check before reading, not only by the compiler's length check */
    if (rc == GH_ETOOBIG && !strstr(err, "not a regular file"))
        rc = GH_EINTERNAL;
    if (t != NULL)
        rc = GH_EINTERNAL;
    snprintf(p, sizeof(p), "%s/dir.html", dir);
    if (rc == GH_ETOOBIG && mkdir(p, 0700) == 0 &&
        tmpl_load_file(dir, "dir.html", &t, err, sizeof(err)) != GH_EINVAL)
        rc = GH_EINTERNAL;
    rm_dir(dir);
    T_EQ_INT(rc, GH_ETOOBIG);
    T_ASSERT(t == NULL);
}

int
main(void)
{
    t_init("tmpl");
    T_RUN(test_literal_and_variables);
    T_RUN(test_escapes_every_special_char);
    T_RUN(test_xss_values_come_out_inert);
    T_RUN(test_value_is_not_reexpanded);
    T_RUN(test_sections_on_off_inverted);
    T_RUN(test_nested_sections);
    T_RUN(test_depth_bound);
    T_RUN(test_malformed_rejected_with_position);
    T_RUN(test_bad_names_rejected);
    T_RUN(test_bad_template_bytes_rejected);
    T_RUN(test_overlong_template_rejected);
    T_RUN(test_output_bound);
    T_RUN(test_invalid_utf8_value_rejected);
    T_RUN(test_load_file);
    T_RUN(test_load_file_refuses_bad_names);
    T_RUN(test_load_file_size_bound);
    return t_done();
}
