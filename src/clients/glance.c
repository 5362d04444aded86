/*
 * clients/glance.c: the Glance v2 client (see glance.h): images (create,
 * get, delete, patch, list with paging; creation with a client-chosen id,
 * so that it can be retried), data upload from a reader
 * callback, location registration (POST /locations with fallback to the
 * JSON-patch), and discovery (stores, stores/detail, schema, versions).
 * HTTP, retries and redaction are in http.c; identity in auth.c; response
 * parsers in glance_parse.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "clients/auth.h"
#include "clients/glance.h"
#include "clients/http.h"
#include "core/header.h"
#include "core/secret.h"
#include "core/task.h"

#define PATCH_CT "Content-Type: application/openstack-images-v2.1-json-patch"
#define JSON_CT "Content-Type: application/json"
/* How long a DELETE answered 409 is retried (docs/glance-api.md). */
#define FS_DELETE_409_BOUND_S 30.0

/* Answers kept per engine (docs/configuration.md, glance_cache_s): they
 * change only when an operator reconfigures or upgrades Glance. */
static const char *const cached_paths[] = {
	"/v2/info/stores", "/v2/info/stores/detail", "/v2/schemas/image",
};
#define N_CACHED (sizeof(cached_paths) / sizeof(cached_paths[0]))

struct fs_glance_shared {
	fs_http_pool *pool;
	long cache_s;
	pthread_mutex_t mu;       /* the entries: held only while one is copied */
	struct {
		char *endpoint;       /* NULL: empty */
		long status;
		fs_buf body;
		double at;
	} c[N_CACHED];
	unsigned long hits, misses;
};

struct fs_glance {
	fs_glance_shared *sh;     /* the engine's, or NULL */
	fs_http *h;
	fs_auth *a;
	fs_strv headers;          /* from settings: "Name: value" */
	long last_status;
	fs_logger lg;
	/* the image as the last location call left it (its id in seen->id),
	 * or NULL: see fs_glance_location_image */
	fs_image *seen;
	fs_buf schema;            /* GET /v2/schemas/image's body once read */
};

int fs_glance_shared_new(fs_glance_shared **out, long cache_s)
{
	*out = NULL;
	fs_glance_shared *sh = calloc(1, sizeof(*sh));
	if (!sh)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	int rc = fs_http_pool_new(&sh->pool);
	if (rc < 0) {
		free(sh);
		return rc;
	}
	sh->cache_s = cache_s > 0 ? cache_s : 0;
	pthread_mutex_init(&sh->mu, NULL);
	*out = sh;
	return 0;
}

void fs_glance_shared_free(fs_glance_shared *sh)
{
	if (!sh)
		return;
	for (size_t i = 0; i < N_CACHED; i++) {
		free(sh->c[i].endpoint);
		fs_buf_free(&sh->c[i].body);
	}
	fs_http_pool_free(sh->pool);
	pthread_mutex_destroy(&sh->mu);
	free(sh);
}

void fs_glance_shared_stats(fs_glance_shared *sh, fs_glance_shared_counts *out)
{
	memset(out, 0, sizeof(*out));
	fs_http_pool_stats(sh->pool, &out->handles_created, &out->handles_reused);
	pthread_mutex_lock(&sh->mu);
	out->cache_hits = sh->hits;
	out->cache_misses = sh->misses;
	pthread_mutex_unlock(&sh->mu);
}

static int cached_slot(const fs_glance *g, const char *method, const char *path)
{
	if (!g->sh || g->sh->cache_s <= 0 || strcmp(method, "GET") != 0)
		return -1;
	for (size_t i = 0; i < N_CACHED; i++)
		if (!strcmp(path, cached_paths[i]))
			return (int)i;
	return -1;
}

/* A copy of a fresh kept answer into resp; 1 when there was one. */
static int cache_get(fs_glance *g, int slot, const char *endpoint, fs_http_resp *resp,
	const char *log_name)
{
	fs_glance_shared *sh = g->sh;
	double age = 0;
	int hit = 0;
	pthread_mutex_lock(&sh->mu);
	if (sh->c[slot].endpoint && !strcmp(sh->c[slot].endpoint, endpoint) &&
	    (age = fs_now() - sh->c[slot].at) < (double)sh->cache_s) {
		fs_buf_put(&resp->body, sh->c[slot].body.ptr, sh->c[slot].body.len);
		resp->status = sh->c[slot].status;
		hit = !resp->body.oom;
	}
	if (hit)
		sh->hits++;
	else
		sh->misses++;
	pthread_mutex_unlock(&sh->mu);
	if (!hit) {
		fs_buf_free(&resp->body);
		resp->status = 0;
		return 0;
	}
	fs_log(&g->lg, FASTSNAP_LOG_DEBUG, "%s: %ld from the engine's cache (%.1f s old; "
		"glance_cache_s %ld)", log_name, resp->status, age, sh->cache_s);
	return 1;
}

/* Keep an answer that only a reconfigured Glance changes: 200, and the
 * 403/404 that say "no detail" or "no multi-store". */
static void cache_put(fs_glance *g, int slot, const char *endpoint, const fs_http_resp *resp)
{
	if (resp->status != 200 && resp->status != 403 && resp->status != 404)
		return;
	fs_buf copy = FS_BUF_INIT;
	fs_buf_put(&copy, resp->body.ptr, resp->body.len);
	char *ep = fs_strdup(endpoint);
	if (copy.oom || !ep) {
		fs_buf_free(&copy);
		free(ep);
		return;
	}
	fs_glance_shared *sh = g->sh;
	pthread_mutex_lock(&sh->mu);
	fs_buf old = sh->c[slot].body;
	char *old_ep = sh->c[slot].endpoint;
	sh->c[slot].body = copy;
	sh->c[slot].endpoint = ep;
	sh->c[slot].status = resp->status;
	sh->c[slot].at = fs_now();
	pthread_mutex_unlock(&sh->mu);
	fs_buf_free(&old);
	free(old_ep);
}

