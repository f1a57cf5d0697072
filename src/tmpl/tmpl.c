/* tmpl.c — a tiny HTML template renderer for the pages gatehouse serves (login, consent,
 * error). Templates are read and compiled once at start-up into a flat op list (literal
 * spans, escaped variable references, sections with a precomputed jump), so every syntax
 * error surfaces before the server answers a request and rendering is a single linear pass
 * with no parsing and no allocation beyond the output buffer. Every substitution is
 * HTML-escaped (& < > " ') and there is deliberately no raw-output syntax (STYLE.md §6.6);
 * values are inserted once and never re-scanned for tags. It does not do loops, partials,
 * or attribute-context-specific encoding: templates must quote every attribute that takes a
 * variable, and must not place variables in script, style or URL-scheme positions. */
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
#include "tmpl/tmpl.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/xmem.h"

enum op_kind {
    OP_TEXT,    /* literal bytes text[off, off+len) */
    OP_VAR,     /* escaped value of the variable named text[off, off+len) */
    OP_SECT,    /* {{#name}}: when unset or empty, continue at op index skip */
    OP_INVERTED /* {{^name}}: when set and non-empty, continue at op index skip */
};

struct op {
    enum op_kind kind;
    size_t off, len; /* into tmpl->text: the literal, or the variable name */
    size_t skip;     /* sections: index of the first op after the matching close */
};

struct tmpl {
    char *text; /* private copy of the template source; ops point into it */
    struct op *ops;
    size_t nops;
};

