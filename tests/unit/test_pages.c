/* test_pages.c — ep/pages.c: the shipped templates/ and static/ load and render the markup
 * the endpoints rely on (form fields, labels, autofocus, the error alert), hostile values
 * come out escaped, the stylesheet URL carries its content hash; start-up refuses broken
 * operator directories (layout split, symlinks, names, sizes, missing files) with a message
 * naming the file; /static/ is served from memory by exact name through a real
 * libmicrohttpd daemon (ETag, 304, 404). Runs from the repository root. */
#define _XOPEN_SOURCE 700   /* nftw */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/err.h"
#include "crypto/digest.h"
#include "ep/pages.h"
#include "http/req.h"
#include "http/resp.h"
#include "t.h"
#include "tmpl/tmpl.h"
#include "util/b64url.h"
#include "util/buf.h"

#define NV(a) (sizeof(a) / sizeof((a)[0]))
#define HOSTILE "\"><script>alert(1)</script>'"
#define HOSTILE_ESC "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;"

static struct pages *real;   /* templates/ + static/ of the repository, loaded once */
static char tmproot[64];

/* ---- helpers ------------------------------------------------------------------------ */

/* Render a page of the real set; a malloc'd string, NULL on failure. */
static char *
render(enum page_id id, const struct tmpl_var *vars, size_t nvars)
{
    struct buf b;
    char *s = NULL;
    int rc;

    buf_init(&b, 256 * 1024);
    if ((rc = pages_render(real, id, vars, nvars, &b)) == GH_OK)
        s = buf_steal(&b);
    else
        fprintf(stderr, "  pages_render(%d): %s\n", (int)id, gh_strerror(rc));
    buf_free(&b);
    return s;
}

/* The whole tag ("<input ... >") around the first occurrence of needle, malloc'd, or NULL. */
static char *
tag_around(const char *html, const char *needle)
{
    const char *at = html ? strstr(html, needle) : NULL, *lt, *gt;
    char *s;

    if (!at)
        return NULL;
    for (lt = at; lt > html && *lt != '<'; lt--)
        ;
    if (*lt != '<' || !(gt = strchr(at, '>')))
        return NULL;
    s = malloc((size_t)(gt - lt) + 2);
    memcpy(s, lt, (size_t)(gt - lt) + 1);
    s[gt - lt + 1] = '\0';
    return s;
}

static int
count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Every page: the frame, no script, no inline style, and a <label for> for every visible
 * input (WCAG 1.3.1 / 4.1.2). Returns 1 when all hold, reporting the first miss. */
static int
page_is_sound(const char *html)
{
    static const char *const must[] = {
        "<!doctype html>", "<html lang=\"en\">", "<meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        "<link rel=\"stylesheet\" href=\"/static/gatehouse.css?v=", "<main",
    };
    static const char *const never[] = { "<script", "<style", "style=", "javascript:",
        "onclick", "onload", "{{", "}}", "http://", "https://" };
    const char *p;

    if (!html)
        return 0;
    for (size_t i = 0; i < NV(must); i++) {
        if (!strstr(html, must[i])) {
            fprintf(stderr, "  missing %s\n", must[i]);
            return 0;
        }
    }
    for (size_t i = 0; i < NV(never); i++) {
        if (strstr(html, never[i])) {
            fprintf(stderr, "  unexpected %s\n", never[i]);
            return 0;
        }
    }
    if (count(html, "<title>") != 1 || count(html, "<main") != 1) {
        fprintf(stderr, "  one <title> and one <main> expected\n");
        return 0;
    }
    for (p = html; (p = strstr(p, "<input")); p++) {
        char *tag = tag_around(p, "<input"), *id, want[96];
        const char *q;
        size_t n;
        int ok;

        if (!tag)
            return 0;
        if (strstr(tag, "type=\"hidden\"")) {
            free(tag);
            continue;
        }
        id = strstr(tag, " id=\"");
        ok = id != NULL;
        if (ok) {
            id += 5;
            q = strchr(id, '"');
            n = q ? (size_t)(q - id) : 0;
            snprintf(want, sizeof(want), "<label for=\"%.*s\">", (int)n, id);
            ok = n > 0 && strstr(html, want) != NULL;
        }
        if (!ok)
            fprintf(stderr, "  no label for %s\n", tag);
        free(tag);
        if (!ok)
            return 0;
    }
    return 1;
}

