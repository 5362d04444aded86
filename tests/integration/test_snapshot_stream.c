/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/integration/test_snapshot_stream.c: the streamed path through the
 * whole engine and CLI (issue 5's "done means"): an RBD disk with holes
 * into `local`, a sparse raw file, a base image in `local`, and an upload
 * killed by the Glance side midway.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

#define MiB (1ULL << 20)

static rados_t admin;
static rados_ioctx_t vms;

static void setup(void)
{
	admin = fst_admin_rados();
	vms = fst_ioctx(admin, "vms");
}

static void teardown(void)
{
	rados_ioctx_destroy(vms);
	rados_shutdown(admin);
}

TestSuite(stream, .init = setup, .fini = teardown, .timeout = 600);

/* Data in 3 of every 8 objects; the rest are holes. */
static int three_of_eight(uint64_t obj) { return obj % 8 == 0 || obj % 8 == 3 || obj % 8 == 5; }

static char *glance_hash(const char *id, const char *field)
{
	char path[128], *body = NULL;
	snprintf(path, sizeof(path), "/v2/images/%s", id);
	cr_assert_eq(fst_glance(&body, "GET", path, NULL), 200);
	cJSON *j = cJSON_Parse(body);
	const char *v = fst_jstr(j, field);
	char *r = strdup(v ? v : "");
	cJSON_Delete(j);
	free(body);
	return r;
}

/* Image active, Glance's sha512 (and md5) equal fastsnap's, download equals source. */
static void check_stream_result(cJSON *j, const char *want_sha, const char *store)
{
	cr_assert_str_eq(fst_jstr(j, "path"), "stream", "reason: %s", fst_jstr(j, "reason"));
	if (store)
		cr_assert_str_eq(fst_jstr(j, "store"), store);
	const char *id = fst_jstr(j, "image_id");
	char *st = fst_glance_status(id);
	cr_assert_str_eq(st, "active");
	free(st);
	char *h = glance_hash(id, "os_hash_value");
	cr_assert_str_eq(h, fst_jstr(j, "sha512"), "Glance's sha512 differs from fastsnap's");
	free(h);
	if (fst_jstr(j, "md5")) {
		h = glance_hash(id, "checksum");
		cr_assert_str_eq(h, fst_jstr(j, "md5"));
		free(h);
	}
	cr_assert_str_eq(fst_jstr(j, "sha512"), want_sha, "fastsnap's sha512 differs from the source");
	char got[129];
	fst_glance_download_sha512(id, got);
	cr_assert_str_eq(got, want_sha, "downloaded data differs from the source");
}

Test(stream, rbd_disk_with_holes_into_local)
{
	char *disk = fst_unique("fst-sdisk");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 512 * MiB, 61, 21, three_of_eight, sha);
	/* and a few small writes inside holes */
	rbd_image_t img;
	cr_assert_eq(rbd_open(vms, disk, &img, NULL), 0);
	cr_assert_eq(rbd_write(img, 4 * MiB + 4096, 5, "hello"), 5);
	cr_assert_eq(rbd_write(img, 512 * MiB - 3, 3, "end"), 3);
	rbd_close(img);
	fst_rbd_sha512(vms, disk, NULL, sha);
	char *name = fst_unique("fst-sstream");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --store local --verify-md5",
		disk, name);
	cr_assert_eq(st, 0, "%s", err);
	check_stream_result(j, sha, "local");
	/* Holes are not read: 3/8 of the disk plus the two objects with small writes. */
	double read = cJSON_GetObjectItem(j, "bytes_read")->valuedouble;
	cr_assert_leq(read, (512.0 * 3 / 8 + 8) * MiB, "read %.0f bytes of a 512 MiB disk", read);
	cr_assert_eq(cJSON_GetObjectItem(j, "bytes_sent")->valuedouble, 512.0 * MiB);
	cr_assert_eq(fst_rbd_snap_count(vms, disk, NULL), 0, "temporary snapshot left on the disk");
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err); free(name);
	fst_rbd_remove_all(vms, disk);
	free(disk);
}

