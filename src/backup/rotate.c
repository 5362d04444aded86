/*
 * backup/rotate.c: backup rotation, as Nova's createBackup does it: list
 * the images with image_type=backup and the same backup_type and
 * instance_uuid (filtered by Glance, checked again here, every page),
 * newest first, and delete all beyond the first `rotation`. An image that
 * cannot be deleted is reported and skipped; the others still go.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "clients/glance.h"
#include "engine.h"

struct fastsnap_rotation {
	fs_strv deleted;
	fs_strv skipped;        /* image ids */
	fs_strv reasons;        /* parallel to skipped */
	size_t kept;
	char *json;
};

/* Does the listed image really belong to this rotation? */
static int is_ours(const fs_image *img, const char *instance_uuid, const char *backup_type)
{
	return fs_streq(fs_image_prop(img, "image_type"), "backup") &&
		fs_streq(fs_image_prop(img, "backup_type"), backup_type) &&
		fs_streq(fs_image_prop(img, "instance_uuid"), instance_uuid);
}

static int rotate(fastsnap_rotation *rot, fs_glance *g, const char *instance_uuid,
	const char *backup_type, unsigned int rotation)
{
	char f1[] = "image_type=backup";
	char *f2 = fs_asprintf("backup_type=%s", backup_type);
	char *f3 = fs_asprintf("instance_uuid=%s", instance_uuid);
	if (!f2 || !f3) {
		free(f2);
		free(f3);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	const char *filters[] = { f1, f2, f3 };
	fs_image_list l;
	int rc = fs_glance_image_list(g, &l, filters, 3, "created_at:desc", 100);
	free(f2);
	free(f3);
	if (rc < 0)
		return rc;
	size_t ours = 0;
	for (size_t i = 0; i < l.n; i++) {
		const fs_image *img = l.v[i];
		if (!is_ours(img, instance_uuid, backup_type) || ++ours <= rotation)
			continue;
		int d = fs_glance_image_delete(g, img->id);
		if (d == 0) {
			fs_strv_push(&rot->deleted, img->id);
		} else {
			fs_strv_push(&rot->skipped, img->id);
			fs_strv_push(&rot->reasons, fastsnap_error_last());
			fastsnap_error_clear();
		}
	}
	rot->kept = ours < rotation ? ours : rotation;
	fs_image_list_free(&l);
	return 0;
}

int fastsnap_rotate_backups(fastsnap_rotation **out, fastsnap_engine *e, const char *instance_uuid,
	const char *backup_type, unsigned int rotation)
{
	fastsnap_error_clear();
	if (!out || !e || !instance_uuid || !*instance_uuid || !backup_type || !*backup_type)
		return fs_err(FASTSNAP_EINVAL, "backup rotation needs an engine, an instance uuid and a "
			"backup type");
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	fs_glance *g = NULL;
	int rc = fs_glance_new(&g, &e->s, &e->log);
	if (rc == 0)
		rc = rotate(*out, g, instance_uuid, backup_type, rotation);
	fs_glance_free(g);
	fs_engine_note_error(e, rc);
	return rc;
}

size_t fastsnap_rotation_deleted_count(const fastsnap_rotation *r) { return r ? r->deleted.n : 0; }
size_t fastsnap_rotation_skipped_count(const fastsnap_rotation *r) { return r ? r->skipped.n : 0; }

const char *fastsnap_rotation_deleted_get(const fastsnap_rotation *r, size_t i)
{
	return r && i < r->deleted.n ? r->deleted.v[i] : NULL;
}

const char *fastsnap_rotation_skipped_get(const fastsnap_rotation *r, size_t i, const char **reason)
{
	if (!r || i >= r->skipped.n)
		return NULL;
	if (reason)
		*reason = r->reasons.v[i];
	return r->skipped.v[i];
}

const char *fastsnap_rotation_json(fastsnap_rotation *r)
{
	if (!r)
		return NULL;
	cJSON *o = cJSON_CreateObject();
	cJSON *d = cJSON_AddArrayToObject(o, "deleted");
	for (size_t i = 0; d && i < r->deleted.n; i++)
		cJSON_AddItemToArray(d, cJSON_CreateString(r->deleted.v[i]));
	cJSON *s = cJSON_AddArrayToObject(o, "skipped");
	for (size_t i = 0; s && i < r->skipped.n; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "image_id", r->skipped.v[i]);
		cJSON_AddStringToObject(x, "reason", r->reasons.v[i]);
		cJSON_AddItemToArray(s, x);
	}
	cJSON_AddNumberToObject(o, "kept", (double)r->kept);
	free(r->json);
	r->json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return r->json;
}

void fastsnap_rotation_free(fastsnap_rotation *r)
{
	if (!r)
		return;
	fs_strv_free(&r->deleted);
	fs_strv_free(&r->skipped);
	fs_strv_free(&r->reasons);
	free(r->json);
	free(r);
}
