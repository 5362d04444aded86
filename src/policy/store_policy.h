/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy/store_policy.h: which Glance store a snapshot goes to, and
 * whether the direct (clone-in-Ceph) path is possible for it. A pure
 * function: the caller (the engine) does the discovery and the Glance
 * calls and passes their results in; nothing here does I/O, so every rule
 * is unit-tested. Rules: docs/configuration.md ("Which store: the policy",
 * "Direct path feasibility") and docs/architecture.md ("Glance and Ceph
 * facts").
 */
#ifndef FS_STORE_POLICY_H
#define FS_STORE_POLICY_H

#include "clients/glance.h"

typedef struct {
	const fs_store_set *stores;     /* NULL or multistore=0 when /v2/info/stores gave 404 */
	int multistore;                 /* 0: Glance without multi-store */
	const char *requested;          /* --store, or NULL */
	const char *operator_store;     /* [glance] store, or NULL */
	const char *base_image_ref;     /* may be NULL */
	const fs_image *base_image;     /* fetched base image, NULL if none or gone */
	int base_image_missing;         /* base_image_ref given but Glance said 404 */
	const char *our_fsid;           /* our Ceph cluster's fsid */
	/* Optional: locations of other images (any store) that the caller
	 * knows, used like the base image's to establish a store's pool and
	 * fsid (docs/architecture.md, "Glance and Ceph facts": or of any image in that store). */
	const fs_location *known_locations;
	size_t n_known_locations;
} fs_policy_in;

typedef struct {
	char *store;           /* chosen store id, NULL = no store header */
	char *reason;          /* human sentence: why this store */
	const char *source;    /* "requested" | "operator" | "base-image" | "default" | "none" */
	/* direct-path feasibility for that store: */
	int store_is_rbd;      /* known rbd (detail) or inferred from an rbd:// location in that store */
	char *pool;            /* rbd pool of the store if established, else NULL */
	char *fsid;            /* fsid of the store's cluster if established, else NULL */
	int same_cluster;      /* fsid == our_fsid and pool known: the direct path is possible */
	char *direct_reason;   /* why direct is / is not possible */
} fs_policy_out;

/* Decide. On error (unknown or read-only requested/operator store, a store
 * requested from a Glance without multi-store, invalid input) returns a
 * negative FASTSNAP_E* code with a message and leaves *out empty. */
int fs_store_policy_decide(fs_policy_out *out, const fs_policy_in *in);
void fs_policy_out_free(fs_policy_out *out);

#endif
