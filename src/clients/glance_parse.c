/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/glance_parse.c: parsers of Glance v2 response bodies (image,
 * image list page, stores, stores/detail, image schema, API versions) and
 * the accessors and free functions of the structs they fill. Each takes a
 * buffer and a length and does no I/O; malformed JSON, a missing field or
 * a wrong type gives FASTSNAP_EPROTOCOL with a message naming the field.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clients/glance.h"

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A field that must be a string or null (or absent). *out is a new copy. */
static int opt_str(char **out, const cJSON *o, const char *k, const char *what)
{
	*out = NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return fs_err(FASTSNAP_EPROTOCOL, "%s: field \"%s\" is not a string", what, k);
	if (!(*out = strdup(v->valuestring)))
		return fs_err(FASTSNAP_ENOMEM, "out of memory parsing %s", what);
	return 0;
}

static int opt_int64(int64_t *out, const cJSON *o, const char *k, const char *what)
{
	*out = -1;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v))
		return fs_err(FASTSNAP_EPROTOCOL, "%s: field \"%s\" is not a number", what, k);
	if (v->valuedouble < 0 || v->valuedouble > 9.2e18)
		return fs_err(FASTSNAP_EPROTOCOL, "%s: field \"%s\" is out of range", what, k);
	*out = (int64_t)v->valuedouble;
	return 0;
}

/* "true"/"True"/true. Anything else is false. */
static int truthy(const cJSON *v)
{
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	if (cJSON_IsString(v))
		return strcasecmp(v->valuestring, "true") == 0 ||
			strcasecmp(v->valuestring, "yes") == 0 || strcmp(v->valuestring, "1") == 0;
	return 0;
}

/* ---- image ---- */

void fs_image_free(fs_image *img)
{
	if (!img)
		return;
	free(img->id);
	free(img->name);
	free(img->status);
	free(img->disk_format);
	free(img->container_format);
	free(img->visibility);
	free(img->owner);
	free(img->checksum);
	free(img->os_hash_algo);
	free(img->os_hash_value);
	fs_strv_free(&img->stores);
	for (size_t i = 0; i < img->n_locations; i++) {
		free(img->locations[i].url);
		free(img->locations[i].store);
	}
	free(img->locations);
	cJSON_Delete(img->raw);
	free(img);
}

const char *fs_image_prop(const fs_image *img, const char *key)
{
	if (!img || !img->raw || !key)
		return NULL;
	return jstr(img->raw, key);
}

/* Build an fs_image from a parsed object; takes ownership of `o`. */
#define IMAGE_WHAT "Glance image"

/* The core fields: id and status required, the others optional. */
static int image_fields(fs_image *img, const cJSON *o)
{
	const char *what = IMAGE_WHAT;
	int rc;
	if (!jstr(o, "id"))
		return fs_err(FASTSNAP_EPROTOCOL, "%s: missing string field \"id\"", what);
	if (!jstr(o, "status"))
		return fs_err(FASTSNAP_EPROTOCOL, "%s %s: missing string field \"status\"", what,
			jstr(o, "id"));
	if ((rc = opt_str(&img->id, o, "id", what)) < 0 ||
	    (rc = opt_str(&img->name, o, "name", what)) < 0 ||
	    (rc = opt_str(&img->status, o, "status", what)) < 0 ||
	    (rc = opt_str(&img->disk_format, o, "disk_format", what)) < 0 ||
	    (rc = opt_str(&img->container_format, o, "container_format", what)) < 0 ||
	    (rc = opt_str(&img->visibility, o, "visibility", what)) < 0 ||
	    (rc = opt_str(&img->owner, o, "owner", what)) < 0 ||
	    (rc = opt_str(&img->checksum, o, "checksum", what)) < 0 ||
	    (rc = opt_str(&img->os_hash_algo, o, "os_hash_algo", what)) < 0 ||
	    (rc = opt_str(&img->os_hash_value, o, "os_hash_value", what)) < 0 ||
	    (rc = opt_int64(&img->size, o, "size", what)) < 0 ||
	    (rc = opt_int64(&img->virtual_size, o, "virtual_size", what)) < 0)
		return rc;
	int64_t v;
	if ((rc = opt_int64(&v, o, "min_disk", what)) < 0)
		return rc;
	img->min_disk = v > 0 && v < 0x7fffffff ? (int)v : 0;
	if ((rc = opt_int64(&v, o, "min_ram", what)) < 0)
		return rc;
	img->min_ram = v > 0 && v < 0x7fffffff ? (int)v : 0;
	return 0;
}

