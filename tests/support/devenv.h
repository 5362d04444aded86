/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/support/devenv.h: what integration tests share: the dev cluster's
 * env (ceph-dev/.state/env, sourced by tests/run), engine options from it,
 * an admin rados connection for setup and inspection, and running the CLI.
 */
#ifndef FS_TEST_DEVENV_H
#define FS_TEST_DEVENV_H

#include <stdint.h>
#include <sys/types.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "fastsnap.h"

/* Fails the current test (cr_fatal) when the dev env is missing. */
void fst_require_env(void);
const char *fst_env(const char *name);   /* cr_fatal when unset */

/* Engine options from the env (use_env = 1). */
fastsnap_engine_opts fst_engine_opts(void);
fastsnap_engine *fst_engine(void);       /* opened, cr_fatal on failure */

/* An admin rados connection (for setup and inspection only). */
rados_t fst_admin_rados(void);
rados_ioctx_t fst_ioctx(rados_t c, const char *pool);

/* A unique name with a prefix: "<prefix>-<pid>-<counter>-<rand>". */
char *fst_unique(const char *prefix);

/* Create pool/name of `size` bytes and fill it: `pattern(off)` decides per
 * 4 MiB object whether it is written (1) or left a hole (0). Data is
 * deterministic from `seed`. Returns the sha512 hex of the whole disk. */
void fst_rbd_create_filled(rados_ioctx_t io, const char *name, uint64_t size, int features,
	unsigned seed, int (*pattern)(uint64_t obj), char sha_out[129]);
/* sha512 hex of an RBD image (at snap or head). */
void fst_rbd_sha512(rados_ioctx_t io, const char *name, const char *snap, char out[129]);
/* Number of snapshots and their names (newline-joined, caller frees). */
/* User snapshots only (not those waiting in the trash namespace). */
int fst_rbd_snap_count(rados_ioctx_t io, const char *name, char **names);
/* Snapshots in the trash namespace (clone v2 parents removed with children). */
int fst_rbd_trash_snap_count(rados_ioctx_t io, const char *name);
int fst_rbd_exists(rados_ioctx_t io, const char *name);
/* Remove an image, its snapshots first (unprotecting), ignoring errors. */
void fst_rbd_remove_all(rados_ioctx_t io, const char *name);
/* Sorted, newline-joined list of image names in a pool (caller frees). */
char *fst_rbd_list(rados_ioctx_t io);

/* Run a shell command; returns its exit status, captures stdout/stderr
 * (caller frees; either pointer may be NULL). */
int fst_sh(char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Path of the built fastsnap command. */
const char *fst_cli(void);

/* Glance over HTTP with curl (admin identity from the env). Returns the
 * HTTP status; body captured (caller frees). */
int fst_glance(char **body, const char *method, const char *path, const char *extra_curl_args);
/* sha512 hex of GET /v2/images/{id}/file. */
void fst_glance_download_sha512(const char *image_id, char out[129]);
/* Number of images in Glance visible to admin, as a sorted id list. */
char *fst_glance_image_ids(void);

/* ---- stacks (tests/run runs the suite on each; ceph-dev/README.md) ----
 * A test that needs one stack's feature skips on the other, naming why:
 * FST_NEED_STACK("trixie", "Glance 30's POST /locations"). tests/run counts
 * the skips. FASTSNAP_DEV_STACK is "trixie" in the trixie stack's env file,
 * unset (bookworm) otherwise. */
const char *fst_stack(void);
/* 1 when the dev cluster has its edge cluster (ceph-dev/up --edge: Glance
 * then has a fourth store, `edge`, rbd pool images in another cluster). */
int fst_has_edge(void);
#define FST_NEED_STACK(stack, why) do { \
	if (strcmp(fst_stack(), (stack)) != 0) \
		cr_skip_test("needs the %s stack: %s (this is %s)", (stack), (why), fst_stack()); \
} while (0)
#endif

/* ---- scenario helpers (tests/support/scenario.c) ---- */
#include <cjson/cJSON.h>

/* Upload `size` bytes of seeded data as a new raw image into `store`
 * through Glance; returns the image id (caller frees). */
char *fst_base_image(const char *store, uint64_t size, unsigned seed);
/* Delete a Glance image (404 ignored). */
void fst_glance_delete(const char *id);
/* Boot-like disk: clone images/<base>@snap into vms/<name>, resize to
 * `size`, write seeded data into objects chosen by `pattern`; returns the
 * disk's sha512 in sha_out. */
