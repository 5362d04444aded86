/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/glance_location.c: registering a location: POST /locations
 * (Glance >= 29) with its poll until the image is active, else the
 * JSON-patch (add /locations/-, with property removals joined); and the
 * wait for Glance's background hash task (docs/glance-api.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/glance_core.h"

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

/* The message of the image's latest failed task (GET /v2/images/{id}/tasks,
 * Glance >= 21; members see their own images' tasks), or NULL. */
char *fs_glance_last_task_failure(fs_glance *g, const char *id)
{
	char *path = fs_glance_image_path(id, "/tasks");
	if (!path)
		return NULL;
	fs_glance_req r = { .method = "GET", .path = path, .retry = 1 };
	fs_http_resp resp;
	char name[512];
	char *msg = NULL;
	int rc = fs_glance_call(g, &resp, &r, name, sizeof(name));
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
		char *why = fs_glance_last_task_failure(g, id);
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
		if (remove[i] && fs_glance_patch_op(ops, "remove", remove[i], NULL) < 0) {
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
	int rc = fs_glance_patch_call(g, &resp, id, ops, name, sizeof(name));
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
				rc = fs_glance_recode(FASTSNAP_ELOCATION_DISALLOWED, note);
			} else if (st == 400 || st == 500) {
				rc = fs_glance_recode(FASTSNAP_ELOCATION_REJECTED, " (Glance could not open the "
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
	return fs_glance_add_location_removing_props(g, id, url, store, &o);
}

int fs_glance_add_location_removing_props(fs_glance *g, const char *id, const char *url, const char *store,
	const fs_location_opts *lo)
{
	fs_image_free(g->seen);
	g->seen = NULL;
	const fs_validation *vd = lo->vd;
	double poll_timeout_s = lo->poll_timeout_s;
	int rc = fs_glance_check_id(id);
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
	char *path = fs_glance_image_path(id, "/locations");
	if (!body || !path) {
		free(body);
		free(path);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	const char *hdrs[] = { JSON_CT };
	fs_glance_req r = { .method = "POST", .path = path, .extra = hdrs, .n_extra = 1,
		.body = body, .body_len = strlen(body), .retry = 0 };
	rc = fs_glance_call(g, &resp, &r, name, sizeof(name));
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
		rc = fs_glance_unexpected(g, &resp, name);
		if (st == 400)
			rc = fs_glance_recode(FASTSNAP_ELOCATION_REJECTED, NULL);
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
