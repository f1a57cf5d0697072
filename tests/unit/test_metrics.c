/* test_metrics.c — core/metrics: counts from many threads add up exactly (relaxed atomics on
 * per-thread shards lose nothing), and the exposition is valid Prometheus text format 0.0.4:
 * HELP and TYPE before a family's samples, counters end in _total, histogram buckets are
 * cumulative and end in +Inf == _count, label values escaped, route labels bounded. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/metrics.h"
#include "util/buf.h"

#include "t.h"

#define THREADS 8
#define PER_THREAD 20000

/* route 2 repeats route 0's path: one series; route 3 needs escaping */
static const char *const routes[] = { "/token", "/authorize", "/token", "/we\"ird\\path\n" };

static char *
render(void)
{
    struct met_gauges g = { .requests_in_flight = 3, .hash_queue_depth = 2, .hash_in_flight = 1 };
    struct buf b;

    buf_init(&b, 1 << 20);
    if (met_render(&b, &g) != GH_OK) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

/* The value of the sample line that starts with exactly prefix + ' ' ; -1 if none. */
static long long
value_of(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);

    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
        p = nl ? nl + 1 : NULL;
    }
    return -1;
}

static void *
hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        met_inc(MET_LOGIN_FAILURE);
        met_token_issued("client_credentials");
        met_request(0, 200, 300);            /* /token, bucket le=0.0005 */
        met_request(1, 302, 3000 + i % 3);   /* /authorize, bucket le=0.005 */
    }
    return NULL;
}

static void
test_concurrent_increments_from_threads_add_up_exactly(void)
{
    pthread_t th[THREADS];
    uint64_t f0 = met_get(MET_LOGIN_FAILURE), t0 = met_get(MET_TOKEN_CLIENT_CREDENTIALS);
    char *text;

    for (int i = 0; i < THREADS; i++)
        T_ASSERT(pthread_create(&th[i], NULL, hammer, NULL) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    T_EQ_INT(met_get(MET_LOGIN_FAILURE) - f0, THREADS * PER_THREAD);
    T_EQ_INT(met_get(MET_TOKEN_CLIENT_CREDENTIALS) - t0, THREADS * PER_THREAD);
    text = render();
    T_ASSERT(text);
    /* the first test to count requests: totals are exact */
    T_EQ_INT(value_of(text, "gatehouse_http_requests_total{route=\"/token\",code=\"200\"}"),
        THREADS * PER_THREAD);
    T_EQ_INT(value_of(text, "gatehouse_http_request_duration_seconds_count{route=\"/authorize\"}"),
        THREADS * PER_THREAD);
    T_EQ_INT(value_of(text,
                 "gatehouse_http_request_duration_seconds_bucket{route=\"/authorize\",le=\"0.0025\"}"),
        0);
    T_EQ_INT(value_of(text,
                 "gatehouse_http_request_duration_seconds_bucket{route=\"/authorize\",le=\"0.005\"}"),
        THREADS * PER_THREAD);
    T_EQ_INT(value_of(text, "gatehouse_tokens_issued_total{grant_type=\"client_credentials\"}"),
        (long long)met_get(MET_TOKEN_CLIENT_CREDENTIALS));
    free(text);
}

static void
test_routes_outside_the_table_count_as_other_and_repeats_share_a_series(void)
{
    char *text;

    met_request(999, 404, 10);
    met_request(4, 404, 10);          /* one past the named routes */
    met_request(2, 201, 10);          /* "/token" again */
    met_request(3, 499, 10);          /* a code not listed: its class */
    met_request(0, 0, 10);            /* no response: not counted */
    text = render();
    T_ASSERT(text);
    T_EQ_INT(value_of(text, "gatehouse_http_requests_total{route=\"other\",code=\"404\"}"), 2);
    T_EQ_INT(value_of(text, "gatehouse_http_requests_total{route=\"/token\",code=\"201\"}"), 1);
    T_EQ_INT(value_of(text,
                 "gatehouse_http_requests_total{route=\"/we\\\"ird\\\\path\\n\",code=\"4xx\"}"), 1);
    T_ASSERT(!strstr(text, "code=\"0\""));
    /* the repeated path has no second series */
    {
        int n = 0;
        for (const char *p = text; (p = strstr(p, "_count{route=\"/token\"}")); p++)
            n++;
        T_EQ_INT(n, 1);
    }
    free(text);
}

/* Every line is a HELP, a TYPE, or a sample of the family announced last; names and label sets
 * are well formed; counters end in _total; histogram buckets are cumulative with le ascending
 * and +Inf equal to _count. */
static void
test_exposition_is_valid_text_format(void)
{
    char *text = render(), *save = NULL;
    char family[128] = "", type[16] = "";
    long long last_bucket = -1, inf = -1;
    double last_le = -1;
    int samples = 0;

    T_ASSERT(text);
    T_ASSERT(text[strlen(text) - 1] == '\n');
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[128];
        size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz_:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");

        if (strncmp(line, "# HELP ", 7) == 0) {
            T_ASSERT(sscanf(line + 7, "%127s", family) == 1);
            T_ASSERT(strlen(line) > 8 + strlen(family));
            type[0] = '\0';
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            T_ASSERT(sscanf(line + 7, "%127s %15s", name, type) == 2);
            T_EQ_STR(name, family);
            T_ASSERT(!strcmp(type, "counter") || !strcmp(type, "gauge") ||
                     !strcmp(type, "histogram"));
            if (!strcmp(type, "counter"))
                T_ASSERT(strlen(family) > 6 && !strcmp(family + strlen(family) - 6, "_total"));
            continue;
        }
        T_ASSERT(line[0] != '#' && n > 0 && n < sizeof(name));
        T_ASSERT(type[0]);   /* HELP and TYPE came first */
        memcpy(name, line, n);
        name[n] = '\0';
        if (!strcmp(type, "histogram")) {
            size_t fl = strlen(family);
            T_ASSERT(strncmp(name, family, fl) == 0);
            T_ASSERT(!strcmp(name + fl, "_bucket") || !strcmp(name + fl, "_sum") ||
                     !strcmp(name + fl, "_count"));
            if (!strcmp(name + fl, "_bucket")) {
                const char *le = strstr(line, "le=\"");
                long long v = strtoll(strrchr(line, ' ') + 1, NULL, 10);
                double lev;
                T_ASSERT(le);
                lev = strncmp(le + 4, "+Inf", 4) == 0 ? 1e300 : strtod(le + 4, NULL);
                if (last_le >= 0 && lev > last_le) {
                    T_ASSERT(v >= last_bucket);   /* cumulative */
                }
                last_le = lev;
                last_bucket = v;
                if (lev == 1e300) {
                    inf = v;
                    last_le = -1;
                }
            } else if (!strcmp(name + fl, "_count")) {
                T_EQ_INT(strtoll(strrchr(line, ' ') + 1, NULL, 10), inf);
            }
        } else {
            T_EQ_STR(name, family);
        }
        /* labels: {k="v",...} with only \\, \" and \n escapes inside values */
        if (line[n] == '{') {
            const char *p = line + n + 1;
            for (;;) {
                size_t k = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
                T_ASSERT(k > 0 && p[k] == '=' && p[k + 1] == '"');
                p += k + 2;
                while (*p != '"') {
                    T_ASSERT(*p);
                    if (*p == '\\') {
                        T_ASSERT(p[1] == '\\' || p[1] == '"' || p[1] == 'n');
                        p++;
                    }
                    p++;
                }
                p++;
                if (*p == ',') {
                    p++;
                    continue;
                }
                T_ASSERT(*p == '}');
                n = (size_t)(p + 1 - line);
                break;
            }
        }
        T_ASSERT(line[n] == ' ');
        {
            char *end;
            (void)strtod(line + n + 1, &end);
            T_ASSERT(end != line + n + 1 && *end == '\0');
        }
        samples++;
    }
    T_ASSERT(samples > 20);
    free(text);
}

