/* pages.c — the HTML pages a person sees and the files they link to, both read once at
 * start-up from operator-replaceable directories. layout.html is split at its one literal
 * "{{content}}" into two compiled templates, and a page renders as head + page + tail into
 * one buffer, so the page body is never passed through a variable (tmpl/ has no raw output,
 * STYLE.md §6.6). The static directory becomes a sorted table of prebuilt documents
 * (resp_doc: body, strong ETag, Cache-Control formatted once); a request path only ever
 * selects a table entry by exact name and never reaches the filesystem (STYLE.md §6). Only
 * regular files are read: symbolic links, directories and devices are refused, not
 * skipped, so what is served is exactly what the operator sees in the directory. It does
 * not watch the directories: changes take effect at the next start. The stylesheet URL
 * carries a hash of its content, so it can be cached for a year (RFC 9111 §5.2.2.1) and a
 * changed file is still fetched at once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "crypto/digest.h"
#include "ep/pages.h"
#include "http/req.h"
#include "http/resp.h"
#include "tmpl/tmpl.h"
#include "util/b64url.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/xmem.h"

/* Bounds on the static directory (pages.h states them; they belong beside the others in
 * core/limits.h once that file can take them). */
#define STATIC_MAX_NAME 64 /* file name, bytes */
#define STATIC_MAX_FILES 64
#define STATIC_MAX_FILE (512 * 1024) /* bytes per file */
#define STATIC_MAX_AGE 31536000u     /* one year: every URL the pages use is versioned */
#define STATIC_PREFIX "/static/"
#define STATIC_CSS "gatehouse.css"
#define CSS_HASH_CHARS 8  /* 48 bits of SHA-256: a cache key, not a secret */
#define PAGES_MAX_VARS 32 /* vars one pages_render() call may pass */

static const char layout_name[] = "layout.html";
static const char content_tag[] = "{{content}}";

static const char *const page_file[PAGE_COUNT] = {
    [PAGE_LOGIN] = "login.html",
    [PAGE_CONSENT] = "consent.html",
    [PAGE_ERROR] = "error.html",
    [PAGE_LOGGED_OUT] = "logged-out.html",
    [PAGE_LOGOUT] = "logout.html",
};

static const struct {
    const char *ext, *ctype;
} ctypes[] = {
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"png", "image/png"},
    {"svg", "image/svg+xml"},
    {"ico", "image/vnd.microsoft.icon"},
    {"woff2", "font/woff2"},
    {"txt", "text/plain; charset=utf-8"},
};

struct static_file {
    char name[STATIC_MAX_NAME + 1];
    struct resp_doc *doc;
};

struct pages {
    struct tmpl *head, *tail; /* layout.html before and after {{content}} */
    struct tmpl *page[PAGE_COUNT];
    struct static_file files[STATIC_MAX_FILES]; /* sorted by name */
    size_t nfiles;
    char css_url[sizeof(STATIC_PREFIX STATIC_CSS "?v=") + CSS_HASH_CHARS];
};

int
pages_read_fd(int fd, const char *shown, size_t max, char **out, size_t *outlen, char *err,
    size_t errsz)
{
    struct stat st;
    char *text = NULL, extra;
    size_t got = 0;
    ssize_t r;
    int rc = GH_EIO;

    *out = NULL;
    *outlen = 0;
    if (fstat(fd, &st) != 0) {
        str_fmt(err, errsz, "%s: %s", shown, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        str_fmt(err, errsz, "%s: not a regular file", shown);
        rc = GH_EINVAL;
        goto out;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
        str_fmt(err, errsz, "%s: larger than %zu bytes", shown, max);
        rc = GH_ETOOBIG;
        goto out;
    }
    text = x_malloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        r = read(fd, text + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            str_fmt(err, errsz, "%s: %s", shown, r < 0 ? strerror(errno) : "short read");
            goto out;
        }
        got += (size_t)r;
    }
    /* a file growing under us would otherwise be served truncated without a word */
    while ((r = read(fd, &extra, 1)) < 0 && errno == EINTR)
        ;
    if (r != 0) {
        str_fmt(err, errsz, "%s: changed while being read", shown);
        goto out;
    }
    text[got] = '\0';
    *out = text;
    *outlen = got;
    text = NULL;
    rc = GH_OK;
out:
    free(text);
    return rc;
}

