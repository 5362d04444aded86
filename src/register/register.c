/* SPDX-License-Identifier: Apache-2.0 */
/*
 * register/register.c: builds the snapshot image's properties and
 * registers the rbd:// location. Properties inherited from the base image
 * skip core fields, read-only fields (sending one back gives 403) and the
 * non-inheritable ones (signatures, encryption keys, os_glance_*).
 */
#include <stdlib.h>
#include <string.h>

#include "core/rbd_url.h"
#include "register/register.h"

/* How long the final check waits for Glance's background hash (Glance >=
 * 29) before it removes the in-progress mark anyway. */
#define FS_TASK_WAIT_S 300.0

static const char *const core_fields[] = {
	"id", "name", "status", "visibility", "protected", "os_hidden", "owner", "disk_format",
	"container_format", "tags", "min_disk", "min_ram", "size", "virtual_size", "checksum",
	"os_hash_algo", "os_hash_value", "created_at", "updated_at", "file", "self", "schema",
	"direct_url", "locations", "stores", NULL
};

/* Nova's non-inheritable properties, plus the per-snapshot ones we set. */
static const char *const not_inherited_prefix[] = {
	"img_signature", "cinder_encryption_key", "os_glance", "fastsnap_", "cache_in_nova",
	"bittorrent", "image_location", "image_state", "image_type", "backup_type",
	"instance_uuid", "base_image_ref", "user_id", "owner_id", NULL
};

static int in_list(const char *const *list, const char *k, int prefix)
{
	for (size_t i = 0; list[i]; i++) {
		size_t n = strlen(list[i]);
		if (prefix ? strncmp(k, list[i], n) == 0 : strcmp(k, list[i]) == 0)
			return 1;
	}
	return 0;
}

static int meta_set(fs_image_meta *m, const char *k, const char *v)
{
	for (size_t i = 0; i < m->keys.n; i++) {
		if (strcmp(m->keys.v[i], k) == 0) {
			char *c = strdup(v);
			if (!c)
				return -1;
			free(m->values.v[i]);
			m->values.v[i] = c;
			return 0;
		}
	}
	if (fs_strv_push(&m->keys, k) < 0 || fs_strv_push(&m->values, v) < 0)
		return -1;
	return 0;
}

int fs_image_prop_reserved(const char *key)
{
	/* os_glance_* belongs to Glance (403 when sent) */
	return strncmp(key, "fastsnap_", 9) == 0 || strncmp(key, "os_glance", 9) == 0 ||
		in_list(core_fields, key, 0);
}

