/* store_fault.c — storage faults seen by this process (store.h store_fault_now, store_impl.h
 * store_fault_note/_ok): the database locked by another process, read-only, out of space, an
 * I/O error, corruption. A backend reports each failed operation here with the kind it found;
 * this file turns a run of them into one episode with one `store_fault` log line for the
 * operator (at most one more per kind and minute while it lasts, however many requests fail:
 * a flood of identical lines would bury everything else), and one `store_recovered` line when
 * an operation of the kind that failed succeeds again. The CLI asks for the fault in force to
 * print one line saying what is wrong instead of "storage error".
 *
 * Not here: deciding what a backend error means (the backends do, they know their codes), or
 * retrying (callers answer 503 and the client retries). One state per process: a process
 * serves one database. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "util/clock.h"
#include "util/str.h"

#define REMIND_US (60 * 1000000LL)   /* at most one line per kind and minute */
#define FAULT_KINDS (STORE_FAULT_CORRUPT + 1)
_Static_assert(MET_STORE_CORRUPT - MET_STORE_LOCKED == STORE_FAULT_CORRUPT - STORE_FAULT_LOCKED,
    "the MET_STORE_* counters follow enum store_fault");

static const char *const kind_name[FAULT_KINDS] = {
    [STORE_FAULT_NONE] = "none",
    [STORE_FAULT_LOCKED] = "locked",
    [STORE_FAULT_READONLY] = "read_only",
    [STORE_FAULT_FULL] = "full",
    [STORE_FAULT_IO] = "io_error",
    [STORE_FAULT_CORRUPT] = "corrupt",
};

/* What the operator reads: what happened, then what to do. */
static const char *const kind_text[FAULT_KINDS] = {
    [STORE_FAULT_NONE] = "",
    [STORE_FAULT_LOCKED] = "the database is locked by another process (a write waited longer "
                           "than the busy timeout); writes answer 503 until it lets go: find "
                           "the process holding it (fuser DB) and end its transaction",
    [STORE_FAULT_READONLY] = "the database cannot be written (read-only file, directory or file "
                             "system, or the file was replaced); writes answer 503 until it is "
                             "writable again",
    [STORE_FAULT_FULL] = "the disk holding the database is full (or a quota or file size limit "
                         "was reached); writes answer 503 until space is freed",
    [STORE_FAULT_IO] = "I/O error on the database; check the disk and the kernel log",
    [STORE_FAULT_CORRUPT] = "the database is corrupt; stop gatehouse and run: gatehouse db check",
};

static struct {
    pthread_mutex_t mu;
    atomic_int active;               /* cur != NONE, read without the lock on every success */
    enum store_fault cur;
    bool cur_write;                  /* met by a write: only a write ends it */
    bool cur_logged;                 /* its line was written (else its end is not either) */
    int64_t since_us, last_line_us[FAULT_KINDS];
    unsigned long long failures;
    int code;
    char path[256];
    char detail[256];
    bool quiet;                      /* the CLI: no log lines, store_fault_now only */
} fs = { .mu = PTHREAD_MUTEX_INITIALIZER };

void
store_fault_log(bool on)
{
    fs.quiet = !on;
}

const char *
store_fault_name(enum store_fault kind)
{
    return (unsigned)kind < FAULT_KINDS ? kind_name[kind] : "unknown";
}

/* Caller holds fs.mu. */
static void
fault_line(const char *op, bool again)
{
    char p[LOG_ESC_SIZE], d[LOG_ESC_SIZE];
    int64_t secs = (clock_mono_us() - fs.since_us) / 1000000;

    fs.last_line_us[fs.cur] = clock_mono_us();
    fs.cur_logged = true;
    if (fs.quiet)
        return;
    if (again)
        log_err("store_fault", "kind=%s db=%s op=%s rc=%d msg=%s failures=%llu for=%llds: still "
            "failing: %s", kind_name[fs.cur], log_esc(fs.path, p), op, fs.code,
            log_esc(fs.detail, d), fs.failures, (long long)secs, kind_text[fs.cur]);
    else
        log_err("store_fault", "kind=%s db=%s op=%s rc=%d msg=%s: %s", kind_name[fs.cur],
            log_esc(fs.path, p), op, fs.code, log_esc(fs.detail, d), kind_text[fs.cur]);
}