int fs_glance_new(fs_glance **out, const fs_settings *s, const fs_logger *lg)
{
	*out = NULL;
	fs_glance *g = calloc(1, sizeof(*g));
	if (!g)
		return fs_err(FASTSNAP_ENOMEM, "out of memory allocating the Glance client");
	if (lg)
		g->lg = *lg;
	g->sh = s->glance_shared;
	int rc;
	for (size_t i = 0; i < s->glance_headers.n; i++) {
		const char *hv = s->glance_headers.v[i];
		char where[48];
		snprintf(where, sizeof(where), "Glance extra header %zu", i + 1);
		if ((rc = fs_header_check(hv, hv ? strlen(hv) : 0, where, NULL, NULL, NULL)) < 0)
			goto fail;
		if (fs_strv_push(&g->headers, s->glance_headers.v[i]) < 0) {
			rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
			goto fail;
		}
	}
	fs_http_opts ho = {
		.connect_timeout_ms = s->connect_timeout_ms,
		.low_speed_time_s = s->low_speed_time_s,
		.num_retries = s->num_retries,
		.deadline_s = s->call_deadline_s,
		.ca_file = s->ca_file,
		.client_cert = s->client_cert,
		.client_key = s->client_key,
		.insecure = s->insecure,
		.retry_base_ms = s->retry_base_ms,
		.pool = g->sh ? g->sh->pool : NULL,
	};
	if ((rc = fs_http_new(&g->h, &ho, lg)) < 0)
		goto fail;
	/* header values whose name is sensitive are secrets too */
	for (size_t i = 0; i < g->headers.n; i++) {
		const char *hv = g->headers.v[i];
		const char *colon = strchr(hv, ':');
		if (fs_http_header_is_sensitive(hv, (size_t)(colon - hv))) {
			const char *v = colon + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			if ((rc = fs_http_add_secret(g->h, v)) < 0)
				goto fail;
		}
	}
	if ((rc = fs_auth_new(&g->a, s, g->h)) < 0)
		goto fail;
	*out = g;
	return 0;
fail:
	fs_glance_free(g);
	return rc;
}

void fs_glance_free(fs_glance *g)
{
	if (!g)
		return;
	fs_auth_free(g->a);
	fs_http_free(g->h);
	fs_secret_strv_free(&g->headers);
	fs_image_free(g->seen);
	fs_buf_free(&g->schema);
	free(g);
}

/* Another client with g's identity (tokens and endpoint copied: no new
 * authentication) and its own HTTP handle, for a call on another thread. */
static int sibling(fs_glance **out, fs_glance *g)
{
	*out = NULL;
	fs_glance *s = calloc(1, sizeof(*s));
	if (!s)
		return fs_err(FASTSNAP_ENOMEM, "out of memory allocating the Glance client");
	s->lg = g->lg;
	s->sh = g->sh;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < g->headers.n; i++)
		if (fs_strv_push(&s->headers, g->headers.v[i]) < 0)
			rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
	if (rc == 0)
		rc = fs_http_clone(&s->h, g->h);
	if (rc == 0)
		rc = fs_auth_clone(&s->a, g->a, s->h);
	if (rc < 0) {
		fs_glance_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

long fs_glance_last_status(const fs_glance *g) { return g->last_status; }
const fs_logger *fs_glance_logger(const fs_glance *g) { return &g->lg; }

const char *fs_glance_endpoint(fs_glance *g)
{
	if (!fs_auth_endpoint(g->a) && fs_auth_ensure(g->a) < 0)
		return NULL;
	return fs_auth_endpoint(g->a);
}

/* ---- the request core ---- */

typedef struct {
	const char *method;
	const char *path;             /* appended to the endpoint */
	const char *const *extra;     /* extra headers */
	size_t n_extra;
	const char *body;
	size_t body_len;
	const fs_upload_req *up;
	int retry;
} gcall_req;

/* "Name: token" for this try (the token may be renewed between tries); the
 * previous one is wiped, as every copy of a token is. */
static int token_header(char **slot, const char *name, const char *tok)
{
	fs_secret_free(*slot);
	*slot = NULL;
	if (tok && !(*slot = fs_asprintf("%s: %s", name, tok)))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	return 0;
}

static int gcall(fs_glance *g, fs_http_resp *resp, const gcall_req *r, char *log_name,
	size_t log_name_len)
{
	memset(resp, 0, sizeof(*resp));
	g->last_status = 0;
	snprintf(log_name, log_name_len, "Glance %s %s", r->method, r->path);
	int rc = fs_auth_ensure(g->a);
	if (rc < 0)
		return rc;
	int slot = cached_slot(g, r->method, r->path);
	if (slot >= 0 && cache_get(g, slot, fs_auth_endpoint(g->a), resp, log_name)) {
		g->last_status = resp->status;
		return 0;
	}
	char *url = fs_asprintf("%s%s", fs_auth_endpoint(g->a), r->path);
	size_t nh = g->headers.n + r->n_extra + 3;
	const char **hdrs = calloc(nh, sizeof(*hdrs));
	char *tokhdr = NULL, *svchdr = NULL;
	if (!url || !hdrs) {
		rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
		goto out;
	}
	for (int reauthed = 0;; reauthed = 1) {
		size_t n = 0;
		/* [service_user]: the service token next to the user's (as Nova) */
		if ((rc = token_header(&tokhdr, "X-Auth-Token", fs_auth_token(g->a))) < 0 ||
		    (rc = token_header(&svchdr, "X-Service-Token", fs_auth_service_token(g->a))) < 0)
			goto out;
		if (tokhdr)
			hdrs[n++] = tokhdr;
		if (svchdr)
			hdrs[n++] = svchdr;
		hdrs[n++] = "Accept: application/json";
		for (size_t i = 0; i < g->headers.n; i++)
			hdrs[n++] = g->headers.v[i];
		for (size_t i = 0; i < r->n_extra; i++)
			hdrs[n++] = r->extra[i];
		fs_http_req hr = {
			.method = r->method, .url = url, .log_name = log_name,
			.headers = hdrs, .n_headers = n,
			.body = r->body, .body_len = r->body_len, .retry = r->retry,
		};
		if (r->up) {
			hr.read = r->up->read;
			hr.rewind = r->up->rewind;
			hr.read_ctx = r->up->ctx;
			hr.upload_len = r->up->length;
		}
		fs_http_resp_free(resp);
		rc = fs_http_do(g->h, resp, &hr);
		g->last_status = resp->status;
		if (rc < 0 || resp->status != 401 || reauthed ||
		    (fs_auth_get_mode(g->a) != FS_AUTH_KEYSTONE && !fs_auth_has_service(g->a)))
			break;
		/* the token expired or was revoked: authenticate once more */
		fs_log(&g->lg, FASTSNAP_LOG_INFO, "%s: 401, authenticating again", log_name);
		if (r->up) {
			if (!r->up->rewind)
				break;
			if ((rc = r->up->rewind(r->up->ctx)) < 0)
				goto out;
		}
		if ((rc = fs_auth_reauth(g->a)) < 0)
			goto out;
	}
	if (rc == 0 && slot >= 0)
		cache_put(g, slot, fs_auth_endpoint(g->a), resp);
out:
	fs_secret_free(tokhdr);
	fs_secret_free(svchdr);
	free(hdrs);
	free(url);
	return rc;
}

/* Change the current error's code, appending `note` to its message. */
static int recode(int code, const char *note)
{
	/* fs_err formats before it replaces the message it reads here. */
	return fs_err(code, "%s%s", fastsnap_error_last(), note ? note : "");
}

/* The one error for a status a call did not expect: Glance's own message
 * for a status >= 400, else "unexpected status N from Glance endpoint URL". */
static int unexpected(fs_glance *g, const fs_http_resp *resp, const char *name)
{
	char *peer = fs_asprintf("Glance endpoint %s", fs_auth_endpoint(g->a));
	int rc = fs_http_unexpected_status(g->h, resp, name, peer ? peer : "Glance");
	free(peer);
	return rc;
}

/* Parse an image in an answer; a failure names the call. */
static int image_answer(fs_image **out, const fs_http_resp *resp, const char *method,
	const char *path)
{
	int rc = fs_parse_image(out, resp->body.ptr, resp->body.len);
	if (rc < 0)
		fs_err_prefix("Glance %s %s", method, path);
	return rc;
}

/* Run a call and require one of the ok statuses. */
static int gexpect(fs_glance *g, fs_http_resp *resp, const gcall_req *r, long ok1, long ok2)
{
	char name[512];
	int rc = gcall(g, resp, r, name, sizeof(name));
	if (rc < 0)
		return rc;
	if (resp->status == ok1 || resp->status == ok2)
		return 0;
	return unexpected(g, resp, name);
}

/* Percent-encode for a path segment or a query value. */
static int put_escaped(fs_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-_.~:", *p)) {
			if (fs_buf_put(b, p, 1) < 0)
				return -1;
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			if (fs_buf_put(b, e, 3) < 0)
				return -1;
		}
	}
	return 0;
}

