/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_store_policy.c: the store decision (requested > operator
 * > base image > default) and direct-path feasibility, table-driven, with
 * Glance structs built by hand (no network, no Glance client needed).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/rbd_url.h"
#include "policy/store_policy.h"

#define OURS  "abcdef01-2222-3333-4444-5555555555aa"
#define OTHER "99999999-8888-7777-6666-555555555555"
#define LOC(fsid, pool, img) "rbd://" fsid "/" pool "/" img "/snap"

/* ---- hand-built Glance structs ---- */

static void add_store(fs_store_set *s, const char *id, int def, int ro, const char *type,
	const char *pool, const char *fsid)
{
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	fs_store_info *i = &s->v[s->n++];
	memset(i, 0, sizeof(*i));
	i->id = strdup(id);
	i->description = strdup("test store");
	i->is_default = def;
	i->read_only = ro;
	if (s->has_detail) {
		i->type = type ? strdup(type) : NULL;
		i->pool = pool ? strdup(pool) : NULL;
		i->fsid = fsid ? strdup(fsid) : NULL;
	}
}

static void t_stores_free(fs_store_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].id);
		free(s->v[i].description);
		free(s->v[i].type);
		free(s->v[i].pool);
		free(s->v[i].fsid);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* The dev cluster's stores plus an rbd store in another cluster. */
static void std_stores(fs_store_set *s, int detail, const char *fast_fsid)
{
	memset(s, 0, sizeof(*s));
	s->has_detail = detail;
	add_store(s, "local", 1, 0, "file", NULL, NULL);
	add_store(s, "fast", 0, 0, "rbd", "images", fast_fsid);
	add_store(s, "web", 0, 1, "http", NULL, NULL);
	add_store(s, "edge", 0, 0, "rbd", "edge-images", NULL);
}

static fs_image *make_image(const char *id, const char *stores, const char *const *urls,
	const char *const *locstores, size_t nloc)
{
	fs_image *img = calloc(1, sizeof(*img));
	img->id = strdup(id);
	img->status = strdup("active");
	img->size = img->virtual_size = -1;
	if (stores) {
		char *copy = strdup(stores), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			fs_strv_push(&img->stores, t);
		free(copy);
	}
	img->locations = nloc ? calloc(nloc, sizeof(*img->locations)) : NULL;
	for (size_t i = 0; i < nloc; i++) {
		img->locations[i].url = strdup(urls[i]);
		img->locations[i].store = locstores[i] ? strdup(locstores[i]) : NULL;
	}
	img->n_locations = nloc;
	return img;
}

static void t_image_free(fs_image *img)
{
	if (!img)
		return;
	free(img->id);
	free(img->status);
	fs_strv_free(&img->stores);
	for (size_t i = 0; i < img->n_locations; i++) {
		free(img->locations[i].url);
		free(img->locations[i].store);
	}
	free(img->locations);
	free(img);
}

/* ---- the table ---- */

enum { NO_BASE, BASE_MISSING, BASE };

struct pcase {
	const char *name;
	int multistore, detail;
	const char *fast_fsid;          /* fsid of 'fast' in stores/detail (Glance >= 30) */
	const char *requested, *op;
	int base;
	const char *img_stores;
	const char *urls[3], *locstores[3];
	size_t nloc;
	/* expected */
	int rc;
	const char *store, *source;
	int is_rbd, same;
	const char *pool, *fsid;
	const char *reason_has, *direct_has;   /* substrings (or the error message) */
};

