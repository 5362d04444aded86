/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_hooks.c: --freeze-cmd and --thaw-cmd children
 * start clean (only descriptors 0, 1 and 2, no blocked or ignored signal,
 * no OS_PASSWORD or other secret in the environment), with and without
 * --detach; every descriptor fastsnap itself holds while a hook runs is
 * close-on-exec; a hook still running at --hook-timeout is stopped with
 * its children, the run fails cleanly and the thaw still runs; the
 * --detach parent waits at most --detach-timeout, then stops the child,
 * which cleans up; the process allows no core dump; a token can come from
 * a file, and one on argv draws a warning; the flatten helper starts with
 * a minimal environment (no secret, CEPH_ARGS and CEPH_CONF kept). Both
 * stacks.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

#define MiB (1ULL << 20)

static rados_t admin;
static rados_ioctx_t vms, images;

static void setup(void) { fst_pools_open(&admin, &vms, &images); }
static void teardown(void) { fst_pools_close(admin, vms, images); }

TestSuite(hooks, .init = setup, .fini = teardown, .timeout = 300);

/* The command line that starts fastsnap with no descriptor above 2 (what
 * the test program itself holds is not fastsnap's to close), secrets in
 * its environment, then `args`. */
#define CLEAN_START "bash -c 'for f in /proc/$$/fd/*; do n=${f##*/}; ((n > 2)) && eval \"exec $n>&-\"; " \
	"done 2>/dev/null; exec \"$@\"' fastsnap "
#define SECRETS "OS_PASSWORD=fst-secret-pw OS_APPLICATION_CREDENTIAL_SECRET=fst-secret-ac " \
	"FASTSNAP_DEV_SOME_TOKEN=fst-secret-tok "

static char *slurp_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return strdup("");
	char *b = calloc(1, 65536);
	size_t n = fread(b, 1, 65535, f);
	b[n] = '\0';
	fclose(f);
	return b;
}

/* The hook's report: its own descriptors, signal masks and environment,
 * and (parent=1) every descriptor of its parent, fastsnap, with flags. */
static void hook_cmd(char *out, size_t cap, const char *file, int parent)
{
	snprintf(out, cap, "{ echo FDS $(ls /proc/self/fd); grep -E \"^Sig(Blk|Ign)\" /proc/self/status; "
		"env; %s } > %s 2>&1", parent ?
		"grep \"core file\" /proc/$PPID/limits; for f in /proc/$PPID/fdinfo/*; do n=${f##*/}; "
		"l=$(readlink /proc/$PPID/fd/$n); i=${l#socket:[}; i=${i%%]}; u=; "
		"grep -q \" $i\\$\" /proc/net/unix && u=unix; "
		"echo \"PFD $n $(sed -n \"s/^flags:[[:space:]]*//p\" $f) $l $u\"; done;"
		: "", file);
}

/* Check one hook report. */
static void check_report(const char *file, const char *what, int parent)
{
	char *r = slurp_file(file);
	cr_assert(strstr(r, "FDS "), "%s: no report: %s", what, r);
	/* ls's own listing holds 0, 1, 2 and its directory (3) */
	cr_assert(strstr(r, "FDS 0 1 2 3\n"), "%s inherited descriptors: %s", what, r);
	unsigned long long blk = 1, ign = 1;
	const char *b = strstr(r, "SigBlk:"), *i = strstr(r, "SigIgn:");
	cr_assert(b && i, "%s: %s", what, r);
	sscanf(b + 7, "%llx", &blk);
	sscanf(i + 7, "%llx", &ign);
	cr_assert_eq(blk, 0, "%s starts with signals blocked: %llx", what, blk);
	/* signals 1-31 at their default (glibc keeps its own 32 and 33) */
	cr_assert_eq(ign & 0x7fffffffULL, 0, "%s starts with signals ignored: %llx", what, ign);
	cr_assert(!strstr(r, "fst-secret"), "%s sees a secret: %s", what, r);
	cr_assert(!strstr(r, "FASTSNAP_GLANCE_HEADERS="), "%s sees the Glance headers", what);
	if (parent) {
		/* fastsnap's descriptors: each close-on-exec (02000000 in the
		 * octal flags), but AF_UNIX socketpairs: libcurl before 8.17
		 * makes its own wakeup pair without it, which no option reaches
		 * (every spawn closes what is above 2; docs/reliability.md) */
		const char *p = r;
		int n = 0;
		while ((p = strstr(p, "PFD "))) {
			int fd;
			unsigned long flags;
			char target[256] = "", kind[16] = "";
			sscanf(p, "PFD %d %lo %255s %15[a-z]", &fd, &flags, target, kind);
			p += 4;
			if (fd <= 2)
				continue;
			n++;
			int unix_pair = !strncmp(target, "socket:[", 8) && !strcmp(kind, "unix");
			cr_assert(unix_pair || (flags & 02000000), "%s: fastsnap's descriptor %d (%s) is not "
				"close-on-exec (flags %lo)", what, fd, target, flags);
		}
		cr_assert_gt(n, 2, "%s: fastsnap's descriptors were not listed: %s", what, r);
		cr_assert(strstr(r, "Max core file size        0 "), "%s: core dumps allowed: %s", what, r);
	}
	free(r);
}