static int
write_file(const char *dir, const char *name, const char *text, size_t len)
{
    char path[512];
    FILE *f;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "wb")))
        return 0;
    ok = fwrite(text, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static int
write_str(const char *dir, const char *name, const char *text)
{
    return write_file(dir, name, text, strlen(text));
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A fresh minimal, valid pair of directories under tmproot: <d>/t and <d>/s. */
struct fixture {
    char dir[128], t[160], s[160];
};

static int
fixture_new(struct fixture *fx)
{
    static int seq;
    static const char *const pages[] = { "login.html", "consent.html", "error.html",
        "logged-out.html", "logout.html" };

    snprintf(fx->dir, sizeof(fx->dir), "%s/f%d", tmproot, ++seq);
    snprintf(fx->t, sizeof(fx->t), "%s/t", fx->dir);
    snprintf(fx->s, sizeof(fx->s), "%s/s", fx->dir);
    if (mkdir(fx->dir, 0700) != 0 || mkdir(fx->t, 0700) != 0 || mkdir(fx->s, 0700) != 0)
        return 0;
    if (!write_str(fx->t, "layout.html",
            "<html><title>{{title}}</title>{{#title}}<b>{{/title}}<main>{{content}}</main>"
            "{{#title}}</b>{{/title}}<link href=\"{{css_url}}\"></html>\n"))
        return 0;
    for (size_t i = 0; i < NV(pages); i++) {
        if (!write_str(fx->t, pages[i], "<p>{{title}} page</p>"))
            return 0;
    }
    return write_str(fx->s, "gatehouse.css", "body{}") &&
           write_str(fx->s, "favicon.svg", "<svg/>");
}

/* pages_load on fx must fail with want_rc and an err mentioning every needle. */
static int
load_fails(const struct fixture *fx, int want_rc, const char *needle, const char *needle2)
{
    struct pages *p = (struct pages *)1;
    char err[512] = "";
    int rc = pages_load(fx->t, fx->s, &p, err, sizeof(err));
    int ok = rc == want_rc && p == NULL && strstr(err, needle) &&
             (!needle2 || strstr(err, needle2));

    if (!ok)
        fprintf(stderr, "  rc %d (want %d), err \"%s\" (want \"%s\"%s%s)\n", rc, want_rc, err,
            needle, needle2 ? " and " : "", needle2 ? needle2 : "");
    if (rc == GH_OK)
        pages_free(p);
    return ok;
}

/* ---- the shipped templates ----------------------------------------------------------- */

static void
test_real_dirs_load(void)
{
    T_ASSERT(real != NULL);
}

static void
test_login_form_markup(void)
{
    struct tmpl_var v[] = { { "title", "Sign in" }, { "action", "/login" },
        { "interaction", "int-123" }, { "csrf", "csrf-456" }, { "request_id", "rid1" } };
    char *s = render(PAGE_LOGIN, v, NV(v));
    char *user = tag_around(s, "id=\"username\""), *pass = tag_around(s, "id=\"password\"");

    T_ASSERT(page_is_sound(s));
    T_ASSERT(strstr(s, "<title>Sign in</title>"));
    T_ASSERT(strstr(s, "<form method=\"post\" action=\"/login\">"));
    T_ASSERT(strstr(s, "<input type=\"hidden\" name=\"interaction\" value=\"int-123\">"));
    T_ASSERT(strstr(s, "<input type=\"hidden\" name=\"csrf\" value=\"csrf-456\">"));
    T_ASSERT(strstr(s, "<label for=\"username\">") && strstr(s, "<label for=\"password\">"));
    T_ASSERT(user && strstr(user, "name=\"username\"") && strstr(user, "type=\"text\""));
    T_ASSERT(strstr(user, "autocomplete=\"username\"") && strstr(user, "value=\"\""));
    T_ASSERT(pass && strstr(pass, "name=\"password\"") && strstr(pass, "type=\"password\""));
    T_ASSERT(strstr(pass, "autocomplete=\"current-password\""));
    /* nothing prefilled: the cursor starts in the username field */
    T_ASSERT(strstr(user, " autofocus") && !strstr(pass, "autofocus"));
    T_EQ_INT(count(s, "autofocus"), 1);
    T_ASSERT(strstr(s, "<button type=\"submit\" class=\"primary\">Sign in</button>"));
    /* label, input, label, input, button: the focus order follows the reading order */
    T_ASSERT(strstr(s, "id=\"username\"") < strstr(s, "id=\"password\""));
    T_ASSERT(strstr(s, "id=\"password\"") < strstr(s, "<button"));
    T_ASSERT(!strstr(s, "role=\"alert\"") && !strstr(s, "aria-describedby"));
    T_ASSERT(!strstr(s, "to continue to"));
    free(user);
    free(pass);
    free(s);
}

static void
test_login_prefilled_username_focuses_password(void)
{
    struct tmpl_var v[] = { { "action", "/login" }, { "username", "alice" } };
    char *s = render(PAGE_LOGIN, v, NV(v));
    char *user = tag_around(s, "id=\"username\""), *pass = tag_around(s, "id=\"password\"");

    T_ASSERT(page_is_sound(s));
    T_ASSERT(user && strstr(user, "value=\"alice\"") && !strstr(user, "autofocus"));
    T_ASSERT(pass && strstr(pass, " autofocus"));
    T_EQ_INT(count(s, "autofocus"), 1);
    free(user);
    free(pass);
    free(s);
}

static void
test_login_error_alert_only_when_set(void)
{
    struct tmpl_var v[] = { { "action", "/login" }, { "error", "Wrong username or password." },
        { "client_name", "Shop" } };
    char *s = render(PAGE_LOGIN, v, NV(v));
    const char *alert;

    T_ASSERT(page_is_sound(s));
    alert = strstr(s, "role=\"alert\"");
    T_ASSERT(alert && strstr(s, ">Wrong username or password.</p>"));
    T_EQ_INT(count(s, "role=\"alert\""), 1);
    T_ASSERT(alert < strstr(s, "<form"));   /* announced and read before the form */
    T_ASSERT(strstr(s, "aria-describedby=\"form-error\"") && strstr(s, "id=\"form-error\""));
    T_ASSERT(strstr(s, "to continue to <strong>Shop</strong>"));
    free(s);

    /* an empty error is "unset" */
    v[1].value = "";
    s = render(PAGE_LOGIN, v, NV(v));
    T_ASSERT(s && !strstr(s, "role=\"alert\""));
    free(s);
}

static void
test_consent_markup(void)
{
    struct tmpl_var v[] = { { "title", "Allow access" }, { "action", "/consent" },
        { "interaction", "i1" }, { "csrf", "c1" }, { "client_name", "Shop" },
        { "username", "alice" }, { "scope_openid", "1" }, { "scope_email", "1" },
        { "scope_other", "orders:read orders:write" } };
    char *s = render(PAGE_CONSENT, v, NV(v));
    const char *allow, *deny;

    T_ASSERT(page_is_sound(s));
    T_ASSERT(strstr(s, "<form method=\"post\" action=\"/consent\">"));
    T_ASSERT(strstr(s, "<input type=\"hidden\" name=\"interaction\" value=\"i1\">"));
    T_ASSERT(strstr(s, "<input type=\"hidden\" name=\"csrf\" value=\"c1\">"));
    T_ASSERT(strstr(s, "<strong>Shop</strong> wants to:"));
    T_ASSERT(strstr(s, "Signed in as <strong>alice</strong>"));
    T_ASSERT(strstr(s, "<li>Sign you in and know your user ID</li>"));
    T_ASSERT(strstr(s, "<li>See your email address</li>"));
    T_ASSERT(strstr(s, "<code>orders:read orders:write</code>"));
    T_ASSERT(!strstr(s, "your name and username") && !strstr(s, "when you are not here"));
    allow = strstr(s, "<button type=\"submit\" name=\"decision\" value=\"allow\"");
    deny = strstr(s, "<button type=\"submit\" name=\"decision\" value=\"deny\"");
    T_ASSERT(allow && deny && allow < deny);
    T_EQ_INT(count(s, "name=\"decision\""), 2);
    free(s);
}

static void
test_consent_other_scopes_and_fallbacks(void)
{
    struct tmpl_var v[] = { { "action", "/consent" }, { "scope_profile", "1" },
        { "scope_offline_access", "1" } };
    char *s = render(PAGE_CONSENT, v, NV(v));

    T_ASSERT(page_is_sound(s));
    T_ASSERT(strstr(s, "<li>See your name and username</li>"));
    T_ASSERT(strstr(s, "when you are not here</li>"));
    T_ASSERT(!strstr(s, "user ID") && !strstr(s, "email") && !strstr(s, "<code>"));
    T_ASSERT(!strstr(s, "Signed in as"));
    T_ASSERT(strstr(s, "<strong>An application</strong> wants to:"));
    free(s);
}

static void
test_error_page(void)
{
    struct tmpl_var v[] = { { "title", "Error" }, { "error_title", "Link expired" },
        { "error_message", "This sign-in link is too old." },
        { "error_hint", "Go back to the app and start again." },
        { "request_id", "9f2c41d07ab3e815000000000000002a" } };
    char *s = render(PAGE_ERROR, v, NV(v));

    T_ASSERT(page_is_sound(s));
    T_ASSERT(strstr(s, "<h1>Link expired</h1>"));
    T_ASSERT(strstr(s, "<p>This sign-in link is too old.</p>"));
    T_ASSERT(strstr(s, ">Go back to the app and start again.</p>"));
    T_ASSERT(strstr(s, "Reference: <code>9f2c41d07ab3e815000000000000002a</code>"));
    free(s);
    s = render(PAGE_ERROR, NULL, 0);
    T_ASSERT(page_is_sound(s));
    T_ASSERT(strstr(s, "<h1>Something went wrong</h1>") && !strstr(s, "Reference:"));
    T_ASSERT(strstr(s, "<title>Sign in</title>"));   /* the layout's fallback title */
    free(s);
}

static void
test_logged_out_page(void)
{
    struct tmpl_var v[] = { { "title", "Signed out" }, { "client_name", "Shop" } };
    char *s = render(PAGE_LOGGED_OUT, v, NV(v));

    T_ASSERT(page_is_sound(s));
    T_ASSERT(strstr(s, "You are signed out."));
    T_ASSERT(strstr(s, "You signed out of <strong>Shop</strong>."));
    free(s);
    s = render(PAGE_LOGGED_OUT, NULL, 0);
    T_ASSERT(s && strstr(s, "You are signed out.") && !strstr(s, "You signed out of"));
    free(s);
}

static void
test_hostile_values_are_escaped(void)
{
    struct tmpl_var v[] = { { "title", HOSTILE }, { "action", HOSTILE },
        { "interaction", HOSTILE }, { "csrf", HOSTILE }, { "username", HOSTILE },
        { "client_name", HOSTILE }, { "error", HOSTILE }, { "scope_other", HOSTILE },
        { "scope_openid", HOSTILE }, { "error_title", HOSTILE }, { "error_message", HOSTILE },
        { "error_hint", HOSTILE }, { "request_id", HOSTILE } };
    static const enum page_id ids[] = { PAGE_LOGIN, PAGE_CONSENT, PAGE_ERROR,
        PAGE_LOGGED_OUT };

    for (size_t i = 0; i < NV(ids); i++) {
        char *s = render(ids[i], v, NV(v));

        T_ASSERT(s != NULL);
        T_ASSERT(!strstr(s, "<script") && !strstr(s, HOSTILE));
        T_ASSERT(strstr(s, HOSTILE_ESC));
        T_ASSERT(strstr(s, "<title>" HOSTILE_ESC "</title>"));
        free(s);
    }
}

static void
test_css_url_is_content_hashed_and_not_overridable(void)
{
    struct tmpl_var v[] = { { "css_url", "https://evil.example/x.css" } };
    unsigned char dig[DIG_SHA256_LEN];
    char b64[64], want[96], *css = NULL, *s;
    long n;
    FILE *f = fopen("static/gatehouse.css", "rb");

    T_ASSERT(f != NULL);
    T_ASSERT(fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0);
    css = malloc((size_t)n);
    T_ASSERT(fread(css, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    dig_sha256(css, (size_t)n, dig);
    free(css);
    T_EQ_INT(b64url_encode(dig, sizeof(dig), b64, sizeof(b64)), GH_OK);
    snprintf(want, sizeof(want), "href=\"/static/gatehouse.css?v=%.8s\">", b64);
    s = render(PAGE_ERROR, v, NV(v));
    T_ASSERT(s && strstr(s, want));
    T_ASSERT(!strstr(s, "evil"));
    free(s);
}

static void
test_render_bounds(void)
{
    struct tmpl_var many[33], bad[] = { { "title", "ok" }, { "username", "\xff\xfe" } };
    struct buf b;

    for (size_t i = 0; i < NV(many); i++)
        many[i] = (struct tmpl_var){ "title", "x" };
    buf_init(&b, 256 * 1024);
    T_EQ_INT(pages_render(real, PAGE_LOGIN, many, 33, &b), GH_EINVAL);
    T_EQ_INT(pages_render(real, PAGE_LOGIN, many, 32, &b), GH_OK);
    buf_reset(&b);
    T_EQ_INT(pages_render(real, PAGE_COUNT, NULL, 0, &b), GH_EINVAL);
    T_EQ_INT(pages_render(NULL, PAGE_LOGIN, NULL, 0, &b), GH_EINVAL);
    T_EQ_INT(buf_addstr(&b, "keep"), GH_OK);
    T_EQ_INT(pages_render(real, PAGE_LOGIN, bad, NV(bad), &b), GH_EINVAL);
    T_EQ_STR(buf_str(&b), "keep");   /* a bad value writes nothing */
    buf_free(&b);

    buf_init(&b, 512);   /* the login page is bigger */
    T_EQ_INT(pages_render(real, PAGE_LOGIN, NULL, 0, &b), GH_ETOOBIG);
    T_EQ_INT((long long)b.len, 0);
    buf_free(&b);
}

/* ---- start-up refusals ------------------------------------------------------------- */

static void
test_fixture_loads_and_renders_in_order(void)
{
    struct fixture fx;
    struct pages *p = NULL;
    struct tmpl_var v[] = { { "title", "T" } };
    static const char want[] = "<html><title>T</title><b><main><p>T page</p></main></b>"
                               "<link href=\"/static/gatehouse.css?v=";
    struct buf b;
    char err[256];

    T_ASSERT(fixture_new(&fx));
    T_EQ_INT(pages_load(fx.t, fx.s, &p, err, sizeof(err)), GH_OK);
    buf_init(&b, 4096);
    T_EQ_INT(pages_render(p, PAGE_CONSENT, v, NV(v), &b), GH_OK);
    T_ASSERT(strncmp(buf_str(&b), want, strlen(want)) == 0);
    T_EQ_INT(b.len, strlen(want) + 8 + strlen("\"></html>\n"));
    buf_free(&b);
    pages_free(p);
    pages_free(NULL);
}

static void
test_layout_without_content_refused(void)
{
    struct fixture fx;

    T_ASSERT(fixture_new(&fx));
    T_ASSERT(write_str(fx.t, "layout.html", "<html>{{title}}</html>"));
    T_ASSERT(load_fails(&fx, GH_EINVAL, "layout.html", "exactly once"));
}

static void
test_layout_with_two_contents_refused(void)
{
    struct fixture fx;

    T_ASSERT(fixture_new(&fx));
    T_ASSERT(write_str(fx.t, "layout.html", "<html>{{content}}<hr>{{content}}</html>"));
    T_ASSERT(load_fails(&fx, GH_EINVAL, "layout.html", "more than once"));
}

static void
test_layout_section_spanning_content_refused(void)
{
    struct fixture fx;

    T_ASSERT(fixture_new(&fx));
    T_ASSERT(write_str(fx.t, "layout.html", "<html>{{#title}}<div>{{content}}</div>{{/title}}"));
    T_ASSERT(load_fails(&fx, GH_EINVAL, "layout.html", "may not span"));
}

static void
test_layout_syntax_error_has_position(void)
{
    struct fixture fx;

    T_ASSERT(fixture_new(&fx));
    T_ASSERT(write_str(fx.t, "layout.html", "<html>\n{{content}}\n  {{ title }}"));
    T_ASSERT(load_fails(&fx, GH_EINVAL, "layout.html:3:3:", NULL));
}

static void
test_missing_layout_refused(void)
{
    struct fixture fx;
    char path[256];

    T_ASSERT(fixture_new(&fx));
    snprintf(path, sizeof(path), "%s/layout.html", fx.t);
    T_ASSERT(unlink(path) == 0);
    T_ASSERT(load_fails(&fx, GH_ENOTFOUND, "layout.html", NULL));
}

static void
test_missing_page_template_refused(void)
{
    struct fixture fx;
    char path[256];

    T_ASSERT(fixture_new(&fx));
    snprintf(path, sizeof(path), "%s/consent.html", fx.t);
    T_ASSERT(unlink(path) == 0);
    T_ASSERT(load_fails(&fx, GH_ENOTFOUND, "consent.html", NULL));
}

static void
test_malformed_page_template_refused(void)
{
    struct fixture fx;

    T_ASSERT(fixture_new(&fx));
    T_ASSERT(write_str(fx.t, "logged-out.html", "<p>{{#client_name}}</p>"));
    T_ASSERT(load_fails(&fx, GH_EINVAL, "logged-out.html", "never closed"));
}

static void
test_static_symlink_refused(void)
{
    struct fixture fx;
    char target[256], link[256];

    T_ASSERT(fixture_new(&fx));
    snprintf(target, sizeof(target), "%s/gatehouse.css", fx.s);
    snprintf(link, sizeof(link), "%s/linked.css", fx.s);
    T_ASSERT(symlink(target, link) == 0);
    T_ASSERT(load_fails(&fx, GH_EINVAL, "linked.css", "symbolic link"));
}

static void
test_static_symlinked_stylesheet_refused(void)
{
    struct fixture fx;
    char path[256], target[256];

    T_ASSERT(fixture_new(&fx));
    snprintf(target, sizeof(target), "%s/real.css", fx.dir);
    snprintf(path, sizeof(path), "%s/gatehouse.css", fx.s);
    T_ASSERT(write_str(fx.dir, "real.css", "body{}") && unlink(path) == 0);
    T_ASSERT(symlink(target, path) == 0);
    T_ASSERT(load_fails(&fx, GH_EINVAL, "gatehouse.css", "symbolic link"));
}

static void
test_static_bad_names_refused(void)
{
    static const char *const names[] = { "Logo.png", ".hidden.css", "-x.css", "a b.css",
        "x.exe", "noext", "x.html", "a\xc3\xa9.css",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.css" };

    for (size_t i = 0; i < NV(names); i++) {
        struct fixture fx;

        T_ASSERT(fixture_new(&fx));
        T_ASSERT(write_str(fx.s, names[i], "x"));
        T_ASSERT(load_fails(&fx, GH_EINVAL, names[i], NULL));
    }
}

static void
test_static_subdirectory_refused(void)
{
    struct fixture fx;
    char path[256];

    T_ASSERT(fixture_new(&fx));
    snprintf(path, sizeof(path), "%s/img.png", fx.s);
    T_ASSERT(mkdir(path, 0700) == 0);
    T_ASSERT(load_fails(&fx, GH_EINVAL, "img.png", "not a regular file"));
}

static void
test_static_oversized_file_refused(void)
{
    struct fixture fx;
    size_t max = 512 * 1024;
    char *big = calloc(1, max + 1);

    T_ASSERT(big != NULL);
    memset(big, 'a', max + 1);
    T_ASSERT(fixture_new(&fx));
    T_ASSERT(write_file(fx.s, "big.txt", big, max));   /* exactly at the limit: fine */
    T_ASSERT(write_file(fx.s, "bigger.txt", big, max + 1));
    free(big);
    T_ASSERT(load_fails(&fx, GH_ETOOBIG, "bigger.txt", "larger than"));
}

static void
test_static_at_size_limit_loads(void)
{
    struct fixture fx;
    struct pages *p = NULL;
    size_t max = 512 * 1024;
    char *big = calloc(1, max), err[256];

    T_ASSERT(big != NULL);
    T_ASSERT(fixture_new(&fx));
    T_ASSERT(write_file(fx.s, "big.txt", big, max));
    free(big);
    T_EQ_INT(pages_load(fx.t, fx.s, &p, err, sizeof(err)), GH_OK);
    pages_free(p);
}

static void
test_static_too_many_files_refused(void)
{
    struct fixture fx;
    struct pages *p = NULL;
    char name[32], err[256];
    int i;

    T_ASSERT(fixture_new(&fx));
    for (i = 0; i < 62; i++) {   /* with gatehouse.css and favicon.svg: 64 */
        snprintf(name, sizeof(name), "f%02d.txt", i);
        T_ASSERT(write_str(fx.s, name, "x"));
    }
    T_EQ_INT(pages_load(fx.t, fx.s, &p, err, sizeof(err)), GH_OK);
    pages_free(p);
    T_ASSERT(write_str(fx.s, "one-more.txt", "x"));
    T_ASSERT(load_fails(&fx, GH_ETOOBIG, "more than 64 files", NULL));
}

static void
test_missing_stylesheet_refused(void)
{
    struct fixture fx;
    char path[256];

    T_ASSERT(fixture_new(&fx));
    snprintf(path, sizeof(path), "%s/gatehouse.css", fx.s);
    T_ASSERT(unlink(path) == 0);
    T_ASSERT(load_fails(&fx, GH_ENOTFOUND, "gatehouse.css", NULL));
}

static void
test_missing_static_dir_refused(void)
{
    struct fixture fx;

    T_ASSERT(fixture_new(&fx));
    T_ASSERT(nftw(fx.s, rm_one, 8, FTW_DEPTH | FTW_PHYS) == 0);
    T_ASSERT(access(fx.s, F_OK) != 0);
    T_ASSERT(load_fails(&fx, GH_ENOTFOUND, fx.s, NULL));
}

/* ---- serving /static/ through libmicrohttpd ----------------------------------------- */

static const struct pages *served;

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct req *rq = req_new(uri, 0x1234, 1);

    (void)cls;
    rq->conn = conn;
    return rq;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    struct req *rq = *con_cls;

    (void)cls;
    (void)conn;
    (void)url;
    (void)version;
    (void)upload;
    (void)upload_size;
    rq->method = req_method_parse(method);
    return pages_static_send(served, rq) == GH_OK ? MHD_YES : MHD_NO;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    req_free(*con_cls);
    *con_cls = NULL;
}

/* keep MHD from unescaping the URL in place: the raw path is what pages sees */
static size_t
no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

/* One HTTP/1.1 exchange with Connection: close; the whole response, malloc'd, or NULL. */
static char *
http_get(unsigned port, const char *method, const char *target, const char *extra_hdr)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct timeval tv = { .tv_sec = 5 };
    char req[512];
    struct buf b;
    char chunk[4096], *s = NULL;
    ssize_t n;
    int fd, len;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return NULL;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    len = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\n%s%sConnection: close\r\n\r\n",
        method, target, extra_hdr ? extra_hdr : "", extra_hdr ? "\r\n" : "");
    buf_init(&b, 1024 * 1024);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        write(fd, req, (size_t)len) != len)
        goto out;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        if (buf_add(&b, chunk, (size_t)n) != GH_OK)
            goto out;
    }
    if (n == 0)
        s = buf_steal(&b);
out:
    close(fd);
    buf_free(&b);
    return s;
}

