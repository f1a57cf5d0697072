/* fuzz_cfg.c — the `key = value` config file reader (core/cfg.c, cfg_load_file), then the
 * cross-field checks. One temporary file is created per process and rewritten per input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/err.h"
#include "fuzz.h"

static char path[64];

static void
cleanup(void)
{
    if (path[0])
        unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg c;
    char err[512];
    FILE *f;
    int rc;

    if (!path[0]) {
        const char *tmp = getenv("TMPDIR");
        int fd;

        snprintf(path, sizeof(path), "%s/gh-fuzz-cfg-XXXXXX",
            tmp && strlen(tmp) < 40 ? tmp : "/tmp");
        if ((fd = mkstemp(path)) < 0) {
            perror("fuzz_cfg: mkstemp");
            abort();
        }
        close(fd);
        atexit(cleanup);
    }
    if (!(f = fopen(path, "wb")) || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror("fuzz_cfg: write");
        abort();
    }

    cfg_defaults(&c);
    err[0] = '\0';
    rc = cfg_load_file(&c, path, err, sizeof(err));
    FUZZ_CHECK(rc == GH_OK || err[0] != '\0');
    if (rc == GH_OK)
        (void)cfg_validate(&c, err, sizeof(err));
    cfg_free(&c);
    return 0;
}
