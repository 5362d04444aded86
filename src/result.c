/* SPDX-License-Identifier: Apache-2.0 */
/*
 * result.c: the public result accessors and the result as one JSON object.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "result.h"

int fs_result_new(fastsnap_result **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : fs_err(FASTSNAP_ENOMEM, "out of memory");
}

void fs_result_set_plan(fastsnap_result *res, const fs_plan *p)
{
	res->path = p->path;
	res->reason = fs_strdup(p->reason);
	res->store = fs_strdup(p->policy.store);
	res->size = p->size;
	res->disk_format = p->disk_format;
	/* what happens: a depth-capped none is flattened, as sync is */
	if (p->path == FASTSNAP_PATH_DIRECT)
		res->flatten = fs_strdup(fs_flatten_name(p->flatten_for_depth ? FASTSNAP_FLATTEN_SYNC :
			p->flatten));
}

void fs_result_set_stream(fastsnap_result *res, const fs_stream_res *s)
{
	memcpy(res->sha512, s->sha512, sizeof(res->sha512));
	memcpy(res->md5, s->md5, sizeof(res->md5));
	res->bytes_read = s->bytes_read;
	res->bytes_sent = s->bytes_sent;
}

void fs_result_add_reason(fastsnap_result *res, const char *text)
{
	char *why = text ? fs_asprintf("%s; %s", res->reason ? res->reason : "", text) : NULL;
	if (why) {
		free(res->reason);
		res->reason = why;
	}
}

void fs_result_take_cleanup(fastsnap_result *res, fs_strv *done)
{
	fs_strv_free(&res->cleaned_up);
	res->cleaned_up = *done;
	memset(done, 0, sizeof(*done));
}

void fs_result_finish(fastsnap_result *res, int rc, const char *msg, double seconds,
	const double *step_s)
{
	res->seconds = seconds;
	memcpy(res->step_s, step_s, sizeof(res->step_s));
	if (rc < 0) {
		res->error_code = rc;
		res->error = fs_strdup(msg);
	}
}

const char *fastsnap_path_name(fastsnap_path p)
{
	switch (p) {
	case FASTSNAP_PATH_DIRECT: return "direct";
	case FASTSNAP_PATH_STREAM: return "stream";
	default: return "none";
	}
}

const char *fastsnap_result_image_id(const fastsnap_result *r) { return r ? r->image_id : NULL; }
fastsnap_path fastsnap_result_path(const fastsnap_result *r) { return r ? r->path : FASTSNAP_PATH_NONE; }
const char *fastsnap_result_reason(const fastsnap_result *r) { return r ? r->reason : NULL; }
const char *fastsnap_result_store(const fastsnap_result *r) { return r ? r->store : NULL; }
const char *fastsnap_result_location(const fastsnap_result *r) { return r ? r->location : NULL; }
uint64_t fastsnap_result_size(const fastsnap_result *r) { return r ? r->size : 0; }
const char *fastsnap_result_flatten(const fastsnap_result *r) { return r ? r->flatten : NULL; }
double fastsnap_result_seconds(const fastsnap_result *r) { return r ? r->seconds : 0; }
double fastsnap_result_active_seconds(const fastsnap_result *r) { return r ? r->active_seconds : 0; }
uint64_t fastsnap_result_bytes_read(const fastsnap_result *r) { return r ? r->bytes_read : 0; }
const char *fastsnap_result_error(const fastsnap_result *r) { return r && r->error ? r->error : ""; }
int fastsnap_result_error_code(const fastsnap_result *r) { return r ? r->error_code : 0; }
int fastsnap_result_needs_attention(const fastsnap_result *r) { return r ? r->needs_attention : 0; }
size_t fastsnap_result_copy_count(const fastsnap_result *r) { return r ? r->n_copies : 0; }
const char *fastsnap_result_stores(const fastsnap_result *r) { return r ? r->stores : NULL; }

const char *fastsnap_result_copy_get(const fastsnap_result *r, size_t i, const char **state,
	const char **detail)
{
	int ok = r && i < r->n_copies;
	if (state)
		*state = ok ? r->copies[i].state : NULL;
	if (detail)
		*detail = ok ? r->copies[i].detail : NULL;
	return ok ? r->copies[i].store : NULL;
}

