/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/http.c: the libcurl wrapper (see http.h). Owns one reused CURL
 * easy handle per fs_http, the retry loop (503 and connection errors, for
 * requests marked retryable; uploads only when the reader can rewind), the
 * response-body cap, the check of every header sent (core/header.c), the
 * JSON-body and unexpected-status helpers (an error body's message is
 * error_body.c's), and the redaction of secrets in log lines and error messages.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "clients/error_body.h"
#include "clients/http.h"
#include "core/header.h"
#include "core/secret.h"

/* Idle handles kept by a pool (each with its connection cache). */
#define FS_HTTP_POOL_IDLE 16

struct fs_http_pool {
	CURLSH *share;            /* DNS cache and TLS sessions */
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];   /* one per data kind */
	pthread_mutex_t mu;       /* idle[], counters: held only to take or give one */
	CURL *idle[FS_HTTP_POOL_IDLE];
	size_t n_idle;
	unsigned long created, reused;
};

struct fs_http {
	CURL *curl;
	fs_http_pool *pool;
	long connect_timeout_ms;
	long low_speed_time_s;
	int num_retries;
	long retry_base_ms;
	long deadline_s;
	char *ca_file;
	char *client_cert;
	char *client_key;
	int insecure;
	fs_logger lg;             /* the caller's logger behind scrub_log */
	fs_logger user_lg;        /* the caller's */
	fs_strv secrets;
	unsigned int seed;
	char errbuf[CURL_ERROR_SIZE];
	fs_cancel_fn cancel;        /* checked in transfers, back-offs and polls */
	void *cancel_ctx;
};

void fs_http_set_cancel(fs_http *h, fs_cancel_fn fn, void *ctx)
{
	h->cancel = fn;
	h->cancel_ctx = ctx;
}

static int canceled(const fs_http *h)
{
	return h->cancel && h->cancel(h->cancel_ctx);
}

