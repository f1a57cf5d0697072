/* t.h — the unit-test harness: one binary per module, each test a static void function.
 *   static void test_x(void) { T_ASSERT(1 + 1 == 2); T_EQ_STR(s, "a"); T_EQ_INT(rc, GH_OK); }
 *   int main(void) { T_RUN(test_x); return t_done(); }
 * A failed assertion reports file:line and ends that test; t_done() prints
 * "unit <binary>: N passed, N failed" and returns non-zero if anything failed.
 * T_ONLY=name runs one test. */
#ifndef GH_TESTS_T_H
#define GH_TESTS_T_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_passed, t_failed;
static jmp_buf t_jmp;
static const char *t_prog = "test";

#define T_FAIL_(...)                                                     \
    do {                                                                 \
        fprintf(stderr, "  FAIL %s:%d: ", __FILE__, __LINE__);           \
        fprintf(stderr, __VA_ARGS__);                                    \
        fputc('\n', stderr);                                             \
        longjmp(t_jmp, 1);                                               \
    } while (0)

#define T_ASSERT(c)                                                      \
    do {                                                                 \
        if (!(c))                                                        \
            T_FAIL_("%s", #c);                                           \
    } while (0)

#define T_EQ_INT(a, b)                                                   \
    do {                                                                 \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);          \
        if (t_a_ != t_b_)                                                \
            T_FAIL_("%s == %s (%lld != %lld)", #a, #b, t_a_, t_b_);      \
    } while (0)

#define T_EQ_STR(a, b)                                                   \
    do {                                                                 \
        const char *t_a_ = (a), *t_b_ = (b);                             \
        if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0)                   \
            T_FAIL_("%s == %s (\"%s\" != \"%s\")", #a, #b,               \
                t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");         \
    } while (0)

#define T_RUN(fn)                                                        \
    do {                                                                 \
        const char *t_only_ = getenv("T_ONLY");                          \
        if (t_only_ && strcmp(t_only_, #fn) != 0)                        \
            break;                                                       \
        if (setjmp(t_jmp) == 0) {                                        \
            fn();                                                        \
            t_passed++;                                                  \
            if (getenv("T_VERBOSE"))                                     \
                fprintf(stderr, "  ok   %s\n", #fn);                     \
        } else {                                                         \
            t_failed++;                                                  \
            fprintf(stderr, "  FAIL %s\n", #fn);                         \
        }                                                                \
    } while (0)

static inline void
t_init(const char *prog)
{
    t_prog = prog;
}

static inline int
t_done(void)
{
    printf("unit %s: %d passed, %d failed\n", t_prog, t_passed, t_failed);
    return t_failed ? 1 : 0;
}

#endif
