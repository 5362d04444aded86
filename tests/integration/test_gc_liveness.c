/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_gc_liveness.c: `fastsnap gc` when it cannot see a
 * run's pid (issue 27, docs/operations.md "Who owns a run"). Two slow runs,
 * one started in a PID namespace of its own (`unshare --pid --fork
 * --mount-proc`, as a containerised nova-compute) and one on the host, are
 * watched while they live and after a SIGKILL by four gc, each with its own
 * state file:
 *   host   gc in the host's namespaces, as root;
 *   ns     gc in a new PID namespace with its own /proc;
 *   inside gc entered into the first run's PID namespace (nsenter --pid)
 *          with the host's /proc, where that run's pid names another
 *          process: /proc is not this namespace's;
 *   hidden gc as an unprivileged user with /proc mounted hidepid=2 in a
 *          private mount namespace (unshare -m, setpriv): root's pids are
 *          invisible, kill(pid, 0) says EPERM.
 * None may take a live run for dead (unknown is never dead); a killed run is
 * rolled back by the host gc (the run in the other namespace) and by the ns
 * gc (the host's run), both through two heartbeat readings.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

#define MiB (1ULL << 20)
#define RBD "rbd -c $CEPH_CONF --id admin --keyring $FASTSNAP_DEV_ADMIN_KEYRING "

static rados_t admin;
static rados_ioctx_t vms, images;
/* what the test started, stopped by the suite's end even when it fails */
static pid_t started[4];
static void setup(void) { fst_pools_open(&admin, &vms, &images); }
static void teardown(void)
{
	for (int i = 0; i < 4; i++)
		if (started[i] > 0)
			kill(started[i], SIGKILL);
	fst_pools_close(admin, vms, images);
}
static void started_set(pid_t p, pid_t to)
{
	for (int i = 0; i < 4; i++)
		if (started[i] == p) {
			started[i] = to;
			return;
		}
}
static void started_add(pid_t p) { started_set(0, p); }
static void started_del(pid_t p) { started_set(p, 0); }

TestSuite(gc_liveness, .init = setup, .fini = teardown, .timeout = 600);

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A slow streamed run: the proxy forwards its upload at 400 kB/s, so its
 * 32 MiB take well over a minute; the test kills it long before. */
typedef struct {
	pid_t pid;        /* our child: sh exec'd into unshare or the command */
	pid_t cmd;        /* the command's pid in this (the host's) namespace */
	char *disk, *name;
	char id[64];
} slow_run;

static void slow_run_start(slow_run *r, const char *url, const char *wrap)
{
	r->disk = fst_unique("fst-gcns");
	char sha[129];
	fst_rbd_create_filled(vms, r->disk, 32 * MiB, 61, 8, NULL, sha);
	r->name = fst_unique("fst-gcnsimg");
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "exec %s env FASTSNAP_HEARTBEAT_SECONDS=1 %s --glance-url %s "
		"--json snapshot --disk vms/%s --name %s --store local >/dev/null 2>&1", wrap, fst_cli(),
		url, r->disk, r->name);
	r->pid = fork();
	cr_assert_geq(r->pid, 0);
	if (r->pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	started_add(r->pid);
	r->id[0] = '\0';
	for (double t0 = now_s(); !r->id[0] && now_s() - t0 < 120; usleep(200 * 1000)) {
		char *ids = fst_glance_ids_named(r->name);
		if (*ids && fst_rbd_snap_count(vms, r->disk, NULL) == 1)
			sscanf(ids, "%63s", r->id);
		free(ids);
	}
	cr_assert(r->id[0], "the slow run (%s) did not start", *wrap ? wrap : "on the host");
	r->cmd = r->pid;
	if (*wrap) {   /* unshare's child: the namespace's first process */
		char *kids = NULL;
		fst_sh(&kids, NULL, "cat /proc/%d/task/%d/children", (int)r->pid, (int)r->pid);
		r->cmd = (pid_t)atoi(kids ? kids : "0");
		free(kids);
		cr_assert_gt(r->cmd, 0, "no child of unshare %d", (int)r->pid);
		started_add(r->cmd);
	}
}

/* SIGKILL, and wait until the command is gone. */
static void slow_run_kill(slow_run *r)
{
	kill(r->cmd, SIGKILL);
	kill(r->pid, SIGKILL);
	int wst;
	waitpid(r->pid, &wst, 0);
	started_del(r->pid);
	started_del(r->cmd);
	for (double t0 = now_s(); kill(r->cmd, 0) == 0 && now_s() - t0 < 30;)
		usleep(50 * 1000);
	cr_assert_neq(kill(r->cmd, 0), 0, "the killed run %d still runs", (int)r->cmd);
	r->pid = 0;
}

static void slow_run_free(slow_run *r)
{
	if (r->pid)
		slow_run_kill(r);
	fst_rbd_remove_all(vms, r->disk);
	free(r->disk);
	free(r->name);
}

typedef struct {
	const char *label;
	char wrap[1024];  /* a prefix before fastsnap's path */
	char state[256];  /* its own state file */
} observer;

/* Does the report's array `group` have an entry whose "what" contains s? */
static int reported(const cJSON *j, const char *group, const char *s)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, group)) {
		const char *w = fst_jstr(e, "what");
		if (w && strstr(w, s))
			return 1;
	}
	return 0;
}

