/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/glance.h: the Glance v2 client (images and upload in
 * glance_images.c, locations in glance_location.c, discovery and the plan's
 * look-ups in glance_lookups.c, the client and its request core in
 * glance.c, the per-engine cache in glance_cache.c). Every call returns 0 or a negative FASTSNAP_E* code and
 * sets the thread-local message to "Glance <METHOD> <path>: <status>
 * <Glance's own message>". One fs_glance holds one HTTP connection
 * (reused across calls); use one per thread.
 */
#ifndef FS_GLANCE_H
#define FS_GLANCE_H

#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "core/common.h"
#include "clients/http.h"
#include "core/settings.h"

typedef struct fs_glance fs_glance;

/* An engine's Glance state, shared by the clients of its runs (and their
 * threads): the HTTP pool (clients/http.h) and the answers of GET
 * /v2/info/stores, stores/detail and /v2/schemas/image, kept `cache_s`
 * seconds (0: none) under a mutex held only while one is copied. A client
 * uses it when its settings' glance_shared points to it. */
int fs_glance_shared_new(fs_glance_shared **out, long cache_s);
/* After every client that used it is freed. */
void fs_glance_shared_free(fs_glance_shared *sh);
typedef struct {
	unsigned long handles_created, handles_reused;   /* HTTP pool */
	unsigned long cache_hits, cache_misses;
} fs_glance_shared_counts;
void fs_glance_shared_stats(fs_glance_shared *sh, fs_glance_shared_counts *out);

int fs_glance_new(fs_glance **out, const fs_settings *s, const fs_logger *lg);
/* Stop calls, retries and polls (FASTSNAP_ECANCELED) once fn(ctx) is
 * non-zero (clients/http.h). */
void fs_glance_set_cancel(fs_glance *g, fs_cancel_fn fn, void *ctx);
void fs_glance_free(fs_glance *g);
/* HTTP status of the last response (0 if none: transport error). */
long fs_glance_last_status(const fs_glance *g);
/* The logger the client was made with. */
const fs_logger *fs_glance_logger(const fs_glance *g);
/* The endpoint in use (after catalog lookup), owned by g. */
const char *fs_glance_endpoint(fs_glance *g);

/* ---- images ---- */

typedef struct {
	char *url;
	char *store;              /* metadata.store, or NULL */
} fs_location;

typedef struct {
	char *id;
	char *name;
	char *status;
	char *disk_format;
	char *container_format;
	char *visibility;
	char *owner;
	char *checksum;           /* md5 hex, or NULL */
	char *os_hash_algo;
	char *os_hash_value;
	int64_t size;             /* -1 when null */
	int64_t virtual_size;     /* -1 when null */
	int min_disk;
	int min_ram;
	fs_strv stores;           /* the "stores" field, split on ',' */
	fs_location *locations;
	size_t n_locations;
	cJSON *raw;               /* the whole JSON object, for inheritance */
} fs_image;

void fs_image_free(fs_image *img);
/* A string property (or core string field) of the image, or NULL. */
const char *fs_image_prop(const fs_image *img, const char *key);

typedef struct {
	const char *id;           /* client-chosen id, or NULL: a random one */
	int id_random;            /* `id` is a random UUID fastsnap drew: a 409 to
	                           * it is our own earlier try (libcurl's silent
	                           * resend included), when the name matches */
	const char *name;
	const char *disk_format;  /* default "raw" */
	const char *container_format; /* default "bare" */
	const char *visibility;   /* NULL: Glance's default */
	int min_disk;
	int min_ram;
	/* string properties, parallel arrays */
	const char *const *prop_keys;
	const char *const *prop_values;
	size_t n_props;
} fs_image_create_req;

/* POST /v2/images with the id chosen here (req->id, else a random UUID), so
 * that the call is retried like an idempotent one: a 409 to a retried POST,
 * or to the random id (libcurl may repeat a request by itself), means that
 * the first try created the image (its answer was lost), and the image is
 * read and returned (if it has req->name). A 409 to a caller's id on the
 * first try is FASTSNAP_ECONFLICT. */
int fs_glance_image_create(fs_glance *g, fs_image **out, const fs_image_create_req *req);
/* A random (version 4) UUID, lowercase, in out[37]. */
int fs_glance_new_image_id(char out[37]);
int fs_glance_image_get(fs_glance *g, fs_image **out, const char *id);
int fs_glance_image_delete(fs_glance *g, const char *id);
/* JSON-patch: `ops` is an array of {"op","path","value"}; out may be NULL. */
int fs_glance_image_patch(fs_glance *g, fs_image **out, const char *id, const cJSON *ops);
/* Convenience: replace-or-add (op "add" works for both in Glance) string props. */
int fs_glance_image_set_props(fs_glance *g, const char *id, const char *const *keys,
	const char *const *values, size_t n);
/* Remove properties (missing ones are ignored). */
int fs_glance_image_remove_props(fs_glance *g, const char *id, const char *const *keys, size_t n);
/* The same, told which keys exist by `known` (the image `id` as the caller
 * last saw it, e.g. fs_glance_location_image): no GET first. NULL: GET. */
