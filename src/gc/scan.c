/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc/scan.c: finds what fastsnap runs left (see gc.h): every image of the
 * configured pools (snapshots and metadata, every page of each), and
 * Glance's images that carry fastsnap's in-progress or needs-attention
 * mark. A clone marked done is a finished image: Glance is not asked
 * about it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup/heartbeat.h"
#include "clients/rbd.h"
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

static int host_chars(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
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
	size_t pid_len = (size_t)(d2 - d1 - 1), start_len = strlen(d2 + 1);
	if (d1 == host || !host_chars(host, (size_t)(d1 - host)) || pid_len > 10 || start_len > 20 ||
	    !all_digits(d1 + 1, pid_len) || !all_digits(d2 + 1, start_len))
		return 0;
	*id = fs_strndup(name + 9, 36);
	*owner = fs_asprintf("%.*s:%.*s:%s", (int)(d1 - host), host, (int)pid_len, d1 + 1, d2 + 1);
	if (!*id || !*owner) {
		free(*id);
		free(*owner);
		*id = *owner = NULL;
		return 0;
	}
	return 1;
}

int fs_gc_parse_run_tag(const char *value, char **owner, const char **beat)
{
	*owner = NULL;
	*beat = NULL;
	const char *sp = value ? strchr(value, ' ') : NULL;
	if (!sp || sp == value || strchr(sp + 1, ' '))
		return 0;
	const char *b = sp + 1;
	if (strcmp(b, FS_RUN_ENDED) != 0 && !all_digits(b, strlen(b)))
		return 0;
	/* the owner: host:pid:start */
	const char *c1 = memchr(value, ':', (size_t)(sp - value));
	const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(sp - c1 - 1)) : NULL;
	if (!c1 || !c2 || !host_chars(value, (size_t)(c1 - value)) ||
	    !all_digits(c1 + 1, (size_t)(c2 - c1 - 1)) || !all_digits(c2 + 1, (size_t)(sp - c2 - 1)))
		return 0;
	if (!(*owner = fs_strndup(value, (size_t)(sp - value))))
		return 0;
	*beat = b;
	return 1;
}

static void note(gc_runs *rs, char *txt)
{
	if (txt)
		fs_strv_push(&rs->notes, txt);
	free(txt);
}

static void scan_snaps(gc_runs *rs, rbd_image_t img, const char *pool, const char *image)
{
	/* As many entries as the disk has: a disk with many snapshots must
	 * not hide ours. */
	int max = 64;
	rbd_snap_info_t *snaps = NULL;
	int n;
	for (;;) {
		rbd_snap_info_t *v = realloc(snaps, (size_t)max * sizeof(*v));
		if (!v) {
			free(snaps);
			note(rs, fs_asprintf("%s/%s: out of memory listing its snapshots: not scanned", pool,
				image));
			return;
		}
		snaps = v;
		int want = max;
		n = rbd_snap_list(img, snaps, &want);
		if (n != -ERANGE)
			break;
		max = want > max ? want : max * 2;
	}
	if (n < 0) {
		free(snaps);
		note(rs, fs_asprintf("%s/%s: cannot list its snapshots (%s): not scanned", pool, image,
			strerror(-n)));
		return;
	}
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
			note(rs, fs_asprintf("%s/%s@%s: named like fastsnap's but not one of its "
				"temporary snapshots: left alone", pool, image, snaps[i].name));
		}
		free(id);
		free(owner);
	}
	rbd_snap_list_end(snaps);
	free(snaps);
}

/* One metadata entry of an image. */
typedef struct {
	const char *owner, *image_id, *flatten, *done;
} clone_tags;

