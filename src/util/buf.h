/* buf.h — growable bytes, never past the ceiling given to buf_init(); fields private. */
#ifndef GH_UTIL_BUF_H
#define GH_UTIL_BUF_H

#include <stddef.h>

struct buf {
    unsigned char *p;
    size_t len, cap, max;
};

void  buf_init(struct buf *b, size_t max);
int   buf_add(struct buf *b, const void *src, size_t n); /* GH_ETOOBIG: over max; b emptied */
int   buf_addstr(struct buf *b, const char *s);          /* buf_add of strlen(s) bytes */
int   buf_printf(struct buf *b, const char *fmt, ...)    /* GH_ETOOBIG or GH_EINVAL */
    __attribute__((format(printf, 2, 3)));
const char *buf_str(const struct buf *b);                 /* borrowed, NUL-terminated ("" if empty) */
char *buf_steal(struct buf *b);                           /* caller frees; b is reset */
void  buf_reset(struct buf *b);                           /* len = 0, memory kept and wiped */
void  buf_free(struct buf *b);                            /* wipes, then frees */

#endif
