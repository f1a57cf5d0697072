/* tmpl.h — compiled HTML templates for the login, consent and error pages (STYLE.md §6.6).
 *
 * Syntax. A template is UTF-8 text with tags; every "{{" starts a tag, there is no escape
 * for a literal "{{" and no raw-output syntax:
 *   {{name}}             the value of `name`, ALWAYS HTML-escaped:
 *                        & < > " '  ->  &amp; &lt; &gt; &quot; &#39;
 *                        an unset variable renders as nothing
 *   {{#name}}...{{/name}} the block, only if `name` is set and non-empty
 *   {{^name}}...{{/name}} the block, only if `name` is unset or empty
 * Names are [a-z0-9_]{1,GH_MAX_TEMPLATE_VAR}, written without spaces. Sections nest up to
 * GH_MAX_TEMPLATE_DEPTH deep; every {{/name}} must close the innermost open section.
 * Values are substituted once: a value containing "{{x}}" comes out as that text, escaped.
 *
 * Everything malformed is rejected when the template is compiled (at start-up), never
 * while rendering: rendering does no parsing and allocates only the output buffer. */
#ifndef GH_TMPL_TMPL_H
#define GH_TMPL_TMPL_H

#include <stddef.h>

#include "util/buf.h"

struct tmpl; /* opaque, immutable after compile: safe to render from many threads */

struct tmpl_var {
    const char *name;  /* a template name; NULL-named entries are skipped */
    const char *value; /* NUL-terminated UTF-8, or NULL for "unset" */
};

/* Compile len bytes of text (need not be NUL-terminated; len <= GH_MAX_TEMPLATE).
 * GH_OK: *out is the caller's, free with tmpl_free. GH_ETOOBIG: text or section nesting over
 * its bound. GH_EINVAL: malformed (invalid UTF-8, NUL byte, bad or unclosed tag, bad name,
 * unmatched close). On error *out is NULL and err (size errsz, may be 0) says
 * "line:col: reason" with 1-based line and byte column of the offending tag. */
int tmpl_compile(const char *text, size_t len, struct tmpl **out, char *err, size_t errsz);

/* Read and compile dir/name once at start-up. name must match [a-z_-]+".html" and be at most
 * GH_MAX_TEMPLATE_NAME bytes (so no '/', no ".."); the file must be a regular file of at
 * most GH_MAX_TEMPLATE bytes. GH_OK: *out as for tmpl_compile. GH_EINVAL: bad name or
 * malformed template; GH_ENOTFOUND: no such file; GH_ETOOBIG: too big; GH_EIO: other I/O
 * errors. err gets "name: reason" or "name:line:col: reason". */
int tmpl_load_file(const char *dir, const char *name, struct tmpl **out, char *err,
    size_t errsz);

/* Append the rendering of t with vars[0..nvars) to out (its ceiling bounds the result).
 * The first entry with a matching name wins. GH_OK on success. GH_EINVAL: a value is not
 * valid UTF-8 (checked for every entry before anything is written; out untouched).
 * GH_ETOOBIG: output over out's max; out is emptied (buf_add semantics). */
int tmpl_render(const struct tmpl *t, const struct tmpl_var *vars, size_t nvars,
    struct buf *out);

void tmpl_free(struct tmpl *t); /* NULL is a no-op */

#endif
