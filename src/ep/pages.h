/* pages.h — the HTML pages a person sees (login, consent, error, logged-out), rendered from
 * templates/ with tmpl/ (every substitution HTML-escaped), and the files of static/ served
 * from memory. Both are read once at start-up from directories the operator may replace
 * (--templates DIR, --static DIR) and are read-only afterwards.
 *
 * Layout: templates/layout.html holds the page frame and exactly one "{{content}}" tag where
 * the page goes. pages_load() splits the layout there and compiles both halves, so the page
 * body is inserted as already-escaped HTML without any raw-output syntax in tmpl/. Variables
 * given to pages_render() are visible in the layout halves and the page alike. The layout also
 * gets "css_url" (the stylesheet with a content-hash query, /static/gatehouse.css?v=<8 chars>,
 * so the file can be cached for a year and still change). */
#ifndef GH_EP_PAGES_H
#define GH_EP_PAGES_H

#include <stddef.h>

#include "tmpl/tmpl.h"
#include "util/buf.h"

struct req;

enum page_id {
    PAGE_LOGIN = 0,      /* login.html */
    PAGE_CONSENT,        /* consent.html */
    PAGE_ERROR,          /* error.html */
    PAGE_LOGGED_OUT,     /* logged-out.html */
    PAGE_LOGOUT,         /* logout.html: "sign out?" confirmation (RP-Initiated Logout §2) */
    PAGE_COUNT
};

struct pages;

/* Load layout.html and every page template from tdir and every file of sdir (regular files
 * only, names [a-z0-9][a-z0-9._-]* up to 64 bytes, at most 64 files of at most 512 KiB each;
 * Content-Type from the extension: css, js, png, svg, ico, woff2, txt; others refused).
 * sdir must contain gatehouse.css; anything else in it (a symbolic link, a directory, a
 * dot-file) is refused, not skipped. layout.html must hold "{{content}}" exactly once and no
 * section may span it. GH_OK: *out is the caller's. Otherwise *out is NULL, the code says
 * why (GH_EINVAL malformed or refused, GH_ETOOBIG over a bound, GH_ENOTFOUND a required
 * file is missing, GH_EIO) and err (may be NULL / errsz 0) gets one line for the operator
 * naming the file and what is wrong. */
int  pages_load(const char *tdir, const char *sdir, struct pages **out, char *err,
         size_t errsz);
void pages_free(struct pages *p);   /* after the daemon stopped; NULL is a no-op */
/* Read the whole file open on fd into a new NUL-terminated buffer (*out, *outlen). The file
 * must be regular and at most max bytes, and must not grow while read; shown names it in err.
 * Closes nothing. GH_OK, GH_EINVAL, GH_ETOOBIG, GH_EIO. */
int  pages_read_fd(int fd, const char *shown, size_t max, char **out, size_t *outlen, char *err,
         size_t errsz);

/* Render page id into out (layout around it). vars as for tmpl_render (the first entry with
 * a name wins), at most 32 of them; "css_url" is added ahead of them, so vars cannot replace
 * it. No allocation beyond out. GH_OK; GH_EINVAL (a value is not UTF-8: out untouched; bad
 * id; more than 32 vars); GH_ETOOBIG (over out's ceiling: out emptied, as buf_add does). */
int  pages_render(const struct pages *p, enum page_id id, const struct tmpl_var *vars,
         size_t nvars, struct buf *out);

/* GET /static/<name>: the file from memory with ETag, Cache-Control: public,
 * max-age=31536000 (resp_doc cannot add "immutable" yet); 304 on If-None-Match; for an
 * unknown name the 404 JSON error every unknown path gets. rq->path is matched raw and
 * exactly (no decoding, the query is not part of it). No request path ever reaches the
 * filesystem. Returns what resp_* returned. */
int  pages_static_send(const struct pages *p, struct req *rq);

#endif
