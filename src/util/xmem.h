/* xmem.h — allocators that log and abort on out-of-memory, and wiping frees.
 * Callers bound input-derived sizes before allocating (STYLE.md §5). */
#ifndef GH_UTIL_XMEM_H
#define GH_UTIL_XMEM_H

#include <stddef.h>

void *x_malloc(size_t n);                  /* never NULL; aborts on OOM */
void *x_calloc(size_t nmemb, size_t size); /* never NULL; aborts on OOM or overflow */
void *x_realloc(void *p, size_t n);        /* never NULL; aborts on OOM */
char *x_strdup(const char *s);             /* NULL in, NULL out */
char *x_strndup(const char *s, size_t n);  /* copies at most n bytes, NUL-terminates */
void  mem_wipe(void *p, size_t n);         /* OPENSSL_cleanse: not optimised away */
void  mem_wipe_free(void *p, size_t n);    /* wipe n bytes, then free; NULL is a no-op */
void  str_wipe_free(char *s);              /* wipe strlen(s) bytes, then free */

#endif