/* One gc pass of observer o (1 s heartbeat period, --older-than 4). */
static cJSON *gc_pass(const observer *o)
{
	char env[1400];
	snprintf(env, sizeof(env), "FASTSNAP_HEARTBEAT_SECONDS=1 %s", o->wrap);
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, env, "gc --pool vms --older-than 4 --state-file %s", o->state);
	char *txt = j ? cJSON_PrintUnformatted(j) : NULL;
	cr_assert_eq(st, 0, "[%s gc] exit %d: %s %s", o->label, st, err, txt);
	cr_assert_not_null(j, "[%s gc] no JSON report: %s", o->label, err);
	free(txt);
	free(err);
	return j;
}

/* The pass must leave each live run alone. */
static void pass_leaves(const observer *o, const slow_run *const *live, int n)
{
	cJSON *j = gc_pass(o);
	char *txt = cJSON_PrintUnformatted(j);
	for (int i = 0; i < n; i++) {
		cr_assert_not(reported(j, "found", live[i]->id), "[%s gc] took the live run %s for "
			"dead: %s", o->label, live[i]->id, txt);
		cr_assert(reported(j, "skipped", live[i]->id), "[%s gc] does not report the live run "
			"%s: %s", o->label, live[i]->id, txt);
	}
	free(txt);
	cJSON_Delete(j);
	for (int i = 0; i < n; i++) {
		char *st = fst_glance_status(live[i]->id);
		cr_assert(!strcmp(st, "queued") || !strcmp(st, "saving"), "[%s gc] the live run's "
			"image is '%s'", o->label, st);
		free(st);
		cr_assert_eq(fst_rbd_snap_count(vms, live[i]->disk, NULL), 1, "[%s gc] the live run's "
			"snapshot is gone", o->label);
	}
}

/* Everything the killed run made is gone: image, snapshot, disk tags. */
static void rolled_back(const slow_run *r, const char *by)
{
	char *st = fst_glance_status(r->id);
	cr_assert_str_eq(st, "", "[%s gc] the killed run's image is still '%s'", by, st);
	free(st);
	cr_assert_eq(fst_rbd_snap_count(vms, r->disk, NULL), 0, "[%s gc] the killed run's snapshot "
		"is left", by);
	char *out = NULL;
	fst_sh(&out, NULL, RBD "image-meta list vms/%s | grep -c fastsnap", r->disk);
	cr_assert_eq(atoi(out ? out : "1"), 0, "[%s gc] run tags left on the disk", by);
	free(out);
}

/* Passes of `o` until it rolls the killed run back: the first reads a
 * heartbeat that moved since its last pass, the one 5 s later finds it
 * still (at most three, so a slow pass cannot make the test flaky). */
static void rolls_back(const observer *o, const slow_run *killed, const slow_run *live)
{
	int found = 0;
	for (int pass = 0; pass < 3 && !found; pass++) {
		if (pass)
			sleep(5);
		cJSON *j = gc_pass(o);
		char *txt = cJSON_PrintUnformatted(j);
		found = reported(j, "found", killed->id);
		if (live)
			cr_assert_not(reported(j, "found", live->id), "[%s gc] took the live run for dead: "
				"%s", o->label, txt);
		free(txt);
		cJSON_Delete(j);
	}
	cr_assert(found, "[%s gc] did not roll back the run killed in another namespace",
		o->label);
	rolled_back(killed, o->label);
}