/* 1-based line and byte column of offset off; only called on the error path. */
static void
position(const char *text, size_t off, size_t *line, size_t *col)
{
    size_t i;

    *line = 1;
    *col = 1;
    for (i = 0; i < off; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static bool
name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static void
add_op(struct tmpl *t, size_t *cap, enum op_kind kind, size_t off, size_t len)
{
    if (t->nops == *cap) {
        /* nops <= 2 * len / 5 + 1 <= GH_MAX_TEMPLATE: bounded before we get here */
        *cap = *cap ? *cap * 2 : 16;
        t->ops = x_realloc(t->ops, *cap * sizeof(*t->ops));
    }
    t->ops[t->nops].kind = kind;
    t->ops[t->nops].off = off;
    t->ops[t->nops].len = len;
    t->ops[t->nops].skip = 0;
    t->nops++;
}

int
tmpl_compile(const char *text, size_t len, struct tmpl **out, char *err, size_t errsz)
{
    struct tmpl *t = NULL;
    size_t open_op[GH_MAX_TEMPLATE_DEPTH], open_at[GH_MAX_TEMPLATE_DEPTH];
    size_t depth = 0, cap = 0, i = 0, lit = 0, tag = 0, line, col;
    int rc = GH_EINVAL;

    *out = NULL;
    str_fmt(err, errsz, "no error");
    if (len > GH_MAX_TEMPLATE) {
        str_fmt(err, errsz, "template is longer than %d bytes", GH_MAX_TEMPLATE);
        rc = GH_ETOOBIG;
        goto out;
    }
    if (!text && len) {
        str_fmt(err, errsz, "no template text");
        goto out;
    }
    if (len && memchr(text, '\0', len)) {
        tag = (size_t)((const char *)memchr(text, '\0', len) - text);
        str_fmt(err, errsz, "template contains a NUL byte");
        goto bad;
    }
    if (!str_utf8_valid(text, len)) {
        str_fmt(err, errsz, "template is not valid UTF-8");
        goto out;
    }
    t = x_calloc(1, sizeof(*t));
    t->text = x_malloc(len + 1);
    if (len)
        memcpy(t->text, text, len);
    t->text[len] = '\0';
    text = t->text;

    while (i + 1 < len) {
        size_t name, j;
        char sigil = '\0';

        if (text[i] != '{' || text[i + 1] != '{') {
            i++;
            continue;
        }
        tag = i;
        if (tag > lit)
            add_op(t, &cap, OP_TEXT, lit, tag - lit);
        j = tag + 2;
        if (j < len && (text[j] == '#' || text[j] == '^' || text[j] == '/'))
            sigil = text[j++];
        name = j;
        while (j < len && name_char(text[j]))
            j++;
        if (j < len && text[j] != '}') {
            unsigned char c = (unsigned char)text[j];

            if (c > 0x20 && c < 0x7f)
                str_fmt(err, errsz, "tag: '%c' is not allowed in a name ([a-z0-9_])", c);
            else
                str_fmt(err, errsz, "tag: byte 0x%02x is not allowed in a name ([a-z0-9_])", c);
            goto bad;
        }
        if (j + 1 >= len || text[j + 1] != '}') {
            str_fmt(err, errsz, "unclosed tag: expected '}}'");
            goto bad;
        }
        if (j == name) {
            str_fmt(err, errsz, "tag has an empty name");
            goto bad;
        }
        if (j - name > GH_MAX_TEMPLATE_VAR) {
            str_fmt(err, errsz, "name is longer than %d bytes", GH_MAX_TEMPLATE_VAR);
            goto bad;
        }
        if (sigil == '\0') {
            add_op(t, &cap, OP_VAR, name, j - name);
        } else if (sigil == '#' || sigil == '^') {
            if (depth == GH_MAX_TEMPLATE_DEPTH) {
                str_fmt(err, errsz, "sections nested deeper than %d", GH_MAX_TEMPLATE_DEPTH);
                rc = GH_ETOOBIG;
                goto bad;
            }
            open_op[depth] = t->nops;
            open_at[depth] = tag;
            depth++;
            add_op(t, &cap, sigil == '#' ? OP_SECT : OP_INVERTED, name, j - name);
        } else {
            const struct op *o;

            if (depth == 0) {
                str_fmt(err, errsz, "{{/%.*s}} closes no open section", (int)(j - name),
                    text + name);
                goto bad;
            }
            o = &t->ops[open_op[depth - 1]];
            if (o->len != j - name || memcmp(text + o->off, text + name, o->len) != 0) {
                position(text, open_at[depth - 1], &line, &col);
                str_fmt(err, errsz, "{{/%.*s}} does not close {{%c%.*s}} opened at %zu:%zu",
                    (int)(j - name), text + name, o->kind == OP_SECT ? '#' : '^',
                    (int)o->len, text + o->off, line, col);
                goto bad;
            }
            depth--;
            t->ops[open_op[depth]].skip = t->nops;
        }
        i = j + 2;
        lit = i;
    }
    if (len > lit)
        add_op(t, &cap, OP_TEXT, lit, len - lit);
    if (depth > 0) {
        const struct op *o = &t->ops[open_op[depth - 1]];

        tag = open_at[depth - 1];
        str_fmt(err, errsz, "section {{%c%.*s}} is never closed", o->kind == OP_SECT ? '#' : '^',
            (int)o->len, text + o->off);
        goto bad;
    }
    *out = t;
    t = NULL;
    rc = GH_OK;
    goto out;
bad:
    /* prefix the message already in err with the position of the offending tag */
    if (err && errsz) {
        char msg[256];

        str_copy(msg, sizeof(msg), err);
        position(text, tag, &line, &col);
        str_fmt(err, errsz, "%zu:%zu: %s", line, col, msg);
    }
out:
    tmpl_free(t);
    return rc;
}

static bool
name_ok(const char *name)
{
    static const char ext[] = ".html";
    size_t n, stem, i;

    if (!name)
        return false;
    n = strnlen(name, GH_MAX_TEMPLATE_NAME + 1);
    if (n > GH_MAX_TEMPLATE_NAME || n <= sizeof(ext) - 1)
        return false;
    stem = n - (sizeof(ext) - 1);
    if (strcmp(name + stem, ext) != 0)
        return false;
    for (i = 0; i < stem; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z') || name[i] == '_' || name[i] == '-'))
            return false;
    }
    return true;
}

int
tmpl_load_file(const char *dir, const char *name, struct tmpl **out, char *err, size_t errsz)
{
    char path[4096], inner[256];
    char *text = NULL;
    struct stat st;
    size_t got = 0;
    int fd = -1, n, rc = GH_EINVAL;

    *out = NULL;
    if (!name_ok(name)) {
        str_fmt(err, errsz, "template name must match [a-z_-]+.html (at most %d bytes)",
            GH_MAX_TEMPLATE_NAME);
        goto out;
    }
    if (!dir) {
        str_fmt(err, errsz, "%s: no template directory", name);
        goto out;
    }
    n = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        str_fmt(err, errsz, "%s: template path is too long", name);
        rc = GH_ETOOBIG;
        goto out;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        rc = errno == ENOENT ? GH_ENOTFOUND : GH_EIO;
        str_fmt(err, errsz, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > GH_MAX_TEMPLATE) {
        str_fmt(err, errsz, "%s: not a regular file of at most %d bytes", path, GH_MAX_TEMPLATE);
        rc = S_ISREG(st.st_mode) ? GH_ETOOBIG : GH_EINVAL;
        goto out;
    }
    text = x_malloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, text + got, (size_t)st.st_size - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            str_fmt(err, errsz, "%s: short read", path);
            rc = GH_EIO;
            goto out;
        }
        got += (size_t)r;
    }
    if ((rc = tmpl_compile(text, got, out, inner, sizeof(inner))) != GH_OK)
        str_fmt(err, errsz, "%s:%s", name, inner);
out:
    if (fd >= 0)
        close(fd);
    free(text);
    return rc;
}