static void
test_gauges_build_info_and_fixed_label_sets(void)
{
    char *text = render();

    T_ASSERT(text);
    T_EQ_INT(value_of(text, "gatehouse_build_info{version=\"9.9.9\"}"), 1);
    T_EQ_INT(value_of(text, "gatehouse_http_requests_in_flight"), 3);
    T_EQ_INT(value_of(text, "gatehouse_password_hash_queue_depth"), 2);
    T_EQ_INT(value_of(text, "gatehouse_password_hashes_in_flight"), 1);
    T_ASSERT(value_of(text, "process_start_time_seconds") > 1600000000);
    /* every label of a closed set is there from the start, zero or not */
    T_ASSERT(value_of(text, "gatehouse_logins_total{result=\"throttled\"}") >= 0);
    T_ASSERT(value_of(text, "gatehouse_rate_limited_total{limit=\"client_rate\"}") >= 0);
    T_ASSERT(value_of(text, "gatehouse_store_errors_total{kind=\"corrupt\"}") >= 0);
    met_inc(MET_LOGIN_THROTTLED);
    free(text);
    text = render();
    /* a throttled sign-in is a login result and a rate-limit trip */
    T_EQ_INT(value_of(text, "gatehouse_logins_total{result=\"throttled\"}"), 1);
    T_EQ_INT(value_of(text, "gatehouse_rate_limited_total{limit=\"login_throttle\"}"), 1);
    met_inc(MET_COUNTERS);   /* out of range: ignored */
    free(text);
}

static void
test_a_full_buffer_is_refused_not_cut(void)
{
    struct met_gauges g = { 0 };
    struct buf b;

    buf_init(&b, 256);
    T_EQ_INT(met_render(&b, &g), GH_ETOOBIG);
    buf_free(&b);
}

int
main(void)
{
    t_prog = "metrics";
    met_init("9.9.9");
    met_routes(routes, sizeof(routes) / sizeof(routes[0]));
    T_RUN(test_concurrent_increments_from_threads_add_up_exactly);
    T_RUN(test_routes_outside_the_table_count_as_other_and_repeats_share_a_series);
    T_RUN(test_exposition_is_valid_text_format);
    T_RUN(test_gauges_build_info_and_fixed_label_sets);
    T_RUN(test_a_full_buffer_is_refused_not_cut);
    return t_done();
}