int fs_image_meta_build(fs_image_meta *m, const fastsnap_snapshot_opts *o, const fs_image *base,
	const fs_image_schema *schema, const fs_owner *owner, uint64_t disk_size)
{
	memset(m, 0, sizeof(*m));
	int oom = 0;
	if (base && base->raw) {
		const cJSON *it;
		cJSON_ArrayForEach(it, base->raw) {
			const char *k = it->string;
			if (!k || !cJSON_IsString(it) || in_list(core_fields, k, 0) ||
			    in_list(not_inherited_prefix, k, 1))
				continue;
			if (schema && fs_image_schema_is_read_only(schema, k))
				continue;
			oom |= meta_set(m, k, it->valuestring);
		}
		m->min_disk = base->min_disk;
		m->min_ram = base->min_ram;
	}
	/* Like Nova (root_gb), min_disk covers the disk itself. */
	int gib = (int)((disk_size + (1ULL << 30) - 1) >> 30);
	if (gib > m->min_disk)
		m->min_disk = gib;

	int backup = o->image_type == FASTSNAP_IMAGE_BACKUP;
	oom |= meta_set(m, "image_type", backup ? "backup" : "snapshot");
	if (backup)
		oom |= meta_set(m, "backup_type", o->backup_type);
	if (o->instance_uuid)
		oom |= meta_set(m, "instance_uuid", o->instance_uuid);
	if (o->base_image_ref)
		oom |= meta_set(m, "base_image_ref", o->base_image_ref);
	if (o->user_id)
		oom |= meta_set(m, "user_id", o->user_id);
	if (o->owner_id)
		oom |= meta_set(m, "owner_id", o->owner_id);
	oom |= meta_set(m, "image_location", "snapshot");
	oom |= meta_set(m, "image_state", "available");
	char *tag = fs_owner_format(owner);
	oom |= !tag || meta_set(m, FS_PROP_OWNER, tag);
	free(tag);
	oom |= meta_set(m, FS_PROP_STATE, FS_STATE_IN_PROGRESS);
	/* The caller's own properties win, except over fastsnap's tags. */
	for (size_t i = 0; i < o->properties_count; i++) {
		const char *p = o->properties[i];
		const char *eq = strchr(p, '=');
		if (!eq)
			continue;
		char *k = strndup(p, (size_t)(eq - p));
		if (!k) {
			oom = 1;
			break;
		}
		if (fs_image_prop_reserved(k) || (schema && fs_image_schema_is_read_only(schema, k))) {
			int r = fs_err(FASTSNAP_EINVAL, "property '%s' cannot be set: it is a core or "
				"read-only field of the image, or reserved by fastsnap", k);
			free(k);
			fs_image_meta_free(m);
			return r;
		}
		oom |= meta_set(m, k, eq + 1);
		free(k);
	}
	if (oom) {
		fs_image_meta_free(m);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	return 0;
}

void fs_image_meta_free(fs_image_meta *m)
{
	fs_strv_free(&m->keys);
	fs_strv_free(&m->values);
}

int fs_register_image_create(fs_glance *g, const char *id, int *undo_idx, fs_undo *u,
	const fastsnap_snapshot_opts *o, const fs_image *base, const fs_owner *owner,
	uint64_t disk_size, const char *heartbeat_at, const char *disk_format)
{
	fs_image_schema schema;
	memset(&schema, 0, sizeof(schema));
	/* The schema only tells which base properties are inherited. */
	int have_schema = base && fs_glance_image_schema(g, &schema) == 0;
	fs_image_meta meta;
	int rc = fs_image_meta_build(&meta, o, base, have_schema ? &schema : NULL, owner, disk_size);
	fs_image_schema_free(&schema);
	if (rc == 0 && heartbeat_at && meta_set(&meta, FS_PROP_HEARTBEAT, heartbeat_at) < 0)
		rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
	if (rc < 0) {
		fs_image_meta_free(&meta);
		return rc;
	}
	fs_image_create_req cr = {
		.id = id,
		.id_random = 1,   /* the engine's id is a random UUID (fs_uuid4) */
		.name = o->name,
		.disk_format = disk_format ? disk_format : "raw",
		.container_format = "bare",
		.min_disk = meta.min_disk,
		.min_ram = meta.min_ram,
		.prop_keys = (const char *const *)meta.keys.v,
		.prop_values = (const char *const *)meta.values.v,
		.n_props = meta.keys.n,
	};
	fs_image *img = NULL;
	if ((rc = fs_glance_image_create(g, &img, &cr)) == 0)
		rc = *undo_idx = fs_undo_push_glance_delete(u, g, id);
	fs_image_free(img);
	fs_image_meta_free(&meta);
	return rc < 0 ? rc : 0;
}

int fs_register_attach(fs_glance *g, const char *id)
{
	fs_image *img = NULL;
	int rc = fs_glance_image_get(g, &img, id);
	if (rc == 0 && !fs_streq(img->status, "queued"))
		rc = fs_err(FASTSNAP_ECONFLICT, "Glance image %s is '%s', not 'queued': it cannot take a "
			"location", id, img->status ? img->status : "?");
	fs_image_free(img);
	return rc;
}

int fs_register_needs_attention(fs_glance *g, const char *image_id)
{
	fs_error_state err;
	fs_error_state_capture(&err);
	size_t n = strlen(err.msg);
	if (n > 255) {                        /* Glance's property limit; whole UTF-8 */
		n = 255;
		while (n > 0 && ((unsigned char)err.msg[n] & 0xc0) == 0x80)
			n--;
	}
	char *msg = fs_strndup(err.msg, n);
	/* Glance >= 29: not while its location task still holds the image (it
	 * would save its own older copy over the mark: fs_register_final_check) */
	const fs_image *seen = fs_glance_location_image(g, image_id);
	if (seen && fs_image_prop(seen, "os_glance_import_task")) {
		fs_image *done = NULL;
		fs_glance_wait_task_done(g, image_id, FS_TASK_WAIT_S, &done);
		fs_image_free(done);
	}
	const char *k[] = { FS_PROP_STATE, FS_PROP_ERROR };
	const char *v[] = { FS_STATE_NEEDS_ATTENTION, msg ? msg : "" };
	int rc = fs_glance_image_set_props(g, image_id, k, v, 2);
	free(msg);
	fs_error_state_restore(&err);
	return rc;
}

int fs_register_location(fs_glance *g, char **url_out, const char *image_id, const char *fsid,
	const char *pool, const char *rbd_image, const char *snap, const char *store)
{
	*url_out = fs_rbd_url_format(fsid, pool, rbd_image, snap);
	if (!*url_out)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	/* the in-progress mark goes with the location when Glance takes both in
	 * one call (the PATCH of Glance < 29); else fs_register_final_check */
	const char *k = FS_PROP_STATE;
	fs_location_opts lo = { .poll_timeout_s = 120.0, .remove_props = &k, .n_remove = 1 };
	return fs_glance_add_location_removing_props(g, image_id, *url_out, store, &lo);
}

void fs_register_seen_get(fs_glance *g, const char *image_id, fs_register_seen *out)
{
	const fs_image *img = fs_glance_location_image(g, image_id);
	out->image = img;
	out->active = img && fs_streq(img->status, "active");
	out->size = img ? img->size : -1;
	out->state_removed = out->active && !fs_image_prop(img, FS_PROP_STATE) &&
		!cJSON_HasObjectItem(img->raw, FS_PROP_STATE);
}

int fs_register_final_check(fs_glance *g, const char *image_id, uint64_t want,
	const char *path_name)
{
	fs_register_seen seen;
	fs_register_seen_get(g, image_id, &seen);
	fs_image *img = NULL;
	int rc = 0;
	/* the location's answer (or the poll that ended it) shows the image
	 * active with its size: a GET would only say it again */
	const fs_image *known = seen.image;
	if (!(seen.active && seen.size >= 0 && (uint64_t)seen.size == want)) {
		if ((rc = fs_glance_image_get(g, &img, image_id)) < 0)
			return rc;
		known = img;
	}
	if (!fs_streq(known->status, "active"))
		rc = fs_err(FASTSNAP_EPROTOCOL, "image %s is '%s' after the %s path, not 'active'",
			image_id, known->status ? known->status : "(none)", path_name);
	else if (known->size >= 0 && (uint64_t)known->size != want)
		rc = fs_err(FASTSNAP_ECHECKSUM, "image %s has size %lld in Glance, %llu bytes were expected",
			image_id, (long long)known->size, (unsigned long long)want);
	const char *k = FS_PROP_STATE;
	fs_image *done = NULL;
	if (rc == 0 && !seen.state_removed && fs_image_prop(known, "os_glance_import_task")) {
		/* Glance >= 29: its location task hashes the active image and then
		 * saves the copy it read at activation, mark included; removed
		 * before that, the mark would come back (docs/glance-api.md) */
		if (fs_glance_wait_task_done(g, image_id, FS_TASK_WAIT_S, &done) < 0) {
			fs_log(fs_glance_logger(g), FASTSNAP_LOG_WARN, "%s; removing %s now: it may "
				"come back when that task ends (fastsnap gc clears it)",
				fastsnap_error_last(), FS_PROP_STATE);
			fastsnap_error_clear();
		}
		if (done)
			known = done;
	}
	if (rc == 0 && !seen.state_removed)
		rc = fs_glance_image_remove_props_known(g, image_id, &k, 1, known);
	fs_image_free(done);
	fs_image_free(img);
	return rc;
}