Test(stream, sparse_raw_file)
{
	char path[] = "/tmp/fst-sparse-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 96 * MiB + 512), 0);
	char buf[65536];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7 + 3);
	cr_assert_eq(pwrite(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	cr_assert_eq(pwrite(fd, buf, sizeof(buf), 40 * MiB + 12345), (ssize_t)sizeof(buf));
	cr_assert_eq(pwrite(fd, buf, 512, 96 * MiB), 512);
	close(fd);
	char *o = NULL;
	cr_assert_eq(fst_sh(&o, NULL, "sha512sum %s | cut -d' ' -f1", path), 0);
	o[128] = '\0';
	char *name = fst_unique("fst-sfile");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk-file %s --name %s", path, name);
	cr_assert_eq(st, 0, "%s", err);
	check_stream_result(j, o, "local");
	double read = cJSON_GetObjectItem(j, "bytes_read")->valuedouble;
	cr_assert_lt(read, 8.0 * MiB, "read %.0f bytes of a file with 129 KiB of data", read);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);
	/* A qcow2 file is refused before anything is created. */
	cr_assert_eq(fst_sh(NULL, NULL, "qemu-img create -f qcow2 %s.qcow2 16M >/dev/null", path), 0);
	st = fst_cli_json(&j, &err, NULL, "snapshot --disk-file %s.qcow2 --name %s", path, name);
	cr_assert_eq(st, 1);
	cr_assert(strstr(err, "qcow2"), "%s", err);
	char *ids = fst_glance_ids_named(name);
	cr_assert_str_eq(ids, "");
	free(ids);
	cJSON_Delete(j);
	fst_sh(NULL, NULL, "rm -f %s %s.qcow2", path, path);
	free(err); free(name); free(o);
}

Test(stream, base_image_in_local_streams_into_local)
{
	char *base = fst_base_image("local", 4 * MiB, 3);
	char *disk = fst_unique("fst-sbase");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 24 * MiB, 61, 8, three_of_eight, sha);
	char *name = fst_unique("fst-sbased");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --base-image-ref %s",
		disk, name, base);
	cr_assert_eq(st, 0, "%s", err);
	check_stream_result(j, sha, "local");
	cr_assert(strstr(fst_jstr(j, "reason"), "base image"), "%s", fst_jstr(j, "reason"));
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err); free(name);
	fst_rbd_remove_all(vms, disk);
	fst_glance_delete(base);
	free(disk); free(base);
}

Test(stream, missing_base_image_falls_back_to_default)
{
	char *disk = fst_unique("fst-sgone");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 8 * MiB, 61, 2, NULL, sha);
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s "
		"--base-image-ref 3f0e8a7e-0000-4000-8000-00000000dead", disk, disk);
	cr_assert_eq(st, 0, "%s", err);
	check_stream_result(j, sha, "local");
	const char *reason = fst_jstr(j, "reason");
	cr_assert(strstr(reason, "3f0e8a7e-0000-4000-8000-00000000dead") && strstr(reason, "default"),
		"reason does not say the base image is gone: %s", reason);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);
	fst_rbd_remove_all(vms, disk);
	free(disk);
}

/* Stream a fresh disk through a faulty proxy: the run must fail with
 * `want_code` (a fastsnap_strerror name) and a message containing
 * `want_msg` (NULL: the disk's sha512), and leave no image in Glance and
 * no snapshot on the disk. */
static void failed_stream_leaves_nothing(const char *proxy_args, const char *env, uint64_t size,
	const char *want_code, const char *want_msg)
{
	pid_t proxy;
	char *url = fst_proxy_start(&proxy, proxy_args);
	char *disk = fst_unique("fst-sfail");
	char sha[129];
	fst_rbd_create_filled(vms, disk, size, 61, 6, NULL, sha);
	char *name = fst_unique("fst-sfailimg");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, env, "--glance-url %s snapshot --disk vms/%s --name %s "
		"--store local", url, disk, name);
	cr_assert_eq(st, 1, "[%s] exit %d: %s", proxy_args, st, err);
	cr_assert_str_eq(fst_jstr(j, "error_code"), want_code, "[%s] %s", proxy_args, err);
	cr_assert(strstr(err, want_msg ? want_msg : sha), "[%s] unclear error: %s", proxy_args, err);
	cr_assert_null(strstr(err, "clean-up failed"), "%s", err);
	char *ids = fst_glance_ids_named(name);
	cr_assert_str_eq(ids, "", "[%s] image left in Glance", proxy_args);
	cr_assert_eq(fst_rbd_snap_count(vms, disk, NULL), 0, "[%s] temporary snapshot left", proxy_args);
	free(ids);
	cJSON_Delete(j);
	free(err); free(name);
	fst_rbd_remove_all(vms, disk);
	free(disk);
	fst_proxy_stop(proxy);
	free(url);
}

