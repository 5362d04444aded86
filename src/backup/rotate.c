/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backup/rotate.c: backup rotation, as Nova's createBackup does it, within
 * one owner (project): list the images with image_type=backup and the same
 * backup_type and instance_uuid (filtered by Glance, checked again here,
 * every page), newest first, keep those whose Glance `owner` is the new
 * backup's and count the others (look-alikes of other projects: never
 * deleted, never counted), and delete all of ours beyond the first
 * `rotation`. An image that cannot be deleted is reported and skipped; the
 * others still go. See docs/operations.md, "Backups".
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
	size_t other_owners;    /* look-alikes of other owners, left alone */
	char *owner;            /* the owner rotated within */
	char *json;
};

/* Is the listed image a backup of this instance and type (any owner)? */
static int is_backup_of(const fs_image *img, const char *instance_uuid, const char *backup_type)
{
	return fs_streq(fs_image_prop(img, "image_type"), "backup") &&
		fs_streq(fs_image_prop(img, "backup_type"), backup_type) &&
		fs_streq(fs_image_prop(img, "instance_uuid"), instance_uuid);
}

/* The list of backups of this instance and type, newest first, any owner. */
static int list_backups(fs_glance *g, fs_image_list *l, const char *instance_uuid,
	const char *backup_type)
{
	char f1[] = "image_type=backup";
	char *f2 = fs_asprintf("backup_type=%s", backup_type);
	char *f3 = fs_asprintf("instance_uuid=%s", instance_uuid);
	int rc;
	if (!f2 || !f3) {
		rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
	} else {
		const char *filters[] = { f1, f2, f3 };
		rc = fs_glance_image_list(g, l, filters, 3, "created_at:desc", 100);
	}
	free(f2);
	free(f3);
	return rc;
}

/* The one owner of every backup in the list, for the call that is not told
 * the new backup: none, or more than one, is refused (nothing is deleted). */
static int sole_owner(const fs_image_list *l, const char *instance_uuid, const char *backup_type,
	const char **owner)
{
	*owner = NULL;
	for (size_t i = 0; i < l->n; i++) {
		const fs_image *img = l->v[i];
		if (!is_backup_of(img, instance_uuid, backup_type))
			continue;
		if (!img->owner || !*img->owner)
			return fs_err(FASTSNAP_EINVAL, "backup rotation: image %s has no owner in Glance; "
				"nothing deleted", img->id);
		if (*owner && strcmp(*owner, img->owner) != 0)
			return fs_err(FASTSNAP_EINVAL, "backup rotation: the backups of instance %s "
				"(type %s) belong to more than one project (%s, %s); nothing deleted: rotate "
				"with the new backup's id (fastsnap_rotate_backups_after)", instance_uuid,
				backup_type, *owner, img->owner);
		*owner = img->owner;
	}
	return 0;
}

/* Delete ours beyond the first `rotation`; count the other owners'. */
static int rotate(fastsnap_rotation *rot, fs_glance *g, const fs_image_list *l,
	const char *owner, const char *instance_uuid, const char *backup_type, unsigned int rotation)
{
	if (!(rot->owner = fs_strdup(owner)))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	size_t ours = 0;
	for (size_t i = 0; i < l->n; i++) {
		const fs_image *img = l->v[i];
		if (!is_backup_of(img, instance_uuid, backup_type))
			continue;
		if (!fs_streq(img->owner, owner)) {
			rot->other_owners++;
			continue;
		}
		if (++ours <= rotation)
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
	return 0;
}

/* The new backup's instance, type and owner, as Glance recorded them. */
static int new_backup(fs_glance *g, const char *id, fs_image **img)
{
	int rc = fs_glance_image_get(g, img, id);
	if (rc < 0)
		return rc;
	const fs_image *b = *img;
	if (!fs_streq(fs_image_prop(b, "image_type"), "backup") || !fs_image_prop(b, "backup_type") ||
	    !fs_image_prop(b, "instance_uuid"))
		return fs_err(FASTSNAP_EINVAL, "backup rotation: image %s is not a backup (image_type "
			"backup, a backup_type and an instance_uuid)", id);
	if (!b->owner || !*b->owner)
		return fs_err(FASTSNAP_EINVAL, "backup rotation: image %s has no owner in Glance; "
			"nothing deleted", id);
	return 0;
}

static int start(fastsnap_rotation **out, fastsnap_engine *e, fs_glance **g)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	return fs_glance_new(g, &e->s, &e->log);
}

int fastsnap_rotate_backups(fastsnap_rotation **out, fastsnap_engine *e, const char *instance_uuid,
	const char *backup_type, unsigned int rotation)
{
	fastsnap_error_clear();
	if (!out || !e || !instance_uuid || !*instance_uuid || !backup_type || !*backup_type)
		return fs_err(FASTSNAP_EINVAL, "backup rotation needs an engine, an instance uuid and a "
			"backup type");
	fs_glance *g = NULL;
	fs_image_list l = { 0 };
	const char *owner = NULL;
	int rc = start(out, e, &g);
	if (rc == 0)
		rc = list_backups(g, &l, instance_uuid, backup_type);
	if (rc == 0)
		rc = sole_owner(&l, instance_uuid, backup_type, &owner);
	if (rc == 0 && owner)
		rc = rotate(*out, g, &l, owner, instance_uuid, backup_type, rotation);
	fs_image_list_free(&l);
	fs_glance_free(g);
	fs_engine_note_error(e, rc);
	return rc;
}

int fastsnap_rotate_backups_after(fastsnap_rotation **out, fastsnap_engine *e,
	const char *new_backup_id, unsigned int rotation)
{
	fastsnap_error_clear();
	if (!out || !e || !new_backup_id || !*new_backup_id)
		return fs_err(FASTSNAP_EINVAL, "backup rotation needs an engine and the new backup's id");
	fs_glance *g = NULL;
	fs_image *b = NULL;
	fs_image_list l = { 0 };
	int rc = start(out, e, &g);
	if (rc == 0)
		rc = new_backup(g, new_backup_id, &b);
	const char *inst = b ? fs_image_prop(b, "instance_uuid") : NULL;
	const char *type = b ? fs_image_prop(b, "backup_type") : NULL;
	if (rc == 0)
		rc = list_backups(g, &l, inst, type);
	if (rc == 0)
		rc = rotate(*out, g, &l, b->owner, inst, type, rotation);
	fs_image_list_free(&l);
	fs_image_free(b);
	fs_glance_free(g);
	fs_engine_note_error(e, rc);
	return rc;
}

size_t fastsnap_rotation_deleted_count(const fastsnap_rotation *r) { return r ? r->deleted.n : 0; }
size_t fastsnap_rotation_skipped_count(const fastsnap_rotation *r) { return r ? r->skipped.n : 0; }
size_t fastsnap_rotation_other_owners(const fastsnap_rotation *r) { return r ? r->other_owners : 0; }
const char *fastsnap_rotation_owner(const fastsnap_rotation *r) { return r ? r->owner : NULL; }

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
	if (r->owner)
		cJSON_AddStringToObject(o, "owner", r->owner);
	else
		cJSON_AddNullToObject(o, "owner");
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
	cJSON_AddNumberToObject(o, "other_owners_ignored", (double)r->other_owners);
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
	free(r->owner);
	free(r->json);
	free(r);
}
