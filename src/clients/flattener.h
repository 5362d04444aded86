/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/flattener.h: a flatten run by the fastsnap-flatten helper
 * process (src/helper/), so that a flatten the cluster stops answering
 * ends in a clear error within the Ceph operation timeout: librbd's
 * flatten is synchronous and cannot be stopped from outside
 * (docs/reliability.md, "Ceph faults mid-operation"), a process can be
 * killed. The helper is started early and connects to the cluster as the
 * engine did while the run makes the clone; fs_flattener_run hands it the
 * image. State: one helper, one flatten. Threading: one thread starts,
 * uses and frees a flattener (the helper dies with the thread that started
 * it: PR_SET_PDEATHSIG); its progress callback runs on that thread.
 * Memory: a line buffer.
 */
#ifndef FS_FLATTENER_H
#define FS_FLATTENER_H

#include <stdint.h>

#include "clients/ceph.h"

typedef struct fs_flattener fs_flattener;

/* Start `helper` (a path) connecting with c's parameters. Returns 0 with
 * *out NULL when `helper` is NULL, empty or "none", or cannot be run
 * (logged as a warning): the caller then flattens in its own process,
 * unbounded. */
int fs_flattener_start(fs_flattener **out, const char *helper, fs_ceph *c, const fs_logger *lg);
/* The same with the connection's parameters given (tests). */
int fs_flattener_start_with(fs_flattener **out, const char *helper, const fs_ceph_params *p,
	const fs_logger *lg);

/* Wait until the helper is connected (bounded by the connect and Ceph
 * operation timeouts). An error here means the helper cannot serve: the
 * caller may free it and flatten in its own process. */
int fs_flattener_wait_ready(fs_flattener *f);
/* The same for a caller that then flattens either way: a helper that
 * cannot serve is logged as a warning and freed, and *f set to NULL (the
 * flatten is the caller's). A NULL *f is left alone. */
void fs_flattener_ready_or_drop(fs_flattener **f);

/* Flatten pool/image in the helper; it refreshes the clone's heartbeat
 * every `heartbeat_s` (0: none) through its handle. `cb` gets (done,
 * total) bytes and may return non-zero to stop; `canceled(ctx)` is asked
 * ten times a second. A helper that reports nothing for the Ceph
 * operation timeout plus 2 s is killed: FASTSNAP_ETIMEOUT naming the
 * image. Canceled: FASTSNAP_ECANCELED. The image must not be open
 * read-write in this process meanwhile (the helper takes its lock). */
int fs_flattener_run(fs_flattener *f, const char *pool, const char *image, unsigned int heartbeat_s,
	int (*cb)(uint64_t done, uint64_t total, void *ctx), int (*canceled)(void *ctx), void *ctx);

/* gc's flatten of an interrupted one: as fs_flattener_run, but the helper
 * first marks absent in the clone's object map the objects it says exist
 * and RADOS does not hold (fs_rbd_image_unmark_absent: the flatten it
 * finishes may have been killed between an object's mark and its copy-up,
 * docs/architecture.md). */
int fs_flattener_finish(fs_flattener *f, const char *pool, const char *image,
	unsigned int heartbeat_s);

/* Does the helper's environment keep this "NAME=value" of the caller's?
 * Only what the helper and librados need (PATH, HOME, the locale, TZ,
 * TMPDIR, CEPH_CONF, CEPH_ARGS, the loader's and the sanitizers' and
 * valgrind's variables): never OS_PASSWORD, a token, the service user's
 * secrets or Glance's headers (docs/reliability.md, "Secrets and child
 * processes"). */
int fs_flattener_env_keeps(const char *entry);

/* Kill the helper if it still runs, reap it and free. NULL is ignored. */
void fs_flattener_free(fs_flattener *f);

#endif
