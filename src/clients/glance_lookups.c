/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/glance_lookups.c: what Glance is asked before a run: stores,
 * stores/detail, the image schema, versions; the plan's look-ups issued
 * concurrently, each on a client of its own; and the raw call for tests.
 */
#include <stdlib.h>
#include <string.h>

#include "clients/glance_core.h"
#include "core/task.h"

/* ---- discovery ---- */

/* GET /v2/info/stores into out (404: FASTSNAP_EUNSUPPORTED). */
static int stores_list(fs_glance *g, fs_store_set *out)
{
	memset(out, 0, sizeof(*out));
	char name[512];
	fs_http_resp resp;
	fs_glance_req r = { .method = "GET", .path = "/v2/info/stores", .retry = 1 };
	int rc = fs_glance_call(g, &resp, &r, name, sizeof(name));
	if (rc == 0) {
		if (resp.status == 404)
			rc = fs_err(FASTSNAP_EUNSUPPORTED, "%s: 404: multi-store is not enabled in "
				"Glance (enabled_backends is unset)", name);
		else if (resp.status != 200)
			rc = fs_glance_unexpected(g, &resp, name);
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
	fs_glance_req d = { .method = "GET", .path = "/v2/info/stores/detail", .retry = 1 };
	return fs_glance_call(g, resp, &d, name, sizeof(name));
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
		return fs_glance_unexpected(g, resp, name);
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
	fs_glance_req r = { .method = "GET", .path = "/v2/schemas/image", .retry = 1 };
	fs_http_resp resp;
	int rc = fs_glance_expect(g, &resp, &r, 200, 200);
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
			rc = fs_glance_sibling(&lk[k].g, g);
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
	fs_glance_req r = { .method = "GET", .path = "/", .retry = 1 };
	fs_http_resp resp;
	/* Glance answers GET / with 300 Multiple Choices */
	int rc = fs_glance_expect(g, &resp, &r, 300, 200);
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
	fs_glance_req r = { .method = method, .path = path, .extra = headers, .n_extra = n_headers,
		.body = body, .body_len = body_len };
	int rc = fs_glance_call(g, &resp, &r, name, sizeof(name));
	*status = resp.status;
	if (rc == 0 && body_out) {
		*body_out = resp.body;
		memset(&resp.body, 0, sizeof(resp.body));
	}
	fs_http_resp_free(&resp);
	return rc;
}