/* ---- templates ------------------------------------------------------------------------ */

/* Compile one half of the layout; a failure here (the whole layout compiled) means a
 * section opened on one side of {{content}} and closed on the other. */
static int
compile_half(
    const char *text, size_t len, const char *which, struct tmpl **out, char *err, size_t errsz)
{
    char inner[256];
    int rc;

    if ((rc = tmpl_compile(text, len, out, inner, sizeof(inner))) != GH_OK)
        str_fmt(err, errsz,
            "%s: the part %s {{content}} does not compile on its own "
            "(a section may not span {{content}}): %s",
            layout_name, which, inner);
    return rc;
}

static int
load_layout(struct pages *p, const char *tdir, char *err, size_t errsz)
{
    char path[4096], inner[256];
    char *text = NULL;
    const char *at, *next;
    struct tmpl *whole = NULL;
    size_t len = 0;
    int fd = -1, n, rc = GH_EIO;

    n = snprintf(path, sizeof(path), "%s/%s", tdir, layout_name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        str_fmt(err, errsz, "%s: template path is too long", layout_name);
        rc = GH_ETOOBIG;
        goto out;
    }
    /* O_NONBLOCK: a FIFO put in place of the file must not hang start-up */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
        rc = errno == ENOENT ? GH_ENOTFOUND : GH_EIO;
        str_fmt(err, errsz, "%s: %s", path, strerror(errno));
        goto out;
    }
    if ((rc = pages_read_fd(fd, path, GH_MAX_TEMPLATE, &text, &len, err, errsz)) != GH_OK)
        goto out;
    /* Compile the whole file first: syntax errors then carry their true line and column,
     * and NUL bytes are refused before the text is searched as a C string. */
    if ((rc = tmpl_compile(text, len, &whole, inner, sizeof(inner))) != GH_OK) {
        str_fmt(err, errsz, "%s:%s", layout_name, inner);
        goto out;
    }
    at = strstr(text, content_tag);
    next = at ? strstr(at + sizeof(content_tag) - 1, content_tag) : NULL;
    if (!at || next) {
        str_fmt(err, errsz, "%s: must contain \"%s\" exactly once (found %s)", layout_name,
            content_tag, at ? "it more than once" : "none");
        rc = GH_EINVAL;
        goto out;
    }
    if ((rc = compile_half(text, (size_t)(at - text), "before", &p->head, err, errsz)) != GH_OK)
        goto out;
    at += sizeof(content_tag) - 1;
    rc = compile_half(at, len - (size_t)(at - text), "after", &p->tail, err, errsz);
out:
    tmpl_free(whole);
    if (fd >= 0)
        close(fd);
    free(text);
    return rc;
}

/* ---- static files ------------------------------------------------------------------- */

/* [a-z0-9][a-z0-9._-]*, 1..STATIC_MAX_NAME bytes: no dot-files, no '/', nothing to escape */
static bool
static_name_ok(const char *name)
{
    size_t i;

    for (i = 0; name[i]; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

        if (i == STATIC_MAX_NAME || !(alnum || (i > 0 && (c == '.' || c == '_' || c == '-'))))
            return false;
    }
    return i > 0;
}

static const char *
static_ctype(const char *name)
{
    const char *dot = strrchr(name, '.');
    size_t i;

    if (!dot)
        return NULL;
    for (i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++) {
        if (strcmp(dot + 1, ctypes[i].ext) == 0)
            return ctypes[i].ctype;
    }
    return NULL;
}

static int
cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct static_file *)a)->name, ((const struct static_file *)b)->name);
}

