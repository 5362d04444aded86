/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plan/plan.c: checks the request and the source disk, discovers Glance's
 * stores, fetches the base image, asks the store policy for the target
 * store, and picks the path. Creates nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan/plan.h"
#include "register/register.h"
#include "core/rbd_url.h"
#include "capture/source_file.h"

const char *fs_flatten_name(fastsnap_flatten_mode m)
{
	switch (m) {
	case FASTSNAP_FLATTEN_SYNC: return "sync";
	case FASTSNAP_FLATTEN_DEFERRED: return "deferred";
	case FASTSNAP_FLATTEN_NONE: return "none";
	}
	return "?";
}

int fs_plan_check_request(const fastsnap_snapshot_opts *o)
{
	if (!o || o->version != FASTSNAP_SNAPSHOT_OPTS_VERSION)
		return fs_err(FASTSNAP_EINVAL, "snapshot options: initialise them with FASTSNAP_SNAPSHOT_OPTS_INIT");
	if (!o->name || !*o->name)
		return fs_err(FASTSNAP_EINVAL, "snapshot: an image name is required");
	if (strlen(o->name) > 255)   /* Glance's limit: refused before anything is created */
		return fs_err(FASTSNAP_EINVAL, "snapshot: the image name has %zu characters; Glance takes "
			"at most 255", strlen(o->name));
	if (o->base_image_ref && *o->base_image_ref &&
	    !fs_is_uuid(o->base_image_ref, strlen(o->base_image_ref)))
		return fs_err(FASTSNAP_EINVAL, "snapshot: base image ref '%s' is not an image id (a UUID)",
			o->base_image_ref);
	if (!!o->disk == !!o->disk_file)
		return fs_err(FASTSNAP_EINVAL, "snapshot: give exactly one source: an RBD disk (pool/image) or a disk file");
	if (o->flatten != FASTSNAP_FLATTEN_SYNC && o->flatten != FASTSNAP_FLATTEN_DEFERRED &&
	    o->flatten != FASTSNAP_FLATTEN_NONE)
		return fs_err(FASTSNAP_EINVAL, "snapshot: unknown flatten mode %d", (int)o->flatten);
	if (o->disk_format && strcmp(o->disk_format, "raw") != 0 && strcmp(o->disk_format, "qcow2") != 0)
		return fs_err(FASTSNAP_EUNSUPPORTED, "snapshot: disk format '%s' is not supported (raw or "
			"qcow2)", o->disk_format);
	if (o->image_type == FASTSNAP_IMAGE_BACKUP && (!o->backup_type || !*o->backup_type))
		return fs_err(FASTSNAP_EINVAL, "backup: a backup type is required");
	if ((o->flags & FASTSNAP_SNAPSHOT_CEPH_ONLY) &&
	    (!o->disk || !o->image_id || !fs_is_uuid(o->image_id, strlen(o->image_id))))
		return fs_err(FASTSNAP_EINVAL, "Ceph-only mode needs an RBD disk and the id (a UUID) of "
			"an existing queued Glance image");
	if (o->target_pool && (!(o->flags & FASTSNAP_SNAPSHOT_CEPH_ONLY) || !*o->target_pool ||
	    strchr(o->target_pool, '/')))
		return fs_err(FASTSNAP_EINVAL, "a target pool is for Ceph-only mode, and is a pool name");
	if (o->tmp_snap_name && (!*o->tmp_snap_name || strpbrk(o->tmp_snap_name, "/@") ||
	    strlen(o->tmp_snap_name) > 255))
		return fs_err(FASTSNAP_EINVAL, "temporary snapshot name '%s': 1 to 255 characters, no "
			"'/' or '@'", o->tmp_snap_name);
	for (size_t i = 0; i < o->properties_count; i++) {
		const char *p = o->properties[i];
		const char *eq = p ? strchr(p, '=') : NULL;
		if (!eq || eq == p)
			return fs_err(FASTSNAP_EINVAL, "property '%s': expected KEY=VALUE", p ? p : "(null)");
		char key[256];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - p), p);
		if (fs_image_prop_reserved(key))
			return fs_err(FASTSNAP_EINVAL, "property '%s' cannot be set: it is a core field of "
				"the image, or reserved by fastsnap", key);
	}
	return 0;
}

