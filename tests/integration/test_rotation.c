/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_rotation.c: backup rotation stays within the new
 * backup's owner (project). Another project's look-alike backups (same
 * instance_uuid and backup_type, newer than ours), which the admin identity
 * the suite uses can list, are neither deleted nor counted, and the JSON
 * says which owner was rotated within and how many look-alikes were left
 * alone. Runs on both stacks (identity headers on bookworm, Keystone
 * tokens on trixie: tests/support/trixie-identity).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

#define MiB (1ULL << 20)

static rados_t admin;
static rados_ioctx_t vms, images;

static void setup(void) { fst_pools_open(&admin, &vms, &images); }
static void teardown(void) { fst_pools_close(admin, vms, images); }

TestSuite(rotation, .init = setup, .fini = teardown, .timeout = 300);

/* One backup of `disk` as instance `inst`, type daily; `env` selects the
 * identity (NULL: the suite's admin). Returns the image id; *jout keeps the
 * JSON when asked. */
static char *backup(const char *env, const char *disk, int n, const char *inst, int rotation,
	cJSON **jout)
{
	cJSON *j = NULL;
	char *err = NULL;
	/* Glance's created_at has whole seconds: one backup a second keeps
	 * "newest first" unambiguous. */
	usleep(1100 * 1000);
	int st = fst_cli_json(&j, &err, env, "backup --disk vms/%s --name %s-%d --store local "
		"--instance-uuid %s --backup-type daily --rotation %d", disk, disk, n, inst, rotation);
	cr_assert_eq(st, 0, "backup %d: exit %d: %s", n, st, err);
	const char *id = fst_jstr(j, "image_id");
	cr_assert(id, "backup %d: no image_id", n);
	char *r = strdup(id);
	if (jout)
		*jout = j;
	else
		cJSON_Delete(j);
	free(err);
	return r;
}

Test(rotation, only_the_new_backups_owner)
{
	char *disk = fst_unique("fst-rot");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 4 * MiB, 61, 1, NULL, sha);
	char *inst = NULL;
	fst_sh(&inst, NULL, "cat /proc/sys/kernel/random/uuid | tr -d '\\n'");
	cr_assert(inst && strlen(inst) == 36);
	const char *other_env = "FASTSNAP_GLANCE_HEADERS=\"$FASTSNAP_DEV_OTHER_HEADERS\"";

	/* ours: two, then the other project's three newer look-alikes */
	char *ours[3], *theirs[3];
	ours[0] = backup(NULL, disk, 0, inst, 5, NULL);
	ours[1] = backup(NULL, disk, 1, inst, 5, NULL);
	for (int i = 0; i < 3; i++)
		theirs[i] = backup(other_env, disk, 10 + i, inst, 100, NULL);
	char *our_owner = fst_glance_prop(ours[0], "owner");
	char *their_owner = fst_glance_prop(theirs[0], "owner");
	cr_assert(our_owner && their_owner, "owners %s %s", our_owner, their_owner);
	cr_assert_str_neq(our_owner, their_owner, "the look-alikes must belong to another project");
	/* the suite's identity lists them: otherwise this test could not fail */
	char *body = NULL;
	char path[256];
	snprintf(path, sizeof(path), "/v2/images?instance_uuid=%s&image_type=backup&limit=100", inst);
	cr_assert_eq(fst_glance(&body, "GET", path, NULL), 200);
	cJSON *lj = cJSON_Parse(body);
	int listed = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(lj, "images"));
	cr_assert_eq(listed, 5, "the suite's identity lists %d of the 5 backups (another project's "
		"private images are not visible to it: this test needs an identity that sees them)",
		listed);
	cJSON_Delete(lj);
	free(body);

	/* our third, rotation 2: our oldest goes; theirs stay and do not count */
	cJSON *j = NULL;
	ours[2] = backup(NULL, disk, 2, inst, 2, &j);
	for (int i = 0; i < 3; i++) {
		char *s = fst_glance_status(theirs[i]);
		cr_assert_str_eq(s, "active", "the other project's look-alike %d was deleted", i);
		free(s);
		char *o = fst_glance_status(ours[i]);
		cr_assert_str_eq(o, i == 0 ? "" : "active", "our backup %d", i);
		free(o);
	}
	const cJSON *rot = cJSON_GetObjectItemCaseSensitive(j, "rotation");
	cr_assert(rot, "no rotation in the JSON");
	cr_assert_str_eq(fst_jstr(rot, "owner"), our_owner, "rotation's owner");
	const cJSON *ign = cJSON_GetObjectItemCaseSensitive(rot, "other_owners_ignored");
	cr_assert(cJSON_IsNumber(ign) && ign->valueint == 3, "other_owners_ignored %s",
		cJSON_PrintUnformatted(rot));
	const cJSON *kept = cJSON_GetObjectItemCaseSensitive(rot, "kept");
	cr_assert(cJSON_IsNumber(kept) && kept->valueint == 2, "kept");
	const cJSON *del = cJSON_GetObjectItemCaseSensitive(rot, "deleted");
	cr_assert_eq(cJSON_GetArraySize(del), 1, "deleted %s", cJSON_PrintUnformatted(rot));
	cr_assert_str_eq(cJSON_GetArrayItem(del, 0)->valuestring, ours[0]);
	cJSON_Delete(j);

	/* the call that is told instance and type only refuses a mixed list */
	fastsnap_engine *e = fst_engine();
	fastsnap_rotation *r = NULL;
	int rc = fastsnap_rotate_backups(&r, e, inst, "daily", 0);
	cr_assert_eq(rc, FASTSNAP_EINVAL, "rotation over two projects: %d %s", rc,
		fastsnap_error_last());
	fastsnap_rotation_free(r);
	fastsnap_engine_close(e);
	for (int i = 0; i < 3; i++) {
		char *s = fst_glance_status(theirs[i]);
		cr_assert_str_eq(s, "active", "look-alike %d deleted by the refused rotation", i);
		free(s);
	}

	for (int i = 0; i < 3; i++) {
		fst_glance_delete(ours[i]);
		fst_glance_delete(theirs[i]);
		free(ours[i]);
		free(theirs[i]);
	}
	fst_rbd_remove_all(vms, disk);
	free(our_owner); free(their_owner); free(inst); free(disk);
}