static const struct static_file *
find_file(const struct pages *p, const char *name)
{
    struct static_file key;

    /* longer names are not in the table; checking first keeps the copy bounded */
    if (strnlen(name, STATIC_MAX_NAME + 1) > STATIC_MAX_NAME)
        return NULL;
    memcpy(key.name, name, strlen(name) + 1);
    return bsearch(&key, p->files, p->nfiles, sizeof(p->files[0]), cmp_file);
}

/* "/static/gatehouse.css?v=" + the first CSS_HASH_CHARS of base64url(SHA-256(body)) */
static int
set_css_url(struct pages *p, const char *body, size_t len)
{
    unsigned char dig[DIG_SHA256_LEN];
    char b64[64];
    int n;

    dig_sha256(body, len, dig);
    if (b64url_encode(dig, sizeof(dig), b64, sizeof(b64)) != GH_OK)
        return GH_EINTERNAL;
    n = snprintf(p->css_url, sizeof(p->css_url), "%s%s?v=%.*s", STATIC_PREFIX, STATIC_CSS,
        CSS_HASH_CHARS, b64);
    return n > 0 && (size_t)n < sizeof(p->css_url) ? GH_OK : GH_EINTERNAL;
}

/* Load one directory entry into p->files[p->nfiles]. */
static int
load_static_file(
    struct pages *p, int dfd, const char *sdir, const char *name, char *err, size_t errsz)
{
    char shown[4096];
    char *body = NULL;
    const char *ctype;
    struct stat st;
    struct static_file *f;
    size_t len = 0;
    int fd = -1, rc = GH_EINVAL;

    /* shown is for messages only; a long sdir just truncates them */
    snprintf(shown, sizeof(shown), "%s/%s", sdir, name);
    if (!static_name_ok(name)) {
        str_fmt(err, errsz, "%s: file name must match [a-z0-9][a-z0-9._-]* (at most %d bytes)",
            shown, STATIC_MAX_NAME);
        goto out;
    }
    if (!(ctype = static_ctype(name))) {
        str_fmt(err, errsz, "%s: unknown type (allowed: css js png svg ico woff2 txt)", shown);
        goto out;
    }
    if (p->nfiles == STATIC_MAX_FILES) {
        str_fmt(
            err, errsz, "%s: more than %d files in the static directory", shown, STATIC_MAX_FILES);
        rc = GH_ETOOBIG;
        goto out;
    }
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        str_fmt(err, errsz, "%s: %s", shown, strerror(errno));
        rc = GH_EIO;
        goto out;
    }
    if (S_ISLNK(st.st_mode)) {
        str_fmt(err, errsz, "%s: is a symbolic link (only regular files are served)", shown);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        str_fmt(err, errsz, "%s: not a regular file", shown);
        goto out;
    }
    /* O_NOFOLLOW: a link swapped in after the fstatat is refused too (ELOOP) */
    if ((fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0) {
        rc = errno == ELOOP ? GH_EINVAL : GH_EIO;
        str_fmt(err, errsz, "%s: %s", shown, strerror(errno));
        goto out;
    }
    if ((rc = pages_read_fd(fd, shown, STATIC_MAX_FILE, &body, &len, err, errsz)) != GH_OK)
        goto out;
    if (strcmp(name, STATIC_CSS) == 0 && (rc = set_css_url(p, body, len)) != GH_OK) {
        str_fmt(err, errsz, "%s: cannot hash the stylesheet", shown);
        goto out;
    }
    f = &p->files[p->nfiles];
    memcpy(f->name, name, strlen(name) + 1);
    if ((rc = resp_doc_new(ctype, body, len, STATIC_MAX_AGE, &f->doc)) != GH_OK) {
        str_fmt(err, errsz, "%s: cannot build the HTTP response", shown);
        goto out;
    }
    p->nfiles++;
out:
    if (fd >= 0)
        close(fd);
    free(body);
    return rc;
}

