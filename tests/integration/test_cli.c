/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_cli.c: the fastsnap command as a user meets it:
 * `stores` (human and --json) against the dev cluster, --help/--version,
 * usage errors (exit 2), and one-line errors naming what is wrong
 * (exit 1): a missing ceph.conf, a refused connection, a wrong URL, a
 * Glance without multi-store, a missing disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

TestSuite(cli, .timeout = 120);

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(cli, stores_json_lists_the_dev_stores)
{
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "stores");
	cr_assert_eq(st, 0, "%s", err);
	cr_assert_str_eq(fst_jstr(j, "fsid"), fst_env("FASTSNAP_DEV_FSID"));
	cJSON *arr = cJSON_GetObjectItem(j, "stores");
	cr_assert_eq(cJSON_GetArraySize(arr), 3 + fst_has_edge());
	int seen = 0;
	cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		const char *id = fst_jstr(it, "id");
		int def = cJSON_IsTrue(cJSON_GetObjectItem(it, "default"));
		int ro = cJSON_IsTrue(cJSON_GetObjectItem(it, "read_only"));
		if (!strcmp(id, "local")) {
			seen |= 1;
			cr_assert(def);
			cr_assert_str_eq(fst_jstr(it, "type"), "file");
			cr_assert_null(fst_jstr(it, "pool"));
		} else if (!strcmp(id, "fast")) {
			seen |= 2;
			cr_assert_not(def);
			cr_assert_not(ro);
			cr_assert_str_eq(fst_jstr(it, "type"), "rbd");
			cr_assert_str_eq(fst_jstr(it, "pool"), "images");
		} else if (!strcmp(id, "web")) {
			seen |= 4;
			cr_assert(ro, "the http store must be read-only");
		} else if (!strcmp(id, "edge")) {   /* ceph-dev/up --edge */
			seen |= 8;
			cr_assert_not(def);
			cr_assert_str_eq(fst_jstr(it, "type"), "rbd");
			cr_assert_str_eq(fst_jstr(it, "pool"), "images");
		}
	}
	cr_assert_eq(seen, fst_has_edge() ? 15 : 7);
	cJSON_Delete(j);
	free(err);
}

Test(cli, stores_human_output_and_member_identity)
{
	char *out = NULL, *err = NULL;
	int st = fst_sh(&out, &err, "%s stores", fst_cli());
	cr_assert_eq(st, 0, "%s", err);
	cr_assert(strstr(out, fst_env("FASTSNAP_DEV_FSID")), "fsid not printed: %s", out);
	cr_assert(strstr(out, "fast") && strstr(out, "rbd") && strstr(out, "images"), "%s", out);
	free(out); free(err);
	/* A project member may not read stores/detail: still a listing, without type. */
	st = fst_sh(&out, &err, "FASTSNAP_GLANCE_HEADERS=\"$FASTSNAP_DEV_MEMBER_HEADERS\" %s --json stores",
		fst_cli());
	cr_assert_eq(st, 0, "%s", err);
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "%s", out);
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "stores"))
		cr_assert_null(fst_jstr(it, "type"), "type shown without stores/detail");
	cJSON_Delete(j);
	free(out); free(err);
}