void fst_nova_disk(rados_ioctx_t vms, rados_ioctx_t images, const char *base, const char *name,
	uint64_t size, unsigned seed, int (*pattern)(uint64_t obj), char sha_out[129]);
/* What most direct-path cases start from, as Nova makes it: a base image
 * (base_size bytes, seeded) in the `fast` store and vms/<prefix-...>
 * cloned from it, `size` bytes, with data where `pattern` says (NULL:
 * every object); sha is the disk's sha512. */
typedef struct {
	char *base;
	char *disk;
	char sha[129];
} fst_nova_case;
void fst_nova_case_make(fst_nova_case *c, rados_ioctx_t vms, rados_ioctx_t images,
	const char *prefix, uint64_t base_size, unsigned base_seed, uint64_t size, unsigned seed,
	int (*pattern)(uint64_t obj));
/* Remove the disk (and its snapshots) and the base image. */
void fst_nova_case_free(fst_nova_case *c, rados_ioctx_t vms);
/* Run the CLI with `args` (and optional env assignments before it), parse
 * its stdout as JSON (NULL if not JSON). Returns the exit status. */
int fst_cli_json(cJSON **out, char **err, const char *env, const char *args_fmt, ...)
	__attribute__((format(printf, 4, 5)));
const char *fst_jstr(const cJSON *o, const char *key);
/* Glance image status ("active"), or "" when 404 (caller frees). */
char *fst_glance_status(const char *id);
/* Ids of Glance images named `name` (newline-joined, caller frees). */
char *fst_glance_ids_named(const char *name);
/* A string field or property of an image, or NULL (caller frees). */
char *fst_glance_prop(const char *id, const char *key);

/* What Glance and both dev pools hold, taken before a case and compared
 * after it (tests/run runs the integration tests one at a time, so that
 * nothing else changes them). */
typedef struct {
	char *glance, *images, *vms;
} fst_world;
void fst_world_take(fst_world *w, rados_ioctx_t images, rados_ioctx_t vms);
/* 1 when anything changed since `before`, with "Glance before:\n...\nafter:
 * ..." for what did in *report (the caller frees; NULL when nothing did). */
int fst_world_changed(const fst_world *before, rados_ioctx_t images, rados_ioctx_t vms,
	char **report);
/* cr_assert that nothing changed ("<what>: ...changed"). */
void fst_world_same(const fst_world *before, rados_ioctx_t images, rados_ioctx_t vms,
	const char *what);
void fst_world_free(fst_world *w);

/* Start tests/support/glance_proxy.py in front of the dev Glance with
 * `args` (e.g. "--deny-location-patch"); returns its URL (caller frees)
 * and pid. Stop it with fst_proxy_stop(pid). */
char *fst_proxy_start(pid_t *pid, const char *args);
void fst_proxy_stop(pid_t pid);

/* Open an admin connection and the two dev pools (suite set-up), and close them. */
void fst_pools_open(rados_t *c, rados_ioctx_t *vms, rados_ioctx_t *images);
void fst_pools_close(rados_t c, rados_ioctx_t vms, rados_ioctx_t images);
/* The suite most integration files share: for each test, the admin
 * connection and the vms and images pools open (as the file's statics
 * admin, vms, images), closed after it. FST_POOLS_SUITE(name, .timeout =
 * 300); in place of TestSuite(name, ...). Needs <criterion/criterion.h>. */
#define FST_POOLS_SUITE(name, ...) \
	static rados_t admin __attribute__((unused)); \
	static rados_ioctx_t vms __attribute__((unused)), images __attribute__((unused)); \
	static void fst_pools_init_(void) { fst_pools_open(&admin, &vms, &images); } \
	static void fst_pools_fini_(void) { fst_pools_close(admin, vms, images); } \
	TestSuite(name, .init = fst_pools_init_, .fini = fst_pools_fini_, __VA_ARGS__)
/* Does pool image `name` have a parent? With one, its image name and
 * whether the parent snapshot is in the trash namespace (either pointer
 * may be NULL; *parent is the caller's to free). cr_assert on errors. */
int fst_rbd_parent(rados_ioctx_t io, const char *name, char **parent, int *in_trash);