static int
load_static(struct pages *p, const char *sdir, char *err, size_t errsz)
{
    DIR *d = NULL;
    struct dirent *de;
    int rc = GH_EIO;

    if (!(d = opendir(sdir))) {
        rc = errno == ENOENT ? GH_ENOTFOUND : GH_EIO;
        str_fmt(err, errsz, "%s: %s", sdir, strerror(errno));
        goto out;
    }
    for (;;) {
        errno = 0;
        if (!(de = readdir(d))) {
            if (errno != 0) {
                str_fmt(err, errsz, "%s: %s", sdir, strerror(errno));
                goto out;
            }
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if ((rc = load_static_file(p, dirfd(d), sdir, de->d_name, err, errsz)) != GH_OK)
            goto out;
    }
    qsort(p->files, p->nfiles, sizeof(p->files[0]), cmp_file);
    if (!find_file(p, STATIC_CSS)) {
        str_fmt(err, errsz, "%s/%s: no such file (every page links to it)", sdir, STATIC_CSS);
        rc = GH_ENOTFOUND;
        goto out;
    }
    rc = GH_OK;
out:
    if (d)
        closedir(d);
    return rc;
}

/* ---- public ------------------------------------------------------------------------- */

int
pages_load(const char *tdir, const char *sdir, struct pages **out, char *err, size_t errsz)
{
    struct pages *p = NULL;
    size_t i;
    int rc = GH_EINVAL;

    *out = NULL;
    str_fmt(err, errsz, "no error");
    if (!tdir || !sdir) {
        str_fmt(err, errsz, "pages: no %s directory", tdir ? "static" : "template");
        goto out;
    }
    p = x_calloc(1, sizeof(*p));
    if ((rc = load_layout(p, tdir, err, errsz)) != GH_OK)
        goto out;
    for (i = 0; i < PAGE_COUNT; i++) {
        if ((rc = tmpl_load_file(tdir, page_file[i], &p->page[i], err, errsz)) != GH_OK)
            goto out;
    }
    if ((rc = load_static(p, sdir, err, errsz)) != GH_OK)
        goto out;
    *out = p;
    p = NULL;
out:
    pages_free(p);
    return rc;
}

void
pages_free(struct pages *p)
{
    size_t i;

    if (!p)
        return;
    tmpl_free(p->head);
    tmpl_free(p->tail);
    for (i = 0; i < PAGE_COUNT; i++)
        tmpl_free(p->page[i]);
    for (i = 0; i < p->nfiles; i++)
        resp_doc_free(p->files[i].doc);
    free(p);
}

int
pages_render(const struct pages *p, enum page_id id, const struct tmpl_var *vars, size_t nvars,
    struct buf *out)
{
    struct tmpl_var all[1 + PAGES_MAX_VARS];
    int rc;

    if (!p || (unsigned)id >= PAGE_COUNT || nvars > PAGES_MAX_VARS || (nvars && !vars))
        return GH_EINVAL;
    /* the first matching entry wins, so css_url goes first: a caller cannot replace it */
    all[0].name = "css_url";
    all[0].value = p->css_url;
    if (nvars)
        memcpy(all + 1, vars, nvars * sizeof(*vars));
    /* tmpl_render checks every value before writing, so a non-UTF-8 value fails the first
     * call with out untouched; GH_ETOOBIG from any call leaves out emptied (buf_add) */
    if ((rc = tmpl_render(p->head, all, nvars + 1, out)) != GH_OK ||
        (rc = tmpl_render(p->page[id], all, nvars + 1, out)) != GH_OK ||
        (rc = tmpl_render(p->tail, all, nvars + 1, out)) != GH_OK)
        return rc;
    return GH_OK;
}

int
pages_static_send(const struct pages *p, struct req *rq)
{
    const struct static_file *f = NULL;

    /* rq->path is raw (no percent-decoding) and without the query: "?v=" is ignored, and
     * "/static/gatehouse%2ecss" names no file */
    if (p && rq->path && strncmp(rq->path, STATIC_PREFIX, sizeof(STATIC_PREFIX) - 1) == 0)
        f = find_file(p, rq->path + sizeof(STATIC_PREFIX) - 1);
    if (!f) /* the same answer as any unknown path (http/server.c) */
        return resp_error(rq, 404, "not_found", "no such endpoint");
    return resp_doc_send(rq, f->doc);
}
