/* issuer_keys.c — the in-memory cache of trusted issuers' jwks_uri key sets (see
 * issuer_keys.h). A small table of entries keyed by (issuer, jwks_uri): the last good key set
 * (checked as `issuer add` checks an inline one, model/issuer.c), its kids, when it was fetched
 * and when the last attempt began, all on the monotonic clock, so a stepped wall clock neither
 * expires nor prolongs keys. When the table is full the least recently used entry that is not
 * being fetched goes. Entries are found again by key after every unlock, so no pointer into
 * the table outlives the mutex except the fetching thread's own entry, which is never evicted
 * while it fetches.
 *
 * Not here: deciding what an assertion must be (oidc/assertion.c, oidc/grant_jwt.c), the fetch
 * itself (util/fetch.c). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "model/issuer.h"
#include "oidc/issuer_keys.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fetch.h"
#include "util/str.h"
#include "util/xmem.h"

#define IK_MAX_ENTRIES 128   /* issuers cached at once */

struct entry {
    char *issuer, *uri;
    char *jwks;              /* the last good set, or NULL */
    char **kids;             /* its kids, NULL-terminated */
    int64_t fetched_us;      /* when jwks was fetched */
    int64_t attempt_us;      /* when the last fetch began; 0: never */
    int64_t used_us;
    bool fetching;
};

struct issuer_keys {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct entry *e[IK_MAX_ENTRIES];
    int64_t ttl_us, refetch_us;
    long timeout_ms;
    unsigned long fetches;
};

struct issuer_keys *
issuer_keys_new(unsigned ttl_s, unsigned refetch_s, long fetch_timeout_ms)
{
    struct issuer_keys *ik = x_calloc(1, sizeof(*ik));

    pthread_mutex_init(&ik->mu, NULL);
    pthread_cond_init(&ik->cv, NULL);
    ik->ttl_us = (int64_t)ttl_s * 1000000;
    ik->refetch_us = (int64_t)refetch_s * 1000000;
    ik->timeout_ms = fetch_timeout_ms;
    return ik;
}

static void
entry_free(struct entry *e)
{
    if (!e)
        return;
    free(e->issuer);
    free(e->uri);
    free(e->jwks);
    str_list_free(e->kids);
    free(e);
}

void
issuer_keys_free(struct issuer_keys *ik)
{
    if (!ik)
        return;
    for (size_t i = 0; i < IK_MAX_ENTRIES; i++)
        entry_free(ik->e[i]);
    pthread_cond_destroy(&ik->cv);
    pthread_mutex_destroy(&ik->mu);
    free(ik);
}

unsigned long
issuer_keys_fetches(struct issuer_keys *ik)
{
    unsigned long n;

    pthread_mutex_lock(&ik->mu);
    n = ik->fetches;
    pthread_mutex_unlock(&ik->mu);
    return n;
}

/* The entry of (issuer, uri), created if absent (evicting the least recently used idle one
 * when the table is full). NULL only when every entry is being fetched. Under mu. */
static struct entry *
find(struct issuer_keys *ik, const char *issuer, const char *uri, int64_t now)
{
    size_t free_slot = IK_MAX_ENTRIES, lru = IK_MAX_ENTRIES;
    struct entry *e;

    for (size_t i = 0; i < IK_MAX_ENTRIES; i++) {
        e = ik->e[i];
        if (!e) {
            if (free_slot == IK_MAX_ENTRIES)
                free_slot = i;
            continue;
        }
        if (str_eq(e->issuer, issuer) && str_eq(e->uri, uri)) {
            e->used_us = now;
            return e;
        }
        if (!e->fetching && (lru == IK_MAX_ENTRIES || e->used_us < ik->e[lru]->used_us))
            lru = i;
    }
    if (free_slot == IK_MAX_ENTRIES) {
        if (lru == IK_MAX_ENTRIES)
            return NULL;
        entry_free(ik->e[lru]);
        ik->e[lru] = NULL;
        free_slot = lru;
    }
    e = x_calloc(1, sizeof(*e));
    e->issuer = x_strdup(issuer);
    e->uri = x_strdup(uri);
    e->kids = x_calloc(1, sizeof(*e->kids));
    e->used_us = now;
    ik->e[free_slot] = e;
    return e;
}