static int check_source(fs_plan *p, fs_ceph *c, const fastsnap_snapshot_opts *o)
{
	if (o->disk) {
		p->kind = FS_SRC_RBD;
		fs_rbd_spec spec;
		int r = fs_rbd_spec_parse(&spec, o->disk, strlen(o->disk));
		if (r < 0)
			return r;
		p->pool = spec.pool; /* ownership moves to the plan */
		p->image = spec.image;
		rados_ioctx_t io;
		if ((r = fs_ceph_ioctx(&io, c, p->pool)) == FASTSNAP_ENOTFOUND)
			return fs_err(r, "pool %s does not exist in Ceph cluster %s", p->pool, fs_ceph_fsid(c));
		if (r < 0)
			return r;
		rados_ioctx_destroy(io);
		r = fs_rbd_disk_info(&p->disk, c, p->pool, p->image);
		if (r < 0) {
			if (r == FASTSNAP_ENOTFOUND)
				return fs_err(r, "disk %s/%s not found in Ceph cluster %s", p->pool, p->image,
					fs_ceph_fsid(c));
			return r;
		}
		p->size = p->disk.size;
		return 0;
	}
	p->kind = FS_SRC_FILE;
	if (!(p->file = strdup(o->disk_file)))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	int fd = -1;
	fs_file_stamp st;
	int r = fs_source_file_open(&fd, &p->size, &st, p->file);
	if (fd >= 0)
		close(fd);
	if (r == 0 && (p->size == 0 || p->size % 512 != 0))
		r = fs_err(FASTSNAP_EFORMAT, "disk file %s has %llu bytes: a disk is a non-empty multiple "
			"of 512 bytes", p->file, (unsigned long long)p->size);
	return r;
}

/* Look at recent active images for rbd:// locations and decide again with
 * them. Only the newest page is read: enough to find one location. */
static int find_store_locations(fs_plan *p, fs_glance *g, fs_policy_in *in)
{
	fs_image_list l = { NULL, 0 };
	const char *filters[] = { "status=active" };
	int r = fs_glance_image_list_pages(g, &l, filters, 1, "created_at:desc", 20, 1);
	if (r < 0) {
		fs_image_list_free(&l);
		fastsnap_error_clear(); /* an optimisation only: keep the first decision */
		return 0;
	}
	size_t n = 0;
	for (size_t i = 0; i < l.n; i++)
		n += l.v[i]->n_locations;
	fs_location *locs = n ? calloc(n, sizeof(*locs)) : NULL;
	size_t k = 0;
	for (size_t i = 0; locs && i < l.n; i++)
		for (size_t j = 0; j < l.v[i]->n_locations; j++)
			locs[k++] = l.v[i]->locations[j]; /* borrowed */
	if (k) {
		in->known_locations = locs;
		in->n_known_locations = k;
		fs_policy_out again;
		if (fs_store_policy_decide(&again, in) == 0) {
			fs_policy_out_free(&p->policy);
			p->policy = again;
		} else {
			fastsnap_error_clear();
		}
		in->known_locations = NULL;
		in->n_known_locations = 0;
	}
	free(locs);
	fs_image_list_free(&l);
	return 0;
}

static char *join_reason(const char *a, const char *b)
{
	return fs_asprintf("%s; %s", a ? a : "", b ? b : "");
}

/* raw or qcow2: the request's, else [libvirt] snapshot_image_format. qcow2
 * into an rbd store is refused unless the caller insists. */
