/* cli_pw.c — `gatehouse passwords calibrate`: measure Argon2id on this machine and suggest the
 * most memory-hard parameters that fit a time budget. Memory is preferred over passes (OWASP
 * Password Storage Cheat Sheet); p stays 1 so a login never spawns threads. Never suggests
 * less than the OWASP floor (m=19456 KiB, t=2). */
#include <stdio.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/limits.h"
#include "crypto/pw.h"
#include "util/str.h"

int
cli_passwords_calibrate(struct cli_ctx *ctx)
{
    static const uint32_t mems[] = { GH_ARGON2_M_FLOOR, 32768, 65536, 131072, 262144, 524288,
        1048576 };
    const char *ts = cli_opt(ctx, "target-ms"), *ms = cli_opt(ctx, "max-memory-kib");
    uint64_t target = 500, maxm = 262144;
    struct pw_params best = { GH_ARGON2_M_FLOOR, GH_ARGON2_T_FLOOR, 1 };
    double best_ms = 0;
    bool found = false;

    if (ts && str_to_u64(ts, 10, 60000, &target) != GH_OK)
        return cli_usage(ctx, "--target-ms must be a whole number from 10 to 60000");
    if (ms && str_to_u64(ms, GH_ARGON2_M_FLOOR, GH_ARGON2_M_MAX, &maxm) != GH_OK)
        return cli_usage(ctx, "--max-memory-kib must be from %d to %d", GH_ARGON2_M_FLOOR,
            GH_ARGON2_M_MAX);
    printf("Argon2id, p=1, target %llu ms per hash:\n", (unsigned long long)target);
    printf("  %12s %6s %10s\n", "memory KiB", "t", "ms");
    for (size_t i = 0; i < sizeof(mems) / sizeof(mems[0]) && mems[i] <= maxm; i++) {
        struct pw_params pp = { mems[i], GH_ARGON2_T_FLOOR, 1 };
        double t2 = 0, per_pass, est;
        uint32_t t;

        if (pw_measure_ms(&pp, 1, &t2) != GH_OK)
            return cli_fail(ctx, "hashing failed (out of memory?)");
        printf("  %12u %6u %10.1f\n", pp.m_kib, pp.t, t2);
        if (t2 > (double)target)
            break;
        per_pass = t2 / GH_ARGON2_T_FLOOR;
        t = (uint32_t)((double)target / per_pass);
        if (t > GH_ARGON2_T_MAX)
            t = GH_ARGON2_T_MAX;
        est = per_pass * t;
        /* prefer the largest memory that still affords at least 3 passes (t=3 is the default) */
        if (!found || t >= 3 || best.t < 3) {
            best.m_kib = pp.m_kib;
            best.t = t;
            best_ms = est;
            found = true;
        }
    }
    if (!found) {
        printf("Even the OWASP floor (m=%d KiB, t=%d) takes longer than %llu ms here.\n",
            GH_ARGON2_M_FLOOR, GH_ARGON2_T_FLOOR, (unsigned long long)target);
    } else {
        double check = 0;
        if (pw_measure_ms(&best, 3, &check) == GH_OK)
            best_ms = check;
        printf("\nSuggested (measured %.0f ms per hash; each concurrent login holds %u MiB):\n",
            best_ms, best.m_kib / 1024);
    }
    printf("  argon2_memory_kib = %u\n  argon2_iterations = %u\n  argon2_parallelism = %u\n",
        best.m_kib, best.t, best.p);
    return CLI_OK;
}