Test(hooks, children_start_clean)
{
	char *disk = fst_unique("fst-hook");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 4 * MiB, 61, 1, NULL, sha);
	char dir[] = "/tmp/fst-hooks-XXXXXX";
	cr_assert(mkdtemp(dir));
	char f1[128], f2[128], f3[128], f4[128], h1[1024], h2[1024], h3[1024], h4[1024];
	snprintf(f1, sizeof(f1), "%s/freeze", dir);
	snprintf(f2, sizeof(f2), "%s/thaw", dir);
	snprintf(f3, sizeof(f3), "%s/dfreeze", dir);
	snprintf(f4, sizeof(f4), "%s/dthaw", dir);
	hook_cmd(h1, sizeof(h1), f1, 0);
	/* the thaw runs while the Glance branch's connections are open */
	hook_cmd(h2, sizeof(h2), f2, 1);
	hook_cmd(h3, sizeof(h3), f3, 0);
	hook_cmd(h4, sizeof(h4), f4, 0);
	char *name = fst_unique("fst-hookimg");
	char *out = NULL, *err = NULL;
	int st = fst_sh(&out, &err, SECRETS CLEAN_START "%s --json snapshot --disk vms/%s --name %s "
		"--store local --freeze-cmd '%s' --thaw-cmd '%s'", fst_cli(), disk, name, h1, h2);
	cr_assert_eq(st, 0, "exit %d: %s", st, err);
	cJSON *j = cJSON_Parse(out);
	char *id = strdup(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(out); free(err);
	check_report(f1, "--freeze-cmd", 0);
	check_report(f2, "--thaw-cmd", 1);
	fst_glance_delete(id);
	free(id);

	/* --detach: the pipe to the parent and the child's ignored SIGHUP */
	char *dname = fst_unique("fst-hookdet");
	st = fst_sh(&out, &err, SECRETS "%s --json snapshot --disk vms/%s --name %s --store local "
		"--detach --freeze-cmd '%s' --thaw-cmd '%s'", fst_cli(), disk, dname, h3, h4);
	cr_assert_eq(st, 0, "detach: exit %d: %s", st, err);
	j = cJSON_Parse(out);
	id = strdup(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(out); free(err);
	/* the background child finishes: its record appears */
	char *stat = NULL;
	for (int i = 0; i < 300; i++) {
		free(stat);
		stat = NULL;
		if (fst_sh(&stat, NULL, "%s status %s", fst_cli(), id) == 0)
			break;
		usleep(100 * 1000);
	}
	free(stat);
	check_report(f3, "--detach --freeze-cmd", 0);
	check_report(f4, "--detach --thaw-cmd", 0);
	fst_glance_delete(id);
	free(id);
	fst_sh(NULL, NULL, "rm -rf %s", dir);
	fst_rbd_remove_all(vms, disk);
	free(name); free(dname); free(disk);
}

/* The flatten helper's environment: a wrapper in its place saves the
 * environment it was started with (/proc/$$/environ, as exec gave it) and
 * runs the real helper. Secrets and everything but what librados and the
 * process need stay out; CEPH_ARGS and CEPH_CONF go in. */
Test(hooks, flatten_helper_gets_a_minimal_environment)
{
	char *base = fst_base_image("fast", 4 * MiB, 2);
	char *disk = fst_unique("fst-hookfl");
	char sha[129];
	fst_nova_disk(vms, images, base, disk, 16 * MiB, 7, NULL, sha);
	char dir[] = "/tmp/fst-hookfl-XXXXXX";
	cr_assert(mkdtemp(dir));
	char wrapper[128], envfile[128];
	snprintf(wrapper, sizeof(wrapper), "%s/helper", dir);
	snprintf(envfile, sizeof(envfile), "%s/environ", dir);
	char *real = NULL;
	cr_assert_eq(fst_sh(&real, NULL, "printf %%s \"$(dirname %s)/fastsnap-flatten\"", fst_cli()), 0);
	cr_assert_eq(access(real, X_OK), 0, "no helper at %s", real);
	cr_assert_eq(fst_sh(NULL, NULL, "printf '#!/bin/sh\\ntr \"\\\\0\" \"\\\\n\" < /proc/$$/environ > %s\\n"
		"exec %s \"$@\"\\n' > %s && chmod 755 %s", envfile, real, wrapper, wrapper), 0);
	char *name = fst_unique("fst-hookflimg");
	char *out = NULL, *err = NULL;
	int st = fst_sh(&out, &err, SECRETS "FASTSNAP_FLATTEN_HELPER=%s "
		"CEPH_ARGS=\"${CEPH_ARGS:---log-to-stderr=false}\" FST_UNRELATED=fst-unrelated "
		"%s -v --json snapshot --disk vms/%s --name %s --base-image-ref %s --flatten sync",
		wrapper, fst_cli(), disk, name, base);
	cr_assert_eq(st, 0, "exit %d: %s", st, err);
	cr_assert_null(strstr(err, "flattening in this process"), "the helper did not serve: %s", err);
	cJSON *j = cJSON_Parse(out);
	cr_assert_str_eq(fst_jstr(j, "path"), "direct", "%s", out);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	char *env = slurp_file(envfile);
	cr_assert(strstr(env, "PATH="), "the helper was not started through the wrapper: '%s'", env);
	cr_assert(!strstr(env, "fst-secret"), "the helper sees a secret:\n%s", env);
	cr_assert(!strstr(env, "FASTSNAP_GLANCE_HEADERS="), "the helper sees Glance's headers");
	cr_assert(!strstr(env, "fst-unrelated"), "the helper sees the caller's whole environment");
	cr_assert(!strstr(env, "\nOS_") && strncmp(env, "OS_", 3), "the helper sees OS_*:\n%s", env);
	cr_assert(strstr(env, "CEPH_ARGS="), "the helper lost CEPH_ARGS:\n%s", env);
	cr_assert(strstr(env, "CEPH_CONF="), "the helper lost CEPH_CONF:\n%s", env);
	free(env);
	free(out); free(err); free(real); free(name);
	fst_sh(NULL, NULL, "rm -rf %s", dir);
	fst_rbd_remove_all(vms, disk);
	fst_glance_delete(base);
	free(base); free(disk);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Is the pid in file `path` gone (or a zombie nobody reaps)? */
static int pid_gone(const char *path)
{
	char *s = slurp_file(path);
	int pid = atoi(s);
	free(s);
	cr_assert_gt(pid, 0, "no pid in %s", path);
	char *st = NULL;
	int r = fst_sh(&st, NULL, "awk '{print $3}' /proc/%d/stat 2>/dev/null", pid);
	int gone = r != 0 || !st || !*st || st[0] == 'Z';
	free(st);
	return gone;
}

Test(hooks, time_limit_stops_the_hook_and_thaws)
{
	char *disk = fst_unique("fst-hookto");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 4 * MiB, 61, 1, NULL, sha);
	char dir[] = "/tmp/fst-hookto-XXXXXX";
	cr_assert(mkdtemp(dir));
	char *name = fst_unique("fst-hooktoimg");
	char *out = NULL, *err = NULL;
	double t0 = now();
	int st = fst_sh(&out, &err, "%s --json snapshot --disk vms/%s --name %s --store local "
		"--hook-timeout 1 --freeze-cmd 'sleep 60 & echo $! > %s/sleep; wait' "
		"--thaw-cmd 'echo thawed > %s/thaw'", fst_cli(), disk, name, dir, dir);
	double took = now() - t0;
	cr_assert_eq(st, 1, "a freeze past its limit: exit %d: %s", st, err);
	cr_assert_lt(took, 20, "the run took %.1f s", took);
	cr_assert(strstr(err, "timed out after 1 s"), "%s", err);
	cJSON *j = cJSON_Parse(out);
	cr_assert(j && fst_jstr(j, "freeze_error") && strstr(fst_jstr(j, "freeze_error"), "timed out"),
		"%s", out);
	cJSON_Delete(j);
	free(out); free(err);
	char path[256];
	snprintf(path, sizeof(path), "%s/thaw", dir);
	char *t = slurp_file(path);
	cr_assert_str_eq(t, "thawed\n", "no thaw after a freeze stopped at its limit");
	free(t);
	snprintf(path, sizeof(path), "%s/sleep", dir);
	cr_assert(pid_gone(path), "the hook's own child outlived the limit");
	/* nothing captured, nothing registered */
	cr_assert_eq(fst_rbd_snap_count(vms, disk, NULL), 0, "a snapshot was left");
	char *ids = fst_glance_ids_named(name);
	cr_assert_str_eq(ids, "", "an image was left: %s", ids);
	free(ids);

	/* a thaw past its limit: the image is made, exit 3, in bounded time */
	char *name2 = fst_unique("fst-hooktoimg2");
	t0 = now();
	st = fst_sh(&out, &err, "%s --json snapshot --disk vms/%s --name %s --store local "
		"--hook-timeout 1 --freeze-cmd true --thaw-cmd 'sleep 60'", fst_cli(), disk, name2);
	took = now() - t0;
	cr_assert_eq(st, 3, "a thaw past its limit: exit %d: %s", st, err);
	cr_assert_lt(took, 30, "the run took %.1f s", took);
	j = cJSON_Parse(out);
	cr_assert(j && fst_jstr(j, "thaw_error") && strstr(fst_jstr(j, "thaw_error"), "timed out"),
		"%s", out);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(out); free(err);
	fst_sh(NULL, NULL, "rm -rf %s", dir);
	fst_rbd_remove_all(vms, disk);
	free(name); free(name2); free(disk);
}

Test(hooks, detach_parent_waits_with_a_bound)
{
	char *disk = fst_unique("fst-hookdt");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 4 * MiB, 61, 1, NULL, sha);
	char *name = fst_unique("fst-hookdtimg");
	char *out = NULL, *err = NULL;
	double t0 = now();
	/* the child hangs in its freeze, well inside --hook-timeout */
	int st = fst_sh(&out, &err, "%s --json snapshot --disk vms/%s --name %s --store local "
		"--detach --detach-timeout 2 --hook-timeout 120 --freeze-cmd 'sleep 100' "
		"--thaw-cmd true", fst_cli(), disk, name);
	double took = now() - t0;
	cr_assert_eq(st, 1, "exit %d: %s", st, err);
	cr_assert_lt(took, 30, "the parent waited %.1f s", took);
	cr_assert_geq(took, 2, "the parent returned after %.1f s", took);
	cr_assert(strstr(err, "--detach-timeout") && strstr(err, "it was stopped (SIGTERM)"), "%s",
		err);
	cJSON *j = cJSON_Parse(out);
	cr_assert(j && fst_jstr(j, "error"), "%s", out);
	cJSON_Delete(j);
	cr_assert_eq(fst_rbd_snap_count(vms, disk, NULL), 0, "a snapshot was left");
	char *ids = fst_glance_ids_named(name);
	if (*ids) {
		/* the child's clean-up can meet a Glance error of its own (Glance
		 * 30's sqlite "database is locked" under load): then the parent
		 * must say so, and the image must be marked for gc */
		cr_assert(strstr(err, "clean-up failed"), "an image was left and the parent did not say "
			"so: %s / %s", ids, err);
		ids[strcspn(ids, "\n")] = '\0';
		char *state = fst_glance_prop(ids, "fastsnap_state");
		cr_assert(state && !strcmp(state, "in-progress"), "left unmarked: %s", state);
		free(state);
		fst_glance_delete(ids);
	}
	free(ids);
	free(out); free(err);
	fst_rbd_remove_all(vms, disk);
	free(name); free(disk);
}

