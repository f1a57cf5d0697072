/* fuzz.h — the libFuzzer entry point every tests/fuzz/fuzz_<parser>.c defines (STYLE.md §9).
 * Built two ways: with clang -fsanitize=fuzzer for `make fuzz`, and linked with replay.c
 * (any compiler) so `make test` replays the committed corpus. */
#ifndef GH_TESTS_FUZZ_H
#define GH_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: report it and abort, so both libFuzzer and the replay see a crash. */
#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

#endif