int fs_glance_image_remove_props_known(fs_glance *g, const char *id, const char *const *keys,
	size_t n, const fs_image *known);

typedef struct {
	fs_image **v;
	size_t n;
} fs_image_list;
void fs_image_list_free(fs_image_list *l);
/* List images matching `key=value` filters (e.g. "image_type=backup"),
 * following `next` links until the end. sort e.g. "created_at:desc" or NULL. */
int fs_glance_image_list(fs_glance *g, fs_image_list *out, const char *const *filters,
	size_t n_filters, const char *sort, int page_size);
/* The same, stopping after `max_pages` pages (0: all). */
int fs_glance_image_list_pages(fs_glance *g, fs_image_list *out, const char *const *filters,
	size_t n_filters, const char *sort, int page_size, int max_pages);

/* ---- upload ---- */

/* The body comes from an fs_read_fn (http.h), rewound with fs_rewind_fn
 * before a retry. */
typedef struct {
	uint64_t length;          /* exact Content-Length */
	const char *store;        /* x-image-meta-store, or NULL */
	const char *base_image_ref; /* X-OpenStack-Base-Image-Ref, or NULL */
	fs_read_fn read;
	fs_rewind_fn rewind;
	void *ctx;
} fs_upload_req;

/* PUT /v2/images/{id}/file. A reader error is returned as is (its code
 * and message), not as a transport error. */
int fs_glance_upload(fs_glance *g, const char *id, const fs_upload_req *req);

/* ---- locations ---- */

typedef struct {
	const char *os_hash_algo;   /* "sha512" */
	const char *os_hash_value;
	const char *checksum;       /* md5, optional; sent with the PATCH only */
} fs_validation;

/* POST /v2/images/{id}/locations (Glance >= 29), then poll until active
 * (queued or importing meanwhile); falls back to PATCH add /locations/- on
 * 404/405 (Glance < 29) and on 403 (no service role: the error then names
 * [service_user]). Errors:
 *   FASTSNAP_ELOCATION_DISALLOWED  PATCH answered 403
 *   FASTSNAP_ELOCATION_REJECTED    PATCH answered 400 or 500 (could not open),
 *                                  POST answered 400, or Glance's
 *                                  location_import task failed after a 202
 *                                  (image back to queued without the
 *                                  os_glance_import_task lock; the task's
 *                                  message, when readable, is in the error)
 *   FASTSNAP_ETIMEOUT              still not active after poll_timeout_s
 * `vd` may be NULL. */
int fs_glance_add_location(fs_glance *g, const char *id, const char *url, const char *store,
	const fs_validation *vd, double poll_timeout_s);

typedef struct {
	const fs_validation *vd;      /* may be NULL */
	double poll_timeout_s;        /* <= 0: 60 */
	/* Properties (known to exist) to remove with the location: joined into
	 * the PATCH's JSON-patch document (Glance < 29: one call; a 409 to it
	 * is tried again without them). After a POST (Glance >= 29) they are
	 * left to the caller, to remove once the image is active. */
	const char *const *remove_props;
	size_t n_remove;
} fs_location_opts;

/* fs_glance_add_location that also removes o->remove_props (in the same
 * PATCH on Glance < 29; left to the caller after a POST). */
int fs_glance_add_location_removing_props(fs_glance *g, const char *id, const char *url,
	const char *store, const fs_location_opts *o);

/* The image as the last location call of image `id` left it: the PATCH's
 * answer, or the poll that found it active after a POST (so a caller can
 * skip the GET of its final check); NULL when that call failed, another
 * call came since, or the answer was not an image. Owned by g, valid until
 * the next location call. */
const fs_image *fs_glance_location_image(const fs_glance *g, const char *id);

/* Glance >= 29 hashes an image after it went active, in the task that
 * registered its location, and that task saves the image as it read it at
 * activation: a property removed meanwhile comes back. Poll image `id`
 * until the task's lock (os_glance_import_task) is gone: 0 and *out that
 * image; FASTSNAP_ETIMEOUT after timeout_s with *out the image still
 * locked; or the GET's error (*out NULL). Free *out. */
int fs_glance_wait_task_done(fs_glance *g, const char *id, double timeout_s, fs_image **out);

/* The location poll after a POST: the wait before poll `polls_done` + 1.
 * Every FS_LOCATION_POLL_FIRST_MS for the first FS_LOCATION_POLL_FAST polls
 * (Glance's task usually ends within a few hundred ms, and a later look
 * would add up to a whole back-off step to the time to active), then
 * x1.5 + 10 ms each time (20, 40, 70, 115, ...) up to
 * FS_LOCATION_POLL_MAX_MS. */
#define FS_LOCATION_POLL_FIRST_MS 20L
#define FS_LOCATION_POLL_FAST 10
#define FS_LOCATION_POLL_MAX_MS 500L
long fs_location_poll_wait_ms(int polls_done);