/* One HTTP request to a listener of our own: which X-Auth-Token came. */
static char *token_sent(const char *cli_args)
{
	char dir[] = "/tmp/fst-tokl-XXXXXX";
	cr_assert(mkdtemp(dir));
	char *port = NULL;
	fst_sh(&port, NULL, "python3 -c 'import socket, sys\n"
		"s = socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(1)\n"
		"open(sys.argv[1] + \"/port\", \"w\").write(str(s.getsockname()[1]))\n"
		"s.settimeout(30); c, _ = s.accept(); d = c.recv(65536)\n"
		"open(sys.argv[1] + \"/req\", \"wb\").write(d)\n"
		"c.sendall(b\"HTTP/1.1 500 x\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n\")' "
		"%s >/dev/null 2>&1 & for i in $(seq 50); do [ -s %s/port ] && break; sleep 0.1; done; "
		"cat %s/port", dir, dir, dir);
	cr_assert(port && atoi(port) > 0, "listener: %s", port);
	char *err = NULL;
	fst_sh(NULL, &err, "env -u OS_AUTH_TOKEN -u FASTSNAP_GLANCE_HEADERS FASTSNAP_NUM_RETRIES=0 "
		"%s --glance-url http://127.0.0.1:%d %s stores", fst_cli(), atoi(port), cli_args);
	char path[128];
	snprintf(path, sizeof(path), "%s/req", dir);
	char *req = NULL;
	for (int i = 0; i < 50; i++) {
		req = slurp_file(path);
		if (*req)
			break;
		free(req);
		req = NULL;
		usleep(100 * 1000);
	}
	cr_assert(req, "no request came: %s", err);
	char *tok = NULL;
	char *h = strcasestr(req, "\nX-Auth-Token: ");
	if (h) {
		h += strlen("\nX-Auth-Token: ");
		tok = strndup(h, strcspn(h, "\r\n"));
	}
	char *res = NULL;
	if (asprintf(&res, "%s|%s", tok ? tok : "", err ? err : "") < 0)
		res = NULL;
	free(tok); free(req); free(err); free(port);
	fst_sh(NULL, NULL, "rm -rf %s", dir);
	return res;
}

