/* log.h — one line per event on stderr (STYLE.md §8):
 *   2025-03-02T10:15:04Z info token_issued rid=7f3a client=shop
 * Each line is written with a single write(2), so lines from worker threads never interleave.
 * Client-supplied values must go through log_esc(). */
#ifndef GH_CORE_LOG_H
#define GH_CORE_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level lvl);          /* before threads start */
int  log_level_parse(const char *s, enum log_level *out); /* "err|warn|info|debug" */
const char *log_level_name(enum log_level lvl);          /* "err" … "debug" */
void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like log_msg, but between log_buffer_start() and log_buffer_stop() the line goes to a
 * per-thread buffer written when full or every interval_ms by a flusher thread (used for the
 * access log, where one write(2) per request costs a quarter of the request). Lines stay
 * whole; they may be up to interval_ms late and are lost if the process is killed. */
void log_buffered(enum log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* log_buffered with the fields already formatted (len bytes, no newline; cut at half a line):
 * the access log builds its line without printf. */
void log_buffered_fields(enum log_level lvl, const char *event, const char *fields, size_t len);
int  log_buffer_start(unsigned interval_ms);   /* GH_OK or GH_EINTERNAL (then lines go direct) */
/* A whole line (with its newline) for fd, buffered per thread and channel like the access log
 * (written at once when buffering is off). Channels: one per destination; fd must stay the
 * same for a channel until log_buffer_stop. */
enum { LOG_CH_LOG, LOG_CH_AUDIT, LOG_CHANNELS };
void log_buffered_line(unsigned ch, int fd, const char *line, size_t n);
void log_buffer_stop(void);                    /* after every writer stopped: flush, free */

#define LOG_LINE_MAX 2048

#define log_err(ev, ...)   log_msg(LOG_ERR, ev, __VA_ARGS__)
#define log_warn(ev, ...)  log_msg(LOG_WARN, ev, __VA_ARGS__)
#define log_info(ev, ...)  log_msg(LOG_INFO, ev, __VA_ARGS__)
#define log_debug(ev, ...) log_msg(LOG_DEBUG, ev, __VA_ARGS__)

/* Quote s for a log line: "..." with \" \\ \n \r \t \xNN escapes, cut to GH_LOG_FIELD_MAX
 * bytes of output (then ends in ..."). out must hold GH_LOG_FIELD_MAX + 8 bytes. Returns out. */
#define LOG_ESC_SIZE (128 + 8)
char *log_esc(const char *s, char *out);

#endif