static const struct pcase cases[] = {
	/* precedence */
	{ "requested beats everything", 1, 1, NULL, "fast", "local", BASE, "edge",
	  { LOC(OURS, "images", "b1") }, { "fast" }, 1,
	  0, "fast", "requested", 1, 1, "images", OURS, "store 'fast' was requested", "in our cluster" },
	{ "operator beats base image", 1, 1, NULL, NULL, "local", BASE, "fast", { NULL }, { NULL }, 0,
	  0, "local", "operator", 0, 0, NULL, NULL, "[glance] store", "store 'local' is file, not rbd" },
	{ "base image beats default", 1, 1, NULL, NULL, NULL, BASE, "fast",
	  { LOC(OURS, "images", "b1") }, { "fast" }, 1,
	  0, "fast", "base-image", 1, 1, "images", OURS, "base image base-1 is in store 'fast'", "fsid from an rbd:// location" },
	{ "volume-backed: default", 1, 1, NULL, NULL, NULL, NO_BASE, NULL, { NULL }, { NULL }, 0,
	  0, "local", "default", 0, 0, NULL, NULL, "volume-backed instance); using Glance's default store 'local'", "is file, not rbd" },
	/* checks of requested / operator stores */
	{ "requested unknown", 1, 1, NULL, "nope", NULL, NO_BASE, NULL, { NULL }, { NULL }, 0,
	  FASTSNAP_ENOTFOUND, NULL, NULL, 0, 0, NULL, NULL, "store 'nope' is not one of Glance's stores (local, fast, web, edge)", NULL },
	{ "requested read-only", 1, 1, NULL, "web", NULL, NO_BASE, NULL, { NULL }, { NULL }, 0,
	  FASTSNAP_ENOTFOUND, NULL, NULL, 0, 0, NULL, NULL, "store 'web' is read-only in Glance; writable stores: local, fast, edge", NULL },
	{ "operator unknown", 1, 0, NULL, NULL, "gone", BASE, "fast", { NULL }, { NULL }, 0,
	  FASTSNAP_ENOTFOUND, NULL, NULL, 0, 0, NULL, NULL, "[glance] store 'gone' is not one of Glance's stores", NULL },
	{ "operator read-only", 1, 0, NULL, NULL, "web", NO_BASE, NULL, { NULL }, { NULL }, 0,
	  FASTSNAP_ENOTFOUND, NULL, NULL, 0, 0, NULL, NULL, "[glance] store 'web' is read-only", NULL },
	{ "requested is case-sensitive", 1, 1, NULL, "Fast", NULL, NO_BASE, NULL, { NULL }, { NULL }, 0,
	  FASTSNAP_ENOTFOUND, NULL, NULL, 0, 0, NULL, NULL, "store 'Fast' is not one of", NULL },
	/* base image cases */
	{ "base image missing", 1, 1, NULL, NULL, NULL, BASE_MISSING, NULL, { NULL }, { NULL }, 0,
	  0, "local", "default", 0, 0, NULL, NULL, "base image base-1 was not found in Glance (404); using Glance's default store 'local'", NULL },
	{ "base in several stores: rbd in our cluster preferred", 1, 1, NULL, NULL, NULL, BASE, "local,edge,fast",
	  { "file:///var/lib/glance/images/b1", LOC(OTHER, "edge-images", "b1"), LOC(OURS, "images", "b1") },
	  { "local", "edge", "fast" }, 3,
	  0, "fast", "base-image", 1, 1, "images", OURS, "is in 3 stores; 'fast' is rbd in our cluster", NULL },
	{ "base in several stores, none ours: first listed", 1, 1, NULL, NULL, NULL, BASE, "edge,local",
	  { LOC(OTHER, "edge-images", "b1"), "file:///x" }, { "edge", "local" }, 2,
	  0, "edge", "base-image", 1, 0, "edge-images", OTHER, "none rbd in our cluster; took the first listed, 'edge'",
	  "store 'edge' is in another cluster (fsid " OTHER ", ours " OURS ")" },
	{ "base stores from locations only", 1, 1, NULL, NULL, NULL, BASE, NULL,
	  { LOC(OURS, "images", "b1") }, { "fast" }, 1,
	  0, "fast", "base-image", 1, 1, "images", OURS, "is in store 'fast'", NULL },
	{ "base only in a read-only store", 1, 1, NULL, NULL, NULL, BASE, "web", { "http://h/x" }, { "web" }, 1,
	  0, "local", "default", 0, 0, NULL, NULL, "only in stores Glance cannot take a snapshot into: 'web' (read-only)", NULL },
	{ "base in an unlisted store and fast", 1, 1, NULL, NULL, NULL, BASE, "old,fast", { NULL }, { NULL }, 0,
	  0, "fast", "base-image", 1, 0, "images", NULL, "(skipped: 'old' (not listed by Glance))",
	  "store 'fast' is rbd but its cluster fsid is unknown (stores/detail has no fsid and the base image has no rbd:// location in it)" },
	{ "base without store information", 1, 1, NULL, NULL, NULL, BASE, NULL, { NULL }, { NULL }, 0,
	  0, "local", "default", 0, 0, NULL, NULL, "has no store information", NULL },
	/* multi-store off */
	{ "multi-store off", 0, 0, NULL, NULL, NULL, NO_BASE, NULL, { NULL }, { NULL }, 0,
	  0, NULL, "none", 0, 0, NULL, NULL, "multi-store off", "no rbd:// location of the base image is known" },
	{ "multi-store off, requested", 0, 0, NULL, "fast", NULL, NO_BASE, NULL, { NULL }, { NULL }, 0,
	  FASTSNAP_EUNSUPPORTED, NULL, NULL, 0, 0, NULL, NULL, "store 'fast' was requested but Glance has multi-store off", NULL },
	{ "multi-store off, operator", 0, 0, NULL, NULL, "fast", NO_BASE, NULL, { NULL }, { NULL }, 0,
	  FASTSNAP_EUNSUPPORTED, NULL, NULL, 0, 0, NULL, NULL, "[glance] store 'fast' is set but Glance has multi-store off", NULL },
	{ "multi-store off, base rbd location", 0, 0, NULL, NULL, NULL, BASE, NULL,
	  { LOC(OURS, "images", "b1") }, { NULL }, 1,
	  0, NULL, "none", 1, 1, "images", OURS, "multi-store off", "rbd pool 'images' in our cluster" },
	{ "multi-store off, base in another cluster", 0, 0, NULL, NULL, NULL, BASE, NULL,
	  { LOC(OTHER, "images", "b1") }, { NULL }, 1,
	  0, NULL, "none", 1, 0, "images", OTHER, NULL, "is in another cluster" },
	/* detail vs no detail */
	{ "no detail, location infers rbd", 1, 0, NULL, "fast", NULL, BASE, "fast",
	  { LOC(OURS, "vpool", "b1") }, { "fast" }, 1,
	  0, "fast", "requested", 1, 1, "vpool", OURS, NULL, "rbd pool 'vpool' in our cluster" },
	{ "no detail, no location", 1, 0, NULL, "fast", NULL, NO_BASE, NULL, { NULL }, { NULL }, 0,
	  0, "fast", "requested", 0, 0, NULL, NULL, NULL, "store 'fast' has an unknown type (stores/detail is not readable: Glance allows it to admins and, from Glance 30, to the service role ([service_user] in the config file))" },
	{ "detail, rbd, no fsid anywhere", 1, 1, NULL, "fast", NULL, NO_BASE, NULL, { NULL }, { NULL }, 0,
	  0, "fast", "requested", 1, 0, "images", NULL, NULL, "cluster fsid is unknown" },
	{ "detail with fsid (Glance 30)", 1, 1, OURS, "fast", NULL, NO_BASE, NULL, { NULL }, { NULL }, 0,
	  0, "fast", "requested", 1, 1, "images", OURS, NULL, "fsid from stores/detail" },
	{ "detail fsid of another cluster", 1, 1, OTHER, "fast", NULL, BASE, "fast",
	  { LOC(OURS, "images", "b1") }, { "fast" }, 1,
	  0, "fast", "requested", 1, 0, "images", OTHER, NULL, "another cluster (fsid " OTHER ", ours " OURS ")" },
	{ "location fsid mismatch", 1, 1, NULL, "fast", NULL, BASE, "fast",
	  { LOC(OTHER, "images", "b1") }, { "fast" }, 1,
	  0, "fast", "requested", 1, 0, "images", OTHER, NULL, "another cluster" },
	{ "detail pool trusted over location pool", 1, 1, NULL, "fast", NULL, BASE, "fast",
	  { LOC(OURS, "elsewhere", "b1") }, { "fast" }, 1,
	  0, "fast", "requested", 1, 1, "images", OURS, NULL, "a location names pool 'elsewhere', stores/detail's pool is used" },
	{ "location of another store does not count", 1, 1, NULL, "fast", NULL, BASE, "edge",
	  { LOC(OURS, "images", "b1") }, { "edge" }, 1,
	  0, "fast", "requested", 1, 0, "images", NULL, NULL, "cluster fsid is unknown" },
	{ "location without store metadata does not count", 1, 0, NULL, "fast", NULL, BASE, NULL,
	  { LOC(OURS, "images", "b1") }, { NULL }, 1,
	  0, "fast", "requested", 0, 0, NULL, NULL, NULL, "unknown type" },
	{ "malformed location is no evidence", 1, 0, NULL, "fast", NULL, BASE, "fast",
	  { "rbd://not-a-uuid/images/b1/snap", LOC(OURS, "images", "b1") }, { "fast", "fast" }, 2,
	  0, "fast", "requested", 1, 1, "images", OURS, NULL, "in our cluster" },
	{ "uppercase fsid matches", 1, 1, NULL, "fast", NULL, BASE, "fast",
	  { "rbd://ABCDEF01-2222-3333-4444-5555555555AA/images/b1/snap" }, { "fast" }, 1,
	  0, "fast", "requested", 1, 1, "images", OURS, NULL, NULL },
	{ "detail type file", 1, 1, NULL, NULL, NULL, BASE, "local", { "file:///x" }, { "local" }, 1,
	  0, "local", "base-image", 0, 0, NULL, NULL, NULL, "store 'local' is file, not rbd" },
};