static char *image_path(const char *id, const char *suffix)
{
	fs_buf b = FS_BUF_INIT;
	fs_buf_puts(&b, "/v2/images/");
	put_escaped(&b, id);
	if (suffix)
		fs_buf_puts(&b, suffix);
	if (b.oom) {
		fs_buf_free(&b);
		return NULL;
	}
	return fs_buf_detach(&b);
}

static int check_id(const char *id)
{
	if (!id || !*id)
		return fs_err(FASTSNAP_EINVAL, "Glance image id is empty");
	return 0;
}

/* ---- images ---- */

int fs_glance_new_image_id(char out[37])
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fs_err(FASTSNAP_EIO, "cannot draw a random image id: %s",
				strerror(n < 0 ? errno : EIO));
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		b[13], b[14], b[15]);
	return 0;
}

/* A 409 to a POST that was sent more than once (by us, or by libcurl on a
 * fresh connection): the first try created the image and its answer was
 * lost. It is ours when it has our name. */
static int created_by_first_try(fs_glance *g, fs_image **out, const char *id, const char *name)
{
	fs_image *img = NULL;
	int rc = fs_glance_image_get(g, &img, id);
	if (rc < 0) {
		fs_err_prefix("Glance POST /v2/images: 409 after a retry, and the image %s "
			"cannot be read", id);
		return rc;
	}
	if (!fs_streq(img->name, name)) {
		fs_image_free(img);
		return fs_err(FASTSNAP_ECONFLICT, "Glance POST /v2/images: image id %s is taken "
			"by another image", id);
	}
	fs_log(&g->lg, FASTSNAP_LOG_INFO, "Glance POST /v2/images: 409 on a retry: image %s was "
		"created by the first try", id);
	if (out)
		*out = img;
	else
		fs_image_free(img);
	return 0;
}

int fs_glance_image_create(fs_glance *g, fs_image **out, const fs_image_create_req *req)
{
	if (out)
		*out = NULL;
	if (!req->name)
		return fs_err(FASTSNAP_EINVAL, "Glance image create: no name");
	/* The id is chosen here, so that a retry cannot make a second image. */
	char idbuf[37];
	const char *id = req->id;
	if (!id) {
		int irc = fs_glance_new_image_id(idbuf);
		if (irc < 0)
			return irc;
		id = idbuf;
	}
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "name", req->name);
	cJSON_AddStringToObject(o, "disk_format", req->disk_format ? req->disk_format : "raw");
	cJSON_AddStringToObject(o, "container_format",
		req->container_format ? req->container_format : "bare");
	if (req->visibility)
		cJSON_AddStringToObject(o, "visibility", req->visibility);
	cJSON_AddNumberToObject(o, "min_disk", req->min_disk > 0 ? req->min_disk : 0);
	cJSON_AddNumberToObject(o, "min_ram", req->min_ram > 0 ? req->min_ram : 0);
	for (size_t i = 0; i < req->n_props; i++) {
		if (!req->prop_keys[i] || !req->prop_values[i]) {
			cJSON_Delete(o);
			return fs_err(FASTSNAP_EINVAL, "Glance image create: property %zu is NULL", i);
		}
		cJSON_DeleteItemFromObjectCaseSensitive(o, req->prop_keys[i]);
		cJSON_AddStringToObject(o, req->prop_keys[i], req->prop_values[i]);
	}
	char *body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!body)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	const char *hdrs[] = { JSON_CT };
	gcall_req r = { .method = "POST", .path = "/v2/images", .extra = hdrs, .n_extra = 1,
		.body = body, .body_len = strlen(body), .retry = 1 };
	fs_http_resp resp;
	char name[512];
	int rc = gcall(g, &resp, &r, name, sizeof(name));
	free(body);
	/* A 409 to our own random id can only be our own earlier try: one we
	 * repeated, or one that libcurl repeated by itself on a fresh
	 * connection when a reused one died before the answer. */
	if (rc == 0 && resp.status == 409 && (resp.attempts > 1 || !req->id || req->id_random)) {
		fs_http_resp_free(&resp);
		return created_by_first_try(g, out, id, req->name);
	}
	if (rc == 0 && resp.status != 201 && resp.status != 200)
		rc = unexpected(g, &resp, name);
	if (rc == 0 && out)
		rc = image_answer(out, &resp, "POST", "/v2/images");
	fs_http_resp_free(&resp);
	return rc;
}

int fs_glance_image_get(fs_glance *g, fs_image **out, const char *id)
{
	*out = NULL;
	int rc = check_id(id);
	if (rc < 0)
		return rc;
	char *path = image_path(id, NULL);
	if (!path)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	gcall_req r = { .method = "GET", .path = path, .retry = 1 };
	fs_http_resp resp;
	rc = gexpect(g, &resp, &r, 200, 200);
	if (rc == 0)
		rc = image_answer(out, &resp, "GET", path);
	fs_http_resp_free(&resp);
	free(path);
	return rc;
}

