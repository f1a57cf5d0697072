/* argon2_ceiling.c — how many Argon2id hashes per second this machine can compute with given
 * parameters, with nothing else running: the ceiling for first logins (each login costs exactly
 * one hash). N threads (default: one per online core) call libargon2's argon2id_hash_raw in a
 * loop for a fixed time; the program prints the hashes completed per second over all threads.
 * No HTTP, no database, no nice level: this is what gatehouse's worker pool could reach if
 * nothing else needed the CPU. bench/flows.sh compares first-login throughput with it.
 *
 *   argon2_ceiling [-m KIB] [-t ITERATIONS] [-p LANES] [-n THREADS] [-s SECONDS]
 *
 * Defaults m=19456 t=2 p=1 (OWASP's floor, what the reference numbers use), n = cores,
 * s = 5. Output, one line:
 *   hashes_per_s H threads N m M t T p P seconds S ms_per_hash X cpu_ms_per_hash Y
 * ms_per_hash is the wall time of one hash, cpu_ms_per_hash the CPU time it took (they differ
 * when something else on the machine wants the same cores). */
#include <argon2.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256

static uint32_t m_kib = 19456, t_cost = 2, lanes = 1;
static double seconds = 5.0;
static atomic_bool stop;

struct worker {
    pthread_t tid;
    unsigned long hashes;
    double busy_s; /* wall time spent inside argon2id_hash_raw */
    double cpu_s;  /* this thread's CPU time */
    int err;
};

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
thread_cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
work(void *arg)
{
    struct worker *w = arg;
    unsigned char salt[16], tag[32];
    char pw[32];
    unsigned long i = 0;

    double c0 = thread_cpu_s();

    memset(salt, 0x5a, sizeof(salt));
    while (!atomic_load(&stop)) {
        /* a different password each time, as different users would have */
        int n = snprintf(pw, sizeof(pw), "benchmark-password-%lu", i++);
        double t0 = now_s();
        int rc = argon2id_hash_raw(t_cost, m_kib, lanes, pw, (size_t)n, salt, sizeof(salt), tag,
            sizeof(tag));

        if (rc != ARGON2_OK) {
            w->err = rc;
            break;
        }
        w->busy_s += now_s() - t0;
        w->hashes++;
    }
    w->cpu_s = thread_cpu_s() - c0;
    return NULL;
}

static int
parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int
main(int argc, char **argv)
{
    static struct worker w[MAX_THREADS];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    uint32_t nthreads = (uint32_t)(cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : cores);
    uint32_t secs_ms = 5000;
    unsigned long total = 0;
    double t0, elapsed, busy = 0, cpu = 0;
    int opt;

    while ((opt = getopt(argc, argv, "m:t:p:n:s:")) != -1) {
        int bad = 0;
        switch (opt) {
        case 'm': bad = parse_u32(optarg, 8, 4194304, &m_kib); break;
        case 't': bad = parse_u32(optarg, 1, 64, &t_cost); break;
        case 'p': bad = parse_u32(optarg, 1, 16, &lanes); break;
        case 'n': bad = parse_u32(optarg, 1, MAX_THREADS, &nthreads); break;
        case 's': {
            uint32_t s;
            bad = parse_u32(optarg, 1, 60, &s);
            secs_ms = s * 1000;
            break;
        }
        default: bad = -1;
        }
        if (bad) {
            fprintf(stderr, "usage: %s [-m KIB] [-t ITERATIONS] [-p LANES] [-n THREADS] "
                            "[-s SECONDS]\n", argv[0]);
            return 2;
        }
    }
    seconds = secs_ms / 1000.0;
    t0 = now_s();
    for (uint32_t i = 0; i < nthreads; i++) {
        if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0) {
            fprintf(stderr, "argon2_ceiling: pthread_create failed\n");
            return 1;
        }
    }
    struct timespec ts = { .tv_sec = (time_t)(secs_ms / 1000),
                           .tv_nsec = (long)(secs_ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    atomic_store(&stop, true);
    for (uint32_t i = 0; i < nthreads; i++) {
        pthread_join(w[i].tid, NULL);
        if (w[i].err) {
            fprintf(stderr, "argon2_ceiling: %s\n", argon2_error_message(w[i].err));
            return 1;
        }
        total += w[i].hashes;
        busy += w[i].busy_s;
        cpu += w[i].cpu_s;
    }
    /* hashes still running when the time was up finish before the join; count the time they
     * took too, so the rate is completed hashes over the time it really took */
    elapsed = now_s() - t0;
    printf("hashes_per_s %.1f threads %u m %u t %u p %u seconds %.2f ms_per_hash %.1f "
           "cpu_ms_per_hash %.1f\n",
        (double)total / elapsed, nthreads, m_kib, t_cost, lanes, elapsed,
        total ? busy * 1000.0 / (double)total : 0.0, total ? cpu * 1000.0 / (double)total : 0.0);
    return 0;
}
