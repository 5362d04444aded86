/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/glance_core.h: what the files of the Glance client share, and
 * nothing outside them includes: the client's and the engine's shared
 * state, the per-engine cache (glance_cache.c), and the request core
 * (glance.c) that images and upload (glance_images.c), locations
 * (glance_location.c) and the look-ups (glance_lookups.c) call through.
 */
#ifndef FS_GLANCE_CORE_H
#define FS_GLANCE_CORE_H

#include <pthread.h>

#include "clients/auth.h"
#include "clients/glance.h"
#include "clients/http.h"

#define PATCH_CT "Content-Type: application/openstack-images-v2.1-json-patch"
#define JSON_CT "Content-Type: application/json"

/* The answers kept per engine (glance_cache.c). */
#define FS_GLANCE_N_CACHED 3

struct fs_glance_shared {
	fs_http_pool *pool;
	long cache_s;
	pthread_mutex_t mu;       /* the entries: held only while one is copied */
	struct {
		char *endpoint;       /* NULL: empty */
		long status;
		fs_buf body;
		double at;
	} c[FS_GLANCE_N_CACHED];
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

/* ---- the per-engine cache (glance_cache.c) ---- */

/* The cache slot of a call, or -1 when its answer is not kept. */
int fs_glance_cache_slot(const fs_glance *g, const char *method, const char *path);
/* A copy of a fresh kept answer into resp; 1 when there was one. */
int fs_glance_cache_get(fs_glance *g, int slot, const char *endpoint, fs_http_resp *resp,
	const char *log_name);
/* Keep an answer that only a reconfigured Glance changes. */
void fs_glance_cache_put(fs_glance *g, int slot, const char *endpoint, const fs_http_resp *resp);

/* ---- the request core (glance.c) ---- */

typedef struct {
	const char *method;
	const char *path;             /* appended to the endpoint */
	const char *const *extra;     /* extra headers */
	size_t n_extra;
	const char *body;
	size_t body_len;
	const fs_upload_req *up;
	int retry;
} fs_glance_req;

/* Another client with g's identity and its own HTTP handle. */
int fs_glance_sibling(fs_glance **out, fs_glance *g);
/* One call: the identity's headers, the cache, one re-authentication on a
 * 401; log_name gets "Glance METHOD path". */
int fs_glance_call(fs_glance *g, fs_http_resp *resp, const fs_glance_req *r, char *log_name,
	size_t log_name_len);
/* Run a call and require one of the ok statuses. */
int fs_glance_expect(fs_glance *g, fs_http_resp *resp, const fs_glance_req *r, long ok1, long ok2);
/* Change the current error's code, appending `note` to its message. */
int fs_glance_recode(int code, const char *note);
/* The one error for a status a call did not expect. */
int fs_glance_unexpected(fs_glance *g, const fs_http_resp *resp, const char *name);
/* Parse an image in an answer; a failure names the call. */
int fs_glance_image_answer(fs_image **out, const fs_http_resp *resp, const char *method,
	const char *path);
/* Percent-encode for a path segment or a query value. */
int fs_glance_put_escaped(fs_buf *b, const char *s);
/* "/v2/images/<id><suffix>", or NULL (out of memory). */
char *fs_glance_image_path(const char *id, const char *suffix);
/* EINVAL for an empty image id. */
int fs_glance_check_id(const char *id);
/* Both: the image's path in *path (the caller frees), or EINVAL, ENOMEM. */
int fs_glance_checked_image_path(char **path, const char *id, const char *suffix);

/* ---- JSON-patch (glance_images.c) ---- */

/* PATCH with a JSON-patch document; resp has the status even on error. */
int fs_glance_patch_call(fs_glance *g, fs_http_resp *resp, const char *id, const cJSON *ops,
	char *name, size_t name_len);
/* Append {"op": op, "path": "/key"[, "value": value]} to ops. */
int fs_glance_patch_op(cJSON *ops, const char *op, const char *key, const char *value);

#endif