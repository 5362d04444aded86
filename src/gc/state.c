/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc/state.c: the state file of `fastsnap gc`: the heartbeat readings of
 * other hosts' runs, per run id, read whole (never silently started over),
 * its unique temporary made before gc acts (a gc that could not keep its
 * readings does nothing), pruned of gone runs, written atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cleanup/heartbeat.h"
#include "clients/flattener.h"
#include "clients/rbd.h"
#include "core/opts.h"
#include "engine.h"
#include "gc/gc.h"
#include "gc/gc_ctx.h"
#include "register/register.h"

/* ---- the state file (heartbeat readings, per run) ---- */

/* The whole file, whatever its size; a file that is there but is not a
 * JSON object is an error (never silently started over). */
int fs_gc_state_load(cJSON **out, const char *path)
{
	*out = NULL;
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f) {
		if (path && errno != ENOENT)
			return fs_err(FASTSNAP_EIO, "gc: cannot read the state file %s: %s", path,
				strerror(errno));
		*out = cJSON_CreateObject();
		return *out ? 0 : fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	fs_buf b = FS_BUF_INIT;
	char chunk[16384];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fs_buf_put(&b, chunk, n);
	int bad = ferror(f);
	fclose(f);
	char *txt = fs_buf_detach(&b);
	cJSON *s = !bad && txt ? cJSON_Parse(txt) : NULL;
	free(txt);
	if (!cJSON_IsObject(s)) {
		cJSON_Delete(s);
		return fs_err(FASTSNAP_EIO, "gc: the state file %s is not a JSON object: move it away "
			"(readings then start over)", path);
	}
	*out = s;
	return 0;
}

/* Before anything is done: the state file's temporary, under a unique
 * name beside it, so that a state file that cannot be written stops gc
 * before it acts, and two gc never write the same temporary. */
int fs_gc_state_prepare(gc_ctx *x)
{
	x->state_fd = -1;
	if (!x->o.state_file || x->o.dry_run)
		return 0;
	if (!(x->state_tmp = fs_asprintf("%s.XXXXXX", x->o.state_file)))
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	mode_t old = umask(077);           /* 0600: it names hosts and runs */
	x->state_fd = mkstemp(x->state_tmp);
	umask(old);
	if (x->state_fd < 0) {
		int e = errno;
		free(x->state_tmp);
		x->state_tmp = NULL;
		return fs_err(FASTSNAP_EIO, "gc: cannot write beside the state file %s (%s); nothing was "
			"done: create its folder, or give another --state-file", x->o.state_file, strerror(e));
	}
	return 0;
}

/* Only the runs found this time. */
void fs_gc_state_prune(gc_ctx *x, const gc_runs *runs)
{
	cJSON *e = x->state ? x->state->child : NULL;
	while (e) {
		cJSON *next = e->next;
		int found = 0;
		for (size_t i = 0; !found && i < runs->n; i++)
			found = e->string && !strcmp(e->string, runs->v[i].id);
		if (!found)
			cJSON_Delete(cJSON_DetachItemViaPointer(x->state, e));
		e = next;
	}
}

int fs_gc_state_save(gc_ctx *x)
{
	if (x->state_fd < 0)
		return 0;
	char *txt = cJSON_PrintUnformatted(x->state);
	size_t len = txt ? strlen(txt) : 0, off = 0;
	int bad = !txt;
	while (!bad && off < len) {
		ssize_t w = write(x->state_fd, txt + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		bad = w <= 0;
		off += w > 0 ? (size_t)w : 0;
	}
	bad |= fsync(x->state_fd) != 0;
	bad |= close(x->state_fd) != 0;
	x->state_fd = -1;
	int rc = 0;
	if (bad || rename(x->state_tmp, x->o.state_file) != 0) {
		rc = fs_err(FASTSNAP_EIO, "gc: cannot write the state file %s: %s", x->o.state_file,
			strerror(errno));
		unlink(x->state_tmp);
	}
	free(x->state_tmp);
	x->state_tmp = NULL;
	free(txt);
	return rc;
}

void fs_gc_state_abandon(gc_ctx *x)
{
	if (x->state_fd >= 0) {
		close(x->state_fd);
		unlink(x->state_tmp);
	}
	x->state_fd = -1;
	free(x->state_tmp);
	x->state_tmp = NULL;
}