/* The kids of a checked JWKS document, NULL-terminated (keys without a kid are left out). */
static char **
kids_of(const char *jwks, size_t len)
{
    json_t *root = json_loadb(jwks, len, JSON_REJECT_DUPLICATES, NULL), *k;
    char **kids = x_calloc(GH_MAX_JWKS_KEYS + 1, sizeof(*kids));
    size_t i, n = 0;

    json_array_foreach(json_object_get(root, "keys"), i, k) {
        const char *kid = json_string_value(json_object_get(k, "kid"));
        if (kid && n < GH_MAX_JWKS_KEYS)
            kids[n++] = x_strdup(kid);
    }
    json_decref(root);
    return kids;
}

/* Fetch and check uri. GH_OK: *jwks and *kids (caller frees). Outside mu. */
static int
fetch_set(struct issuer_keys *ik, const char *issuer, const char *uri, char **jwks,
    char ***kids)
{
    struct buf body;
    char why[512] = "", esc[LOG_ESC_SIZE], esc2[LOG_ESC_SIZE];
    int rc;

    *jwks = NULL;
    *kids = NULL;
    buf_init(&body, GH_MAX_JWKS);
    rc = fetch_get(uri, ik->timeout_ms, "gatehouse", &body, why, sizeof(why));
    if (rc == GH_OK && (rc = issuer_jwks_check(buf_str(&body), body.len, why, sizeof(why))) ==
                           GH_OK) {
        *kids = kids_of(buf_str(&body), body.len);
        *jwks = buf_steal(&body);
        log_info("issuer_keys_fetched", "issuer=%s", log_esc(issuer, esc));
    } else {
        log_warn("issuer_keys_fetch_fail", "issuer=%s why=%s", log_esc(issuer, esc),
            log_esc(why, esc2));
    }
    buf_free(&body);
    return rc;
}

/* Wait on cv at most ms milliseconds (a fetch of another thread ends within its timeout). */
static void
wait_ms(struct issuer_keys *ik, long ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    (void)pthread_cond_timedwait(&ik->cv, &ik->mu, &ts);
}

int
issuer_keys_get(struct issuer_keys *ik, const char *issuer, const char *uri, const char *kid,
    bool may_fetch, char **jwks, bool *need_fetch)
{
    int64_t deadline = clock_mono_us() + (int64_t)(ik->timeout_ms + 1000) * 2 * 1000;
    struct entry *e;
    bool tried = false;
    int rc = GH_ENOTFOUND;

    *jwks = NULL;
    *need_fetch = false;
    pthread_mutex_lock(&ik->mu);
    for (;;) {
        int64_t now = clock_mono_us();
        bool fresh, known, due;

        if (!(e = find(ik, issuer, uri, now)))
            break;   /* the table is all fetches in flight: refuse this once */
        fresh = e->jwks && now - e->fetched_us < ik->ttl_us;
        known = fresh && (!kid || str_list_has(e->kids, kid));
        due = !known && !tried && (e->attempt_us == 0 || now - e->attempt_us >= ik->refetch_us);
        if (e->fetching && !known) {
            /* another thread is fetching what we need: wait for it, or let a worker do so */
            if (!may_fetch) {
                *need_fetch = true;
                rc = GH_OK;
                break;
            }
            if (now >= deadline)
                break;
            wait_ms(ik, ik->timeout_ms + 1000);
            continue;
        }
        if (due) {
            char *set = NULL, **kids = NULL;

            if (!may_fetch) {
                *need_fetch = true;
                rc = GH_OK;
                break;
            }
            e->fetching = true;
            e->attempt_us = now;
            ik->fetches++;
            pthread_mutex_unlock(&ik->mu);
            rc = fetch_set(ik, issuer, uri, &set, &kids);
            pthread_mutex_lock(&ik->mu);
            /* e cannot have been evicted: it was fetching. The interval counts from the end of
             * the attempt, so a slow jwks_uri is not asked again at once. */
            tried = true;
            e->fetching = false;
            e->attempt_us = clock_mono_us();
            if (rc == GH_OK) {
                free(e->jwks);
                str_list_free(e->kids);
                e->jwks = set;
                e->kids = kids;
                e->fetched_us = clock_mono_us();
            }
            pthread_cond_broadcast(&ik->cv);
            continue;   /* not due any more: the attempt just began */
        }
        if (fresh) {
            *jwks = x_strdup(e->jwks);
            rc = GH_OK;
        } else {
            rc = GH_ENOTFOUND;
        }
        break;
    }
    pthread_mutex_unlock(&ik->mu);
    return rc;
}
