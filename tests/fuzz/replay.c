/* replay.c — run one fuzz target's LLVMFuzzerTestOneInput over every file of a corpus
 * directory, with any compiler, so `make test` (and the asan build) catches a regression
 * seed without libFuzzer. Usage: test_fuzz_<name> [DIR]; DIR defaults to FUZZ_CORPUS.
 * Prints "fuzz <name>: N inputs replayed" and a line tests/run.sh counts; a crash or
 * sanitizer report ends the process with a non-zero status. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#define FUZZ_NAME "unknown"
#endif
#ifndef FUZZ_CORPUS
#define FUZZ_CORPUS "tests/fuzz/corpus/" FUZZ_NAME
#endif

static int
cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read path into an exact-size heap copy so ASan sees any read past the end. */
static int
replay_one(const char *path)
{
    struct stat st;
    unsigned char *data;
    size_t got;
    FILE *f;

    if (!(f = fopen(path, "rb")) || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        if (f)
            fclose(f);
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    data = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    if (!data) {
        fclose(f);
        return -1;
    }
    got = fread(data, 1, (size_t)st.st_size, f);
    fclose(f);
    if (got != (size_t)st.st_size) {
        free(data);
        fprintf(stderr, "replay: short read on %s\n", path);
        return -1;
    }
    fprintf(stderr, "replay: %s\n", path);
    LLVMFuzzerTestOneInput(data, got);
    free(data);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : FUZZ_CORPUS;
    char **names = NULL, path[4096];
    size_t n = 0, cap = 0, done = 0, bad = 0;
    struct dirent *e;
    DIR *d;

    if (!(d = opendir(dir))) {
        perror(dir);
        printf("unit fuzz_%s: 0 passed, 1 failed\n", FUZZ_NAME);
        return 1;
    }
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));
            if (!nn)
                abort();
            names = nn;
        }
        if (!(names[n++] = strdup(e->d_name)))
            abort();
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp);  /* a stable order for reproducible logs */
    for (size_t i = 0; i < n; i++) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= sizeof(path)
            || replay_one(path) != 0)
            bad++;
        else
            done++;
        free(names[i]);
    }
    free(names);
    printf("fuzz %s: %zu inputs replayed\n", FUZZ_NAME, done);
    if (bad || done == 0) {
        printf("unit fuzz_%s: 0 passed, 1 failed (%zu unreadable, %zu replayed)\n", FUZZ_NAME,
            bad, done);
        return 1;
    }
    printf("unit fuzz_%s: 1 passed, 0 failed\n", FUZZ_NAME);
    return 0;
}