Test(gc_liveness, pid_namespaces_and_hidepid)
{
	pid_t proxy;
	char *url = fst_proxy_start(&proxy, "--slow-upload-bps 400000");
	started_add(proxy);
	slow_run a, b;   /* a in a PID namespace of its own, b on the host */
	slow_run_start(&a, url, "unshare --pid --fork --mount-proc --kill-child");
	slow_run_start(&b, url, "");

	char tmp[] = "/tmp/fst-gcns-XXXXXX";
	cr_assert_not_null(mkdtemp(tmp));
	cr_assert_eq(chmod(tmp, 0777), 0);
	/* the unprivileged gc's own copy of the fastsnap client's keyring */
	cr_assert_eq(fst_sh(NULL, NULL, "cp \"${FASTSNAP_CEPH_KEYRING:-$(dirname $CEPH_CONF)/"
		"ceph.client.fastsnap.keyring}\" %s/keyring && chown 65534:65534 %s/keyring", tmp, tmp),
		0);
	observer host = { .label = "host" }, ns = { .label = "ns" },
		inside = { .label = "inside" }, hidden = { .label = "hidden" };
	snprintf(ns.wrap, sizeof(ns.wrap), "unshare --pid --fork --mount-proc --kill-child");
	/* LeakSanitizer finds its threads through /proc/<pid>, which is not
	 * there for it with another namespace's /proc: leaks are checked by
	 * the other three */
	snprintf(inside.wrap, sizeof(inside.wrap), "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}"
		"detect_leaks=0\" nsenter --target %d --pid", (int)a.cmd);
	snprintf(hidden.wrap, sizeof(hidden.wrap), "FASTSNAP_CEPH_KEYRING=%s/keyring unshare -m sh -c "
		"'mount -t proc -o hidepid=2 proc /proc && exec setpriv --reuid=65534 --regid=65534 "
		"--clear-groups \"$@\"' sh", tmp);
	observer *all[] = { &host, &ns, &inside, &hidden };
	for (int i = 0; i < 4; i++)
		snprintf(all[i]->state, sizeof(all[i]->state), "%s/%s.json", tmp, all[i]->label);

	/* the wrappers do what they say */
	char *out = NULL;
	cr_assert_eq(fst_sh(&out, NULL, "%s sh -c 'echo $$; exec readlink /proc/self'", ns.wrap), 0);
	cr_assert(!strncmp(out, "1\n1\n", 4), "ns: %s", out);
	free(out);
	cr_assert_eq(fst_sh(&out, NULL, "%s sh -c 'echo $$; exec readlink /proc/self'", inside.wrap), 0);
	int nspid = 0, procpid = 0;
	cr_assert_eq(sscanf(out, "%d %d", &nspid, &procpid), 2, "inside: %s", out);
	cr_assert_neq(nspid, procpid, "inside: /proc is the namespace's own: %s", out);
	free(out);
	cr_assert_eq(fst_sh(&out, NULL, "%s sh -c 'id -u; test -e /proc/%d && echo visible || "
		"echo hidden'", hidden.wrap, (int)b.cmd), 0);
	cr_assert_str_eq(out, "65534\nhidden\n", "hidden: %s", out);
	free(out);

	/* 1. both live: two passes of each, 5 s apart, leave both alone */
	const slow_run *both[] = { &a, &b };
	for (int pass = 0; pass < 2; pass++) {
		if (pass)
			sleep(5);
		for (int i = 0; i < 4; i++)
			pass_leaves(all[i], both, 2);
	}
	/* 2. a killed: the host gc rolls it back; b is still left alone */
	slow_run_kill(&a);
	rolls_back(&host, &a, &b);
	const slow_run *only_b[] = { &b };
	pass_leaves(&hidden, only_b, 1);
	/* 3. b killed: the gc of another namespace rolls it back */
	slow_run_kill(&b);
	rolls_back(&ns, &b, NULL);

	fst_proxy_stop(proxy);
	started_del(proxy);
	fst_sh(NULL, NULL, "rm -rf %s", tmp);
	slow_run_free(&a);
	slow_run_free(&b);
	free(url);
}