Test(stream, upload_killed_midway_leaves_nothing)
{
	failed_stream_leaves_nothing("--cut-upload-after 20000000", "FASTSNAP_NUM_RETRIES=0", 64 * MiB,
		"transport error", "/file");
}

/* The first metadata key of `image` that starts with `prefix` (its value
 * in *val), or NULL; caller frees both. */
static char *meta_find(rados_ioctx_t io, const char *image, const char *prefix, char **val)
{
	rbd_image_t img;
	*val = NULL;
	if (rbd_open_read_only(io, image, &img, NULL) < 0)
		return NULL;
	char keys[4096], vals[4096];
	size_t kl = sizeof(keys), vl = sizeof(vals);
	char *found = NULL;
	if (rbd_metadata_list(img, "", 0, keys, &kl, vals, &vl) >= 0) {
		const char *k = keys, *v = vals;
		for (; k < keys + kl && *k; k += strlen(k) + 1, v += strlen(v) + 1) {
			if (!strncmp(k, prefix, strlen(prefix))) {
				found = strdup(k);
				*val = strdup(v);
				break;
			}
		}
	}
	rbd_close(img);
	return found;
}

/* While a run lives its work carries its own run tag (with its heartbeat)
 * on the source disk (the key named by the run's image id, so runs do not
 * overwrite each other); a finished run takes it off; a killed one leaves
 * it for gc. */
Test(stream, heartbeat_marks_work_in_progress)
{
	char *disk = fst_unique("fst-shb");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 8 * MiB, 61, 2, NULL, sha);
	char *name = fst_unique("fst-shbimg");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --store local", disk, name);
	cr_assert_eq(st, 0, "%s", err);
	char *v = NULL;
	char *k = meta_find(vms, disk, "fastsnap.", &v);
	cr_assert_null(k, "a finished run left %s on the source disk", k);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);

	/* Killed in the middle: its run tag and heartbeat are there for gc. */
	st = fst_cli_json(&j, &err, "FASTSNAP_TEST_KILL_AFTER=stream", "snapshot --disk vms/%s --name %s "
		"--store local", disk, name);
	cr_assert_eq(st, 128 + 9, "expected a SIGKILL, got %d: %s", st, err);
	/* one key per run: fastsnap.run.<image id> = "<owner> <heartbeat>" */
	k = meta_find(vms, disk, "fastsnap.run.", &v);
	cr_assert_not_null(k, "no run tag on the disk of a killed run");
	const char *rid = k + strlen("fastsnap.run.");
	cr_assert_eq(strlen(rid), 36, "run tag key %s is not named by the image id", k);
	const char *sp = v ? strchr(v, ' ') : NULL;
	cr_assert(sp && strchr(v, ':') && strchr(v, ':') < sp, "run tag value %s is not '<owner> <time>'", v);
	long long hb = atoll(sp + 1);
	cr_assert(hb > 0 && llabs(hb - (long long)time(NULL)) < 120, "heartbeat %s", v);
	char *owner = strndup(v, (size_t)(sp - v));
	free(v);
	v = strdup(rid);
	char *state = fst_glance_prop(v, "fastsnap_state");
	char *at = fst_glance_prop(v, "fastsnap_heartbeat");
	cr_assert(state && !strcmp(state, "in-progress"), "image %s state %s", v, state);
	char want[256];
	snprintf(want, sizeof(want), "vms/%s", disk);
	cr_assert(at && !strcmp(at, want), "fastsnap_heartbeat %s, want %s", at, want);
	free(state); free(at); free(owner); free(k); free(v);
	char *snaps = NULL;
	cr_assert_eq(fst_rbd_snap_count(vms, disk, &snaps), 1);
	cr_assert(strncmp(snaps, "fastsnap-", 9) == 0, "temporary snapshot name %s", snaps);
	free(snaps);
	/* what gc will do: */
	char *ids = fst_glance_ids_named(name);
	for (char *id = strtok(ids, "\n"); id; id = strtok(NULL, "\n"))
		fst_glance_delete(id);
	free(ids);
	free(err);
	fst_rbd_remove_all(vms, disk);
	free(disk); free(name);
}

/* Glance reports a hash that is not the one of the data sent: the run
 * fails with a checksum error naming ours, and deletes the image. */
Test(stream, hash_mismatch_deletes_the_image)
{
	failed_stream_leaves_nothing("--corrupt-hash", NULL, 8 * MiB, "checksum mismatch", NULL);
}

/* --freeze-cmd / --thaw-cmd bracket the moment the source is captured:
 * for an RBD disk, the temporary snapshot (none yet at freeze, one at
 * thaw); a failing freeze stops the run before anything is captured. */
