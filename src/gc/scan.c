/*
 * gc/scan.c: finds what fastsnap runs left (see gc.h): every image of the
 * configured pools (snapshots and metadata), and Glance's images that
 * carry fastsnap's in-progress or needs-attention mark.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup/heartbeat.h"
#include "core/rbd_url.h"
#include "gc/gc.h"
#include "register/register.h"

static gc_run *run_get(gc_runs *rs, const char *id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (!strcmp(rs->v[i].id, id))
			return &rs->v[i];
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		gc_run *v = realloc(rs->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		rs->v = v;
		rs->cap = cap;
	}
	gc_run *r = &rs->v[rs->n];
	memset(r, 0, sizeof(*r));
	if (!(r->id = fs_strdup(id)))
		return NULL;
	rs->n++;
	return r;
}

static void set_owner(gc_run *r, const char *owner)
{
	if (!r->owner && owner)
		r->owner = fs_strdup(owner);
}

static int all_digits(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

int fs_gc_parse_tmp_snap(const char *name, char **id, char **owner)
{
	*id = *owner = NULL;
	size_t len = strlen(name);
	if (len < 9 + 36 + 6 || strncmp(name, "fastsnap-", 9) != 0 || name[9 + 36] != '-' ||
	    !fs_is_uuid(name + 9, 36))
		return 0;
	const char *host = name + 9 + 37;
	const char *d2 = strrchr(host, '-');
	if (!d2 || d2 == host)
		return 0;
	const char *d1 = d2 - 1;
	while (d1 > host && *d1 != '-')
		d1--;
	if (d1 == host || !all_digits(d1 + 1, (size_t)(d2 - d1 - 1)) || !all_digits(d2 + 1, strlen(d2 + 1)))
		return 0;
	*id = fs_strndup(name + 9, 36);
	*owner = fs_asprintf("%.*s:%.*s:%s", (int)(d1 - host), host, (int)(d2 - d1 - 1), d1 + 1, d2 + 1);
	if (!*id || !*owner) {
		free(*id);
		free(*owner);
		*id = *owner = NULL;
		return 0;
	}
	return 1;
}

static void scan_snaps(gc_runs *rs, rbd_image_t img, const char *pool, const char *image)
{
	rbd_snap_info_t snaps[256];
	int max = 256;
	int n = rbd_snap_list(img, snaps, &max);
	for (int i = 0; i < n; i++) {
		char *id, *owner;
		if (fs_gc_parse_tmp_snap(snaps[i].name, &id, &owner)) {
			gc_run *r = run_get(rs, id);
			char *entry = fs_asprintf("%s\t%s\t%s", pool, image, snaps[i].name);
			if (r && entry) {
				set_owner(r, owner);
				fs_strv_push(&r->snaps, entry);
			}
			free(entry);
		} else if (!strncmp(snaps[i].name, "fastsnap-", 9)) {
			char *note = fs_asprintf("%s/%s@%s: named like fastsnap's but not one of its "
				"temporary snapshots: left alone", pool, image, snaps[i].name);
			if (note)
				fs_strv_push(&rs->notes, note);
			free(note);
		}
		free(id);
		free(owner);
	}
	if (n >= 0)
		rbd_snap_list_end(snaps);
}

/* Metadata: a tagged clone, or per-run tags of streams on a disk. */
static void scan_meta(gc_runs *rs, rbd_image_t img, const char *pool, const char *image)
{
	char keys[16384], vals[16384];
	size_t kl = sizeof(keys), vl = sizeof(vals);
	if (rbd_metadata_list(img, "fastsnap.", 256, keys, &kl, vals, &vl) < 0)
		return;
	const char *owner = NULL, *image_id = NULL, *flatten = NULL;
	for (const char *k = keys, *v = vals; k < keys + kl && *k; k += strlen(k) + 1, v += strlen(v) + 1) {
		if (!strcmp(k, FS_META_OWNER))
			owner = v;
		else if (!strcmp(k, FS_META_IMAGE_ID))
			image_id = v;
		else if (!strcmp(k, FS_META_FLATTEN))
			flatten = v;
		else if (!strncmp(k, FS_META_RUN_PREFIX, strlen(FS_META_RUN_PREFIX)) && fs_is_uuid(v, strlen(v))) {
			gc_run *r = run_get(rs, v);
			if (r && !r->tag_pool) {
				set_owner(r, k + strlen(FS_META_RUN_PREFIX));
				r->tag_pool = fs_strdup(pool);
				r->tag_image = fs_strdup(image);
			}
		}
	}
	/* A clone is named by its image id and tagged with it. */
	if (owner && image_id && !strcmp(image_id, image) && fs_is_uuid(image_id, strlen(image_id))) {
		gc_run *r = run_get(rs, image_id);
		if (!r)
			return;
		set_owner(r, owner);
		free(r->clone_pool);
		r->clone_pool = fs_strdup(pool);
		r->clone_flatten = fs_strdup(flatten ? flatten : "sync");
		rbd_linked_image_spec_t p;
		rbd_snap_spec_t ps;
		if (rbd_get_parent(img, &p, &ps) == 0) {
			r->clone_has_parent = 1;
			rbd_linked_image_spec_cleanup(&p);
			rbd_snap_spec_cleanup(&ps);
		}
	}
}