int fs_glance_image_delete(fs_glance *g, const char *id)
{
	int rc = check_id(id);
	if (rc < 0)
		return rc;
	char *path = image_path(id, NULL);
	if (!path)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	gcall_req r = { .method = "DELETE", .path = path, .retry = 1 };
	fs_http_resp resp;
	/* A 409 while Glance still works on the image (a location_import task,
	 * its background hash: docs/glance-api.md) is retried within a bound;
	 * a protected image's 409 is not. */
	double t0 = fs_now();
	long delay = 250;
	for (;;) {
		rc = gexpect(g, &resp, &r, 204, 200);
		fs_http_resp_free(&resp);
		if (rc == 0 || g->last_status != 409 || fs_now() - t0 > FS_DELETE_409_BOUND_S)
			break;
		fs_image *img = NULL;
		char *keep = fs_strdup(fastsnap_error_last());
		int prot = 0;
		if (fs_glance_image_get(g, &img, id) == 0)
			prot = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(img->raw, "protected"));
		fs_image_free(img);
		rc = fs_err(FASTSNAP_ECONFLICT, "%s", keep ? keep : "Glance DELETE: 409");
		free(keep);
		if (prot)
			break;
		fs_log(&g->lg, FASTSNAP_LOG_DEBUG, "Glance DELETE %s: 409, retrying", id);
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		if (delay < 2000)
			delay *= 2;
	}
	free(path);
	return rc;
}

/* PATCH with a JSON-patch document; *status_out gets the status even on
 * error (for the location fallback's own mapping). */
static int do_patch(fs_glance *g, fs_http_resp *resp, const char *id, const cJSON *ops,
	char *name, size_t name_len)
{
	char *path = image_path(id, NULL);
	char *body = cJSON_PrintUnformatted(ops);
	int rc = 0;
	if (!path || !body) {
		rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
		memset(resp, 0, sizeof(*resp));
	} else {
		const char *hdrs[] = { PATCH_CT };
		gcall_req r = { .method = "PATCH", .path = path, .extra = hdrs, .n_extra = 1,
			.body = body, .body_len = strlen(body), .retry = 0 };
		rc = gcall(g, resp, &r, name, name_len);
	}
	free(path);
	free(body);
	return rc;
}

int fs_glance_image_patch(fs_glance *g, fs_image **out, const char *id, const cJSON *ops)
{
	if (out)
		*out = NULL;
	int rc = check_id(id);
	if (rc < 0)
		return rc;
	if (!cJSON_IsArray(ops))
		return fs_err(FASTSNAP_EINVAL, "Glance image patch: ops is not a JSON array");
	fs_http_resp resp;
	char name[512];
	rc = do_patch(g, &resp, id, ops, name, sizeof(name));
	if (rc == 0 && resp.status != 200)
		rc = unexpected(g, &resp, name);
	if (rc == 0 && out && (rc = fs_parse_image(out, resp.body.ptr, resp.body.len)) < 0)
		fs_err_prefix("%s", name);
	fs_http_resp_free(&resp);
	return rc;
}

/* "/key" as a JSON pointer ('~' -> "~0", '/' -> "~1"). */
static char *json_pointer(const char *key)
{
	fs_buf b = FS_BUF_INIT;
	fs_buf_put(&b, "/", 1);
	for (const char *p = key; *p; p++) {
		if (*p == '~')
			fs_buf_puts(&b, "~0");
		else if (*p == '/')
			fs_buf_puts(&b, "~1");
		else
			fs_buf_put(&b, p, 1);
	}
	if (b.oom) {
		fs_buf_free(&b);
		return NULL;
	}
	return fs_buf_detach(&b);
}

static int add_op(cJSON *ops, const char *op, const char *key, const char *value)
{
	char *ptr = json_pointer(key);
	cJSON *o = cJSON_CreateObject();
	if (!ptr || !o) {
		free(ptr);
		cJSON_Delete(o);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	cJSON_AddStringToObject(o, "op", op);
	cJSON_AddStringToObject(o, "path", ptr);
	if (value)
		cJSON_AddStringToObject(o, "value", value);
	cJSON_AddItemToArray(ops, o);
	free(ptr);
	return 0;
}

int fs_glance_image_set_props(fs_glance *g, const char *id, const char *const *keys,
	const char *const *values, size_t n)
{
	if (n == 0)
		return 0;
	cJSON *ops = cJSON_CreateArray();
	int rc = ops ? 0 : fs_err(FASTSNAP_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!keys[i] || !values[i] || !*keys[i])
			rc = fs_err(FASTSNAP_EINVAL, "Glance set properties: property %zu is empty", i);
		else
			rc = add_op(ops, "add", keys[i], values[i]);
	}
	if (rc == 0)
		rc = fs_glance_image_patch(g, NULL, id, ops);
	cJSON_Delete(ops);
	return rc;
}

int fs_glance_image_remove_props(fs_glance *g, const char *id, const char *const *keys, size_t n)
{
	return fs_glance_image_remove_props_known(g, id, keys, n, NULL);
}

int fs_glance_image_remove_props_known(fs_glance *g, const char *id, const char *const *keys,
	size_t n, const fs_image *known)
{
	if (n == 0)
		return 0;
	fs_image *img = NULL;
	int rc = 0;
	/* the image as the caller last saw it tells which keys exist: no GET */
	if (!(known && known->raw && fs_streq(known->id, id)) &&
	    (rc = fs_glance_image_get(g, &img, id)) < 0)
		return rc;
	const cJSON *raw = img ? img->raw : known->raw;
	cJSON *ops = cJSON_CreateArray();
	if (!ops)
		rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (keys[i] && cJSON_HasObjectItem(raw, keys[i]))
			rc = add_op(ops, "remove", keys[i], NULL);
	if (rc == 0 && cJSON_GetArraySize(ops) > 0)
		rc = fs_glance_image_patch(g, NULL, id, ops);
	cJSON_Delete(ops);
	fs_image_free(img);
	return rc;
}

int fs_glance_image_list(fs_glance *g, fs_image_list *out, const char *const *filters,
	size_t n_filters, const char *sort, int page_size)
{
	return fs_glance_image_list_pages(g, out, filters, n_filters, sort, page_size, 0);
}