/* The message of the image's latest failed task (GET /v2/images/{id}/tasks,
 * Glance >= 21; members see their own images' tasks), or NULL (caller frees). */
char *fs_glance_last_task_failure(fs_glance *g, const char *id);

/* ---- copies (glance_import.c) ---- */
/* POST /v2/images/{id}/import, method copy-image, into `stores` (n >= 1),
 * with all_stores_must_succeed. 0 on 202: Glance copies in a task of its
 * own, and the image's `stores`, os_glance_importing_to_stores and
 * os_glance_failed_import tell how it goes. Errors: FASTSNAP_EFORBIDDEN
 * (403: Glance's copy_image policy, admin only by default),
 * FASTSNAP_ECONFLICT (409: not active, or another import holds the image),
 * FASTSNAP_EBADREQUEST (400: unknown store, or already in one), and the
 * other HTTP-mapped codes. Not retried. */
int fs_glance_copy_image(fs_glance *g, const char *id, const char *const *stores, size_t n,
	int all_must_succeed);

/* ---- discovery ---- */

typedef struct {
	char *id;
	char *description;
	int is_default;
	int read_only;
	char *type;               /* from detail, or NULL */
	char *pool;               /* rbd pool from detail, or NULL */
	char *fsid;               /* from detail (Glance >= 30), or NULL */
} fs_store_info;

typedef struct {
	fs_store_info *v;
	size_t n;
	int has_detail;           /* stores/detail was readable */
} fs_store_set;

void fs_store_set_free(fs_store_set *s);
/* GET /v2/info/stores, then stores/detail (a 403 there is not an error:
 * has_detail = 0). 404 on info/stores gives FASTSNAP_EUNSUPPORTED
 * ("multi-store is not enabled"). */
int fs_glance_stores(fs_glance *g, fs_store_set *out);
const fs_store_info *fs_store_set_find(const fs_store_set *s, const char *id);
const fs_store_info *fs_store_set_default(const fs_store_set *s);

/* The plan's look-ups, each on a client of its own at the same time (the
 * identity is made sure of first): GET /v2/info/stores with stores/detail,
 * the base image when base_id is set, and the schema when want_schema (kept
 * by g: a later fs_glance_image_schema on g makes no call). Each result
 * has the code and error it would have had alone (restore the error with
 * fs_error_state_restore): stores_rc as fs_glance_stores (a failed detail
 * names its call), base_rc as fs_glance_image_get. Returns 0, or the
 * identity's or an allocation's error (nothing was looked up then). */
typedef struct {
	const char *base_id;
	int want_schema;
} fs_lookups_req;

typedef struct {
	int stores_rc;
	fs_error_state stores_err;
	fs_store_set stores;
	int base_rc;
	fs_error_state base_err;
	fs_image *base;           /* owned: NULL it when taken */
} fs_lookups;

int fs_glance_lookups(fs_glance *g, fs_lookups *out, const fs_lookups_req *req);
void fs_lookups_free(fs_lookups *l);

/* GET /v2/schemas/image: names of schema fields, and which are readOnly.
 * Read once per client (the body is kept). */
typedef struct {
	fs_strv fields;
	fs_strv read_only;
} fs_image_schema;
void fs_image_schema_free(fs_image_schema *s);
int fs_glance_image_schema(fs_glance *g, fs_image_schema *out);
int fs_image_schema_is_field(const fs_image_schema *s, const char *name);
int fs_image_schema_is_read_only(const fs_image_schema *s, const char *name);

/* GET / : the API version ids ("v2.16", ...) with status CURRENT/SUPPORTED. */
int fs_glance_versions(fs_glance *g, fs_strv *out);

/* ---- parsers (no I/O: buffer + length, for tests and fuzzing) ---- */
int fs_parse_image(fs_image **out, const char *buf, size_t len);
int fs_parse_stores(fs_store_set *out, const char *buf, size_t len);
int fs_parse_stores_detail(fs_store_set *inout, const char *buf, size_t len);
int fs_parse_image_schema(fs_image_schema *out, const char *buf, size_t len);
/* One page of GET /v2/images: images appended to inout, *next the "next"
 * link (a path) or NULL. */
int fs_parse_image_page(fs_image_list *inout, char **next, const char *buf, size_t len);
/* GET / body: the ids of CURRENT and SUPPORTED versions. */
int fs_parse_versions(fs_strv *out, const char *buf, size_t len);

/* ---- lower level (tests, and callers that need a raw request) ---- */

/* One raw request to the Glance endpoint, with the auth and extra headers
 * added: path is appended to the endpoint; extra headers "Name: value" (CR/LF
 * refused). On success *status and (if body_out) the response body are set;
 * any status is returned as 0 (the caller checks *status). */
int fs_glance_raw(fs_glance *g, long *status, fs_buf *body_out, const char *method,
	const char *path, const char *const *headers, size_t n_headers, const char *body,
	size_t body_len);

#endif