static void run_case(size_t ci, const struct pcase *c)
{
	fs_store_set ss;
	std_stores(&ss, c->detail, c->fast_fsid);
	fs_image *img = c->base == BASE ? make_image("base-1", c->img_stores, c->urls, c->locstores, c->nloc)
		: NULL;
	fs_policy_in in;
	memset(&in, 0, sizeof(in));
	in.stores = c->multistore ? &ss : NULL;
	in.multistore = c->multistore;
	in.requested = c->requested;
	in.operator_store = c->op;
	in.base_image_ref = c->base != NO_BASE ? "base-1" : NULL;
	in.base_image = img;
	in.base_image_missing = c->base == BASE_MISSING;
	in.our_fsid = OURS;
	fs_policy_out out;
	int rc = fs_store_policy_decide(&out, &in);
	cr_assert_eq(rc, c->rc, "case %zu (%s): rc %d: %s", ci, c->name, rc, fastsnap_error_last());
	if (rc) {
		cr_assert_null(out.store, "case %zu", ci);
		cr_assert_null(out.reason, "case %zu", ci);
		cr_assert(strstr(fastsnap_error_last(), c->reason_has), "case %zu (%s): '%s' lacks '%s'", ci,
			c->name, fastsnap_error_last(), c->reason_has);
	} else {
		if (c->store)
			cr_assert_str_eq(out.store ? out.store : "(null)", c->store, "case %zu (%s)", ci, c->name);
		else
			cr_assert_null(out.store, "case %zu (%s): store %s", ci, c->name, out.store);
		cr_assert_str_eq(out.source, c->source, "case %zu (%s)", ci, c->name);
		cr_assert_not_null(out.reason, "case %zu", ci);
		cr_assert_not_null(out.direct_reason, "case %zu", ci);
		if (c->reason_has)
			cr_assert(strstr(out.reason, c->reason_has), "case %zu (%s): reason '%s' lacks '%s'", ci,
				c->name, out.reason, c->reason_has);
		if (c->direct_has)
			cr_assert(strstr(out.direct_reason, c->direct_has),
				"case %zu (%s): direct_reason '%s' lacks '%s'", ci, c->name, out.direct_reason,
				c->direct_has);
		cr_assert_eq(out.store_is_rbd, c->is_rbd, "case %zu (%s): is_rbd %d (%s)", ci, c->name,
			out.store_is_rbd, out.direct_reason);
		cr_assert_eq(out.same_cluster, c->same, "case %zu (%s): same %d (%s)", ci, c->name,
			out.same_cluster, out.direct_reason);
		if (c->pool)
			cr_assert_str_eq(out.pool ? out.pool : "(null)", c->pool, "case %zu (%s)", ci, c->name);
		else
			cr_assert_null(out.pool, "case %zu (%s): pool %s", ci, c->name, out.pool);
		if (c->fsid)
			cr_assert(fs_fsid_equal(out.fsid, c->fsid), "case %zu (%s): fsid %s", ci, c->name, out.fsid);
		else
			cr_assert_null(out.fsid, "case %zu (%s): fsid %s", ci, c->name, out.fsid);
	}
	fs_policy_out_free(&out);
	cr_assert_null(out.store);
	t_image_free(img);
	t_stores_free(&ss);
}

