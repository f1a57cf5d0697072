/* metrics.h — process-wide counters and latency histograms for GET /metrics (STYLE.md §8:
 * counters are named after the events the audit log and the log already record). Updating is
 * a few relaxed atomic adds on one of MET_SHARDS cache-line-aligned shards picked per thread:
 * no lock, no allocation, nothing the hot path waits for. A scrape sums the shards and writes
 * the Prometheus text exposition format 0.0.4 (met_render); it is the only part that allocates.
 * Values are cumulative since the process started (counters never go down). */
#ifndef GH_CORE_METRICS_H
#define GH_CORE_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* Single counters. The order of the MET_STORE_* block follows enum store_fault (store.h,
 * checked there), plus one for backend errors that are not a fault of the environment. */
enum met_counter {
    MET_LOGIN_SUCCESS = 0,      /* gatehouse_logins_total{result="success"} */
    MET_LOGIN_FAILURE,          /* {result="failure"}: wrong password, unknown or disabled user */
    MET_LOGIN_THROTTLED,        /* {result="throttled"}; also rate_limited{limit="login_throttle"} */
    MET_TOKEN_AUTHORIZATION_CODE, /* gatehouse_tokens_issued_total{grant_type=...} */
    MET_TOKEN_REFRESH_TOKEN,
    MET_TOKEN_CLIENT_CREDENTIALS,
    MET_TOKEN_JWT_BEARER,
    MET_TOKEN_OTHER,
    MET_REFRESH_REUSE,          /* a rotated/revoked refresh token (or another client's) shown */
    MET_RATE_CLIENT_AUTH_IP,    /* 429: client_auth_ip_failures */
    MET_RATE_CLIENT_RATE,       /* 429: client_rate */
    MET_STORE_LOCKED,           /* gatehouse_store_errors_total{kind=...}: failed operations */
    MET_STORE_READONLY,
    MET_STORE_FULL,
    MET_STORE_IO,
    MET_STORE_CORRUPT,
    MET_STORE_OTHER,            /* a backend error that is not the environment's (a bug...) */
    MET_AUDIT_WRITE_FAILURES,   /* audit lines lost (core/audit.c) */
    MET_COUNTERS
};

#define MET_MAX_ROUTES 31   /* route slots; slot n (after the last route) is "other" */

/* The values a scrape reads from the server at that moment (gauges). */
struct met_gauges {
    uint64_t requests_in_flight;   /* requests between reading the request line and completion */
    uint64_t hash_queue_depth;     /* deferred jobs waiting (password hashes, key fetches) */
    uint64_t hash_in_flight;       /* deferred jobs running on worker threads */
};

/* Record the version for gatehouse_build_info and the start time (clock_now()) for
 * process_start_time_seconds. Call once before threads start; version is borrowed (a literal). */
void met_init(const char *version);
/* Name the route slots: names[i] (borrowed, e.g. the route table's paths) labels slot i; slots
 * whose name repeats an earlier one share its series. n > MET_MAX_ROUTES: the rest are "other".
 * Call before threads start. */
void met_routes(const char *const *names, size_t n);
/* Add one to c (out-of-range c is ignored). */
void met_inc(enum met_counter c);
/* token issued: grant_type as sent ("authorization_code", "refresh_token", "client_credentials",
 * "urn:ietf:params:oauth:grant-type:jwt-bearer"; anything else counts as "other"). */
void met_token_issued(const char *grant_type);
/* One finished request: route slot (>= the routes named: "other"), HTTP status (0: no response
 * was sent; not counted), and its duration in microseconds. */
void met_request(size_t route, unsigned status, int64_t us);
/* Current total of counter c over all shards (tests, the exposition). */
uint64_t met_get(enum met_counter c);
/* Append the whole exposition (text format 0.0.4) to out. GH_OK, or GH_ETOOBIG when out's
 * ceiling was reached (out is then emptied by buf_add). */
int  met_render(struct buf *out, const struct met_gauges *g);

#endif