/* "stores": a comma-separated string. */
static int image_stores(fs_image *img, const cJSON *o)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "stores");
	if (!st || cJSON_IsNull(st))
		return 0;
	if (!cJSON_IsString(st))
		return fs_err(FASTSNAP_EPROTOCOL, "%s: field \"stores\" is not a string", IMAGE_WHAT);
	const char *p = st->valuestring;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *one = strndup(p, n);
		if (!one)
			return fs_err(FASTSNAP_ENOMEM, "out of memory");
		char *t = fs_trim(one);
		int bad = *t && fs_strv_push(&img->stores, t) < 0;
		free(one);
		if (bad)
			return fs_err(FASTSNAP_ENOMEM, "out of memory");
		p = e ? e + 1 : p + n;
	}
	return 0;
}

/* "locations": [{"url", "metadata": {"store"}}]. */
static int image_locations(fs_image *img, const cJSON *o)
{
	const char *what = IMAGE_WHAT;
	const cJSON *locs = cJSON_GetObjectItemCaseSensitive(o, "locations");
	if (!locs || cJSON_IsNull(locs))
		return 0;
	if (!cJSON_IsArray(locs))
		return fs_err(FASTSNAP_EPROTOCOL, "%s: field \"locations\" is not an array", what);
	int n = cJSON_GetArraySize(locs);
	if (n > 0 && !(img->locations = calloc((size_t)n, sizeof(*img->locations))))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	const cJSON *l;
	cJSON_ArrayForEach(l, locs) {
		const char *url = cJSON_IsObject(l) ? jstr(l, "url") : NULL;
		if (!url)
			return fs_err(FASTSNAP_EPROTOCOL, "%s: a location lacks a string \"url\"", what);
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(l, "metadata");
		if (md && !cJSON_IsNull(md) && !cJSON_IsObject(md))
			return fs_err(FASTSNAP_EPROTOCOL, "%s: a location's \"metadata\" is not an object",
				what);
		fs_location *loc = &img->locations[img->n_locations++];
		loc->url = strdup(url);
		const char *store = md ? jstr(md, "store") : NULL;
		loc->store = store ? strdup(store) : NULL;
		if (!loc->url || (store && !loc->store))
			return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	return 0;
}

static int image_from_json(fs_image **out, cJSON *o)
{
	*out = NULL;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return fs_err(FASTSNAP_EPROTOCOL, "%s: not a JSON object", IMAGE_WHAT);
	}
	fs_image *img = calloc(1, sizeof(*img));
	if (!img) {
		cJSON_Delete(o);
		return fs_err(FASTSNAP_ENOMEM, "out of memory parsing %s", IMAGE_WHAT);
	}
	img->raw = o;
	int rc;
	if ((rc = image_fields(img, o)) < 0 || (rc = image_stores(img, o)) < 0 ||
	    (rc = image_locations(img, o)) < 0) {
		fs_image_free(img);
		return rc;
	}
	*out = img;
	return 0;
}

int fs_parse_image(fs_image **out, const char *buf, size_t len)
{
	*out = NULL;
	cJSON *o;
	int rc = fs_http_json_body(&o, buf, len, "Glance image");
	return rc < 0 ? rc : image_from_json(out, o);
}

