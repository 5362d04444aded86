/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/rbd_url.h: Glance's rbd:// location URLs and the CLI's "pool/image"
 * disk spec. Parsers take (buf, len), do no I/O, and return owned strings.
 *
 * URL form (Glance's rbd store, glance_store/_drivers/rbd.py):
 *     rbd://<fsid>/<pool>/<image>/<snap>
 * Each component is percent-quoted like Python's urllib.parse.quote(s, ''):
 * everything except ALPHA DIGIT "_.-~" is %XX (uppercase hex), so a "/"
 * inside a component is %2F. Decisions (see docs/configuration.md):
 *  - only the 4-part form is accepted; Glance's legacy 1-part rbd://image
 *    has no fsid or pool and is refused (it cannot establish a cluster);
 *  - the scheme is the lowercase "rbd://", as Glance matches it;
 *  - no component may be empty, contain a decoded NUL, or hold a malformed
 *    %-escape (Python leaves those as is; we refuse them);
 *  - the fsid must be a UUID: 8-4-4-4-12 hex digits (either case). It is
 *    kept as written; compare fsids with fs_fsid_equal (case-insensitive).
 */
#ifndef FS_RBD_URL_H
#define FS_RBD_URL_H

#include <stddef.h>

#include "core/common.h"

typedef struct {
	char *fsid;
	char *pool;
	char *image;
	char *snap;
} fs_rbd_url;

/* Parse; on error FASTSNAP_EINVAL ("rbd URL '...': ...") and *out zeroed. */
int fs_rbd_url_parse(fs_rbd_url *out, const char *buf, size_t len);
void fs_rbd_url_free(fs_rbd_url *u);
/* Format "rbd://fsid/pool/image/snap" with each part quoted; NULL when a
 * part is NULL or empty, or on OOM. Caller frees. */
char *fs_rbd_url_format(const char *fsid, const char *pool, const char *image, const char *snap);
/* Non-zero when s (len bytes) is a UUID 8-4-4-4-12 of hex digits. */
int fs_is_uuid(const char *s, size_t len);
/* Case-insensitive fsid comparison; 0 when either is NULL. */
int fs_fsid_equal(const char *a, const char *b);

/* "pool/image" (the --disk argument). Exactly one '/', no empty part, no
 * '@' (a snapshot is never a source), no control characters. */
typedef struct {
	char *pool;
	char *image;
} fs_rbd_spec;

int fs_rbd_spec_parse(fs_rbd_spec *out, const char *buf, size_t len);
void fs_rbd_spec_free(fs_rbd_spec *s);

#endif