Test(cli, help_version_and_usage_errors)
{
	char *out = NULL, *err = NULL;
	cr_assert_eq(fst_sh(&out, NULL, "%s --version", fst_cli()), 0);
	cr_assert(strstr(out, "fastsnap 0."), "%s", out);
	free(out);
	cr_assert_eq(fst_sh(&out, NULL, "%s --help", fst_cli()), 0);
	cr_assert(strstr(out, "stores") && strstr(out, "snapshot"));
	free(out);
	cr_assert_eq(fst_sh(&out, NULL, "%s snapshot --help", fst_cli()), 0);
	cr_assert(strstr(out, "--flatten"));
	free(out);
	struct { const char *args; const char *needle; } cases[] = {
		{ "", "no command" },
		{ "frobnicate", "unknown command 'frobnicate'" },
		{ "snapshot --name x", "--disk" },
		{ "snapshot --disk vms/a --disk-file /tmp/x --name x", "exactly one" },
		{ "snapshot --disk vms/a", "--name is required" },
		{ "snapshot --disk vms/a --name x --flatten sometimes", "sometimes" },
		{ "--glance-header $'X-A: b\\r\\nX-Evil: 1' stores", "CR or LF" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = fst_sh(&out, &err, "bash -c \"%s %s\"", fst_cli(), cases[i].args);
		cr_assert_eq(st, 2, "'%s' exit %d, want 2 (usage)", cases[i].args, st);
		cr_assert(strstr(err, cases[i].needle), "'%s': stderr '%s' lacks '%s'", cases[i].args, err,
			cases[i].needle);
		free(out); free(err);
	}
}

static void one_line_error(const char *env_and_args, const char *needle)
{
	char *out = NULL, *err = NULL;
	int st = fst_sh(&out, &err, "%s", env_and_args);
	cr_assert_eq(st, 1, "'%s': exit %d (stderr %s)", env_and_args, st, err);
	cr_assert_eq(count_lines(err), 1, "'%s': not one line: %s", env_and_args, err);
	cr_assert(strstr(err, needle), "'%s': '%s' does not name '%s'", env_and_args, err, needle);
	free(out); free(err);
}

Test(cli, errors_name_what_is_wrong)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s --ceph-conf /nonexistent/ceph.conf stores", fst_cli());
	one_line_error(cmd, "/nonexistent/ceph.conf");
	/* A refused connection: a loopback port nobody listens on. */
	snprintf(cmd, sizeof(cmd), "FASTSNAP_NUM_RETRIES=0 %s --glance-url http://127.0.0.1:9 stores", fst_cli());
	one_line_error(cmd, "http://127.0.0.1:9/v2/info/stores");
	/* A wrong URL: something answers, but not Glance's API. */
	snprintf(cmd, sizeof(cmd), "%s --glance-url $FASTSNAP_GLANCE_URL/nothing/here stores", fst_cli());
	one_line_error(cmd, "/nothing/here");
	snprintf(cmd, sizeof(cmd), "%s --glance-url 'not a url' stores", fst_cli());
	one_line_error(cmd, "not a url");
	snprintf(cmd, sizeof(cmd), "%s snapshot --disk vms/fst-does-not-exist --name x", fst_cli());
	one_line_error(cmd, "vms/fst-does-not-exist");
	snprintf(cmd, sizeof(cmd), "%s snapshot --disk 'vms/a@b' --name x", fst_cli());
	one_line_error(cmd, "vms/a@b");
	snprintf(cmd, sizeof(cmd), "%s snapshot --disk-file /nonexistent.img --name x", fst_cli());
	one_line_error(cmd, "/nonexistent.img");
}

/* What the real run would refuse, a dry run refuses too, before anything
 * is created: a name over Glance's 255 characters, a property Glance
 * reserves (os_glance_*), a disk file that is empty or not whole sectors,
 * a pool that does not exist (named as such); a base image ref that is no
 * UUID is a usage error. */
Test(cli, input_is_checked_before_anything_is_created)
{
	char *before = fst_glance_image_ids();
	char longname[301];
	memset(longname, 'n', 300);
	longname[300] = '\0';
	char file[] = "/tmp/fst-odd-XXXXXX";
	int fd = mkstemp(file);
	cr_assert_geq(fd, 0);
	close(fd);
	char a0[512], a2[512];
	snprintf(a0, sizeof(a0), "snapshot --disk-file /etc/hostname --name %s --store local", longname);
	snprintf(a2, sizeof(a2), "snapshot --disk-file %s --name x --store local", file);
	const struct {
		const char *args;
		int exit;
		const char *says;
	} cases[] = {
		{ a0, 1, "255" },
		{ "snapshot --disk-file /etc/hostname --name x --store local --property os_glance_x=1", 1,
			"os_glance_x" },
		{ a2, 1, "multiple of 512" },
		{ "snapshot --disk nosuchpool/d --name x", 1, "pool nosuchpool does not exist" },
		{ "snapshot --disk vms/x --name x --base-image-ref not-a-uuid", 2, "not an image id" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int dry = 0; dry < 2; dry++) {
			char *err = NULL;
			int st = fst_cli_json(NULL, &err, NULL, "%s%s", cases[i].args, dry ? " --dry-run" : "");
			cr_assert_eq(st, cases[i].exit, "case %zu%s: exit %d: %s", i, dry ? " (dry run)" : "", st,
				err);
			cr_assert(strstr(err, cases[i].says), "case %zu: %s", i, err);
			free(err);
		}
	}
	/* an odd size: 1000 bytes */
	fst_sh(NULL, NULL, "head -c 1000 /dev/zero > %s", file);
	char *err = NULL;
	cr_assert_eq(fst_cli_json(NULL, &err, NULL, "snapshot --disk-file %s --name x --store local",
		file), 1);
	cr_assert(strstr(err, "1000 bytes"), "%s", err);
	free(err);
	unlink(file);
	char *after = fst_glance_image_ids();
	cr_assert_str_eq(before, after, "an image was created");
	free(before);
	free(after);
}

