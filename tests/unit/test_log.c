/* test_log.c — core/log: buffered access-log lines from many threads arrive whole, all of them,
 * once log_buffer_stop() returns; unbuffered lines are written at once. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "t.h"

#define THREADS 4
#define LINES 2000

static char path[] = "/tmp/gh-test-log-XXXXXX";
static int saved_stderr = -1;

static void
capture(void)
{
    int fd = mkstemp(path);

    saved_stderr = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
}

static char *
release(size_t *len)
{
    FILE *f;
    char *text;
    long n;

    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    f = fopen(path, "r");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    if (fread(text, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    fclose(f);
    unlink(path);
    memcpy(path + strlen(path) - 6, "XXXXXX", 6);
    *len = (size_t)n;
    return text;
}

static void *
writer(void *arg)
{
    long id = (long)arg;

    for (int i = 0; i < LINES; i++)
        log_buffered(LOG_INFO, "http", "thread=%ld seq=%d pad=%s", id, i,
            "................................................");
    return NULL;
}

static void
test_buffered_lines_arrive_whole_and_all(void)
{
    pthread_t th[THREADS];
    size_t len, lines = 0;
    char *text, *p;
    int seen[THREADS] = { 0 };

    capture();
    T_EQ_INT(log_buffer_start(60000), GH_OK); /* the flusher never fires: only full buffers */
    for (long i = 0; i < THREADS; i++)
        pthread_create(&th[i], NULL, writer, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    log_buffer_stop();
    text = release(&len);
    for (p = text; *p; lines++) {
        char *nl = strchr(p, '\n');
        long id;
        int seq;
        T_ASSERT(nl != NULL);
        *nl = '\0';
        T_ASSERT(strstr(p, " info http thread=") != NULL);
        T_ASSERT(sscanf(strstr(p, "thread="), "thread=%ld seq=%d", &id, &seq) == 2);
        T_ASSERT(id >= 0 && id < THREADS);
        T_EQ_INT(seq, seen[id]); /* each thread's lines in order, none lost or torn */
        seen[id]++;
        p = nl + 1;
    }
    T_EQ_INT(lines, THREADS * LINES);
    free(text);
}

static void
test_unbuffered_when_not_started(void)
{
    size_t len;
    char *text;

    capture();
    log_buffered(LOG_INFO, "http", "direct=%d", 1);
    log_msg(LOG_DEBUG, "hidden", "x"); /* below the level: nothing */
    text = release(&len);
    T_ASSERT(strstr(text, " info http direct=1\n") != NULL);
    T_ASSERT(strstr(text, "hidden") == NULL);
    free(text);
}

static void
test_restart_after_stop_uses_a_fresh_buffer(void)
{
    size_t len;
    char *text;

    capture();
    T_EQ_INT(log_buffer_start(60000), GH_OK);
    log_buffered(LOG_INFO, "http", "round=%d", 1);
    log_buffer_stop();   /* frees this thread's buffer */
    T_EQ_INT(log_buffer_start(60000), GH_OK);
    log_buffered(LOG_INFO, "http", "round=%d", 2); /* must not write into the freed one */
    log_buffer_stop();
    text = release(&len);
    T_ASSERT(strstr(text, "round=1\n") != NULL);
    T_ASSERT(strstr(text, "round=2\n") != NULL);
    free(text);
}

int
main(void)
{
    t_init("log");
    T_RUN(test_buffered_lines_arrive_whole_and_all);
    T_RUN(test_unbuffered_when_not_started);
    T_RUN(test_restart_after_stop_uses_a_fresh_buffer);
    return t_done();
}
