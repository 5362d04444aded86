/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/common.h: what every module of libfastsnap shares: setting the
 * thread-local error, a growable string buffer, and small helpers.
 * Internal only; never installed.
 */
#ifndef FS_COMMON_H
#define FS_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "fastsnap.h"

#define FS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define FS_UNUSED(x) ((void)(x))

/* ---- errors (core/error.c) ---- */

/* Set the calling thread's last error to `code` and a formatted message;
 * returns `code` so that callers can write `return fs_err(...)`. */
int fs_err(int code, const char *fmt, ...) FS_PRINTF(2, 3);
/* Append "; <text>" to the current message, keeping its code (for
 * clean-up errors that must not mask the first one). */
void fs_err_append(const char *fmt, ...) FS_PRINTF(1, 2);
/* Prefix the current message with "<text>: ". */
void fs_err_prefix(const char *fmt, ...) FS_PRINTF(1, 2);
/* The calling thread's error, saved while clean-up runs (libgit2's
 * git_error_state_capture/_restore). Capture moves the error into `st` and
 * clears the thread's; restore puts it back, so clean-up calls that set
 * their own errors never replace the first one. */
#define FS_ERRMSG_MAX 2048
typedef struct {
	int code;
	char msg[FS_ERRMSG_MAX];
} fs_error_state;
void fs_error_state_capture(fs_error_state *st);
/* Restore; returns the saved code. */
int fs_error_state_restore(const fs_error_state *st);
/* Map a negative errno (as librados/librbd return) to a FASTSNAP_E* code. */
int fs_errno_to_code(int neg_errno);
/* Map an HTTP status (>= 400) to a FASTSNAP_E* code. */
int fs_http_status_to_code(long status);

/* Asks whether a run was canceled (non-zero: yes). */
typedef int (*fs_cancel_fn)(void *ctx);

/* ---- memory and strings (core/util.c) ---- */

char *fs_strdup(const char *s);               /* NULL-safe; NULL on OOM */
char *fs_strndup(const char *s, size_t n);
char *fs_asprintf(const char *fmt, ...) FS_PRINTF(1, 2);
char *fs_vasprintf(const char *fmt, va_list ap) FS_PRINTF(1, 0);
int fs_streq(const char *a, const char *b);    /* NULL-safe equality */
/* Trim spaces in place and return the start. */
char *fs_trim(char *s);
/* Does a name (a header name, an option) look like it carries a secret
 * (token, auth, secret, password, passwd, cookie, credential, key)? Then
 * its value is never logged or echoed. */
int fs_name_is_secret(const char *name, size_t len);
/* A printable copy of buf[0..len) for messages: control characters become
 * '?', and more than `max` bytes are cut with "...". `out` holds max + 4. */
const char *fs_printable(char *out, size_t max, const char *buf, size_t len);
/* A random (version 4) UUID, lower-case with dashes, into out[37]. */
int fs_uuid4(char out[37]);
/* Monotonic seconds. */
double fs_now(void);

typedef struct {
	char *ptr;
	size_t len;
	size_t cap;
	int oom;
} fs_buf;

#define FS_BUF_INIT { NULL, 0, 0, 0 }
int fs_buf_grow(fs_buf *b, size_t extra);
int fs_buf_put(fs_buf *b, const void *data, size_t len);
int fs_buf_puts(fs_buf *b, const char *s);
int fs_buf_printf(fs_buf *b, const char *fmt, ...) FS_PRINTF(2, 3);
/* Returns the string and leaves the buffer empty (caller frees). */
char *fs_buf_detach(fs_buf *b);
void fs_buf_free(fs_buf *b);
static inline const char *fs_buf_cstr(const fs_buf *b) { return b->ptr ? b->ptr : ""; }

/* A list of owned strings. */
typedef struct {
	char **v;
	size_t n;
	size_t cap;
} fs_strv;

#define FS_STRV_INIT { NULL, 0, 0 }
int fs_strv_push(fs_strv *sv, const char *s);  /* copies s */
void fs_strv_free(fs_strv *sv);

/* ---- logging (core/util.c) ---- */

typedef struct {
	fastsnap_log_cb cb;
	void *payload;
} fs_logger;

void fs_log(const fs_logger *lg, fastsnap_log_level lvl, const char *fmt, ...) FS_PRINTF(3, 4);

#endif