static void scan_entry(gc_runs *rs, clone_tags *ct, const char *k, const char *v, const char *pool,
	const char *image)
{
	if (!strcmp(k, FS_META_OWNER))
		ct->owner = v;
	else if (!strcmp(k, FS_META_IMAGE_ID))
		ct->image_id = v;
	else if (!strcmp(k, FS_META_FLATTEN))
		ct->flatten = v;
	else if (!strcmp(k, FS_META_DONE))
		ct->done = v;
	else if (!strncmp(k, FS_META_RUN_PREFIX, strlen(FS_META_RUN_PREFIX))) {
		const char *id = k + strlen(FS_META_RUN_PREFIX);
		char *owner = NULL;
		const char *beat;
		/* librbd copies a parent's metadata into its clones: a run tag is
		 * a disk's, never on the clone named by that run (nor on an image
		 * with another fastsnap.image_id: a clone of a finished image). */
		if (!strcmp(id, image))
			return;
		if (!fs_is_uuid(id, strlen(id)) || !fs_gc_parse_run_tag(v, &owner, &beat)) {
			note(rs, fs_asprintf("%s/%s: metadata %s=%s is not a fastsnap run tag: left alone",
				pool, image, k, v));
			return;
		}
		gc_run *r = run_get(rs, id);
		if (r && !r->tag_pool) {
			set_owner(r, owner);
			r->tag_pool = fs_strdup(pool);
			r->tag_image = fs_strdup(image);
			r->tag_value = fs_strdup(v);
		}
		free(owner);
	}
}

/* What scan_meta keeps of a clone's tags; the keys that matter are copied
 * out before the next page. */
typedef struct {
	gc_runs *rs;
	const char *pool, *image;
	char *owner, *image_id, *flatten, *done;
} meta_walk;

static int scan_meta_entry(const char *k, const char *v, void *ctx)
{
	meta_walk *w = ctx;
	clone_tags ct = { 0 };
	scan_entry(w->rs, &ct, k, v, w->pool, w->image);
	if (ct.owner)
		free(w->owner), w->owner = fs_strdup(ct.owner);
	if (ct.image_id)
		free(w->image_id), w->image_id = fs_strdup(ct.image_id);
	if (ct.flatten)
		free(w->flatten), w->flatten = fs_strdup(ct.flatten);
	if (ct.done)
		free(w->done), w->done = fs_strdup(ct.done);
	return 0;
}

/* Metadata: a tagged clone, or run tags on a disk. Every page of it. */
static void scan_meta(gc_runs *rs, rbd_image_t img, const char *pool, const char *image)
{
	meta_walk w = { rs, pool, image, NULL, NULL, NULL, NULL };
	int failed = fs_rbd_metadata_each(img, "", scan_meta_entry, &w);
	char *owner = w.owner, *image_id = w.image_id, *flatten = w.flatten, *done = w.done;
	if (failed == -ENOMEM)
		note(rs, fs_asprintf("%s/%s: out of memory reading its metadata: not scanned", pool, image));
	else if (failed < 0)
		note(rs, fs_asprintf("%s/%s: cannot read its metadata (%s): not scanned", pool, image,
			strerror(-failed)));
	/* A clone is named by its image id and tagged with it. */
	if (owner && image_id && !strcmp(image_id, image) && fs_is_uuid(image_id, strlen(image_id))) {
		gc_run *r = run_get(rs, image_id);
		if (r) {
			set_owner(r, owner);
			free(r->clone_pool);
			r->clone_pool = fs_strdup(pool);
			free(r->clone_flatten);
			r->clone_flatten = fs_strdup(flatten ? flatten : "sync");
			r->done = done != NULL;
			rbd_linked_image_spec_t p;
			rbd_snap_spec_t ps;
			if (rbd_get_parent(img, &p, &ps) == 0) {
				r->clone_has_parent = 1;
				rbd_linked_image_spec_cleanup(&p);
				rbd_snap_spec_cleanup(&ps);
			}
		}
	}
	free(owner);
	free(image_id);
	free(flatten);
	free(done);
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
		rs->images_opened++;
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
	/* The Glance image of every run found in Ceph only, but a finished
	 * one's (done): Glance's answer could not change what gc does with it.
	 * An answer other than the image or 404 leaves the run unknown. */
	for (size_t i = 0; rc == 0 && i < out->n; i++) {
		gc_run *r = &out->v[i];
		if (r->img_checked || r->done)
			continue;
		int gr = fs_glance_image_get(g, &r->img, r->id);
		out->glance_gets++;
		r->img_checked = 1;
		if (gr < 0 && gr != FASTSNAP_ENOTFOUND)
			r->img_unknown = fs_asprintf("Glance answered GET of the image with: %s",
				fastsnap_error_last());
		fastsnap_error_clear();
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
		free(r->tag_value);
		free(r->img_unknown);
		fs_image_free(r->img);
	}
	free(rs->v);
	fs_strv_free(&rs->notes);
	memset(rs, 0, sizeof(*rs));
}
