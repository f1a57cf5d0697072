/* metrics.c — the counters behind GET /metrics and their Prometheus text exposition (format
 * 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/). Every value lives in
 * fixed arrays of relaxed atomics, split into MET_SHARDS cache-line-aligned shards; a thread
 * picks its shard once, so the threads of the HTTP pool and the hashing workers rarely write
 * the same cache line. Nothing on the update path locks or allocates. A scrape sums the shards
 * (a sum read while requests run is a moment's value, which is all a counter promises) and
 * writes text into a bounded buffer.
 *
 * Cardinality is fixed by construction: routes are the route table's paths plus "other" (never
 * the request's own path), status codes are a fixed list plus one "Nxx" per class for the
 * rest, and the remaining labels are closed sets. Not here: the HTTP listener (http/
 * server_metrics.c), or gauges, which the server reads at scrape time (struct met_gauges). */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/metrics.h"
#include "util/buf.h"
#include "util/clock.h"

#define MET_SHARDS 8
#define ROUTE_SLOTS (MET_MAX_ROUTES + 1)   /* the last is "other" */

/* Status codes counted on their own; any other code counts as its class ("4xx"). */
static const unsigned codes[] = { 200, 201, 204, 301, 302, 303, 304, 307, 308, 400, 401, 403,
    404, 405, 406, 408, 409, 411, 413, 414, 415, 422, 429, 431, 500, 501, 502, 503, 504, 505 };
#define NCODES (sizeof(codes) / sizeof(codes[0]))
#define CODE_SLOTS (NCODES + 5)   /* + "1xx" .. "5xx" */

/* Upper bounds of the latency buckets in microseconds (le= in seconds); the last bucket is
 * +Inf. From a token request (well under a millisecond) to a slow password hash under load. */
static const uint64_t bucket_us[] = { 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000 };
static const char *const bucket_le[] = { "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10" };
#define NBOUNDS (sizeof(bucket_us) / sizeof(bucket_us[0]))
#define BUCKETS (NBOUNDS + 1)

struct shard {
    _Alignas(64) atomic_uint_least64_t ctr[MET_COUNTERS];
    atomic_uint_least64_t req[ROUTE_SLOTS][CODE_SLOTS];
    atomic_uint_least64_t lat[ROUTE_SLOTS][BUCKETS];   /* per bucket, not cumulative */
    atomic_uint_least64_t lat_us[ROUTE_SLOTS];
};

/* Static storage: zero-initialised, which is a valid atomic zero (C11 §7.17.2.1). */
static struct shard shards[MET_SHARDS];
static atomic_uint next_shard;
static _Thread_local unsigned my_shard;   /* 1 + index; 0: not picked yet */

/* Set before threads start (met_init, met_routes), read-only afterwards. */
static const char *version = "unknown";
static int64_t start_time;
static const char *route_name[ROUTE_SLOTS];
static unsigned char route_slot[MET_MAX_ROUTES];
static size_t nroutes;

static struct shard *
shard(void)
{
    if (!my_shard)
        my_shard = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) %
                   MET_SHARDS + 1;
    return &shards[my_shard - 1];
}

static void
add(atomic_uint_least64_t *a, uint64_t v)
{
    atomic_fetch_add_explicit(a, v, memory_order_relaxed);
}

void
met_init(const char *v)
{
    version = v ? v : "unknown";
    start_time = clock_now();
}

void
met_routes(const char *const *names, size_t n)
{
    nroutes = n < MET_MAX_ROUTES ? n : MET_MAX_ROUTES;
    for (size_t i = 0; i < nroutes; i++) {
        size_t j = 0;

        while (j < i && strcmp(names[j], names[i]) != 0)
            j++;
        route_slot[i] = (unsigned char)j;   /* a repeated path shares the first one's series */
        route_name[i] = names[i];
    }
    route_name[MET_MAX_ROUTES] = "other";
}

void
met_inc(enum met_counter c)
{
    if ((unsigned)c < MET_COUNTERS)
        add(&shard()->ctr[c], 1);
}

void
met_token_issued(const char *gt)
{
    enum met_counter c = MET_TOKEN_OTHER;

    if (!gt)
        c = MET_TOKEN_OTHER;
    else if (strcmp(gt, "client_credentials") == 0)
        c = MET_TOKEN_CLIENT_CREDENTIALS;
    else if (strcmp(gt, "authorization_code") == 0)
        c = MET_TOKEN_AUTHORIZATION_CODE;
    else if (strcmp(gt, "refresh_token") == 0)
        c = MET_TOKEN_REFRESH_TOKEN;
    else if (strcmp(gt, "urn:ietf:params:oauth:grant-type:jwt-bearer") == 0)
        c = MET_TOKEN_JWT_BEARER;
    met_inc(c);
}

static size_t
code_slot(unsigned status)
{
    for (size_t i = 0; i < NCODES; i++) {
        if (codes[i] == status)
            return i;
    }
    return NCODES + (status / 100 - 1);   /* status is 100..599 here */
}

