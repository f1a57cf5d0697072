/* str.h — bounded string helpers: copy, integer parsing, constant-time compare, UTF-8 and
 * LIST splitting. Everything takes explicit bounds; nothing allocates except str_split. */
#ifndef GH_UTIL_STR_H
#define GH_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* snprintf into out (nothing when out is NULL or outsz 0): the "one line in err" of callers
 * that report why something failed. */
void str_fmt(char *out, size_t outsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Copy src into dst (size dstsz, > 0), always NUL-terminated.
 * GH_ETOOBIG if src did not fit (dst then holds the truncated prefix). */
int  str_copy(char *dst, size_t dstsz, const char *src);

/* Parse a whole decimal string into [min,max]. No sign, spaces, or trailing bytes.
 * GH_EINVAL if not a number, GH_ETOOBIG if out of range. *out untouched on error. */
int  str_to_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

bool str_eq(const char *a, const char *b);                 /* NULL-safe strcmp()==0; not for secrets */
bool str_ct_eq(const void *a, const void *b, size_t n);    /* CRYPTO_memcmp()==0: for secrets */
bool str_has_prefix(const char *s, const char *prefix);
bool str_utf8_valid(const char *s, size_t len);            /* RFC 3629: no overlongs, no surrogates */
bool str_has_ctl(const char *s, size_t len);               /* any byte < 0x20 or 0x7f */
void str_lower_ascii(char *s);                             /* in place */

/* Split a LIST argument: items separated by commas and/or ASCII spaces; empty items dropped.
 * Returns a NULL-terminated array of at most max items (caller frees with str_list_free),
 * GH_ETOOBIG if more, GH_EINVAL if an item is longer than item_max. *out NULL on error. */
int  str_split(const char *s, size_t max, size_t item_max, char ***out);
void str_list_free(char **list);
size_t str_list_len(char *const *list);
bool str_list_has(char *const *list, const char *s);
/* Join with a separator into a new string (caller frees). */
char *str_list_join(char *const *list, const char *sep);

#endif