/* The value of header name (case-sensitive as MHD writes it), malloc'd, or NULL. */
static char *
header(const char *resp, const char *name)
{
    char want[64];
    const char *at, *end;

    snprintf(want, sizeof(want), "\r\n%s: ", name);
    if (!resp || !(at = strstr(resp, want)))
        return NULL;
    at += strlen(want);
    end = strstr(at, "\r\n");
    return end ? strndup(at, (size_t)(end - at)) : NULL;
}

static int
is_404(const char *resp)
{
    return resp && strncmp(resp, "HTTP/1.1 404", 12) == 0 &&
           strstr(resp, "{\"error\":\"not_found\",\"error_description\":\"no such endpoint\"}");
}

static void
test_static_served_from_memory(void)
{
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *di;
    struct fixture fx;
    struct pages *p = NULL;
    char err[256], *r = NULL, *etag = NULL, *cc = NULL, *ct = NULL, inm[128];
    unsigned port;
    static const char *const missing[] = { "/static/nope.css", "/static/",
        "/static/gatehouse%2ecss", "/static/GATEHOUSE.CSS", "/static//gatehouse.css",
        "/static/../s/gatehouse.css", "/staticgatehouse.css", "/gatehouse.css",
        "/static/gatehouse.css/", "/static/img.png", "/other/static/gatehouse.css",
        "/statix/gatehouse.css", "/Static/gatehouse.css" };

    T_ASSERT(fixture_new(&fx));
    T_ASSERT(write_str(fx.dir, "img.png", "not served"));   /* beside, not inside, s/ */
    T_EQ_INT(pages_load(fx.t, fx.s, &p, err, sizeof(err)), GH_OK);
    served = p;
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, NULL, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, NULL, MHD_OPTION_SOCK_ADDR,
        &(struct sockaddr_in){ .sin_family = AF_INET,
            .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
        MHD_OPTION_END);
    T_ASSERT(d != NULL);
    di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    port = di ? di->port : 0;
    if (port == 0)
        goto fail;

    /* the query (the ?v= cache key) is not part of the path */
    r = http_get(port, "GET", "/static/gatehouse.css?v=whatever", NULL);
    ct = header(r, "Content-Type");
    cc = header(r, "Cache-Control");
    etag = header(r, "ETag");
    if (!r || strncmp(r, "HTTP/1.1 200", 12) != 0 || !ct ||
        strcmp(ct, "text/css; charset=utf-8") != 0 || !cc ||
        strcmp(cc, "public, max-age=31536000, immutable") != 0 || !etag || etag[0] != '"' ||
        !strstr(r, "\r\n\r\nbody{}") || !strstr(r, "\r\nX-Content-Type-Options: nosniff\r\n")) {
        fprintf(stderr, "  200 expected, got:\n%s\n", r ? r : "(nothing)");
        goto fail;
    }
    free(r);
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    r = http_get(port, "GET", "/static/gatehouse.css", inm);
    if (!r || strncmp(r, "HTTP/1.1 304", 12) != 0) {
        fprintf(stderr, "  304 expected, got:\n%s\n", r ? r : "(nothing)");
        goto fail;
    }
    free(r);
    free(ct);
    r = http_get(port, "GET", "/static/favicon.svg", NULL);
    ct = header(r, "Content-Type");
    if (!r || strncmp(r, "HTTP/1.1 200", 12) != 0 || !ct || strcmp(ct, "image/svg+xml") != 0)
        goto fail;
    for (size_t i = 0; i < NV(missing); i++) {
        free(r);
        r = http_get(port, "GET", missing[i], NULL);
        if (!is_404(r)) {
            fprintf(stderr, "  %s: 404 expected, got:\n%s\n", missing[i], r ? r : "(nothing)");
            goto fail;
        }
    }
    free(r);
    free(ct);
    free(cc);
    free(etag);
    MHD_stop_daemon(d);
    pages_free(p);
    return;
fail:
    free(r);
    free(ct);
    free(cc);
    free(etag);
    if (d)
        MHD_stop_daemon(d);
    pages_free(p);
    T_ASSERT(!"static serving");
}