void
store_fault_note(enum store_fault kind, bool write, const char *path, const char *op, int code,
    const char *detail)
{
    int64_t now = clock_mono_us();

    if (kind == STORE_FAULT_NONE || (unsigned)kind >= FAULT_KINDS)
        return;
    met_inc((enum met_counter)(MET_STORE_LOCKED + (kind - STORE_FAULT_LOCKED)));
    pthread_mutex_lock(&fs.mu);
    fs.code = code;
    (void)str_copy(fs.detail, sizeof(fs.detail), detail ? detail : "");   /* cut is fine */
    (void)str_copy(fs.path, sizeof(fs.path), path ? path : "");
    if (fs.cur == kind) {
        fs.failures++;
        fs.cur_write = fs.cur_write && write;
        if (now - fs.last_line_us[kind] >= REMIND_US)
            fault_line(op, fs.cur_logged);
    } else {
        /* a new episode; a kind that came and went within the minute (a disk at the edge of
         * full) is counted quietly and reported by the reminder if it stays */
        fs.cur = kind;
        fs.cur_write = write;
        fs.cur_logged = false;
        fs.since_us = now;
        fs.failures = 1;
        atomic_store(&fs.active, 1);
        if (fs.last_line_us[kind] == 0 || now - fs.last_line_us[kind] >= REMIND_US)
            fault_line(op, false);
    }
    pthread_mutex_unlock(&fs.mu);
}

void
store_fault_ok(bool write)
{
    char p[LOG_ESC_SIZE];

    if (!atomic_load_explicit(&fs.active, memory_order_relaxed))
        return;
    pthread_mutex_lock(&fs.mu);
    if (fs.cur != STORE_FAULT_NONE && (write || !fs.cur_write)) {
        if (fs.cur_logged && !fs.quiet)
            log_info("store_recovered", "kind=%s db=%s failures=%llu for=%llds: the database "
                "works again", kind_name[fs.cur], log_esc(fs.path, p), fs.failures,
                (long long)((clock_mono_us() - fs.since_us) / 1000000));
        fs.cur = STORE_FAULT_NONE;
        atomic_store(&fs.active, 0);
    }
    pthread_mutex_unlock(&fs.mu);
}

enum store_fault
store_fault_now(char *msg, size_t msgsz)
{
    enum store_fault k;
    char path[256];
    int n = 0;

    pthread_mutex_lock(&fs.mu);
    k = fs.cur;
    memcpy(path, fs.path, sizeof(path));
    pthread_mutex_unlock(&fs.mu);
    if (!msg || !msgsz)
        return k;
    switch (k) {
    case STORE_FAULT_NONE:
        n = snprintf(msg, msgsz, "%s", "");
        break;
    case STORE_FAULT_LOCKED:
        n = snprintf(msg, msgsz, "database %s is locked by another process; try again", path);
        break;
    case STORE_FAULT_READONLY:
        n = snprintf(msg, msgsz, "database %s is read-only (the file, its directory or the file "
            "system cannot be written)", path);
        break;
    case STORE_FAULT_FULL:
        n = snprintf(msg, msgsz, "the disk holding database %s is full (or a quota or file size "
            "limit was reached); free some space and try again", path);
        break;
    case STORE_FAULT_IO:
        n = snprintf(msg, msgsz, "I/O error on database %s; check the disk", path);
        break;
    case STORE_FAULT_CORRUPT:
        n = snprintf(msg, msgsz, "database %s is corrupt (see: gatehouse db check)", path);
        break;
    }
    if (n < 0)
        msg[0] = '\0';
    return k;
}