static int choose_format(fs_plan *p, const fs_settings *s, const fastsnap_snapshot_opts *o)
{
	p->disk_format = o->disk_format ? o->disk_format : s->snapshot_image_format;
	p->disk_format = fs_streq(p->disk_format, "qcow2") ? "qcow2" : "raw";
	if (!strcmp(p->disk_format, "qcow2") && p->policy.store_is_rbd &&
	    !(o->flags & FASTSNAP_SNAPSHOT_ALLOW_QCOW2_IN_RBD))
		return fs_err(FASTSNAP_EINVAL, "qcow2 into rbd store '%s' defeats copy-on-write boot (Nova "
			"downloads and converts such an image at every boot): use raw, or force it "
			"(--allow-qcow2-in-rbd)", p->policy.store ? p->policy.store : "?");
	return 0;
}

/* Ceph-only mode with the caller's pool (Nova's own choice, the disk's
 * RBD parent pool: docs/nova.md): Glance is not asked anything; the
 * clone goes to that pool, raw, and is flattened by mode. */
static int plan_caller_pool(fs_plan *p, const fastsnap_snapshot_opts *o)
{
	if (p->kind != FS_SRC_RBD)
		return fs_err(FASTSNAP_EINVAL, "a target pool needs an RBD disk");
	if (o->disk_format && strcmp(o->disk_format, "raw") != 0)
		return fs_err(FASTSNAP_EUNSUPPORTED, "Ceph-only mode clones raw images only, not %s",
			o->disk_format);
	p->disk_format = "raw";
	p->path = FASTSNAP_PATH_DIRECT;
	p->flatten = o->flatten;
	p->clone_format = o->flatten == FASTSNAP_FLATTEN_NONE ? 2 : 1;
	p->policy.same_cluster = 1;
	p->policy.store_is_rbd = 1;
	p->target_pool = fs_strdup(o->target_pool);
	p->reason = fs_asprintf("direct: into pool %s, chosen by the caller (no Glance look-up)",
		o->target_pool);
	if (!p->target_pool || !p->reason)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	return 0;
}

/* Stores, stores/detail, the base image and (when something may be
 * inherited) the schema do not depend on each other: asked at once. Keeps
 * the stores and the base image in p; *base_missing when it is gone. */
static int look_up(fs_plan *p, fs_glance *g, const fastsnap_snapshot_opts *o, int *base_missing)
{
	int has_base = o->base_image_ref && *o->base_image_ref;
	fs_lookups_req lq = { .base_id = has_base ? o->base_image_ref : NULL,
		.want_schema = has_base };
	fs_lookups lk;
	int r = fs_glance_lookups(g, &lk, &lq);
	if (r < 0)
		return r;
	p->stores = lk.stores;
	memset(&lk.stores, 0, sizeof(lk.stores));
	p->base = lk.base;
	lk.base = NULL;
	r = lk.stores_rc;
	if (r == FASTSNAP_EUNSUPPORTED) {
		p->multistore = 0;
	} else if (r < 0) {
		fs_lookups_free(&lk);
		return fs_error_state_restore(&lk.stores_err);
	} else {
		p->multistore = 1;
	}
	*base_missing = 0;
	if (has_base) {
		r = lk.base_rc;
		if (r == FASTSNAP_ENOTFOUND) {
			*base_missing = 1;
		} else if (r < 0) {
			fs_lookups_free(&lk);
			fs_error_state_restore(&lk.base_err);
			fs_err_prefix("base image %s", o->base_image_ref);
			return r;
		}
	}
	fs_lookups_free(&lk);
	return 0;
}

/* The store policy's decision, with another image's location when the
 * store's cluster is not known otherwise. */
static int decide_store(fs_plan *p, fs_ceph *c, fs_glance *g, const fs_settings *s,
	const fastsnap_snapshot_opts *o, int base_missing)
{
	fs_policy_in in = {
		.stores = p->multistore ? &p->stores : NULL,
		.multistore = p->multistore,
		.requested = o->store,
		.operator_store = s->glance_store,
		.base_image_ref = o->base_image_ref,
		.base_image = p->base,
		.base_image_missing = base_missing,
		.our_fsid = fs_ceph_fsid(c),
	};
	int r = fs_store_policy_decide(&p->policy, &in);
	if (r < 0)
		return r;
	if (p->kind == FS_SRC_RBD && !p->policy.same_cluster && p->policy.store && !p->policy.fsid &&
	    (p->policy.store_is_rbd || !p->stores.has_detail)) {
		/* docs/architecture.md ("Glance and Ceph facts"): no fsid from stores/detail or the base image; an
		 * rbd:// location of any image in that store can establish it. */
		r = find_store_locations(p, g, &in);
	}
	return r;
}

