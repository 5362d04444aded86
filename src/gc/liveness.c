/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc/liveness.c: is a run's owner dead? Its tag says it ended; on this
 * host and PID namespace, kill(pid, 0) says ESRCH or /proc shows another
 * start time; else, or when this host cannot tell, its heartbeat did not
 * move between two readings --older-than apart (kept per run in the state
 * file, so that two hosts' clocks are never compared). Unknown is never
 * dead. docs/operations.md, "What gc will and will not touch".
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

/* ---- is the owner alive? ---- */

/* Is the /proc mounted here this PID namespace's? Not when a process
 * entered another PID namespace and kept its /proc (nsenter --pid, a
 * container without its own /proc): there /proc/<pid> names another
 * process than pid <pid> of this namespace. */
static int proc_is_ours(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10) == (long)getpid();
}

/* On this host and PID namespace (the owner's host part is this one's:
 * machine id and PID namespace, docs/operations.md "Who owns a run"):
 * 1 alive, 0 dead, -1 this process cannot tell, so the heartbeat decides.
 * kill(pid, 0) answers for this namespace: ESRCH, no such process, is the
 * only "dead" it gives; EPERM (another user's process) is "there". Whether
 * a process that is there is the run's (not a reused pid) only its start
 * time in /proc says, and /proc may not say: hidden (hidepid: ENOENT or
 * EACCES for another user's pid) or another namespace's /proc. */
static int local_alive(long pid, unsigned long long start)
{
	if (pid <= 0 || pid > INT_MAX)
		return -1;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 0;
	if (!proc_is_ours())
		return -1;
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	int field = 2;
	for (p = p + 1; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10) == start;
}

static char *meta_read(gc_ctx *x, const char *pool, const char *image, const char *key)
{
	rados_ioctx_t io;
	if (!pool || fs_ceph_ioctx(&io, x->c, pool) < 0) {
		fastsnap_error_clear();
		return NULL;
	}
	rbd_image_t img;
	char val[512];
	size_t len = sizeof(val);
	int r = rbd_open_read_only(io, image, &img, NULL);
	if (r == 0) {
		r = rbd_metadata_get(img, key, val, &len);
		rbd_close(img);
	}
	rados_ioctx_destroy(io);
	return r < 0 ? NULL : fs_strdup(val);
}

/* A run tag's reading: 1 a heartbeat (*beat set, caller frees), 0 the run
 * says it ended, -1 not this run's or unreadable. */
static int tag_reading(const gc_run *r, const char *value, char **beat)
{
	char *owner = NULL;
	const char *b = NULL;
	int res = -1;
	if (value && fs_gc_parse_run_tag(value, &owner, &b) && fs_streq(owner, r->owner)) {
		res = strcmp(b, FS_RUN_ENDED) == 0 ? 0 : 1;
		if (res == 1 && !(*beat = fs_strdup(b)))
			res = -1;
	}
	free(owner);
	return res;
}

/* The run's heartbeat now: 1 read (*v, caller frees), 0 the run's tag says
 * it ended, -1 none readable (unknown: never taken for dead). Where: the
 * disk's run tag, the clone's fastsnap.heartbeat, or what the image's
 * fastsnap_heartbeat property names. */
static int heartbeat_now(gc_ctx *x, const gc_run *r, char **v)
{
	*v = NULL;
	char *key = fs_asprintf("%s%s", FS_META_RUN_PREFIX, r->id);
	int res = -1;
	if (key && r->tag_pool) {
		char *tv = meta_read(x, r->tag_pool, r->tag_image, key);
		res = tag_reading(r, tv, v);
		free(tv);
	}
	if (res < 0 && r->clone_pool)
		res = (*v = meta_read(x, r->clone_pool, r->id, FS_META_HEARTBEAT)) ? 1 : -1;
	const char *at = r->img ? fs_image_prop(r->img, FS_PROP_HEARTBEAT) : NULL;
	const char *slash = at ? strchr(at, '/') : NULL;
	if (res < 0 && key && slash && slash != at && slash[1]) {
		char *pool = fs_strndup(at, (size_t)(slash - at));
		if (pool && !strcmp(slash + 1, r->id)) {
			res = (*v = meta_read(x, pool, r->id, FS_META_HEARTBEAT)) ? 1 : -1;
		} else if (pool) {
			char *tv = meta_read(x, pool, slash + 1, key);
			res = tag_reading(r, tv, v);
			free(tv);
		}
		free(pool);
	}
	free(key);
	return res;
}

/* By the heartbeat: dead when it equals the reading kept from at least
 * older_than seconds ago. Returns 1 alive, 0 dead, -1 not known (yet). */
static int heartbeat_alive(gc_ctx *x, const gc_run *r, const char *how, char **why)
{
	char *now_v = NULL;
	int h = heartbeat_now(x, r, &now_v);
	if (h == 0) {
		*why = fs_strdup("the run's tag says it ended");
		return 0;
	}
	if (h < 0) {
		*why = fs_asprintf("%s; no heartbeat of the run is readable: unknown, so left alone", how);
		return -1;
	}
	long long now = (long long)time(NULL);
	cJSON *prev = cJSON_GetObjectItemCaseSensitive(x->state, r->id);
	const char *pv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(prev, "value"));
	double seen = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(prev, "seen"));
	int res;
	if (pv && !strcmp(pv, now_v)) {
		res = now - (long long)seen >= x->o.older_than_s ? 0 : -1;
		*why = fs_asprintf("%s; heartbeat %s unchanged for %lld s (older-than %ld s)", how, now_v,
			now - (long long)seen, x->o.older_than_s);
	} else {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "value", now_v);
		cJSON_AddNumberToObject(e, "seen", (double)now);
		cJSON_DeleteItemFromObjectCaseSensitive(x->state, r->id);
		cJSON_AddItemToObject(x->state, r->id, e);
		res = pv ? 1 : -1;
		*why = pv ? fs_asprintf("%s; heartbeat moved (%s)", how, now_v) :
			fs_asprintf("%s; heartbeat %s read for the first time: a later gc decides", how, now_v);
	}
	free(now_v);
	return res;
}

/* 1 alive, 0 dead, -1 not known (yet); *why says how it was decided. */
int fs_gc_owner_alive(gc_ctx *x, const gc_run *r, char **why)
{
	char host[256];
	long pid = 0;
	unsigned long long start = 0;
	*why = NULL;
	if (!r->owner || sscanf(r->owner, "%255[^:]:%ld:%llu", host, &pid, &start) != 3) {
		*why = fs_strdup("no readable owner tag: unknown, so left alone");
		return -1;
	}
	char *beat = NULL;
	if (r->tag_value && tag_reading(r, r->tag_value, &beat) == 0) {
		*why = fs_strdup("the run's tag says it ended");
		return 0;
	}
	free(beat);
	if (strcmp(host, x->self.host) != 0)
		return heartbeat_alive(x, r, "another host or PID namespace", why);
	int alive = local_alive(pid, start);
	if (alive < 0)
		return heartbeat_alive(x, r, "this host cannot tell whether its pid is the run's (hidepid, "
			"another user's process, or a /proc of another PID namespace)", why);
	*why = fs_asprintf(alive ? "pid %ld on this host is alive" : "pid %ld on this host is gone "
		"(or was reused)", pid);
	return alive;
}