void
met_request(size_t route, unsigned status, int64_t us)
{
    struct shard *s;
    size_t r = route < nroutes ? route_slot[route] : MET_MAX_ROUTES;
    size_t b = 0;
    uint64_t u = us > 0 ? (uint64_t)us : 0;

    if (status < 100 || status > 599)
        return;   /* no response went out (the client left first) */
    while (b < NBOUNDS && u > bucket_us[b])
        b++;
    s = shard();
    add(&s->req[r][code_slot(status)], 1);
    add(&s->lat[r][b], 1);
    add(&s->lat_us[r], u);
}

static uint64_t
load(const atomic_uint_least64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

uint64_t
met_get(enum met_counter c)
{
    uint64_t v = 0;

    if ((unsigned)c >= MET_COUNTERS)
        return 0;
    for (size_t i = 0; i < MET_SHARDS; i++)
        v += load(&shards[i].ctr[c]);
    return v;
}

/* ---- exposition ------------------------------------------------------------------------ */

/* A label value as the text format wants it: backslash, double quote and newline escaped. */
static int
put_label(struct buf *out, const char *v)
{
    int rc = GH_OK;

    for (const char *p = v; *p && rc == GH_OK; p++) {
        if (*p == '\\')
            rc = buf_add(out, "\\\\", 2);
        else if (*p == '"')
            rc = buf_add(out, "\\\"", 2);
        else if (*p == '\n')
            rc = buf_add(out, "\\n", 2);
        else
            rc = buf_add(out, p, 1);
    }
    return rc;
}

static int
family(struct buf *out, const char *name, const char *type, const char *help)
{
    return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} v — label NULL: no braces. */
static int
sample(struct buf *out, const char *name, const char *label, const char *value, uint64_t v)
{
    int rc = buf_addstr(out, name);

    if (rc == GH_OK && label) {
        if ((rc = buf_printf(out, "{%s=\"", label)) == GH_OK &&
            (rc = put_label(out, value)) == GH_OK)
            rc = buf_addstr(out, "\"}");
    }
    return rc == GH_OK ? buf_printf(out, " %" PRIu64 "\n", v) : rc;
}

struct labelled {
    enum met_counter c;
    const char *value;
};

static int
counter_family(struct buf *out, const char *name, const char *help, const char *label,
    const struct labelled *l, size_t n)
{
    int rc = family(out, name, "counter", help);

    for (size_t i = 0; i < n && rc == GH_OK; i++)
        rc = sample(out, name, label, l[i].value, met_get(l[i].c));
    return rc;
}

static void
code_name(size_t slot, char out[8])
{
    if (slot < NCODES)
        snprintf(out, 8, "%u", codes[slot]);
    else
        snprintf(out, 8, "%uxx", (unsigned)(slot - NCODES + 1));
}

static int
requests(struct buf *out)
{
    static const char n[] = "gatehouse_http_requests_total";
    int rc = family(out, n, "counter",
        "HTTP requests answered on the main listener, by route (the route table's path, or "
        "other) and status code (a class such as 4xx for codes not listed on their own).");

    for (size_t r = 0; r < ROUTE_SLOTS && rc == GH_OK; r++) {
        if (!route_name[r] || (r < nroutes && route_slot[r] != r))
            continue;
        for (size_t c = 0; c < CODE_SLOTS && rc == GH_OK; c++) {
            uint64_t v = 0;
            char code[8];

            for (size_t i = 0; i < MET_SHARDS; i++)
                v += load(&shards[i].req[r][c]);
            if (!v)
                continue;
            code_name(c, code);
            if ((rc = buf_printf(out, "%s{route=\"", n)) == GH_OK &&
                (rc = put_label(out, route_name[r])) == GH_OK)
                rc = buf_printf(out, "\",code=\"%s\"} %" PRIu64 "\n", code, v);
        }
    }
    return rc;
}

static int
latency(struct buf *out)
{
    static const char n[] = "gatehouse_http_request_duration_seconds";
    int rc = family(out, n, "histogram",
        "Time from reading the request line to the end of the response, by route.");

    for (size_t r = 0; r < ROUTE_SLOTS && rc == GH_OK; r++) {
        uint64_t b[BUCKETS] = { 0 }, sum_us = 0, cum = 0;

        if (!route_name[r] || (r < nroutes && route_slot[r] != r))
            continue;
        for (size_t i = 0; i < MET_SHARDS; i++) {
            for (size_t k = 0; k < BUCKETS; k++)
                b[k] += load(&shards[i].lat[r][k]);
            sum_us += load(&shards[i].lat_us[r]);
        }
        for (size_t k = 0; k < BUCKETS; k++)
            cum += b[k];
        if (!cum)
            continue;
        cum = 0;
        /* buckets are cumulative (le: "less than or equal"); +Inf equals _count */
        for (size_t k = 0; k < BUCKETS && rc == GH_OK; k++) {
            cum += b[k];
            if ((rc = buf_printf(out, "%s_bucket{route=\"", n)) == GH_OK &&
                (rc = put_label(out, route_name[r])) == GH_OK)
                rc = buf_printf(out, "\",le=\"%s\"} %" PRIu64 "\n",
                    k < NBOUNDS ? bucket_le[k] : "+Inf", cum);
        }
        if (rc == GH_OK && (rc = buf_printf(out, "%s_sum{route=\"", n)) == GH_OK &&
            (rc = put_label(out, route_name[r])) == GH_OK &&
            (rc = buf_printf(out, "\"} %" PRIu64 ".%06" PRIu64 "\n", sum_us / 1000000,
                 sum_us % 1000000)) == GH_OK &&
            (rc = buf_printf(out, "%s_count{route=\"", n)) == GH_OK &&
            (rc = put_label(out, route_name[r])) == GH_OK)
            rc = buf_printf(out, "\"} %" PRIu64 "\n", cum);
    }
    return rc;
}

int
met_render(struct buf *out, const struct met_gauges *g)
{
    static const struct labelled logins[] = {
        { MET_LOGIN_SUCCESS, "success" },
        { MET_LOGIN_FAILURE, "failure" },
        { MET_LOGIN_THROTTLED, "throttled" },
    };
    static const struct labelled tokens[] = {
        { MET_TOKEN_AUTHORIZATION_CODE, "authorization_code" },
        { MET_TOKEN_REFRESH_TOKEN, "refresh_token" },
        { MET_TOKEN_CLIENT_CREDENTIALS, "client_credentials" },
        { MET_TOKEN_JWT_BEARER, "urn:ietf:params:oauth:grant-type:jwt-bearer" },
        { MET_TOKEN_OTHER, "other" },
    };
    static const struct labelled limits[] = {
        { MET_LOGIN_THROTTLED, "login_throttle" },
        { MET_RATE_CLIENT_AUTH_IP, "client_auth_ip_failures" },
        { MET_RATE_CLIENT_RATE, "client_rate" },
    };
    static const struct labelled store[] = {
        { MET_STORE_LOCKED, "locked" },
        { MET_STORE_READONLY, "read_only" },
        { MET_STORE_FULL, "full" },
        { MET_STORE_IO, "io_error" },
        { MET_STORE_CORRUPT, "corrupt" },
        { MET_STORE_OTHER, "other" },
    };
    static const struct labelled reuse[] = { { MET_REFRESH_REUSE, NULL } };
    static const struct labelled audit[] = { { MET_AUDIT_WRITE_FAILURES, NULL } };
    int rc;

#define TRY(x)                   \
    do {                         \
        if ((rc = (x)) != GH_OK) \
            return rc;           \
    } while (0)
    TRY(family(out, "gatehouse_build_info", "gauge", "Always 1; the version is a label."));
    TRY(sample(out, "gatehouse_build_info", "version", version, 1));
    TRY(family(out, "process_start_time_seconds", "gauge",
        "Start time of the process since the Unix epoch, in seconds."));
    TRY(sample(out, "process_start_time_seconds", NULL, NULL, (uint64_t)start_time));
    TRY(requests(out));
    TRY(latency(out));
    TRY(family(out, "gatehouse_http_requests_in_flight", "gauge",
        "Requests read but not yet completely answered."));
    TRY(sample(out, "gatehouse_http_requests_in_flight", NULL, NULL, g->requests_in_flight));
    TRY(counter_family(out, "gatehouse_logins_total", "Password sign-ins by result (throttled: "
        "refused before the password was checked).", "result", logins, 3));
    TRY(counter_family(out, "gatehouse_tokens_issued_total", "Token responses issued, by "
        "grant_type.", "grant_type", tokens, 5));
    TRY(counter_family(out, "gatehouse_refresh_reuse_total", "Refresh tokens presented after "
        "rotation or revocation, or by another client; each revoked its token family.", NULL,
        reuse, 1));
    TRY(counter_family(out, "gatehouse_rate_limited_total", "Requests refused by a rate limit, "
        "by limit.", "limit", limits, 3));
    TRY(family(out, "gatehouse_password_hash_queue_depth", "gauge",
        "Jobs waiting for a worker thread: password checks (and jwks_uri key fetches)."));
    TRY(sample(out, "gatehouse_password_hash_queue_depth", NULL, NULL, g->hash_queue_depth));
    TRY(family(out, "gatehouse_password_hashes_in_flight", "gauge",
        "Jobs running on worker threads: password checks (and jwks_uri key fetches)."));
    TRY(sample(out, "gatehouse_password_hashes_in_flight", NULL, NULL, g->hash_in_flight));
    TRY(counter_family(out, "gatehouse_store_errors_total", "Failed database operations, by kind "
        "(other: not caused by the environment).", "kind", store, 6));
    TRY(counter_family(out, "gatehouse_audit_write_failures_total", "Audit log lines that could "
        "not be written.", NULL, audit, 1));
#undef TRY
    return GH_OK;
}
