/* SPDX-License-Identifier: Apache-2.0 */
/*
 * direct_undo.c: fastsnap_direct_cleanup, the undo of a direct snapshot
 * made in Nova's mode, by its rbd:// location: the snapshot, and on request
 * the image. Glance is not touched.
 */
#include <string.h>

#include "clients/rbd.h"
#include "core/rbd_url.h"
#include "engine.h"

int fastsnap_direct_cleanup(fastsnap_engine *e, const char *location, unsigned int flags)
{
	fastsnap_error_clear();
	if (!e || !location)
		return fs_err(FASTSNAP_EINVAL, "fastsnap_direct_cleanup: NULL argument");
	fs_rbd_url u;
	int rc = fs_rbd_url_parse(&u, location, strlen(location));
	if (rc < 0)
		return rc;
	if (!fs_fsid_equal(u.fsid, fs_ceph_fsid(e->ceph)))
		rc = fs_err(FASTSNAP_EINVAL, "location %s is in cluster %s, not this engine's %s", location,
			u.fsid, fs_ceph_fsid(e->ceph));
	fs_disk_info info;
	if (rc == 0 && (rc = fs_rbd_disk_info(&info, e->ceph, u.pool, u.image)) == 0 &&
	    (rc = fs_rbd_snap_exists(e->ceph, u.pool, u.image, u.snap)) == 0)
		rc = fs_err(FASTSNAP_ENOTFOUND, "snapshot %s/%s@%s not found", u.pool, u.image, u.snap);
	if (rc > 0)
		rc = fs_rbd_snap_remove(e->ceph, u.pool, u.image, u.snap);
	if (rc == 0 && (flags & FASTSNAP_CLEANUP_IMAGE))
		rc = fs_rbd_image_remove(e->ceph, u.pool, u.image);
	fs_rbd_url_free(&u);
	fs_engine_note_error(e, rc);
	return rc;
}