int
main(void)
{
    char err[512];
    int rc;

    t_init("pages");
    snprintf(tmproot, sizeof(tmproot), "/tmp/gh-test-pages-XXXXXX");
    if (!mkdtemp(tmproot)) {
        perror("mkdtemp");
        return 1;
    }
    if ((rc = pages_load("templates", "static", &real, err, sizeof(err))) != GH_OK)
        fprintf(stderr, "  pages_load(templates, static): %s\n", err);

    T_RUN(test_real_dirs_load);
    if (real) {
        T_RUN(test_login_form_markup);
        T_RUN(test_login_prefilled_username_focuses_password);
        T_RUN(test_login_error_alert_only_when_set);
        T_RUN(test_consent_markup);
        T_RUN(test_consent_other_scopes_and_fallbacks);
        T_RUN(test_error_page);
        T_RUN(test_logged_out_page);
        T_RUN(test_hostile_values_are_escaped);
        T_RUN(test_css_url_is_content_hashed_and_not_overridable);
        T_RUN(test_render_bounds);
    }
    T_RUN(test_fixture_loads_and_renders_in_order);
    T_RUN(test_layout_without_content_refused);
    T_RUN(test_layout_with_two_contents_refused);
    T_RUN(test_layout_section_spanning_content_refused);
    T_RUN(test_layout_syntax_error_has_position);
    T_RUN(test_missing_layout_refused);
    T_RUN(test_missing_page_template_refused);
    T_RUN(test_malformed_page_template_refused);
    T_RUN(test_static_symlink_refused);
    T_RUN(test_static_symlinked_stylesheet_refused);
    T_RUN(test_static_bad_names_refused);
    T_RUN(test_static_subdirectory_refused);
    T_RUN(test_static_oversized_file_refused);
    T_RUN(test_static_at_size_limit_loads);
    T_RUN(test_static_too_many_files_refused);
    T_RUN(test_missing_stylesheet_refused);
    T_RUN(test_missing_static_dir_refused);
    T_RUN(test_static_served_from_memory);

    pages_free(real);
    nftw(tmproot, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return t_done();
}