Test(stream, freeze_and_thaw_bracket_the_snapshot)
{
	char *disk = fst_unique("fst-sfreeze");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 8 * MiB, 61, 5, NULL, sha);
	char log[] = "/tmp/fst-freeze-XXXXXX";
	int fd = mkstemp(log);
	cr_assert_geq(fd, 0);
	close(fd);
	char *name = fst_unique("fst-sfreezeimg");
	char freeze[512], thaw[512], c1[256];
	snprintf(c1, sizeof(c1), "rbd -c $CEPH_CONF --id admin --keyring $FASTSNAP_DEV_ADMIN_KEYRING "
		"snap ls vms/%s | grep -c fastsnap-", disk);
	snprintf(freeze, sizeof(freeze), "echo freeze $(%s) >> %s", c1, log);
	snprintf(thaw, sizeof(thaw), "echo thaw $(%s) >> %s", c1, log);
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --store local "
		"--freeze-cmd '%s' --thaw-cmd '%s'", disk, name, freeze, thaw);
	cr_assert_eq(st, 0, "%s", err);
	check_stream_result(j, sha, "local");
	char *out = NULL;
	fst_sh(&out, NULL, "cat %s", log);
	cr_assert_str_eq(out, "freeze 0\nthaw 1\n", "hooks ran out of place: %s", out);
	free(out);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cJSON_Delete(j);
	free(err);

	/* a failing freeze: exit 1, the hook named, nothing created, no thaw */
	fst_sh(NULL, NULL, ": > %s", log);
	st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --store local "
		"--freeze-cmd 'exit 3' --thaw-cmd 'echo thawed >> %s'", disk, name, log);
	cr_assert_eq(st, 1);
	cr_assert(strstr(err, "--freeze-cmd") && strstr(err, "exit status 3"), "%s", err);
	char *ids = fst_glance_ids_named(name);
	cr_assert_str_eq(ids, "");
	cr_assert_eq(fst_rbd_snap_count(vms, disk, NULL), 0);
	fst_sh(&out, NULL, "cat %s", log);
	cr_assert_str_eq(out, "", "thawed without a freeze");
	free(out); free(ids); free(err);
	cJSON_Delete(j);

	/* a failing thaw: the image is made and kept, but the command says so
	 * (exit 3, "thaw_error" in the JSON): the guest may still be frozen */
	st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --store local "
		"--freeze-cmd true --thaw-cmd 'exit 4'", disk, name);
	cr_assert_eq(st, 3, "exit %d: %s", st, err);
	cr_assert(strstr(err, "--thaw-cmd") && strstr(err, "exit status 4"), "%s", err);
	const char *te = fst_jstr(j, "thaw_error");
	cr_assert(te && strstr(te, "exit status 4"), "thaw_error: %s", te ? te : "(missing)");
	check_stream_result(j, sha, "local");
	char *status = fst_glance_status(fst_jstr(j, "image_id"));
	cr_assert_str_eq(status, "active");
	free(status);
	fst_glance_delete(fst_jstr(j, "image_id"));
	cr_assert_eq(fst_rbd_snap_count(vms, disk, NULL), 0);
	cJSON_Delete(j);
	free(err);
	unlink(log);
	free(name);
	fst_rbd_remove_all(vms, disk);
	free(disk);
}

static int every_fifth(uint64_t obj) { return obj % 5 == 0; }

/* Download image `id` and check it with qemu-img against the raw file
 * `ref`: 0 when `qemu-img check` and `qemu-img compare` agree. */
static int qcow2_matches(const char *id, const char *ref, char **out)
{
	return fst_sh(out, NULL, "set -e; t=$(mktemp); trap 'rm -f $t' EXIT; "
		"python3 - $t <<'PY'\nimport os,sys,urllib.request\n"
		"h=dict(x.split(': ',1) for x in os.environ['FASTSNAP_GLANCE_HEADERS'].split('|') if x)\n"
		"r=urllib.request.Request(os.environ['FASTSNAP_GLANCE_URL']+'/v2/images/%s/file',headers=h)\n"
		"open(sys.argv[1],'wb').write(urllib.request.urlopen(r).read())\nPY\n"
		"qemu-img check -f qcow2 $t >/dev/null && qemu-img compare -f qcow2 -F raw $t %s", id, ref);
}