int fs_http_sleep(fs_http *h, long ms)
{
	double until = fs_now() + (double)ms / 1000.0;
	for (;;) {
		if (canceled(h))
			return fs_err(FASTSNAP_ECANCELED, "canceled while waiting");
		double left = until - fs_now();
		if (left <= 0)
			return 0;
		long slice = left > 0.1 ? 100 : (long)(left * 1000.0) + 1;
		struct timespec ts = { 0, slice * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* curl calls this about once a second at least, and on every chunk. */
static int on_xferinfo(void *p, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt; (void)dn; (void)ut; (void)un;
	return canceled(p);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access access, void *ud)
{
	(void)c;
	(void)access;
	fs_http_pool *p = ud;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&p->locks[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *ud)
{
	(void)c;
	fs_http_pool *p = ud;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&p->locks[data]);
}

int fs_http_pool_new(fs_http_pool **out)
{
	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return fs_err(FASTSNAP_ETRANSPORT, "libcurl initialisation failed: %s",
			curl_easy_strerror(curl_init_rc));
	fs_http_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return fs_err(FASTSNAP_ENOMEM, "out of memory allocating the HTTP pool");
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&p->locks[i], NULL);
	pthread_mutex_init(&p->mu, NULL);
	p->share = curl_share_init();
	if (!p->share || curl_share_setopt(p->share, CURLSHOPT_LOCKFUNC, share_lock) ||
	    curl_share_setopt(p->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
	    curl_share_setopt(p->share, CURLSHOPT_USERDATA, p) ||
	    curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
	    curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION)) {
		fs_http_pool_free(p);
		return fs_err(FASTSNAP_ENOMEM, "cannot set up libcurl's share object");
	}
	*out = p;
	return 0;
}

void fs_http_pool_free(fs_http_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_idle; i++)
		curl_easy_cleanup(p->idle[i]);
	if (p->share)
		curl_share_cleanup(p->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&p->locks[i]);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

void fs_http_pool_stats(fs_http_pool *p, unsigned long *created, unsigned long *reused)
{
	pthread_mutex_lock(&p->mu);
	*created = p->created;
	*reused = p->reused;
	pthread_mutex_unlock(&p->mu);
}

/* An idle handle of the pool (with its live connections), else a new one. */
static CURL *pool_take(fs_http_pool *p)
{
	CURL *c = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->n_idle) {
		c = p->idle[--p->n_idle];
		p->reused++;
	}
	pthread_mutex_unlock(&p->mu);
	if (!c && (c = curl_easy_init())) {
		pthread_mutex_lock(&p->mu);
		p->created++;
		pthread_mutex_unlock(&p->mu);
	}
	return c;
}

/* Back to the pool, its options cleared (its connections stay). */
static void pool_give(fs_http_pool *p, CURL *c)
{
	curl_easy_reset(c);
	pthread_mutex_lock(&p->mu);
	int kept = p->n_idle < FS_HTTP_POOL_IDLE;
	if (kept)
		p->idle[p->n_idle++] = c;
	pthread_mutex_unlock(&p->mu);
	if (!kept)
		curl_easy_cleanup(c);
}

static void set_logger(fs_http *h, const fs_logger *lg);

int fs_http_new(fs_http **out, const fs_http_opts *o, const fs_logger *lg)
{
	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return fs_err(FASTSNAP_ETRANSPORT, "libcurl initialisation failed: %s",
			curl_easy_strerror(curl_init_rc));
	fs_http *h = calloc(1, sizeof(*h));
	if (!h)
		return fs_err(FASTSNAP_ENOMEM, "out of memory allocating the HTTP client");
	fs_http_opts def = { 0 };
	if (!o)
		o = &def;
	h->pool = o->pool;
	h->curl = h->pool ? pool_take(h->pool) : curl_easy_init();
	if (!h->curl) {
		free(h);
		return fs_err(FASTSNAP_ENOMEM, "curl_easy_init failed");
	}
	h->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000;
	h->low_speed_time_s = o->low_speed_time_s > 0 ? o->low_speed_time_s : 60;
	h->num_retries = o->num_retries > 0 ? o->num_retries : 0;
	h->retry_base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : 1000;
	h->deadline_s = o->deadline_s > 0 ? o->deadline_s : FS_HTTP_DEFAULT_DEADLINE_S;
	h->insecure = o->insecure;
	if (h->insecure)
		fs_log(lg, FASTSNAP_LOG_WARN, "TLS certificate verification is off (insecure)");
	h->ca_file = fs_strdup(o->ca_file);
	h->client_cert = fs_strdup(o->client_cert);
	h->client_key = fs_strdup(o->client_key);
	if ((o->ca_file && !h->ca_file) || (o->client_cert && !h->client_cert) ||
	    (o->client_key && !h->client_key)) {
		fs_http_free(h);
		return fs_err(FASTSNAP_ENOMEM, "out of memory copying TLS options");
	}
	set_logger(h, lg);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	h->seed = (unsigned int)ts.tv_nsec ^ (unsigned int)getpid() ^
		(unsigned int)(uintptr_t)h;
	*out = h;
	return 0;
}

int fs_http_clone(fs_http **out, const fs_http *h)
{
	fs_http_opts o = {
		.connect_timeout_ms = h->connect_timeout_ms, .low_speed_time_s = h->low_speed_time_s,
		.num_retries = h->num_retries, .retry_base_ms = h->retry_base_ms,
		.deadline_s = h->deadline_s, .ca_file = h->ca_file, .client_cert = h->client_cert,
		.client_key = h->client_key, .insecure = h->insecure, .pool = h->pool,
	};
	/* the warning about insecure was given for the original */
	int rc = fs_http_new(out, &o, NULL);
	if (rc < 0)
		return rc;
	fs_http *c = *out;
	set_logger(c, &h->user_lg);
	c->cancel = h->cancel;
	c->cancel_ctx = h->cancel_ctx;
	for (size_t i = 0; i < h->secrets.n; i++)
		if ((rc = fs_http_add_secret(c, h->secrets.v[i])) < 0) {
			fs_http_free(c);
			*out = NULL;
			return rc;
		}
	return 0;
}

void fs_http_free(fs_http *h)
{
	if (!h)
		return;
	if (h->curl && h->pool)
		pool_give(h->pool, h->curl);
	else if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->ca_file);
	free(h->client_cert);
	free(h->client_key);
	fs_secret_strv_free(&h->secrets);
	free(h);
}

int fs_http_add_secret(fs_http *h, const char *secret)
{
	if (!secret || !*secret)
		return 0;
	for (size_t i = 0; i < h->secrets.n; i++)
		if (strcmp(h->secrets.v[i], secret) == 0)
			return 0;
	if (fs_strv_push(&h->secrets, secret) < 0)
		return fs_err(FASTSNAP_ENOMEM, "out of memory registering a secret");
	return 0;
}