static const char *
lookup(const struct tmpl *t, const struct op *o, const struct tmpl_var *vars, size_t nvars)
{
    size_t i;

    for (i = 0; i < nvars; i++) {
        const char *n = vars[i].name;

        if (n && strnlen(n, o->len + 1) == o->len && memcmp(n, t->text + o->off, o->len) == 0)
            return vars[i].value;
    }
    return NULL;
}

/* HTML-escape s into out; runs of safe bytes are copied in one buf_add. */
static int
add_escaped(struct buf *out, const char *s)
{
    const char *run = s;
    int rc;

    for (; *s; s++) {
        const char *rep;

        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        if ((rc = buf_add(out, run, (size_t)(s - run))) != GH_OK ||
            (rc = buf_addstr(out, rep)) != GH_OK)
            return rc;
        run = s + 1;
    }
    return buf_add(out, run, (size_t)(s - run));
}

int
tmpl_render(const struct tmpl *t, const struct tmpl_var *vars, size_t nvars, struct buf *out)
{
    size_t i;
    int rc = GH_EINVAL;

    if (!t || (nvars && !vars))
        return GH_EINVAL;
    /* validate everything first so a bad value never leaves half a page in out */
    for (i = 0; i < nvars; i++) {
        if (vars[i].value && !str_utf8_valid(vars[i].value, strlen(vars[i].value)))
            return GH_EINVAL;
    }
    i = 0;
    while (i < t->nops) {
        const struct op *o = &t->ops[i];
        const char *v;

        switch (o->kind) {
        case OP_TEXT:
            rc = buf_add(out, t->text + o->off, o->len);
            break;
        case OP_VAR:
            v = lookup(t, o, vars, nvars);
            rc = v ? add_escaped(out, v) : GH_OK;
            break;
        case OP_SECT:
        case OP_INVERTED:
            v = lookup(t, o, vars, nvars);
            if ((v && *v) != (o->kind == OP_SECT)) {
                i = o->skip;
                continue;
            }
            rc = GH_OK;
            break;
        }
        if (rc != GH_OK)
            return rc;
        i++;
    }
    return GH_OK;
}

void
tmpl_free(struct tmpl *t)
{
    if (!t)
        return;
    free(t->ops);
    free(t->text);
    free(t);
}