Test(store_policy, table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(i, &cases[i]);
}

Test(store_policy, no_default_store)
{
	fs_store_set ss;
	memset(&ss, 0, sizeof(ss));
	ss.has_detail = 1;
	add_store(&ss, "a", 0, 0, "file", NULL, NULL);
	fs_policy_in in;
	memset(&in, 0, sizeof(in));
	in.stores = &ss;
	in.multistore = 1;
	in.our_fsid = OURS;
	fs_policy_out out;
	cr_assert_eq(fs_store_policy_decide(&out, &in), 0, "%s", fastsnap_error_last());
	cr_assert_null(out.store);
	cr_assert_str_eq(out.source, "default");
	cr_assert(strstr(out.reason, "no store as default"), "%s", out.reason);
	cr_assert_eq(out.same_cluster, 0);
	cr_assert_not_null(out.direct_reason);
	fs_policy_out_free(&out);
	t_stores_free(&ss);
}

Test(store_policy, known_locations_establish_the_cluster)
{
	fs_store_set ss;
	std_stores(&ss, 1, NULL);
	fs_location known[2] = {
		{ (char *)LOC(OURS, "images", "other-image"), (char *)"edge" },
		{ (char *)LOC(OURS, "images", "other-image"), (char *)"fast" },
	};
	fs_policy_in in;
	memset(&in, 0, sizeof(in));
	in.stores = &ss;
	in.multistore = 1;
	in.requested = "fast";
	in.our_fsid = OURS;
	in.known_locations = known;
	in.n_known_locations = 2;
	fs_policy_out out;
	cr_assert_eq(fs_store_policy_decide(&out, &in), 0, "%s", fastsnap_error_last());
	cr_assert_eq(out.same_cluster, 1, "%s", out.direct_reason);
	cr_assert_str_eq(out.pool, "images");
	fs_policy_out_free(&out);

	in.our_fsid = NULL;   /* our fsid unknown: never direct */
	cr_assert_eq(fs_store_policy_decide(&out, &in), 0);
	cr_assert_eq(out.same_cluster, 0);
	cr_assert(strstr(out.direct_reason, "our own cluster's fsid is unknown"), "%s", out.direct_reason);
	fs_policy_out_free(&out);
	t_stores_free(&ss);
}

Test(store_policy, invalid_input)
{
	fs_policy_in in;
	memset(&in, 0, sizeof(in));
	in.multistore = 1;
	fs_policy_out out;
	cr_assert_eq(fs_store_policy_decide(&out, &in), FASTSNAP_EINVAL);
	cr_assert_eq(fs_store_policy_decide(&out, NULL), FASTSNAP_EINVAL);
}