Test(hooks, token_from_a_file_and_a_warning_on_argv)
{
	char tf[] = "/tmp/fst-token-XXXXXX";
	int fd = mkstemp(tf);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "fst-file-token\n", 15), 15);
	close(fd);
	char args[128];
	snprintf(args, sizeof(args), "--os-token-file %s", tf);
	char *r = token_sent(args);
	cr_assert(!strncmp(r, "fst-file-token|", 15), "the token file's token was not sent: %s", r);
	cr_assert(!strstr(r, "--os-token puts"), "a warning for a token file: %s", r);
	free(r);
	snprintf(args, sizeof(args), "--os-token-file - < %s", tf);
	r = token_sent(args);
	cr_assert(!strncmp(r, "fst-file-token|", 15), "standard input's token was not sent: %s", r);
	free(r);
	r = token_sent("--os-token fst-argv-token");
	cr_assert(!strncmp(r, "fst-argv-token|", 15), "the argv token was not sent: %s", r);
	cr_assert(strstr(r, "warning: --os-token puts the token on the command line"), "%s", r);
	free(r);
	char *err = NULL;
	int st = fst_sh(NULL, &err, "%s --os-token-file /nonexistent/x stores", fst_cli());
	cr_assert_eq(st, 1, "a missing token file: exit %d", st);
	cr_assert(strstr(err, "--os-token-file /nonexistent/x"), "%s", err);
	free(err);
	unlink(tf);
}