void fs_http_remove_secret(fs_http *h, const char *secret)
{
	if (!secret)
		return;
	for (size_t i = 0; i < h->secrets.n; i++) {
		if (strcmp(h->secrets.v[i], secret) == 0) {
			fs_secret_free(h->secrets.v[i]);
			h->secrets.v[i] = h->secrets.v[h->secrets.n - 1];
			h->secrets.n--;
			return;
		}
	}
}

/* Replace every registered secret in s (in place; "***" is never longer
 * than the text it replaces when the secret has 3+ chars, otherwise the
 * secret is blanked with '*' of the same length). */
static void scrub(const fs_http *h, char *s)
{
	for (size_t i = 0; i < h->secrets.n; i++) {
		const char *sec = h->secrets.v[i];
		size_t n = strlen(sec);
		if (!n)
			continue;
		char *p;
		while ((p = strstr(s, sec)) != NULL) {
			if (n >= 3) {
				memcpy(p, "***", 3);
				memmove(p + 3, p + n, strlen(p + n) + 1);
			} else {
				memset(p, '*', n);
			}
		}
	}
}

/* The logger fs_log is given (h->lg): each line scrubbed of the secrets,
 * then passed to the caller's. */
static void scrub_log(fastsnap_log_level lvl, const char *msg, void *payload)
{
	const fs_http *h = payload;
	char line[2048];
	snprintf(line, sizeof(line), "%s", msg);
	scrub(h, line);
	h->user_lg.cb(lvl, line, h->user_lg.payload);
}

static void set_logger(fs_http *h, const fs_logger *lg)
{
	h->user_lg = lg ? *lg : (fs_logger){ 0 };
	h->lg = (fs_logger){ .cb = h->user_lg.cb ? scrub_log : NULL, .payload = h };
}

/* fs_err with the message scrubbed of secrets. */
static int herr(const fs_http *h, int code, const char *fmt, ...) FS_PRINTF(3, 4);
static int herr(const fs_http *h, int code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	scrub(h, msg);
	return fs_err(code, "%s", msg);
}

/* ---- header helpers ---- */

int fs_http_header_is_sensitive(const char *name, size_t len)
{
	return fs_name_is_secret(name, len);
}

void fs_http_redact_header(char *out, size_t outlen, const char *hdr)
{
	if (!outlen)
		return;
	const char *colon = strchr(hdr, ':');
	if (colon && fs_http_header_is_sensitive(hdr, (size_t)(colon - hdr)))
		snprintf(out, outlen, "%.*s: ***", (int)(colon - hdr), hdr);
	else
		snprintf(out, outlen, "%s", hdr);
}

long fs_http_backoff_ms(long base_ms, int attempt, unsigned int *seed)
{
	if (base_ms <= 0)
		base_ms = 1000;
	long d = base_ms;
	for (int i = 0; i < attempt && d < 30000; i++)
		d *= 2;
	if (d > 30000)
		d = 30000;
	long jitter = (long)((double)rand_r(seed) / ((double)RAND_MAX + 1.0) * (double)d / 2.0);
	d += jitter;
	return d > 30000 ? 30000 : d;
}

/* ---- the transfer ---- */

typedef struct {
	fs_http *h;
	const fs_http_req *req;
	fs_http_resp *resp;
	int too_large;
	int reader_code;
	int short_read;
	uint64_t sent;
} xfer;

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	xfer *x = ud;
	size_t n = size * nmemb;
	if (x->resp->body.len + n > FS_HTTP_BODY_CAP) {
		x->too_large = 1;
		return 0;
	}
	if (fs_buf_put(&x->resp->body, ptr, n) < 0)
		return 0;
	return n;
}

