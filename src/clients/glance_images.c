/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/glance_images.c: Glance's images: create (with a client-chosen
 * id, so that it can be retried), get, delete, JSON-patch and properties,
 * list with paging, and the data upload from a reader callback.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clients/glance_core.h"

/* How long a DELETE answered 409 is retried (docs/glance-api.md). */
#define FS_DELETE_409_BOUND_S 30.0

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
	fs_glance_req r = { .method = "POST", .path = "/v2/images", .extra = hdrs, .n_extra = 1,
		.body = body, .body_len = strlen(body), .retry = 1 };
	fs_http_resp resp;
	char name[512];
	int rc = fs_glance_call(g, &resp, &r, name, sizeof(name));
	free(body);
	/* A 409 to our own random id can only be our own earlier try: one we
	 * repeated, or one that libcurl repeated by itself on a fresh
	 * connection when a reused one died before the answer. */
	if (rc == 0 && resp.status == 409 && (resp.attempts > 1 || !req->id || req->id_random)) {
		fs_http_resp_free(&resp);
		return created_by_first_try(g, out, id, req->name);
	}
	if (rc == 0 && resp.status != 201 && resp.status != 200)
		rc = fs_glance_unexpected(g, &resp, name);
	if (rc == 0 && out)
		rc = fs_glance_image_answer(out, &resp, "POST", "/v2/images");
	fs_http_resp_free(&resp);
	return rc;
}

int fs_glance_image_get(fs_glance *g, fs_image **out, const char *id)
{
	*out = NULL;
	char *path;
	int rc = fs_glance_checked_image_path(&path, id, NULL);
	if (rc < 0)
		return rc;
	fs_glance_req r = { .method = "GET", .path = path, .retry = 1 };
	fs_http_resp resp;
	rc = fs_glance_expect(g, &resp, &r, 200, 200);
	if (rc == 0)
		rc = fs_glance_image_answer(out, &resp, "GET", path);
	fs_http_resp_free(&resp);
	free(path);
	return rc;
}

int fs_glance_image_delete(fs_glance *g, const char *id)
{
	char *path;
	int rc = fs_glance_checked_image_path(&path, id, NULL);
	if (rc < 0)
		return rc;
	fs_glance_req r = { .method = "DELETE", .path = path, .retry = 1 };
	fs_http_resp resp;
	/* A 409 while Glance still works on the image (a location_import task,
	 * its background hash: docs/glance-api.md) is retried within a bound;
	 * a protected image's 409 is not. */
	double t0 = fs_now();
	long delay = 250;
	for (;;) {
		rc = fs_glance_expect(g, &resp, &r, 204, 200);
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
int fs_glance_patch_call(fs_glance *g, fs_http_resp *resp, const char *id, const cJSON *ops,
	char *name, size_t name_len)
{
	char *path = fs_glance_image_path(id, NULL);
	char *body = cJSON_PrintUnformatted(ops);
	int rc = 0;
	if (!path || !body) {
		rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
		memset(resp, 0, sizeof(*resp));
	} else {
		const char *hdrs[] = { PATCH_CT };
		fs_glance_req r = { .method = "PATCH", .path = path, .extra = hdrs, .n_extra = 1,
			.body = body, .body_len = strlen(body), .retry = 0 };
		rc = fs_glance_call(g, resp, &r, name, name_len);
	}
	free(path);
	free(body);
	return rc;
}

int fs_glance_image_patch(fs_glance *g, fs_image **out, const char *id, const cJSON *ops)
{
	if (out)
		*out = NULL;
	int rc = fs_glance_check_id(id);
	if (rc < 0)
		return rc;
	if (!cJSON_IsArray(ops))
		return fs_err(FASTSNAP_EINVAL, "Glance image patch: ops is not a JSON array");
	fs_http_resp resp;
	char name[512];
	rc = fs_glance_patch_call(g, &resp, id, ops, name, sizeof(name));
	if (rc == 0 && resp.status != 200)
		rc = fs_glance_unexpected(g, &resp, name);
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

int fs_glance_patch_op(cJSON *ops, const char *op, const char *key, const char *value)
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
			rc = fs_glance_patch_op(ops, "add", keys[i], values[i]);
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
			rc = fs_glance_patch_op(ops, "remove", keys[i], NULL);
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
			fs_glance_put_escaped(&q, k);
		fs_buf_put(&q, "=", 1);
		fs_glance_put_escaped(&q, eq + 1);
		free(k);
	}
	if (sort) {
		fs_buf_puts(&q, "&sort=");
		fs_glance_put_escaped(&q, sort);
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
		fs_glance_req r = { .method = "GET", .path = path, .retry = 1 };
		fs_http_resp resp;
		rc = fs_glance_expect(g, &resp, &r, 200, 200);
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
	int rc = fs_glance_check_id(id);
	if (rc < 0)
		return rc;
	if (!req->read)
		return fs_err(FASTSNAP_EINVAL, "Glance upload: no reader");
	char *path = fs_glance_image_path(id, "/file");
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
	fs_glance_req r = { .method = "PUT", .path = path, .extra = hdrs, .n_extra = n,
		.up = req, .retry = 1 };
	fs_http_resp resp;
	rc = fs_glance_expect(g, &resp, &r, 204, 201);
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