void fs_image_list_free(fs_image_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		fs_image_free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int fs_parse_image_page(fs_image_list *inout, char **next, const char *buf, size_t len)
{
	*next = NULL;
	cJSON *o;
	int rc = fs_http_json_body(&o, buf, len, "Glance image list");
	if (rc < 0)
		return rc;
	cJSON *imgs = cJSON_GetObjectItemCaseSensitive(o, "images");
	if (!cJSON_IsArray(imgs)) {
		rc = fs_err(FASTSNAP_EPROTOCOL, "Glance image list: no \"images\" array");
		goto out;
	}
	size_t add = (size_t)cJSON_GetArraySize(imgs);
	if (add) {
		fs_image **v = realloc(inout->v, (inout->n + add) * sizeof(*v));
		if (!v) {
			rc = fs_err(FASTSNAP_ENOMEM, "out of memory listing images");
			goto out;
		}
		inout->v = v;
	}
	while (cJSON_GetArraySize(imgs) > 0) {
		cJSON *one = cJSON_DetachItemFromArray(imgs, 0);
		fs_image *img;
		if ((rc = image_from_json(&img, one)) < 0)
			goto out;
		inout->v[inout->n++] = img;
	}
	const cJSON *nx = cJSON_GetObjectItemCaseSensitive(o, "next");
	if (nx && !cJSON_IsNull(nx)) {
		if (!cJSON_IsString(nx)) {
			rc = fs_err(FASTSNAP_EPROTOCOL, "Glance image list: \"next\" is not a string");
			goto out;
		}
		if (!(*next = strdup(nx->valuestring)))
			rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
out:
	cJSON_Delete(o);
	return rc;
}

/* ---- stores ---- */

static void store_info_clear(fs_store_info *s)
{
	free(s->id);
	free(s->description);
	free(s->type);
	free(s->pool);
	free(s->fsid);
}

void fs_store_set_free(fs_store_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		store_info_clear(&s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->has_detail = 0;
}

const fs_store_info *fs_store_set_find(const fs_store_set *s, const char *id)
{
	for (size_t i = 0; s && id && i < s->n; i++)
		if (fs_streq(s->v[i].id, id))
			return &s->v[i];
	return NULL;
}

const fs_store_info *fs_store_set_default(const fs_store_set *s)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (s->v[i].is_default)
			return &s->v[i];
	return NULL;
}

static int stores_array(cJSON **root, const cJSON **arr, const char *buf, size_t len,
	const char *what)
{
	cJSON *o;
	int rc = fs_http_json_body(&o, buf, len, what);
	*root = NULL;
	if (rc < 0)
		return rc;
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "stores");
	if (!cJSON_IsArray(a)) {
		cJSON_Delete(o);
		return fs_err(FASTSNAP_EPROTOCOL, "%s: no \"stores\" array", what);
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsObject(e) || !jstr(e, "id")) {
			cJSON_Delete(o);
			return fs_err(FASTSNAP_EPROTOCOL, "%s: a store lacks a string \"id\"", what);
		}
	}
	*root = o;
	*arr = a;
	return 0;
}