static char *header_value(const char *line, size_t n, const char *name)
{
	size_t nl = strlen(name);
	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	const char *v = line + nl + 1;
	const char *e = line + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return strndup(v, (size_t)(e - v));
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	xfer *x = ud;
	size_t n = size * nmemb;
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue): forget the previous one's */
		fs_secret_free(x->resp->captured);
		x->resp->captured = NULL;
		free(x->resp->content_type);
		x->resp->content_type = NULL;
		return n;
	}
	char *v;
	if (x->req->capture_header && (v = header_value(ptr, n, x->req->capture_header))) {
		fs_secret_free(x->resp->captured);
		x->resp->captured = v;
	}
	if ((v = header_value(ptr, n, "Content-Type"))) {
		free(x->resp->content_type);
		x->resp->content_type = v;
	}
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
	xfer *x = ud;
	const fs_http_req *r = x->req;
	uint64_t left = r->upload_len - x->sent;
	if (left == 0)
		return 0;
	size_t want = size * nitems;
	if (want > left)
		want = (size_t)left;
	ssize_t got = r->read(r->read_ctx, buf, want);
	if (got < 0) {
		x->reader_code = (int)got;
		return CURL_READFUNC_ABORT;
	}
	if (got == 0 || (size_t)got > want) {
		x->short_read = 1;
		return CURL_READFUNC_ABORT;
	}
	x->sent += (uint64_t)got;
	return (size_t)got;
}

static int is_conn_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

void fs_http_resp_free(fs_http_resp *r)
{
	if (!r)
		return;
	fs_buf_free(&r->body);
	fs_secret_free(r->captured);     /* X-Subject-Token: a token */
	free(r->content_type);
	r->captured = r->content_type = NULL;
	r->status = 0;
}

/* curl keeps its own copies of the headers: wipe the ones that carry a
 * secret (X-Auth-Token, ...) before the list is freed. */
static void free_headers(struct curl_slist *l)
{
	for (struct curl_slist *e = l; e; e = e->next) {
		const char *colon = e->data ? strchr(e->data, ':') : NULL;
		if (colon && fs_http_header_is_sensitive(e->data, (size_t)(colon - e->data)))
			fs_secret_wipe(e->data);
	}
	curl_slist_free_all(l);
}

static int build_headers(fs_http *h, const fs_http_req *req, int small_body,
	struct curl_slist **out)
{
	struct curl_slist *l = NULL, *t;
	*out = NULL;
	for (size_t i = 0; i < req->n_headers; i++) {
		const char *hv = req->headers[i];
		int rc = fs_header_check(hv, hv ? strlen(hv) : 0, req->log_name, NULL, NULL, NULL);
		if (rc < 0) {
			free_headers(l);
			return rc;
		}
		if (!(t = curl_slist_append(l, req->headers[i])))
			goto oom;
		l = t;
	}
	/* No "Expect: 100-continue" for small in-memory bodies. */
	if (small_body) {
		if (!(t = curl_slist_append(l, "Expect:")))
			goto oom;
		l = t;
	}
	*out = l;
	return 0;
oom:
	free_headers(l);
	return herr(h, FASTSNAP_ENOMEM, "out of memory building HTTP headers");
}

/* libcurl before 8.17 opens its sockets without close-on-exec, so every
 * child of the process (a --freeze-cmd, the flatten helper) would inherit
 * the connections to Glance and Keystone: open them with SOCK_CLOEXEC
 * (docs/reliability.md, "Secrets and child processes"). */
static curl_socket_t open_socket_cloexec(void *payload, curlsocktype purpose,
	struct curl_sockaddr *a)
{
	(void)payload;
	(void)purpose;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void set_cloexec_sockets(CURL *c)
{
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket_cloexec);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, NULL);
}

/* The options every attempt sets: the URL, timeouts within the call's
 * budget, TLS, the callbacks into x, the headers. */
static void set_transfer_opts(fs_http *h, xfer *x, struct curl_slist *hdrs, long budget_ms)
{
	CURL *c = h->curl;
	if (h->pool)
		curl_easy_setopt(c, CURLOPT_SHARE, h->pool->share);
	h->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, x->req->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	set_cloexec_sockets(c);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, budget_ms > 0 &&
		budget_ms < h->connect_timeout_ms ? budget_ms : h->connect_timeout_ms);
	if (budget_ms > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, budget_ms);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->low_speed_time_s);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "fastsnap/" FASTSNAP_VERSION_STRING);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, h->insecure ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, h->insecure ? 0L : 2L);
	if (h->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	if (h->client_cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, h->client_cert);
	if (h->client_key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, h->client_key);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (h->cancel) {
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	}
}

