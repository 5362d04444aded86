/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/http.h: the libcurl wrapper every HTTP client of fastsnap uses
 * (Glance, Keystone). One fs_http owns one CURL easy handle, reused across
 * requests so that the connection is kept alive. It does timeouts, TLS,
 * safe retries with exponential backoff, a cap on response bodies, header
 * validation (core/header.h) and logging with secrets redacted.
 */
#ifndef FS_HTTP_H
#define FS_HTTP_H

#include <stdint.h>
#include <sys/types.h>

#include "core/common.h"

/* Response bodies above this are refused with FASTSNAP_ETOOLARGE. */
#define FS_HTTP_BODY_CAP (4u * 1024u * 1024u)
/* Default overall deadline of one call (retries included), seconds. */
#define FS_HTTP_DEFAULT_DEADLINE_S 120L

typedef struct fs_http fs_http;

/* An engine's HTTP pool, shared by the clients of all its runs (and their
 * threads): idle easy handles, each keeping its kept-alive connections,
 * handed to the next client (so N runs through one engine reuse their
 * connections), and a curl share of the DNS cache and TLS sessions, locked
 * per data kind. Not curl's shared connection cache: libcurl lists it as
 * not thread-safe (docs/architecture.md, "Threads and output"). No lock is
 * held across a network call. */
typedef struct fs_http_pool fs_http_pool;
int fs_http_pool_new(fs_http_pool **out);
/* After every client that used it is freed. */
void fs_http_pool_free(fs_http_pool *p);
/* Handles created and handed out again (for tests). */
void fs_http_pool_stats(fs_http_pool *p, unsigned long *created, unsigned long *reused);

typedef struct {
	long connect_timeout_ms;  /* <= 0: 10000 */
	long low_speed_time_s;    /* <= 0: 60 (abort below 1 byte/s for this long) */
	int num_retries;          /* < 0: 0 */
	long retry_base_ms;       /* first backoff delay; <= 0: 1000 */
	/* Overall limit of one call, its retries and back-off included, in
	 * seconds; <= 0: FS_HTTP_DEFAULT_DEADLINE_S. A call with a streamed
	 * body (an upload) is bounded by the low-speed limit instead. */
	long deadline_s;
	const char *ca_file;
	const char *client_cert;
	const char *client_key;
	int insecure;
	fs_http_pool *pool;       /* NULL: a handle of its own */
} fs_http_opts;

/* A streamed request body (the one reader type of the HTTP layer and of
 * Glance's upload): fill up to len bytes; return bytes (> 0), 0 at the end,
 * or a negative FASTSNAP_E* code (its message already set) to abort. */
typedef ssize_t (*fs_read_fn)(void *ctx, char *buf, size_t len);
/* Start again from byte 0; NULL if the source cannot rewind. */
typedef int (*fs_rewind_fn)(void *ctx);

typedef struct {
	const char *method;           /* GET, POST, PUT, PATCH, DELETE, HEAD */
	const char *url;              /* absolute */
	const char *log_name;         /* how errors name the request, e.g. "Glance GET /v2/images/x" */
	/* Headers "Name: value" for this request (validated by fs_header_check). */
	const char *const *headers;
	size_t n_headers;
	/* A small in-memory body (POST/PATCH), or NULL. */
	const char *body;
	size_t body_len;
	/* Or a streamed body of exactly upload_len bytes (PUT). */
	fs_read_fn read;
	fs_rewind_fn rewind;          /* NULL: the body cannot be sent twice */
	void *read_ctx;
	uint64_t upload_len;
	/* Retry on 503 and connection errors (only for idempotent requests). */
	int retry;
	/* Keep the value of this response header (e.g. "X-Subject-Token"). */
	const char *capture_header;
} fs_http_req;

typedef struct {
	long status;                  /* 0: no response */
	fs_buf body;
	char *captured;               /* value of req.capture_header, or NULL */
	char *content_type;           /* or NULL */
	int attempts;                 /* requests sent, retries included */
} fs_http_resp;

int fs_http_new(fs_http **out, const fs_http_opts *o, const fs_logger *lg);
void fs_http_free(fs_http *h);
/* A client of its own (its own easy handle) with h's options, secrets,
 * logger and cancel function: for a call made on another thread while h
 * is in use. */
int fs_http_clone(fs_http **out, const fs_http *h);

/* Strings that must never appear in a log line or an error message (a
 * token, a password, a secret). Each occurrence is replaced by "***". */
int fs_http_add_secret(fs_http *h, const char *secret);
/* Forget a secret registered before (e.g. a replaced token). */
void fs_http_remove_secret(fs_http *h, const char *secret);

/* Perform a request. Returns 0 when a response was received, whatever its
 * status (resp->status), or a negative code: FASTSNAP_ETRANSPORT,
 * FASTSNAP_ETIMEOUT, FASTSNAP_ETOOLARGE (body above the cap), FASTSNAP_EINVAL
 * (a header with CR/LF), or the reader's own code. Retries (503, connection
 * errors, timeouts) happen inside when req->retry is set and time remains
 * before the call's deadline; a request without a streamed body never runs
 * past the deadline, and then fails with FASTSNAP_ETIMEOUT "<log_name>: no
 * answer within the N s call deadline ...". resp is reset first; free it
 * with fs_http_resp_free in every case. */
int fs_http_do(fs_http *h, fs_http_resp *resp, const fs_http_req *req);
void fs_http_resp_free(fs_http_resp *r);

/* Set the error for a response with status >= 400: code from the status,
 * message "<log_name>: <status> <server's message>", secrets redacted.
 * Returns the code. */
int fs_http_status_error(fs_http *h, const fs_http_resp *r, const char *log_name);

/* The error for a response whose status the caller did not expect: a
 * status >= 400 as fs_http_status_error, anything else FASTSNAP_EPROTOCOL
 * "<log_name>: unexpected status <N> from <peer>". Returns the code. */
int fs_http_unexpected_status(fs_http *h, const fs_http_resp *r, const char *log_name,
	const char *peer);

struct cJSON;
/* Parse a JSON response body. An empty body or malformed JSON gives
 * FASTSNAP_EPROTOCOL "<what>: empty response body" / "<what>: malformed
 * JSON (<len> bytes)"; *out is NULL then. No I/O. */
int fs_http_json_body(struct cJSON **out, const char *buf, size_t len, const char *what);

/* ---- helpers (no I/O; exposed for tests) ---- */

/* Write `hdr` to out with its value replaced by "***" when the name is
 * sensitive (contains token, secret, password, auth or cookie). */
void fs_http_redact_header(char *out, size_t outlen, const char *hdr);
/* True when a header name is sensitive. */
int fs_http_header_is_sensitive(const char *name, size_t len);
/* Backoff before retry `attempt` (0-based) in ms, with jitter in
 * [base*2^attempt, 1.5*base*2^attempt), capped at 30 s. */
long fs_http_backoff_ms(long base_ms, int attempt, unsigned int *seed);

/* Cancellation: `fn(ctx)` non-zero stops a transfer (within about a
 * second: curl's progress callback), a retry's back-off and a poll's wait,
 * with FASTSNAP_ECANCELED. */
void fs_http_set_cancel(fs_http *h, fs_cancel_fn fn, void *ctx);
/* Sleep `ms` in slices of at most 100 ms; FASTSNAP_ECANCELED if canceled. */
int fs_http_sleep(fs_http *h, long ms);

#endif