/* `fastsnap snapshot --disk-format qcow2` of a sparse RBD disk and of a
 * sparse raw file: streamed (the plan says why), created as
 * disk_format=qcow2, fewer bytes sent than the disk holds, and the image
 * Glance serves passes `qemu-img check` and equals the disk (`qemu-img
 * compare`). qcow2 into the rbd store is refused unless forced; a dry run
 * refuses the same. [libvirt] snapshot_image_format picks qcow2 too. */
Test(stream, qcow2_from_the_command)
{
	char *disk = fst_unique("fst-sq2");
	char sha[129];
	fst_rbd_create_filled(vms, disk, 64 * MiB, 61, 3, every_fifth, sha);   /* 4 of 16 objects */
	char *name = fst_unique("fst-sq2img");
	cJSON *j = NULL;
	char *err = NULL;
	int st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --store local "
		"--disk-format qcow2", disk, name);
	cr_assert_eq(st, 0, "%s", err);
	cr_assert_str_eq(fst_jstr(j, "path"), "stream");
	cr_assert_str_eq(fst_jstr(j, "disk_format"), "qcow2");
	cr_assert(strstr(fst_jstr(j, "reason"), "qcow2"), "%s", fst_jstr(j, "reason"));
	double sent = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "bytes_sent"));
	cr_assert(sent > 0 && sent < 32.0 * MiB, "qcow2 of a 4/16 full disk sent %.0f bytes", sent);
	const char *id = fst_jstr(j, "image_id");
	char *fmt = fst_glance_prop(id, "disk_format");
	cr_assert_str_eq(fmt, "qcow2");
	free(fmt);
	char ref[] = "/tmp/fst-q2ref-XXXXXX";
	int rfd = mkstemp(ref);
	close(rfd);
	cr_assert_eq(fst_sh(NULL, NULL, "rbd -c $CEPH_CONF --id admin --keyring $FASTSNAP_DEV_ADMIN_KEYRING "
		"export vms/%s - 2>/dev/null > %s", disk, ref), 0);
	char *out = NULL;
	st = qcow2_matches(id, ref, &out);
	unlink(ref);
	cr_assert_eq(st, 0, "qemu-img check/compare of the downloaded image failed: %s", out);
	free(out);
	fst_glance_delete(id);
	cJSON_Delete(j);
	free(err);

	/* into the rbd store: refused, before anything is created, dry run too */
	st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --store fast "
		"--disk-format qcow2 --dry-run", disk, name);
	cr_assert_eq(st, 1, "qcow2 into rbd accepted by a dry run: %s", err);
	cr_assert(strstr(err, "copy-on-write"), "%s", err);
	cJSON_Delete(j);
	free(err);
	st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --store fast "
		"--disk-format qcow2", disk, name);
	cr_assert_eq(st, 1);
	char *ids = fst_glance_ids_named(name);
	cr_assert_str_eq(ids, "", "an image was created before the refusal");
	free(ids);
	cJSON_Delete(j);
	free(err);
	st = fst_cli_json(&j, &err, NULL, "snapshot --disk vms/%s --name %s --store fast "
		"--disk-format qcow2 --allow-qcow2-in-rbd --dry-run", disk, name);
	cr_assert_eq(st, 0, "%s", err);
	cJSON_Delete(j);
	free(err);

	/* the config file's [libvirt] snapshot_image_format, and a file source */
	char cfg[] = "/tmp/fst-q2cfg-XXXXXX";
	int fd = mkstemp(cfg);
	const char *text = "[libvirt]\nsnapshot_image_format = qcow2\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char path[] = "/tmp/fst-q2file-XXXXXX";
	fd = mkstemp(path);
	close(fd);
	cr_assert_eq(fst_sh(NULL, NULL, "truncate -s 32M %s && head -c 1M /dev/urandom | "
		"dd of=%s bs=1M seek=20 conv=notrunc 2>/dev/null", path, path), 0);
	st = fst_cli_json(&j, &err, NULL, "--config %s snapshot --disk-file %s --name %s --store local",
		cfg, path, name);
	cr_assert_eq(st, 0, "%s", err);
	cr_assert_str_eq(fst_jstr(j, "disk_format"), "qcow2");
	id = fst_jstr(j, "image_id");
	st = qcow2_matches(id, path, &out);
	cr_assert_eq(st, 0, "qemu-img check/compare of the file's image failed: %s", out);
	free(out);
	fst_glance_delete(id);
	cJSON_Delete(j);
	free(err);
	unlink(cfg);
	unlink(path);
	fst_rbd_remove_all(vms, disk);
	free(name);
	free(disk);
}
