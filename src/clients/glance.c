/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/glance.c: the Glance v2 client (see glance.h) and its request
 * core: the client (new, free, a sibling for another thread) and one call
 * with its identity headers, cache and re-authentication. The calls are in
 * glance_images.c (images, upload), glance_location.c (location POST/PATCH
 * and its poll) and glance_lookups.c (stores, schema, the plan's concurrent
 * look-ups); the per-engine cache in glance_cache.c. HTTP, retries and
 * redaction are in http.c; identity in auth.c; response parsers in
 * glance_parse.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/glance_core.h"
#include "core/header.h"
#include "core/secret.h"

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
int fs_glance_sibling(fs_glance **out, fs_glance *g)
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

void fs_glance_set_cancel(fs_glance *g, fs_cancel_fn fn, void *ctx)
{
	fs_http_set_cancel(g->h, fn, ctx);
}

/* ---- the request core ---- */

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

int fs_glance_call(fs_glance *g, fs_http_resp *resp, const fs_glance_req *r, char *log_name,
	size_t log_name_len)
{
	memset(resp, 0, sizeof(*resp));
	g->last_status = 0;
	snprintf(log_name, log_name_len, "Glance %s %s", r->method, r->path);
	int rc = fs_auth_ensure(g->a);
	if (rc < 0)
		return rc;
	int slot = fs_glance_cache_slot(g, r->method, r->path);
	if (slot >= 0 && fs_glance_cache_get(g, slot, fs_auth_endpoint(g->a), resp, log_name)) {
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
		fs_glance_cache_put(g, slot, fs_auth_endpoint(g->a), resp);
out:
	fs_secret_free(tokhdr);
	fs_secret_free(svchdr);
	free(hdrs);
	free(url);
	return rc;
}

/* Change the current error's code, appending `note` to its message. */
int fs_glance_recode(int code, const char *note)
{
	/* fs_err formats before it replaces the message it reads here. */
	return fs_err(code, "%s%s", fastsnap_error_last(), note ? note : "");
}

/* The one error for a status a call did not expect: Glance's own message
 * for a status >= 400, else "unexpected status N from Glance endpoint URL". */
int fs_glance_unexpected(fs_glance *g, const fs_http_resp *resp, const char *name)
{
	char *peer = fs_asprintf("Glance endpoint %s", fs_auth_endpoint(g->a));
	int rc = fs_http_unexpected_status(g->h, resp, name, peer ? peer : "Glance");
	free(peer);
	return rc;
}

/* Parse an image in an answer; a failure names the call. */
int fs_glance_image_answer(fs_image **out, const fs_http_resp *resp, const char *method,
	const char *path)
{
	int rc = fs_parse_image(out, resp->body.ptr, resp->body.len);
	if (rc < 0)
		fs_err_prefix("Glance %s %s", method, path);
	return rc;
}

/* Run a call and require one of the ok statuses. */
int fs_glance_expect(fs_glance *g, fs_http_resp *resp, const fs_glance_req *r, long ok1, long ok2)
{
	char name[512];
	int rc = fs_glance_call(g, resp, r, name, sizeof(name));
	if (rc < 0)
		return rc;
	if (resp->status == ok1 || resp->status == ok2)
		return 0;
	return fs_glance_unexpected(g, resp, name);
}

/* Percent-encode for a path segment or a query value. */
int fs_glance_put_escaped(fs_buf *b, const char *s)
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

char *fs_glance_image_path(const char *id, const char *suffix)
{
	fs_buf b = FS_BUF_INIT;
	fs_buf_puts(&b, "/v2/images/");
	fs_glance_put_escaped(&b, id);
	if (suffix)
		fs_buf_puts(&b, suffix);
	if (b.oom) {
		fs_buf_free(&b);
		return NULL;
	}
	return fs_buf_detach(&b);
}

int fs_glance_check_id(const char *id)
{
	if (!id || !*id)
		return fs_err(FASTSNAP_EINVAL, "Glance image id is empty");
	return 0;
}

int fs_glance_checked_image_path(char **path, const char *id, const char *suffix)
{
	*path = NULL;
	int rc = fs_glance_check_id(id);
	if (rc < 0)
		return rc;
	if (!(*path = fs_glance_image_path(id, suffix)))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	return 0;
}