static int scan_pool(gc_runs *rs, fs_ceph *c, const char *pool)
{
	rados_ioctx_t io;
	int rc = fs_ceph_ioctx(&io, c, pool);
	if (rc < 0)
		return rc;
	size_t max = 1024;
	rbd_image_spec_t *specs = NULL;
	int r;
	for (;;) {
		specs = calloc(max, sizeof(*specs));
		if (!specs) {
			rados_ioctx_destroy(io);
			return fs_err(FASTSNAP_ENOMEM, "out of memory");
		}
		r = rbd_list2(io, specs, &max);
		if (r != -ERANGE)
			break;
		free(specs);
	}
	if (r < 0) {
		free(specs);
		rados_ioctx_destroy(io);
		return fs_err(fs_errno_to_code(r), "Ceph: cannot list the images of pool %s: %s", pool,
			strerror(-r));
	}
	for (size_t i = 0; i < max; i++) {
		rbd_image_t img;
		if (rbd_open_read_only(io, specs[i].name, &img, NULL) < 0)
			continue;
		scan_snaps(rs, img, pool, specs[i].name);
		scan_meta(rs, img, pool, specs[i].name);
		rbd_close(img);
	}
	rbd_image_spec_list_cleanup(specs, max);
	free(specs);
	rados_ioctx_destroy(io);
	return 0;
}

/* Glance's images that carry fastsnap's marks, by state. */
static int scan_glance(gc_runs *rs, fs_glance *g)
{
	const char *states[] = { FS_STATE_IN_PROGRESS, FS_STATE_NEEDS_ATTENTION };
	for (size_t s = 0; s < 2; s++) {
		char *f = fs_asprintf("%s=%s", FS_PROP_STATE, states[s]);
		if (!f)
			return fs_err(FASTSNAP_ENOMEM, "out of memory");
		const char *filters[] = { f };
		fs_image_list l;
		int rc = fs_glance_image_list(g, &l, filters, 1, NULL, 100);
		free(f);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < l.n; i++) {
			const char *owner = fs_image_prop(l.v[i], FS_PROP_OWNER);
			if (!owner || !fs_is_uuid(l.v[i]->id, strlen(l.v[i]->id)))
				continue;
			gc_run *r = run_get(rs, l.v[i]->id);
			if (!r)
				continue;
			set_owner(r, owner);
			fs_image_free(r->img);
			r->img = l.v[i];
			r->img_checked = 1;
			l.v[i] = NULL;
		}
		fs_image_list_free(&l);
	}
	return 0;
}

int fs_gc_scan(gc_runs *out, fs_ceph *c, fs_glance *g, const fs_strv *pools)
{
	memset(out, 0, sizeof(*out));
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < pools->n; i++)
		rc = scan_pool(out, c, pools->v[i]);
	if (rc == 0)
		rc = scan_glance(out, g);
	/* The Glance image of every run found in Ceph only. */
	for (size_t i = 0; rc == 0 && i < out->n; i++) {
		gc_run *r = &out->v[i];
		if (r->img_checked)
			continue;
		int gr = fs_glance_image_get(g, &r->img, r->id);
		if (gr < 0 && gr != FASTSNAP_ENOTFOUND)
			rc = gr;
		r->img_checked = 1;
		fastsnap_error_clear();
		if (rc < 0)
			fs_err(gr, "Glance: cannot read image %s", r->id);
	}
	return rc;
}

void fs_gc_runs_free(gc_runs *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		gc_run *r = &rs->v[i];
		free(r->id);
		free(r->owner);
		fs_strv_free(&r->snaps);
		free(r->clone_pool);
		free(r->clone_flatten);
		free(r->tag_pool);
		free(r->tag_image);
		fs_image_free(r->img);
	}
	free(rs->v);
	fs_strv_free(&rs->notes);
	memset(rs, 0, sizeof(*rs));
}