int fs_glance_image_list_pages(fs_glance *g, fs_image_list *out, const char *const *filters,
	size_t n_filters, const char *sort, int page_size, int max_pages)
{
	memset(out, 0, sizeof(*out));
	fs_buf q = FS_BUF_INIT;
	fs_buf_puts(&q, "/v2/images?limit=");
	fs_buf_printf(&q, "%d", page_size > 0 ? page_size : 100);
	for (size_t i = 0; i < n_filters; i++) {
		const char *eq = filters[i] ? strchr(filters[i], '=') : NULL;
		if (!eq || eq == filters[i]) {
			fs_buf_free(&q);
			return fs_err(FASTSNAP_EINVAL, "Glance image list: filter '%s' is not key=value",
				filters[i] ? filters[i] : "(null)");
		}
		char *k = strndup(filters[i], (size_t)(eq - filters[i]));
		fs_buf_put(&q, "&", 1);
		if (k)
			put_escaped(&q, k);
		fs_buf_put(&q, "=", 1);
		put_escaped(&q, eq + 1);
		free(k);
	}
	if (sort) {
		fs_buf_puts(&q, "&sort=");
		put_escaped(&q, sort);
	}
	if (q.oom) {
		fs_buf_free(&q);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	char *path = fs_buf_detach(&q);
	int rc = 0;
	for (int page = 0; path; page++) {
		if (max_pages > 0 && page >= max_pages)
			break;
		if (page >= 100000) {
			rc = fs_err(FASTSNAP_EPROTOCOL, "Glance image list: more than 100000 pages");
			break;
		}
		gcall_req r = { .method = "GET", .path = path, .retry = 1 };
		fs_http_resp resp;
		rc = gexpect(g, &resp, &r, 200, 200);
		char *next = NULL;
		if (rc == 0 && (rc = fs_parse_image_page(out, &next, resp.body.ptr,
		    resp.body.len)) < 0)
			fs_err_prefix("Glance GET %s", path);
		fs_http_resp_free(&resp);
		if (rc == 0 && next && fs_streq(next, path))
			rc = fs_err(FASTSNAP_EPROTOCOL, "Glance image list: \"next\" link repeats");
		if (rc == 0 && next && strncmp(next, "/v2/", 4) != 0)
			rc = fs_err(FASTSNAP_EPROTOCOL, "Glance image list: unexpected \"next\" link");
		free(path);
		path = next;
		if (rc < 0)
			break;
	}
	free(path);
	if (rc < 0)
		fs_image_list_free(out);
	return rc;
}

/* ---- upload ---- */

/* The connection broke without an answer to the upload: if Glance has the
 * image active with every byte, the upload itself succeeded and only its
 * answer was lost (the caller's final check still compares the hashes);
 * otherwise the transport error `rc` stands. */
static int upload_answer_lost(fs_glance *g, const char *id, uint64_t length, int rc)
{
	char msg[1024];
	snprintf(msg, sizeof(msg), "%s", fastsnap_error_last());
	fs_image *img = NULL;
	int ok = fs_glance_image_get(g, &img, id) == 0 && fs_streq(img->status, "active") &&
		img->size >= 0 && (uint64_t)img->size == length;
	fs_image_free(img);
	if (!ok)
		return fs_err(rc, "%s", msg);      /* the transport error stands */
	fs_log(&g->lg, FASTSNAP_LOG_INFO, "Glance PUT /v2/images/%s/file: the answer was lost, "
		"but the image is active with all %llu bytes", id, (unsigned long long)length);
	return 0;
}

int fs_glance_upload(fs_glance *g, const char *id, const fs_upload_req *req)
{
	int rc = check_id(id);
	if (rc < 0)
		return rc;
	if (!req->read)
		return fs_err(FASTSNAP_EINVAL, "Glance upload: no reader");
	char *path = image_path(id, "/file");
	char *store = req->store ? fs_asprintf("x-image-meta-store: %s", req->store) : NULL;
	char *base = req->base_image_ref ?
		fs_asprintf("X-OpenStack-Base-Image-Ref: %s", req->base_image_ref) : NULL;
	if (!path || (req->store && !store) || (req->base_image_ref && !base)) {
		rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
		goto out;
	}
	const char *hdrs[3] = { "Content-Type: application/octet-stream" };
	size_t n = 1;
	if (store)
		hdrs[n++] = store;
	if (base)
		hdrs[n++] = base;
	gcall_req r = { .method = "PUT", .path = path, .extra = hdrs, .n_extra = n,
		.up = req, .retry = 1 };
	fs_http_resp resp;
	rc = gexpect(g, &resp, &r, 204, 201);
	long st = resp.status;
	fs_http_resp_free(&resp);
	if ((rc == FASTSNAP_ETRANSPORT || rc == FASTSNAP_ETIMEOUT) && st == 0)
		rc = upload_answer_lost(g, id, req->length, rc);
out:
	free(path);
	free(store);
	free(base);
	return rc;
}

/* ---- locations ---- */

/* validation_data: POST /locations takes os_hash_algo and os_hash_value
 * only (a checksum gives 400); the PATCH also takes the md5 checksum. */
static cJSON *validation_json(const fs_validation *vd, int with_checksum)
{
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (vd->os_hash_algo)
		cJSON_AddStringToObject(o, "os_hash_algo", vd->os_hash_algo);
	if (vd->os_hash_value)
		cJSON_AddStringToObject(o, "os_hash_value", vd->os_hash_value);
	if (with_checksum && vd->checksum)
		cJSON_AddStringToObject(o, "checksum", vd->checksum);
	return o;
}

void fs_glance_set_cancel(fs_glance *g, fs_cancel_fn fn, void *ctx)
{
	fs_http_set_cancel(g->h, fn, ctx);
}

/* The message of the image's latest failed task (GET /v2/images/{id}/tasks,
 * Glance >= 21; members see their own images' tasks), or NULL. */
static char *last_task_failure(fs_glance *g, const char *id)
{
	char *path = image_path(id, "/tasks");
	if (!path)
		return NULL;
	gcall_req r = { .method = "GET", .path = path, .retry = 1 };
	fs_http_resp resp;
	char name[512];
	char *msg = NULL;
	int rc = gcall(g, &resp, &r, name, sizeof(name));
	free(path);
	if (rc == 0 && resp.status == 200) {
		cJSON *j = cJSON_ParseWithLength(resp.body.ptr, resp.body.len);
		const cJSON *tasks = j ? cJSON_GetObjectItemCaseSensitive(j, "tasks") : NULL;
		const cJSON *t, *best = NULL;
		const char *best_at = "";
		cJSON_ArrayForEach(t, tasks) {
			const cJSON *st = cJSON_GetObjectItemCaseSensitive(t, "status");
			const cJSON *at = cJSON_GetObjectItemCaseSensitive(t, "updated_at");
			if (!cJSON_IsString(st) || strcmp(st->valuestring, "failure") != 0)
				continue;
			const char *a = cJSON_IsString(at) ? at->valuestring : "";
			if (!best || strcmp(a, best_at) >= 0) {
				best = t;
				best_at = a;
			}
		}
		const cJSON *m = best ? cJSON_GetObjectItemCaseSensitive(best, "message") : NULL;
		if (cJSON_IsString(m) && *m->valuestring)
			msg = fs_strdup(m->valuestring);
		cJSON_Delete(j);
	} else if (rc == 0) {
		fs_log(&g->lg, FASTSNAP_LOG_DEBUG, "%s: %ld: the task's reason is not readable",
			name, resp.status);
	}
	fs_http_resp_free(&resp);
	return msg;
}

/* The one poll loop of both waits below: GET image `id` until `judge`
 * says it is done (1: *last gets the image; the debug log says "Glance
 * image <id>: <waited_for> after N polls"), fails (< 0, its error), or
 * timeout_s passes (1 is returned, *last the image as last seen). Every
 * 20 ms at first, then backing off to every 500 ms (glance.h). */
static int poll_image(fs_glance *g, const char *id, double timeout_s,
	int (*judge)(fs_glance *g, const char *id, const fs_image *img), const char *waited_for,
	fs_image **last)
{
	*last = NULL;
	double t0 = fs_now();
	for (int polls = 1;; polls++) {
		fs_image *img;
		int rc = fs_glance_image_get(g, &img, id);
		if (rc < 0)
			return rc;
		if ((rc = judge(g, id, img)) != 0) {
			if (rc > 0) {
				fs_log(&g->lg, FASTSNAP_LOG_DEBUG, "Glance image %s: %s after %d poll%s "
					"(%.3f s)", id, waited_for, polls, polls == 1 ? "" : "s", fs_now() - t0);
				*last = img;
				return 0;
			}
			fs_image_free(img);
			return rc;
		}
		if (fs_now() - t0 >= timeout_s) {
			*last = img;
			return 1;
		}
		fs_image_free(img);
		if ((rc = fs_http_sleep(g->h, fs_location_poll_wait_ms(polls))) < 0)
			return rc;
	}
}

/* After a 202 from POST /locations: active is done. While Glance's
 * location_import task runs, the image holds the os_glance_import_task
 * lock (status queued, then importing when validation data is checked); a
 * task that fails drops the lock and leaves the image queued: that is a
 * rejected location, not a reason to wait for the timeout. */
static int judge_active(fs_glance *g, const char *id, const fs_image *img)
{
	const char *st = img->status ? img->status : "?";
	if (strcmp(st, "active") == 0)
		return 1;
	if (strcmp(st, "killed") == 0 || strcmp(st, "deleted") == 0 ||
	    strcmp(st, "pending_delete") == 0)
		return fs_err(FASTSNAP_ELOCATION_REJECTED, "Glance image %s became '%s' "
			"after POST /locations", id, st);
	if (strcmp(st, "queued") == 0 && !fs_image_prop(img, "os_glance_import_task")) {
		char *why = last_task_failure(g, id);
		int rc = fs_err(FASTSNAP_ELOCATION_REJECTED, "Glance accepted POST "
			"/v2/images/%s/locations (202) but its location_import task failed and "
			"the image is back to 'queued': %s", id,
			why ? why : "the task's message is not readable (Glance could not open "
			"the location)");
		free(why);
		return rc;
	}
	return 0;
}

static int wait_active(fs_glance *g, const char *id, double timeout_s)
{
	fs_image *img;
	int rc = poll_image(g, id, timeout_s, judge_active, "active", &img);
	if (rc == 0) {
		fs_image_free(g->seen);
		g->seen = img;          /* what the final check needs is here */
	} else if (rc == 1) {
		rc = fs_err(FASTSNAP_ETIMEOUT, "Glance image %s still '%s' %.1f s after "
			"POST /locations", id, img->status ? img->status : "?", timeout_s);
		fs_image_free(img);
	}
	return rc;
}

static int judge_task_done(fs_glance *g, const char *id, const fs_image *img)
{
	(void)g;
	(void)id;
	return fs_image_prop(img, "os_glance_import_task") == NULL;
}

int fs_glance_wait_task_done(fs_glance *g, const char *id, double timeout_s, fs_image **out)
{
	int rc = poll_image(g, id, timeout_s, judge_task_done, "its import task ended", out);
	if (rc == 1)
		rc = fs_err(FASTSNAP_ETIMEOUT, "Glance image %s: its import task (the "
			"background hash) still runs %.1f s after it went active", id, timeout_s);
	return rc;
}

long fs_location_poll_wait_ms(int polls_done)
{
	long d = FS_LOCATION_POLL_FIRST_MS;
	for (int i = FS_LOCATION_POLL_FAST; i < polls_done && d < FS_LOCATION_POLL_MAX_MS; i++)
		d += d / 2 + 10;
	return d > FS_LOCATION_POLL_MAX_MS ? FS_LOCATION_POLL_MAX_MS : d;
}

#define SERVICE_USER_HINT "the caller lacks the service role: set [service_user] with " \
	"send_service_user_token = True in the config file (a user with the service role), as " \
	"in nova.conf"

/* The JSON-patch that adds the location, and removes `remove` (keys
 * known to exist) in the same document. */
static cJSON *location_patch_doc(const char *url, const char *store, const fs_validation *vd,
	const char *const *remove, size_t n_remove)
{
	cJSON *ops = cJSON_CreateArray();
	cJSON *op = cJSON_CreateObject();
	if (!ops || !op) {
		cJSON_Delete(ops);
		cJSON_Delete(op);
		return NULL;
	}
	cJSON_AddItemToArray(ops, op);
	cJSON_AddStringToObject(op, "op", "add");
	cJSON_AddStringToObject(op, "path", "/locations/-");
	cJSON *val = cJSON_AddObjectToObject(op, "value");
	cJSON_AddStringToObject(val, "url", url);
	cJSON *md = cJSON_AddObjectToObject(val, "metadata");
	if (store)
		cJSON_AddStringToObject(md, "store", store);
	if (vd)
		cJSON_AddItemToObject(val, "validation_data", validation_json(vd, 1));
	for (size_t i = 0; i < n_remove; i++)
		if (remove[i] && add_op(ops, "remove", remove[i], NULL) < 0) {
			cJSON_Delete(ops);
			return NULL;
		}
	return ops;
}

/* PATCH add /locations/- (Glance < 29, or where the POST is refused), with
 * the removals joined. A 409 to a document with removals (a property that
 * is gone already) is tried again without them: they then stay with the
 * caller (g->seen still shows them). */
static int add_location_patch(fs_glance *g, const char *id, const char *url, const char *store,
	const fs_validation *vd, const char *post_note, const char *const *remove, size_t n_remove)
{
	char name[512];
	fs_http_resp resp;
	cJSON *ops = location_patch_doc(url, store, vd, remove, n_remove);
	if (!ops)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	int rc = do_patch(g, &resp, id, ops, name, sizeof(name));
	cJSON_Delete(ops);
	if (rc == 0 && resp.status == 409 && n_remove > 0) {
		fs_log(&g->lg, FASTSNAP_LOG_DEBUG, "%s: 409 with the properties' removal joined; "
			"adding the location alone", name);
		fs_http_resp_free(&resp);
		return add_location_patch(g, id, url, store, vd, post_note, NULL, 0);
	}
	if (rc == 0) {
		long st = resp.status;
		if (st == 200) {
			rc = 0;
			/* the answer is the image: the caller's final check may need
			 * no GET (a body that does not parse only costs that GET) */
			fs_image *img = NULL;
			if (fs_parse_image(&img, resp.body.ptr, resp.body.len) == 0 &&
			    fs_streq(img->id, id)) {
				fs_image_free(g->seen);
				g->seen = img;
			} else {
				fs_image_free(img);
				fastsnap_error_clear();
			}
		} else if (st >= 400) {
			rc = fs_http_status_error(g->h, &resp, name);
			char note[768];
			if (st == 403) {
				snprintf(note, sizeof(note), " (Glance does not allow locations: "
					"show_multiple_locations or policy)%s%s", post_note ? "; before it, " : "",
					post_note ? post_note : "");
				rc = recode(FASTSNAP_ELOCATION_DISALLOWED, note);
			} else if (st == 400 || st == 500) {
				rc = recode(FASTSNAP_ELOCATION_REJECTED, " (Glance could not open the "
					"location)");
			}
		} else {
			rc = fs_err(FASTSNAP_EPROTOCOL, "%s: unexpected status %ld from Glance endpoint %s", name, st, fs_auth_endpoint(g->a));
		}
	}
	fs_http_resp_free(&resp);
	return rc;
}

const fs_image *fs_glance_location_image(const fs_glance *g, const char *id)
{
	return g->seen && id && fs_streq(g->seen->id, id) ? g->seen : NULL;
}

int fs_glance_add_location(fs_glance *g, const char *id, const char *url, const char *store,
	const fs_validation *vd, double poll_timeout_s)
{
	fs_location_opts o = { .vd = vd, .poll_timeout_s = poll_timeout_s };
	return fs_glance_add_location_ex(g, id, url, store, &o);
}

int fs_glance_add_location_ex(fs_glance *g, const char *id, const char *url, const char *store,
	const fs_location_opts *lo)
{
	fs_image_free(g->seen);
	g->seen = NULL;
	const fs_validation *vd = lo->vd;
	double poll_timeout_s = lo->poll_timeout_s;
	int rc = check_id(id);
	if (rc < 0)
		return rc;
	if (!url || !*url)
		return fs_err(FASTSNAP_EINVAL, "Glance add location: empty URL");
	char name[512];
	fs_http_resp resp;

	/* 1. Glance >= 29: POST /v2/images/{id}/locations (docs/glance-api.md) */
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "url", url);
	if (vd)
		cJSON_AddItemToObject(o, "validation_data", validation_json(vd, 0));
	char *body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	char *path = image_path(id, "/locations");
	if (!body || !path) {
		free(body);
		free(path);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	const char *hdrs[] = { JSON_CT };
	gcall_req r = { .method = "POST", .path = path, .extra = hdrs, .n_extra = 1,
		.body = body, .body_len = strlen(body), .retry = 0 };
	rc = gcall(g, &resp, &r, name, sizeof(name));
	free(body);
	free(path);
	if (rc < 0) {
		fs_http_resp_free(&resp);
		return rc;
	}
	long st = resp.status;
	if (st == 202 || st == 200 || st == 201 || st == 204) {
		fs_http_resp_free(&resp);
		fs_log(&g->lg, FASTSNAP_LOG_DEBUG, "%s: %ld, waiting for the image to be active",
			name, st);
		return wait_active(g, id, poll_timeout_s > 0 ? poll_timeout_s : 60);
	}
	char *post_note = NULL;
	if (st == 403) {
		/* Glance >= 29 without the service role (user or service token):
		 * "http store must be enabled to use location API by normal user".
		 * Say so, then try the PATCH as Nova does. */
		rc = fs_http_status_error(g->h, &resp, name);
		post_note = fs_asprintf("%s (%s)", fastsnap_error_last(), SERVICE_USER_HINT);
		fs_log(&g->lg, FASTSNAP_LOG_WARN, "%s: 403: %s; trying the JSON-patch", name,
			SERVICE_USER_HINT);
	} else if (st != 404 && st != 405) {
		rc = unexpected(g, &resp, name);
		if (st == 400)
			rc = recode(FASTSNAP_ELOCATION_REJECTED, NULL);
		fs_http_resp_free(&resp);
		return rc;
	} else {
		fs_log(&g->lg, FASTSNAP_LOG_DEBUG, "%s: %ld (Glance < 29), using the JSON-patch",
			name, st);
	}
	fs_http_resp_free(&resp);

	/* 2. PATCH add /locations/- */
	rc = add_location_patch(g, id, url, store, vd, post_note, lo->remove_props, lo->n_remove);
	free(post_note);
	return rc;
}

/* ---- discovery ---- */

/* GET /v2/info/stores into out (404: FASTSNAP_EUNSUPPORTED). */
static int stores_list(fs_glance *g, fs_store_set *out)
{
	memset(out, 0, sizeof(*out));
	char name[512];
	fs_http_resp resp;
	gcall_req r = { .method = "GET", .path = "/v2/info/stores", .retry = 1 };
	int rc = gcall(g, &resp, &r, name, sizeof(name));
	if (rc == 0) {
		if (resp.status == 404)
			rc = fs_err(FASTSNAP_EUNSUPPORTED, "%s: 404: multi-store is not enabled in "
				"Glance (enabled_backends is unset)", name);
		else if (resp.status != 200)
			rc = unexpected(g, &resp, name);
		else
			rc = fs_parse_stores(out, resp.body.ptr, resp.body.len);
	}
	fs_http_resp_free(&resp);
	if (rc < 0)
		fs_store_set_free(out);
	return rc;
}

/* GET /v2/info/stores/detail: the answer, for stores_detail_apply. */
static int stores_detail_get(fs_glance *g, fs_http_resp *resp)
{
	char name[512];
	gcall_req d = { .method = "GET", .path = "/v2/info/stores/detail", .retry = 1 };
	return gcall(g, resp, &d, name, sizeof(name));
}

/* Merge the detail's answer into the list (a 403 or 404 is no detail). */
static int stores_detail_apply(fs_glance *g, fs_store_set *out, const fs_http_resp *resp)
{
	const char *name = "Glance GET /v2/info/stores/detail";
	if (resp->status == 403 || resp->status == 404) {
		fs_log(&g->lg, FASTSNAP_LOG_DEBUG, "%s: %ld: no store details (admin only)", name,
			resp->status);
		return 0;
	}
	if (resp->status != 200)
		return unexpected(g, resp, name);
	return fs_parse_stores_detail(out, resp->body.ptr, resp->body.len);
}

int fs_glance_stores(fs_glance *g, fs_store_set *out)
{
	int rc = stores_list(g, out);
	if (rc < 0)
		return rc;
	fs_http_resp resp;
	if ((rc = stores_detail_get(g, &resp)) == 0)
		rc = stores_detail_apply(g, out, &resp);
	fs_http_resp_free(&resp);
	if (rc < 0)
		fs_store_set_free(out);
	return rc;
}

int fs_glance_image_schema(fs_glance *g, fs_image_schema *out)
{
	memset(out, 0, sizeof(*out));
	if (g->schema.len)         /* read once per client: it does not change */
		return fs_parse_image_schema(out, g->schema.ptr, g->schema.len);
	gcall_req r = { .method = "GET", .path = "/v2/schemas/image", .retry = 1 };
	fs_http_resp resp;
	int rc = gexpect(g, &resp, &r, 200, 200);
	if (rc == 0 && (rc = fs_parse_image_schema(out, resp.body.ptr, resp.body.len)) == 0) {
		fs_buf_free(&g->schema);
		g->schema = resp.body;
		memset(&resp.body, 0, sizeof(resp.body));
	}
	fs_http_resp_free(&resp);
	return rc;
}

/* ---- the plan's look-ups, concurrently ---- */

typedef enum { LK_STORES, LK_DETAIL, LK_BASE, LK_SCHEMA, LK_N } lookup_kind;

typedef struct {
	lookup_kind kind;
	fs_glance *g;             /* the caller's client, or a sibling */
	const char *base_id;
	fs_store_set stores;      /* LK_STORES */
	fs_http_resp resp;        /* LK_DETAIL */
	fs_image *base;           /* LK_BASE */
	fs_image_schema schema;   /* LK_SCHEMA */
	fs_task task;
	int rc;
	fs_error_state err;
} lookup;

static int lookup_run(void *p)
{
	lookup *l = p;
	switch (l->kind) {
	case LK_STORES: return stores_list(l->g, &l->stores);
	case LK_DETAIL: return stores_detail_get(l->g, &l->resp);
	case LK_BASE: return fs_glance_image_get(l->g, &l->base, l->base_id);
	case LK_SCHEMA: return fs_glance_image_schema(l->g, &l->schema);
	default: return 0;
	}
}

int fs_glance_lookups(fs_glance *g, fs_lookups *out, const fs_lookups_req *req)
{
	memset(out, 0, sizeof(*out));
	/* the identity first (a Keystone token at most once), then the calls,
	 * each on its own client: the stores list here, the others on threads */
	int rc = fs_auth_ensure(g->a);
	if (rc < 0)
		return rc;
	lookup lk[LK_N];
	memset(lk, 0, sizeof(lk));
	int want[LK_N] = { 1, 1, req->base_id != NULL, req->want_schema };
	for (int k = 0; k < LK_N; k++) {
		lk[k].kind = (lookup_kind)k;
		lk[k].base_id = req->base_id;
		lk[k].g = g;
	}
	for (int k = 1; rc == 0 && k < LK_N; k++)
		if (want[k])
			rc = sibling(&lk[k].g, g);
	for (int k = 1; rc == 0 && k < LK_N; k++)
		if (want[k])
			fs_task_start(&lk[k].task, lookup_run, &lk[k]);
	if (rc == 0) {
		lk[LK_STORES].rc = lookup_run(&lk[LK_STORES]);
		fs_error_state_capture(&lk[LK_STORES].err);
		for (int k = 1; k < LK_N; k++) {
			if (!want[k])
				continue;
			lk[k].rc = fs_task_join(&lk[k].task);
			fs_error_state_capture(&lk[k].err);
		}
		/* stores: the list, with the detail merged (or the detail's error) */
		out->stores_rc = lk[LK_STORES].rc;
		out->stores_err = lk[LK_STORES].err;
		out->stores = lk[LK_STORES].stores;
		if (out->stores_rc == 0) {
			int drc = lk[LK_DETAIL].rc;
			if (drc == 0)
				drc = stores_detail_apply(g, &out->stores, &lk[LK_DETAIL].resp);
			if (drc < 0) {
				fs_error_state_capture(&out->stores_err);
				if (lk[LK_DETAIL].rc < 0)
					out->stores_err = lk[LK_DETAIL].err;
				out->stores_rc = drc;
				fs_store_set_free(&out->stores);
			}
		}
		out->base_rc = lk[LK_BASE].rc;
		out->base_err = lk[LK_BASE].err;
		out->base = lk[LK_BASE].base;
		/* the schema is kept by g for the image's creation; a failure
		 * there leaves it to be asked again (or done without) then */
		if (want[LK_SCHEMA] && lk[LK_SCHEMA].rc == 0 && lk[LK_SCHEMA].g->schema.len) {
			fs_buf_free(&g->schema);
			g->schema = lk[LK_SCHEMA].g->schema;
			memset(&lk[LK_SCHEMA].g->schema, 0, sizeof(g->schema));
		}
		fastsnap_error_clear();
	}
	for (int k = 1; k < LK_N; k++)
		if (lk[k].g != g)
			fs_glance_free(lk[k].g);
	fs_http_resp_free(&lk[LK_DETAIL].resp);
	fs_image_schema_free(&lk[LK_SCHEMA].schema);
	return rc;
}

void fs_lookups_free(fs_lookups *l)
{
	fs_store_set_free(&l->stores);
	fs_image_free(l->base);
	l->base = NULL;
}

int fs_glance_versions(fs_glance *g, fs_strv *out)
{
	memset(out, 0, sizeof(*out));
	gcall_req r = { .method = "GET", .path = "/", .retry = 1 };
	fs_http_resp resp;
	/* Glance answers GET / with 300 Multiple Choices */
	int rc = gexpect(g, &resp, &r, 300, 200);
	if (rc == 0)
		rc = fs_parse_versions(out, resp.body.ptr, resp.body.len);
	fs_http_resp_free(&resp);
	return rc;
}

int fs_glance_raw(fs_glance *g, long *status, fs_buf *body_out, const char *method,
	const char *path, const char *const *headers, size_t n_headers, const char *body,
	size_t body_len)
{
	*status = 0;
	char name[512];
	fs_http_resp resp;
	gcall_req r = { .method = method, .path = path, .extra = headers, .n_extra = n_headers,
		.body = body, .body_len = body_len };
	int rc = gcall(g, &resp, &r, name, sizeof(name));
	*status = resp.status;
	if (rc == 0 && body_out) {
		*body_out = resp.body;
		memset(&resp.body, 0, sizeof(resp.body));
	}
	fs_http_resp_free(&resp);
	return rc;
}