/* The method, and the body: a reader's upload, or one in memory. */
static void set_method_opts(CURL *c, xfer *x)
{
	const fs_http_req *req = x->req;
	const char *m = req->method;
	if (req->read) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->upload_len);
		if (strcmp(m, "PUT") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	} else if (strcmp(m, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (req->body || strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 ||
		   strcmp(m, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		if (strcmp(m, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	}
}

/* The error of a transfer that ended without a usable response (0 when it
 * has one): canceled, the reader's, a short body, an answer over the cap,
 * or curl's; *retryable for a connection error. */
static int transfer_error(fs_http *h, const xfer *x, CURLcode rc, double dt, int *retryable)
{
	const fs_http_req *req = x->req;
	if (rc == CURLE_ABORTED_BY_CALLBACK && canceled(h))
		return herr(h, FASTSNAP_ECANCELED, "%s: canceled", req->log_name);
	if (x->reader_code < 0) {
		fs_log(&h->lg, FASTSNAP_LOG_DEBUG, "%s %s: aborted by the body reader (%d)",
			req->method, req->url, x->reader_code);
		/* the reader set its own message */
		return x->reader_code;
	}
	if (x->short_read)
		return herr(h, FASTSNAP_EIO, "%s: the body reader ended after %llu of %llu bytes",
			req->log_name, (unsigned long long)x->sent,
			(unsigned long long)req->upload_len);
	if (x->too_large)
		return herr(h, FASTSNAP_ETOOLARGE,
			"%s: response body is larger than the %u-byte cap", req->log_name,
			FS_HTTP_BODY_CAP);
	if (rc == CURLE_OK)
		return 0;
	fs_log(&h->lg, FASTSNAP_LOG_DEBUG, "%s %s -> %s (%.3f s)", req->method, req->url,
		curl_easy_strerror(rc), dt);
	*retryable = is_conn_error(rc);
	const char *detail = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return herr(h, FASTSNAP_ETIMEOUT, "%s: timed out (%s): %s", req->log_name,
			req->url, detail);
	return herr(h, FASTSNAP_ETRANSPORT, "%s (%s): %s", req->log_name, req->url, detail);
}

/* One attempt. Returns 0 (a response), or a negative code with the error
 * set; *retryable says whether a connection error may be retried. */
static int attempt(fs_http *h, fs_http_resp *resp, const fs_http_req *req,
	struct curl_slist *hdrs, int *retryable, long budget_ms)
{
	CURL *c = h->curl;
	xfer x = { .h = h, .req = req, .resp = resp };
	*retryable = 0;
	curl_easy_reset(c);
	set_transfer_opts(h, &x, hdrs, budget_ms);
	set_method_opts(c, &x);

	double t0 = fs_now();
	CURLcode rc = curl_easy_perform(c);
	double dt = fs_now() - t0;
	long status = 0, new_conns = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &new_conns);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	resp->attempts++;

	int err = transfer_error(h, &x, rc, dt, retryable);
	if (err < 0)
		return err;
	resp->status = status;
	/* "new connection": this request could not reuse a kept-alive one */
	fs_log(&h->lg, FASTSNAP_LOG_DEBUG, "%s %s -> %ld (%.3f s, %zu bytes%s)", req->method,
		req->url, status, dt, resp->body.len, new_conns > 0 ? ", new connection" : "");
	if (resp->body.oom)
		return herr(h, FASTSNAP_ENOMEM, "%s: out of memory reading the response",
			req->log_name);
	return 0;
}

/* The error once a call's deadline has passed, keeping the last failure's
 * message as the detail. */
static int deadline_error(fs_http *h, const fs_http_req *req, int attempts, int last_rc,
	const fs_http_resp *resp)
{
	char detail[1024];
	if (last_rc < 0)
		snprintf(detail, sizeof(detail), "; last error: %s", fastsnap_error_last());
	else
		snprintf(detail, sizeof(detail), "; last answer: %ld", resp->status);
	return herr(h, FASTSNAP_ETIMEOUT, "%s: no answer within the %ld s call deadline "
		"(call_deadline_s) after %d attempt%s%s", req->log_name, h->deadline_s, attempts,
		attempts == 1 ? "" : "s", detail);
}

int fs_http_do(fs_http *h, fs_http_resp *resp, const fs_http_req *req)
{
	memset(resp, 0, sizeof(*resp));
	if (!req->log_name || !req->url || !req->method)
		return fs_err(FASTSNAP_EINVAL, "HTTP request without method, url or name");
	int small_body = !req->read && req->body_len < 1024 * 1024;
	struct curl_slist *hdrs = NULL;
	int rc = build_headers(h, req, small_body, &hdrs);
	if (rc < 0)
		return rc;
	if (h->lg.cb) {
		fs_log(&h->lg, FASTSNAP_LOG_DEBUG, "%s %s", req->method, req->url);
		for (size_t i = 0; i < req->n_headers; i++) {
			char red[512];
			fs_http_redact_header(red, sizeof(red), req->headers[i]);
			fs_log(&h->lg, FASTSNAP_LOG_DEBUG, "  %s", red);
		}
	}
	/* An upload may rightly take longer than any fixed deadline: it is
	 * bounded by the low-speed limit (and its retries by num_retries). */
	int bounded = !req->read;
	double end = fs_now() + (double)h->deadline_s;
	int can_retry = req->retry && (!req->read || req->rewind);
	for (int i = 0;; i++) {
		int retryable = 0;
		if (i > 0) {
			fs_buf_free(&resp->body);
			fs_secret_free(resp->captured);
			free(resp->content_type);
			resp->captured = resp->content_type = NULL;
			resp->status = 0;
		}
		long budget = bounded ? (long)((end - fs_now()) * 1000.0) : 0;
		if (bounded && budget <= 0) {
			rc = deadline_error(h, req, resp->attempts, rc, resp);
			break;
		}
		rc = attempt(h, resp, req, hdrs, &retryable, budget);
		int again = (rc == 0 && resp->status == 503) || (rc < 0 && retryable);
		if (bounded && rc == FASTSNAP_ETIMEOUT && fs_now() >= end - 0.05) {
			rc = deadline_error(h, req, resp->attempts, rc, resp);
			break;
		}
		if (!again || !can_retry || i >= h->num_retries)
			break;
		long ms = fs_http_backoff_ms(h->retry_base_ms, i, &h->seed);
		if (bounded && fs_now() + (double)ms / 1000.0 >= end) {
			/* no time left for another try: a transport failure is
			 * reported against the deadline, a 503 as itself */
			if (rc < 0)
				rc = deadline_error(h, req, resp->attempts, rc, resp);
			break;
		}
		if (rc < 0)
			fs_log(&h->lg, FASTSNAP_LOG_INFO, "%s; retry %d of %d in %ld ms", fastsnap_error_last(),
				i + 1, h->num_retries, ms);
		else
			fs_log(&h->lg, FASTSNAP_LOG_INFO, "%s: 503 Service Unavailable; retry %d of %d in %ld ms",
				req->log_name, i + 1, h->num_retries, ms);
		if (req->read) {
			int rr = req->rewind(req->read_ctx);
			if (rr < 0) {
				rc = rr;
				break;
			}
		}
		if ((rc = fs_http_sleep(h, ms)) < 0)
			break;
	}
	free_headers(hdrs);
	return rc;
}

int fs_http_status_error(fs_http *h, const fs_http_resp *r, const char *log_name)
{
	int code = fs_http_status_to_code(r->status);
	if (code == 0)
		code = FASTSNAP_EPROTOCOL;
	char *m = fs_error_body_message(r->body.ptr, r->body.len);
	int rc = herr(h, code, "%s: %ld%s%s", log_name, r->status, m && *m ? " " : "",
		m ? m : "");
	free(m);
	return rc;
}

int fs_http_unexpected_status(fs_http *h, const fs_http_resp *r, const char *log_name,
	const char *peer)
{
	if (r->status >= 400)
		return fs_http_status_error(h, r, log_name);
	return herr(h, FASTSNAP_EPROTOCOL, "%s: unexpected status %ld from %s", log_name, r->status,
		peer ? peer : "the server");
}

int fs_http_json_body(cJSON **out, const char *buf, size_t len, const char *what)
{
	*out = NULL;
	if (!buf || !len)
		return fs_err(FASTSNAP_EPROTOCOL, "%s: empty response body", what);
	if (!(*out = cJSON_ParseWithLength(buf, len)))
		return fs_err(FASTSNAP_EPROTOCOL, "%s: malformed JSON (%zu bytes)", what, len);
	return 0;
}