Test(cli, glance_without_multistore)
{
	pid_t proxy;
	char *url = fst_proxy_start(&proxy, "--no-multistore");
	char *out = NULL, *err = NULL;
	int st = fst_sh(&out, &err, "%s --glance-url %s stores", fst_cli(), url);
	cr_assert_eq(st, 1, "exit %d", st);
	cr_assert(strstr(err, "multi-store"), "unclear message: %s", err);
	cr_assert_eq(count_lines(err), 1, "%s", err);
	free(out); free(err);
	/* A snapshot still works: no store header, Glance's only store. */
	char *disk = fst_unique("fst-nms");
	rados_t c = fst_admin_rados();
	rados_ioctx_t vms = fst_ioctx(c, "vms");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 8 << 20, 61, 4, NULL, sha);
	cJSON *j = NULL;
	st = fst_cli_json(&j, &err, NULL, "--glance-url %s snapshot --disk vms/%s --name %s", url, disk, disk);
	cr_assert_eq(st, 0, "%s", err);
	cr_assert_str_eq(fst_jstr(j, "path"), "stream");
	cr_assert_null(fst_jstr(j, "store"));
	cr_assert(strstr(fst_jstr(j, "reason"), "multi-store"), "%s", fst_jstr(j, "reason"));
	char got[129];
	fst_glance_download_sha512(fst_jstr(j, "image_id"), got);
	cr_assert_str_eq(got, sha);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);
	fst_rbd_remove_all(vms, disk);
	free(disk);
	rados_ioctx_destroy(vms);
	rados_shutdown(c);
	fst_proxy_stop(proxy);
	free(url);
}

/* A dead OSD: the command fails with a clear timeout error within the
 * Ceph operation timeout instead of hanging, and creates nothing. The OSD
 * is paused (SIGSTOP by its pid file: a memstore OSD that is killed loses
 * its data) and always resumed in the suite's teardown. */
static pid_t paused_osd;

static void resume_osd(void)
{
	if (paused_osd > 0)
		kill(paused_osd, SIGCONT);
	paused_osd = 0;
}

Test(cli_osd, dead_osd_gives_a_timeout_not_a_hang, .fini = resume_osd, .timeout = 120)
{
	char *disk = fst_unique("fst-osd");
	rados_t c = fst_admin_rados();
	rados_ioctx_t vms = fst_ioctx(c, "vms");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 4 << 20, 61, 1, NULL, sha);
	char pidfile[512];
	snprintf(pidfile, sizeof(pidfile), "%s/run/ceph-osd.0.pid", fst_env("FASTSNAP_DEV_DIR"));
	FILE *f = fopen(pidfile, "r");
	cr_assert_not_null(f, "no OSD pid file %s", pidfile);
	long pid = 0;
	cr_assert_eq(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	char *name = fst_unique("fst-osdimg");
	paused_osd = (pid_t)pid;
	/* a watchdog resumes it even if this test process dies; it stands down
	 * once its token file is gone, so that it never resumes a later pause */
	char token[128];
	snprintf(token, sizeof(token), "/tmp/fst-osd-pause-%d-%ld", (int)getpid(), (long)time(NULL));
	fst_sh(NULL, NULL, "touch %s; (sleep 45; [ -e %s ] && kill -CONT %ld) >/dev/null 2>&1 &", token,
		token, pid);
	cr_assert_eq(kill(paused_osd, SIGSTOP), 0);
	char *out = NULL, *err = NULL;
	double t0 = (double)time(NULL);
	int st = fst_sh(&out, &err, "FASTSNAP_CEPH_OP_TIMEOUT_S=5 %s snapshot --disk vms/%s --name %s "
		"--store local", fst_cli(), disk, name);
	double took = (double)time(NULL) - t0;
	resume_osd();
	unlink(token);
	cr_assert_eq(st, 1, "exit %d: %s", st, err);
	cr_assert(strstr(err, "timed out") && strstr(err, disk), "unclear error: %s", err);
	cr_assert_lt(took, 30, "took %.0f s with a 5 s operation timeout", took);
	char *ids = fst_glance_ids_named(name);
	cr_assert_str_eq(ids, "", "an image was created");
	cr_assert_eq(fst_rbd_snap_count(vms, disk, NULL), 0);
	/* and once the OSD is back, the same snapshot works */
	free(out); free(err);
	st = fst_sh(&out, &err, "%s snapshot --disk vms/%s --name %s --store local --json", fst_cli(), disk, name);
	cr_assert_eq(st, 0, "%s", err);
	cJSON *j = cJSON_Parse(out);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(out); free(err); free(ids); free(name);
	fst_rbd_remove_all(vms, disk);
	free(disk);
	rados_ioctx_destroy(vms);
	rados_shutdown(c);
}