size_t fastsnap_result_copy_missing(const fastsnap_result *r)
{
	size_t n = 0;
	for (size_t i = 0; r && i < r->n_copies; i++)
		n += strcmp(r->copies[i].state, "done") != 0;
	return n;
}
size_t fastsnap_result_cleanup_count(const fastsnap_result *r) { return r ? r->cleaned_up.n : 0; }

const char *fastsnap_result_cleanup_get(const fastsnap_result *r, size_t i)
{
	return r && i < r->cleaned_up.n ? r->cleaned_up.v[i] : NULL;
}

double fastsnap_result_step_seconds(const fastsnap_result *r, fastsnap_step s)
{
	if (!r || (int)s < 0 || s >= FASTSNAP_STEP__COUNT)
		return 0;
	return r->step_s[s];
}

const char *fastsnap_result_sha512(const fastsnap_result *r)
{
	return r && r->sha512[0] ? r->sha512 : NULL;
}

const char *fastsnap_result_md5(const fastsnap_result *r)
{
	return r && r->md5[0] ? r->md5 : NULL;
}

static void json_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

const char *fastsnap_result_json(fastsnap_result *r)
{
	if (!r)
		return NULL;
	free(r->json);
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (!r->planned_only)
		json_str(o, "image_id", r->image_id);
	if (r->copy_only)
		goto copies;
	json_str(o, "name", r->name);
	json_str(o, "disk", r->disk);
	cJSON_AddStringToObject(o, "path", fastsnap_path_name(r->path));
	json_str(o, "store", r->store);
	json_str(o, "reason", r->reason);
	json_str(o, "flatten", r->flatten);
	json_str(o, "disk_format", r->disk_format);
	cJSON_AddNumberToObject(o, "size", (double)r->size);
	if (r->planned_only) {
		cJSON_AddBoolToObject(o, "dry_run", 1);
	} else {
		json_str(o, "location", r->location);
		cJSON_AddNumberToObject(o, "seconds", r->seconds);
		cJSON_AddNumberToObject(o, "active_seconds", r->active_seconds);
		if (r->path == FASTSNAP_PATH_STREAM) {
			cJSON_AddNumberToObject(o, "bytes_read", (double)r->bytes_read);
			cJSON_AddNumberToObject(o, "bytes_sent", (double)r->bytes_sent);
			json_str(o, "sha512", fastsnap_result_sha512(r));
			if (r->md5[0])
				cJSON_AddStringToObject(o, "md5", r->md5);
		}
		cJSON *steps = cJSON_AddObjectToObject(o, "steps");
		for (int i = 0; steps && i < FASTSNAP_STEP__COUNT; i++)
			if (r->step_s[i] > 0)
				cJSON_AddNumberToObject(steps, fastsnap_step_name((fastsnap_step)i), r->step_s[i]);
	}
copies:
	if (r->n_copies || r->copy_only) {
		cJSON *a = cJSON_AddArrayToObject(o, "copies");
		for (size_t i = 0; a && i < r->n_copies; i++) {
			cJSON *c = cJSON_CreateObject();
			if (!c || !cJSON_AddItemToArray(a, c))
				break;
			cJSON_AddStringToObject(c, "store", r->copies[i].store);
			cJSON_AddStringToObject(c, "status", r->copies[i].state);
			cJSON_AddNumberToObject(c, "seconds", r->copies[i].seconds);
			json_str(c, "detail", r->copies[i].detail);
		}
		json_str(o, "stores", r->stores);
	}
	if (r->needs_attention)
		cJSON_AddStringToObject(o, "state", "needs-attention");
	if (r->cleaned_up.n) {
		cJSON *a = cJSON_AddArrayToObject(o, "cleaned_up");
		for (size_t i = 0; a && i < r->cleaned_up.n; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(r->cleaned_up.v[i]));
	}
	if (r->error_code) {
		cJSON_AddStringToObject(o, "error", r->error ? r->error : "");
		cJSON_AddStringToObject(o, "error_code", fastsnap_strerror(r->error_code));
	}
	r->json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return r->json;
}

void fastsnap_result_free(fastsnap_result *r)
{
	if (!r)
		return;
	free(r->image_id);
	free(r->name);
	free(r->reason);
	free(r->store);
	free(r->location);
	free(r->flatten);
	free(r->disk);
	free(r->error);
	free(r->json);
	fs_strv_free(&r->cleaned_up);
	for (size_t i = 0; i < r->n_copies; i++) {
		free(r->copies[i].store);
		free(r->copies[i].detail);
	}
	free(r->copies);
	free(r->stores);
	free(r);
}
