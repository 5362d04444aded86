/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cleanup/undo_ops.c: the typed undo entries for what a run creates: an
 * RBD snapshot, an RBD image, a Glance image. Each entry owns a copy of
 * exactly the names its action needs.
 */
#include <stdlib.h>

#include "cleanup/undo.h"
#include "clients/glance.h"
#include "clients/rbd.h"

typedef struct {
	fs_ceph *c;
	char *pool, *image, *snap;   /* snap NULL: the image itself */
} rbd_target;

typedef struct {
	fs_glance *g;
	char *id;
} glance_target;

static void rbd_target_free(void *p)
{
	rbd_target *t = p;
	free(t->pool);
	free(t->image);
	free(t->snap);
	free(t);
}

static void glance_target_free(void *p)
{
	glance_target *t = p;
	free(t->id);
	free(t);
}

static int undo_rbd_snap(void *p)
{
	rbd_target *t = p;
	return fs_rbd_snap_remove(t->c, t->pool, t->image, t->snap);
}

static int undo_rbd_image(void *p)
{
	rbd_target *t = p;
	return fs_rbd_image_remove(t->c, t->pool, t->image);
}

static int undo_glance_delete(void *p)
{
	glance_target *t = p;
	int r = fs_glance_image_delete(t->g, t->id);
	return r == FASTSNAP_ENOTFOUND ? 0 : r;
}

static rbd_target *rbd_target_new(fs_ceph *c, const char *pool, const char *image, const char *snap)
{
	rbd_target *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->c = c;
	t->pool = fs_strdup(pool);
	t->image = fs_strdup(image);
	t->snap = fs_strdup(snap);
	if (!t->pool || !t->image || (snap && !t->snap)) {
		rbd_target_free(t);
		return NULL;
	}
	return t;
}

int fs_undo_push_rbd_snap(fs_undo *u, fs_ceph *c, const char *pool, const char *image,
	const char *snap)
{
	rbd_target *t = rbd_target_new(c, pool, image, snap);
	if (!t)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	return fs_undo_push(u, undo_rbd_snap, t, rbd_target_free, "remove snapshot %s/%s@%s", pool,
		image, snap);
}

int fs_undo_push_rbd_image(fs_undo *u, fs_ceph *c, const char *pool, const char *image)
{
	rbd_target *t = rbd_target_new(c, pool, image, NULL);
	if (!t)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	return fs_undo_push(u, undo_rbd_image, t, rbd_target_free, "remove image %s/%s", pool, image);
}

int fs_undo_push_glance_delete(fs_undo *u, fs_glance *g, const char *id)
{
	glance_target *t = calloc(1, sizeof(*t));
	if (!t || !(t->id = fs_strdup(id))) {
		free(t);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	t->g = g;
	return fs_undo_push(u, undo_glance_delete, t, glance_target_free, "delete Glance image %s", id);
}