/* The config file's [service_user] password and secret (not sent here:
 * send_service_user_token is false, so nothing keeps them) leave no copy
 * in fastsnap's memory once the file is parsed: the thaw hook (root, like
 * the test) reads every mapping of its parent through /proc/PID/mem. */
Test(hooks, config_file_secrets_leave_no_copy)
{
	char *disk = fst_unique("fst-hookcfg");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 4 * MiB, 61, 1, NULL, sha);
	char dir[] = "/tmp/fst-hookcfg-XXXXXX";
	cr_assert(mkdtemp(dir));
	char *marker = fst_unique("fst-cfgsecret");
	FILE *f;
	char path[256];
	snprintf(path, sizeof(path), "%s/marker", dir);
	cr_assert((f = fopen(path, "w")));
	fprintf(f, "%s\n", marker);
	fclose(f);
	snprintf(path, sizeof(path), "%s/fastsnap.conf", dir);
	cr_assert((f = fopen(path, "w")));
	fprintf(f, "[service_user]\nsend_service_user_token = false\nauth_type = password\n"
		"auth_url = http://127.0.0.1:9/v3\nusername = nova\npassword = %s\n"
		"application_credential_secret = %s-ac\n", marker, marker);
	fclose(f);
	snprintf(path, sizeof(path), "%s/scan.py", dir);
	cr_assert((f = fopen(path, "w")));
	/* every readable mapping below 1 GiB (ASan's shadow is above), 1 MiB
	 * at a time; the pid comes from the hook's $PPID (sh's parent) */
	fputs("import os, sys\n"
		"d, pid = sys.argv[1], int(sys.argv[2])\n"
		"m = open(d + '/marker', 'rb').read().strip()\n"
		"n = scanned = 0\n"
		"with open('/proc/%d/maps' % pid) as maps, open('/proc/%d/mem' % pid, 'rb', 0) as mem:\n"
		"    for line in maps:\n"
		"        f = line.split()\n"
		"        a, b = (int(x, 16) for x in f[0].split('-'))\n"
		"        if 'r' not in f[1] or b - a > (1 << 30) or (len(f) > 5 and f[5].startswith('[v')):\n"
		"            continue\n"
		"        for o in range(a, b, 1 << 20):\n"
		"            try:\n"
		"                mem.seek(o)\n"
		"                data = mem.read(min(1 << 20, b - o) + len(m))\n"
		"            except OSError:\n"
		"                continue\n"
		"            scanned += len(data)\n"
		"            n += data.count(m)\n"
		"open(d + '/scan', 'w').write('%d %d\\n' % (n, scanned))\n", f);
	fclose(f);
	char *name = fst_unique("fst-hookcfgimg");
	char *out = NULL, *err = NULL;
	int st = fst_sh(&out, &err, "%s --json --config %s/fastsnap.conf snapshot --disk vms/%s "
		"--name %s --store local --freeze-cmd true --thaw-cmd 'python3 %s/scan.py %s $PPID'",
		fst_cli(), dir, disk, name, dir, dir);
	cr_assert_eq(st, 0, "exit %d: %s", st, err);
	cJSON *j = cJSON_Parse(out);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(out); free(err);
	snprintf(path, sizeof(path), "%s/scan", dir);
	char *scan = slurp_file(path);
	long found = -1, scanned = 0;
	sscanf(scan, "%ld %ld", &found, &scanned);
	/* fastsnap's heap and libraries: hundreds of MiB, not a shell's few */
	cr_assert_gt(scanned, 64L << 20, "the scan read %ld bytes: %s", scanned, scan);
	cr_assert_eq(found, 0, "the config file's secret is still in fastsnap's memory %ld times "
		"(%ld bytes scanned)", found, scanned);
	free(scan);
	fst_sh(NULL, NULL, "rm -rf %s", dir);
	fst_rbd_remove_all(vms, disk);
	free(name); free(marker); free(disk);
}