int fs_parse_stores(fs_store_set *out, const char *buf, size_t len)
{
	const char *what = "Glance GET /v2/info/stores";
	memset(out, 0, sizeof(*out));
	cJSON *o;
	const cJSON *a, *e;
	int rc = stores_array(&o, &a, buf, len, what);
	if (rc < 0)
		return rc;
	size_t n = (size_t)cJSON_GetArraySize(a);
	if (n && !(out->v = calloc(n, sizeof(*out->v)))) {
		cJSON_Delete(o);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	cJSON_ArrayForEach(e, a) {
		fs_store_info *s = &out->v[out->n++];
		if (!(s->id = strdup(jstr(e, "id"))) ||
		    (rc = opt_str(&s->description, e, "description", what)) < 0) {
			if (rc == 0)
				rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
			fs_store_set_free(out);
			cJSON_Delete(o);
			return rc;
		}
		s->is_default = truthy(cJSON_GetObjectItemCaseSensitive(e, "default"));
		s->read_only = truthy(cJSON_GetObjectItemCaseSensitive(e, "read-only"));
	}
	cJSON_Delete(o);
	return 0;
}

int fs_parse_stores_detail(fs_store_set *inout, const char *buf, size_t len)
{
	const char *what = "Glance GET /v2/info/stores/detail";
	cJSON *o;
	const cJSON *a, *e;
	int rc = stores_array(&o, &a, buf, len, what);
	if (rc < 0)
		return rc;
	cJSON_ArrayForEach(e, a) {
		fs_store_info *s = (fs_store_info *)fs_store_set_find(inout, jstr(e, "id"));
		if (!s) {
			/* listed by detail only: add it */
			fs_store_info *v = realloc(inout->v, (inout->n + 1) * sizeof(*v));
			if (!v) {
				cJSON_Delete(o);
				return fs_err(FASTSNAP_ENOMEM, "out of memory");
			}
			inout->v = v;
			s = &v[inout->n];
			memset(s, 0, sizeof(*s));
			if (!(s->id = strdup(jstr(e, "id")))) {
				cJSON_Delete(o);
				return fs_err(FASTSNAP_ENOMEM, "out of memory");
			}
			inout->n++;
			s->is_default = truthy(cJSON_GetObjectItemCaseSensitive(e, "default"));
			s->read_only = truthy(cJSON_GetObjectItemCaseSensitive(e, "read-only"));
		}
		char *type = NULL, *pool = NULL, *fsid = NULL;
		if ((rc = opt_str(&type, e, "type", what)) < 0) {
			cJSON_Delete(o);
			return rc;
		}
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(e, "properties");
		if (props && !cJSON_IsNull(props) && !cJSON_IsObject(props)) {
			free(type);
			cJSON_Delete(o);
			return fs_err(FASTSNAP_EPROTOCOL, "%s: store %s: \"properties\" is not an "
				"object", what, s->id);
		}
		if (cJSON_IsObject(props) &&
		    ((rc = opt_str(&pool, props, "pool", what)) < 0 ||
		     (rc = opt_str(&fsid, props, "fsid", what)) < 0)) {
			free(type);
			free(pool);
			cJSON_Delete(o);
			return rc;
		}
		if (type) { free(s->type); s->type = type; }
		if (pool) { free(s->pool); s->pool = pool; }
		if (fsid) { free(s->fsid); s->fsid = fsid; }
	}
	inout->has_detail = 1;
	cJSON_Delete(o);
	return 0;
}

/* ---- schema ---- */

void fs_image_schema_free(fs_image_schema *s)
{
	if (!s)
		return;
	fs_strv_free(&s->fields);
	fs_strv_free(&s->read_only);
}

static int strv_has(const fs_strv *v, const char *s)
{
	for (size_t i = 0; s && i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return 1;
	return 0;
}

int fs_image_schema_is_field(const fs_image_schema *s, const char *name)
{
	return strv_has(&s->fields, name);
}

int fs_image_schema_is_read_only(const fs_image_schema *s, const char *name)
{
	return strv_has(&s->read_only, name);
}

int fs_parse_image_schema(fs_image_schema *out, const char *buf, size_t len)
{
	const char *what = "Glance GET /v2/schemas/image";
	memset(out, 0, sizeof(*out));
	cJSON *o;
	int rc = fs_http_json_body(&o, buf, len, what);
	if (rc < 0)
		return rc;
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(o, "properties");
	if (!cJSON_IsObject(props)) {
		rc = fs_err(FASTSNAP_EPROTOCOL, "%s: no \"properties\" object", what);
		goto out;
	}
	const cJSON *p;
	cJSON_ArrayForEach(p, props) {
		if (!p->string)
			continue;
		if (fs_strv_push(&out->fields, p->string) < 0) {
			rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
			goto out;
		}
		const cJSON *ro = cJSON_IsObject(p) ?
			cJSON_GetObjectItemCaseSensitive(p, "readOnly") : NULL;
		if (cJSON_IsTrue(ro) && fs_strv_push(&out->read_only, p->string) < 0) {
			rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
			goto out;
		}
	}
out:
	cJSON_Delete(o);
	if (rc < 0)
		fs_image_schema_free(out);
	return rc;
}

/* ---- versions ---- */

int fs_parse_versions(fs_strv *out, const char *buf, size_t len)
{
	const char *what = "Glance GET /";
	memset(out, 0, sizeof(*out));
	cJSON *o;
	int rc = fs_http_json_body(&o, buf, len, what);
	if (rc < 0)
		return rc;
	const cJSON *vs = cJSON_GetObjectItemCaseSensitive(o, "versions");
	if (!cJSON_IsArray(vs)) {
		rc = fs_err(FASTSNAP_EPROTOCOL, "%s: no \"versions\" array", what);
		goto out;
	}
	const cJSON *v;
	cJSON_ArrayForEach(v, vs) {
		const char *id = cJSON_IsObject(v) ? jstr(v, "id") : NULL;
		const char *st = cJSON_IsObject(v) ? jstr(v, "status") : NULL;
		if (!id || !st) {
			rc = fs_err(FASTSNAP_EPROTOCOL, "%s: a version lacks string \"id\" or "
				"\"status\"", what);
			goto out;
		}
		if (strcmp(st, "CURRENT") != 0 && strcmp(st, "SUPPORTED") != 0)
			continue;
		if (fs_strv_push(out, id) < 0) {
			rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
			goto out;
		}
	}
out:
	cJSON_Delete(o);
	if (rc < 0)
		fs_strv_free(out);
	return rc;
}
