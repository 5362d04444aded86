/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy/store_policy.c: the store decision (docs/configuration.md, "Which
 * store: the policy") and the direct-path feasibility for the chosen store
 * (docs/configuration.md, "Direct path feasibility"), as a pure
 * function of discovery results. First row that applies wins:
 *   requested store > operator's [glance] store > base image's store >
 *   Glance's default store.
 * Glance without multi-store: no store (no header); requesting one fails.
 * Feasibility: the store is rbd (stores/detail type, or inferred from an
 * rbd:// location whose metadata.store is that store), its pool (detail's
 * properties.pool, else that location's pool) and its cluster fsid
 * (detail's fsid, else that location's fsid) are known, and the fsid is
 * ours. A pool is never guessed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rbd_url.h"
#include "policy/store_policy.h"

/* "local, fast, web" (writable_only: without read-only stores). */
static char *store_list(const fs_store_set *s, int writable_only)
{
	fs_buf b = FS_BUF_INIT;
	size_t k = 0;
	for (size_t i = 0; s && i < s->n; i++) {
		if (writable_only && s->v[i].read_only)
			continue;
		fs_buf_printf(&b, "%s%s", k++ ? ", " : "", s->v[i].id ? s->v[i].id : "?");
	}
	if (b.oom) {
		fs_buf_free(&b);
		return NULL;
	}
	if (!k)
		fs_buf_puts(&b, "none");
	return b.oom ? (fs_buf_free(&b), NULL) : fs_buf_detach(&b);
}

void fs_policy_out_free(fs_policy_out *out)
{
	if (!out)
		return;
	free(out->store);
	free(out->reason);
	free(out->pool);
	free(out->fsid);
	free(out->direct_reason);
	memset(out, 0, sizeof(*out));
}

/* ---- feasibility ---- */

typedef struct {
	int is_rbd;
	const char *pool;       /* borrowed from the input or from loc */
	const char *fsid;
	int same;
	char *why;              /* owned */
} direct_feasibility;

/* The first rbd:// location (parsable) in store `id`; any store when id is
 * NULL. Looks at the base image's locations, then the known ones. */
static int find_rbd_location(fs_rbd_url *u, const fs_policy_in *in, const char *id)
{
	const fs_image *img = in->base_image;
	size_t nb = img ? img->n_locations : 0;
	int failed = 0;
	for (size_t i = 0; i < nb + in->n_known_locations; i++) {
		const fs_location *l = i < nb ? &img->locations[i] : &in->known_locations[i - nb];
		if (!l->url || strncmp(l->url, "rbd://", 6))
			continue;
		if (id && !fs_streq(l->store, id))
			continue;
		if (fs_rbd_url_parse(u, l->url, strlen(l->url)) == 0)
			return 1;
		failed = 1;   /* a malformed location is no evidence; skip it */
	}
	if (failed)
		fastsnap_error_clear();
	return 0;
}

#define FS_WHY(...) do { f->why = fs_asprintf(__VA_ARGS__); if (!f->why) goto oom; } while (0)

/* Feasibility for store `id` (info `si`, NULL when multi-store is off).
 * `u` receives the location used (caller frees). */
static int judge_direct_path(direct_feasibility *f, fs_rbd_url *u, const fs_policy_in *in, const char *id,
	const fs_store_info *si)
{
	memset(f, 0, sizeof(*f));
	memset(u, 0, sizeof(*u));
	if (!si) {
		/* multi-store off: any rbd:// location of the base image is in the one store */
		int have = find_rbd_location(u, in, NULL);
		if (!have) {
			FS_WHY("Glance has multi-store off and no rbd:// location of the base image is known, "
				"so the pool and cluster of its store are unknown");
			return 0;
		}
		f->is_rbd = 1;
		f->pool = u->pool;
		f->fsid = u->fsid;
	} else {
		int detail = in->stores->has_detail;
		int have = find_rbd_location(u, in, id);
		if (detail && si->type && strcmp(si->type, "rbd") != 0) {
			FS_WHY("store '%s' is %s, not rbd", id, si->type);
			return 0;
		}
		if (detail && si->type)
			f->is_rbd = 1;
		else if (have)
			f->is_rbd = 1;
		else {
			FS_WHY("store '%s' has an unknown type (%s) and no rbd:// location is known in it",
				id, detail ? "stores/detail gives none" : "stores/detail is not readable: Glance "
				"allows it to admins and, from Glance 30, to the service role ([service_user] "
				"in the config file)");
			return 0;
		}
		f->pool = detail && si->pool ? si->pool : have ? u->pool : NULL;
		f->fsid = si->fsid ? si->fsid : have ? u->fsid : NULL;
		if (!f->pool) {
			FS_WHY("store '%s' is rbd but its pool is unknown (%s and no rbd:// location is known in it)",
				id, detail ? "stores/detail gives no pool" : "stores/detail is not readable: Glance "
				"allows it to admins and, from Glance 30, to the service role ([service_user] "
				"in the config file)");
			return 0;
		}
		if (!f->fsid) {
			FS_WHY("store '%s' is rbd but its cluster fsid is unknown (stores/detail has no fsid "
				"and the base image has no rbd:// location in it)", id);
			return 0;
		}
	}
	char label[300];
	if (id)
		snprintf(label, sizeof(label), "store '%.280s'", id);
	else
		snprintf(label, sizeof(label), "Glance's only store");
	if (!in->our_fsid) {
		FS_WHY("%s is rbd pool '%s' but our own cluster's fsid is unknown", label, f->pool);
		return 0;
	}
	if (!fs_fsid_equal(f->fsid, in->our_fsid)) {
		FS_WHY("%s is in another cluster (fsid %s, ours %s)", label, f->fsid, in->our_fsid);
		return 0;
	}
	f->same = 1;
	const char *fsid_src = si && si->fsid ? "stores/detail" : "an rbd:// location in that store";
	if (si && u->pool && f->pool != u->pool && strcmp(f->pool, u->pool) != 0)
		FS_WHY("%s is rbd pool '%s' in our cluster (fsid from %s; a location names pool '%s', "
			"stores/detail's pool is used)", label, f->pool, fsid_src, u->pool);
	else
		FS_WHY("%s is rbd pool '%s' in our cluster (fsid from %s)", label, f->pool, fsid_src);
	return 0;
oom:
	fs_rbd_url_free(u);
	return fs_err(FASTSNAP_ENOMEM, "store policy: out of memory");
}

/* ---- store choice ---- */

/* Check a requested/operator store: listed and writable. */
static int check_store(const fs_policy_in *in, const char *id, const char *what)
{
	const fs_store_info *si = fs_store_set_find(in->stores, id);
	if (si && !si->read_only)
		return 0;
	char *all = store_list(in->stores, si != NULL);
	int rc;
	if (!si)
		rc = fs_err(FASTSNAP_ENOTFOUND, "%s '%s' is not one of Glance's stores (%s)", what, id,
			all ? all : "?");
	else
		rc = fs_err(FASTSNAP_ENOTFOUND, "%s '%s' is read-only in Glance; writable stores: %s", what, id,
			all ? all : "?");
	free(all);
	return rc;
}

/* The base image's candidate stores: its `stores` field, then location
 * metadata stores, in order, without repeats. */
static int push_unique(fs_strv *c, const char *s)
{
	if (!s || !*s)
		return 0;
	for (size_t k = 0; k < c->n; k++)
		if (!strcmp(c->v[k], s))
			return 0;
	return fs_strv_push(c, s);
}

static int base_store_candidates(fs_strv *c, const fs_image *img)
{
	for (size_t i = 0; i < img->stores.n; i++)
		if (push_unique(c, img->stores.v[i]) < 0)
			return -1;
	for (size_t i = 0; i < img->n_locations; i++)
		if (push_unique(c, img->locations[i].store) < 0)
			return -1;
	return 0;
}

/* Choose among the base image's stores. Sets *chosen (borrowed from the
 * store set) or NULL, and a reason (owned) either way. */
static int store_from_base(const fs_policy_in *in, const fs_store_info **chosen, char **reason)
{
	*chosen = NULL;
	*reason = NULL;
	const char *ref = in->base_image_ref ? in->base_image_ref
		: in->base_image->id ? in->base_image->id : "?";
	fs_strv cand = FS_STRV_INIT;
	fs_buf skipped = FS_BUF_INIT;
	int rc = 0;
	if (base_store_candidates(&cand, in->base_image) < 0)
		goto oom;
	if (cand.n == 0) {
		*reason = fs_asprintf("base image %s has no store information (no 'stores' field and no "
			"location store)", ref);
		goto done;
	}
	const fs_store_info *first = NULL, *direct = NULL;
	size_t usable = 0;
	for (size_t i = 0; i < cand.n; i++) {
		const fs_store_info *si = fs_store_set_find(in->stores, cand.v[i]);
		if (!si || si->read_only) {
			fs_buf_printf(&skipped, "%s'%s' (%s)", skipped.len ? ", " : "", cand.v[i],
				si ? "read-only" : "not listed by Glance");
			continue;
		}
		usable++;
		if (!first)
			first = si;
		if (!direct) {
			direct_feasibility f;
			fs_rbd_url u;
			if ((rc = judge_direct_path(&f, &u, in, si->id, si)) < 0)
				goto done;
			if (f.same)
				direct = si;
			free(f.why);
			fs_rbd_url_free(&u);
		}
	}
	if (skipped.oom)
		goto oom;
	if (!first) {
		*reason = fs_asprintf("base image %s is only in stores Glance cannot take a snapshot into: %s",
			ref, fs_buf_cstr(&skipped));
		goto done;
	}
	*chosen = direct ? direct : first;
	if (usable == 1)
		*reason = fs_asprintf("base image %s is in store '%s'%s%s%s", ref, (*chosen)->id,
			skipped.len ? " (skipped: " : "", fs_buf_cstr(&skipped), skipped.len ? ")" : "");
	else if (direct)
		*reason = fs_asprintf("base image %s is in %zu stores; '%s' is rbd in our cluster", ref,
			usable, (*chosen)->id);
	else
		*reason = fs_asprintf("base image %s is in %zu stores, none rbd in our cluster; took the first "
			"listed, '%s'", ref, usable, (*chosen)->id);
done:
	fs_strv_free(&cand);
	fs_buf_free(&skipped);
	if (rc == 0 && !*reason)
		return fs_err(FASTSNAP_ENOMEM, "store policy: out of memory");
	return rc;
oom:
	fs_strv_free(&cand);
	fs_buf_free(&skipped);
	return fs_err(FASTSNAP_ENOMEM, "store policy: out of memory");
}

/* No store was asked for: the base image's store, else Glance's default.
 * *note says why the base image's store was not used (caller frees). */
static int pol_base_or_default(const fs_policy_in *in, fs_policy_out *out,
	const fs_store_info **si, char **note)
{
	int rc;
	if (in->base_image) {
		char *why = NULL;
		if ((rc = store_from_base(in, si, &why)) < 0)
			return rc;
		if (*si) {
			out->source = "base-image";
			out->reason = why;
			return 0;
		}
		*note = why;
	} else if (in->base_image_ref) {
		*note = in->base_image_missing
			? fs_asprintf("base image %s was not found in Glance (404)", in->base_image_ref)
			: fs_asprintf("base image %s could not be read", in->base_image_ref);
		if (!*note)
			return fs_err(FASTSNAP_ENOMEM, "store policy: out of memory");
	}
	const char *lead = *note ? *note : "no base image (volume-backed instance)";
	*si = fs_store_set_default(in->stores);
	out->source = "default";
	if (*si)
		out->reason = fs_asprintf("%s; using Glance's default store '%s'", lead, (*si)->id);
	else
		out->reason = fs_asprintf("%s; Glance marks no store as default, so no store header "
			"is sent", lead);
	return 0;
}

int fs_store_policy_decide(fs_policy_out *out, const fs_policy_in *in)
{
	memset(out, 0, sizeof(*out));
	if (!in)
		return fs_err(FASTSNAP_EINVAL, "store policy: no input");
	if (in->multistore && !in->stores)
		return fs_err(FASTSNAP_EINVAL, "store policy: multi-store is on but no store list was given");
	const int ms = in->multistore != 0;
	const fs_store_info *si = NULL;
	char *base_note = NULL;   /* why the base image's store was not used */
	int rc = 0;

	if (!ms) {
		if (in->requested)
			return fs_err(FASTSNAP_EUNSUPPORTED, "store '%s' was requested but Glance has multi-store "
				"off (/v2/info/stores gave 404)", in->requested);
		if (in->operator_store)
			return fs_err(FASTSNAP_EUNSUPPORTED, "[glance] store '%s' is set but Glance has multi-store "
				"off (/v2/info/stores gave 404)", in->operator_store);
		out->source = "none";
		out->reason = fs_strdup("Glance has multi-store off: no store header is sent and Glance uses "
			"its only store");
		if (!out->reason)
			goto oom;
	} else if (in->requested) {
		if ((rc = check_store(in, in->requested, "store")) < 0)
			return rc;
		si = fs_store_set_find(in->stores, in->requested);
		out->source = "requested";
		out->reason = fs_asprintf("store '%s' was requested", si->id);
	} else if (in->operator_store) {
		if ((rc = check_store(in, in->operator_store, "[glance] store")) < 0)
			return rc;
		si = fs_store_set_find(in->stores, in->operator_store);
		out->source = "operator";
		out->reason = fs_asprintf("store '%s' is set by the operator ([glance] store)", si->id);
	} else if ((rc = pol_base_or_default(in, out, &si, &base_note)) < 0) {
		return rc;
	}
	free(base_note);
	if (!out->reason)
		goto oom;
	if (si && !(out->store = fs_strdup(si->id)))
		goto oom;

	if (ms && !si) {
		out->direct_reason = fs_strdup("no store was chosen, so its pool and cluster are unknown");
		if (!out->direct_reason)
			goto oom;
		return 0;
	}
	direct_feasibility f;
	fs_rbd_url u;
	if ((rc = judge_direct_path(&f, &u, in, si ? si->id : NULL, si)) < 0) {
		fs_policy_out_free(out);
		return rc;
	}
	out->store_is_rbd = f.is_rbd;
	out->same_cluster = f.same;
	out->direct_reason = f.why;
	if (f.pool && !(out->pool = fs_strdup(f.pool)))
		rc = -1;
	if (f.fsid && !(out->fsid = fs_strdup(f.fsid)))
		rc = -1;
	fs_rbd_url_free(&u);
	if (rc < 0)
		goto oom;
	return 0;
oom:
	fs_policy_out_free(out);
	return fs_err(FASTSNAP_ENOMEM, "store policy: out of memory");
}