/* The path and why (p->path, p->reason), from the policy's decision. */
static int choose_path(fs_plan *p, const fs_settings *s, const fastsnap_snapshot_opts *o)
{
	p->flatten = o->flatten;
	p->clone_format = o->flatten == FASTSNAP_FLATTEN_NONE ? 2 : 1;
	const char *path_why;
	char *tmp = NULL;
	int r = choose_format(p, s, o);
	if (r < 0)
		return r;
	if (!strcmp(p->disk_format, "qcow2")) {
		p->path = FASTSNAP_PATH_STREAM;
		path_why = "stream: a qcow2 image was asked for, and the direct path clones raw images only";
	} else if (p->kind == FS_SRC_FILE) {
		p->path = FASTSNAP_PATH_STREAM;
		path_why = "stream: the disk is a file, not RBD";
	} else if (!p->policy.same_cluster) {
		p->path = FASTSNAP_PATH_STREAM;
		tmp = fs_asprintf("stream: %s", p->policy.direct_reason ? p->policy.direct_reason :
			"the store is not rbd in this cluster");
		path_why = tmp;
	} else {
		p->path = FASTSNAP_PATH_DIRECT;
		p->target_pool = fs_strdup(p->policy.pool);
		unsigned int cap = o->clone_depth_cap ? o->clone_depth_cap :
			(unsigned int)s->clone_depth_cap;
		if (p->flatten == FASTSNAP_FLATTEN_NONE && p->disk.depth + 1 > cap) {
			p->flatten_for_depth = 1;
			tmp = fs_asprintf("direct: %s; flatten none would make a clone chain of depth %u, "
				"over the cap of %u, so the clone is flattened", p->policy.direct_reason
				? p->policy.direct_reason : "same cluster", p->disk.depth + 1, cap);
		} else {
			tmp = fs_asprintf("direct: %s", p->policy.direct_reason ? p->policy.direct_reason
				: "the store is rbd in this cluster");
		}
		path_why = tmp;
	}
	p->reason = join_reason(p->policy.reason, path_why);
	free(tmp);
	if (!p->reason)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	return 0;
}

int fs_plan_make(fs_plan *p, fs_ceph *c, fs_glance *g, const fs_settings *s,
	const fastsnap_snapshot_opts *o)
{
	memset(p, 0, sizeof(*p));
	int base_missing = 0;
	int r = fs_plan_check_request(o);
	if (r == 0)
		r = check_source(p, c, o);
	if (r == 0 && o->target_pool)
		return plan_caller_pool(p, o);
	if (r == 0)
		r = look_up(p, g, o, &base_missing);
	if (r == 0)
		r = decide_store(p, c, g, s, o, base_missing);
	if (r == 0)
		r = choose_path(p, s, o);
	return r;
}

void fs_plan_free(fs_plan *p)
{
	if (!p)
		return;
	free(p->pool);
	free(p->image);
	free(p->file);
	fs_store_set_free(&p->stores);
	fs_image_free(p->base);
	fs_policy_out_free(&p->policy);
	free(p->target_pool);
	free(p->reason);
	memset(p, 0, sizeof(*p));
}

char *fs_plan_heartbeat_at(const fs_plan *p, const char *id)
{
	if (p->path == FASTSNAP_PATH_DIRECT)
		return fs_asprintf("%s/%s", p->target_pool, id);
	return p->kind == FS_SRC_RBD ? fs_asprintf("%s/%s", p->pool, p->image) : NULL;
}
