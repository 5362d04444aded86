/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/support/scenario.c: builds what the integration tests start from:
 * a base image uploaded through Glance, an instance disk cloned from it
 * the way Nova boots, and running the CLI with its JSON parsed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "devenv.h"

char *fst_base_image(const char *store, uint64_t size, unsigned seed)
{
	char *name = fst_unique("fst-base");
	char *body = NULL;
	char args[512];
	snprintf(args, sizeof(args), "-H 'Content-Type: application/json' -d '{\"name\":\"%s\","
		"\"disk_format\":\"raw\",\"container_format\":\"bare\",\"os_distro\":\"cirros\","
		"\"hw_disk_bus\":\"virtio\",\"min_ram\":64}'", name);
	int st = fst_glance(&body, "POST", "/v2/images", args);
	cr_assert_eq(st, 201, "create base image: %d %s", st, body);
	cJSON *j = cJSON_Parse(body);
	char *id = strdup(cJSON_GetObjectItem(j, "id")->valuestring);
	cJSON_Delete(j);
	free(body);
	char file[] = "/tmp/fst-base-XXXXXX";
	int fd = mkstemp(file);
	close(fd);
	cr_assert_eq(fst_sh(NULL, NULL, "openssl enc -aes-128-ctr -pass pass:%u -nosalt -pbkdf2 "
		"</dev/zero 2>/dev/null | head -c %llu > %s", seed, (unsigned long long)size, file), 0);
	snprintf(args, sizeof(args), "-H 'Content-Type: application/octet-stream' "
		"-H 'x-image-meta-store: %s' -T %s", store, file);
	char path[256];
	snprintf(path, sizeof(path), "/v2/images/%s/file", id);
	st = fst_glance(&body, "PUT", path, args);
	unlink(file);
	cr_assert_eq(st, 204, "upload base image into %s: %d %s", store, st, body);
	free(body);
	free(name);
	return id;
}

void fst_glance_delete(const char *id)
{
	char path[256];
	snprintf(path, sizeof(path), "/v2/images/%s", id);
	char *body = NULL;
	int st = fst_glance(&body, "DELETE", path, NULL);
	cr_expect(st == 204 || st == 404, "delete image %s: %d %s", id, st, body);
	free(body);
}

void fst_nova_disk(rados_ioctx_t vms, rados_ioctx_t images, const char *base, const char *name,
	uint64_t size, unsigned seed, int (*pattern)(uint64_t obj), char sha_out[129])
{
	rbd_image_options_t o;
	rbd_image_options_create(&o);
	rbd_image_options_set_uint64(o, RBD_IMAGE_OPTION_CLONE_FORMAT, 1);
	int r = rbd_clone3(images, base, "snap", vms, name, o);
	rbd_image_options_destroy(o);
	cr_assert_eq(r, 0, "clone images/%s@snap -> vms/%s: %d", base, name, r);
	rbd_image_t img;
	cr_assert_eq(rbd_open(vms, name, &img, NULL), 0);
	cr_assert_eq(rbd_resize(img, size), 0);
	const uint64_t obj = 4ULL << 20;
	char *buf = malloc(obj);
	unsigned long long x = seed * 11400714819323198485ULL + 7;
	for (uint64_t off = 0, n = 0; off < size; off += obj, n++) {
		if (pattern && !pattern(n))
			continue;
		uint64_t len = size - off < obj ? size - off : obj;
		for (uint64_t i = 0; i < len; i += 8) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
		}
		cr_assert_eq((uint64_t)rbd_write(img, off, len, buf), len);
	}
	free(buf);
	rbd_close(img);
	fst_rbd_sha512(vms, name, NULL, sha_out);
}

int fst_cli_json(cJSON **out, char **err, const char *env, const char *fmt, ...)
{
	char args[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	char *o = NULL;
	int st = fst_sh(&o, err, "%s %s --json %s", env ? env : "", fst_cli(), args);
	if (out)
		*out = cJSON_Parse(o);
	free(o);
	return st;
}

const char *fst_jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

char *fst_glance_status(const char *id)
{
	char path[256];
	snprintf(path, sizeof(path), "/v2/images/%s", id);
	char *body = NULL;
	int st = fst_glance(&body, "GET", path, NULL);
	char *res = strdup("");
	if (st == 200) {
		cJSON *j = cJSON_Parse(body);
		const char *s = fst_jstr(j, "status");
		free(res);
		res = strdup(s ? s : "?");
		cJSON_Delete(j);
	}
	free(body);
	return res;
}

char *fst_glance_prop(const char *id, const char *key)
{
	char path[256];
	snprintf(path, sizeof(path), "/v2/images/%s", id);
	char *body = NULL;
	char *res = NULL;
	if (fst_glance(&body, "GET", path, NULL) == 200) {
		cJSON *j = cJSON_Parse(body);
		const char *v = fst_jstr(j, key);
		res = v ? strdup(v) : NULL;
		cJSON_Delete(j);
	}
	free(body);
	return res;
}

char *fst_glance_ids_named(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "/v2/images?name=%s", name);
	char *body = NULL;
	int st = fst_glance(&body, "GET", path, NULL);
	cr_assert_eq(st, 200, "list images: %d", st);
	cJSON *j = cJSON_Parse(body);
	cJSON *arr = cJSON_GetObjectItem(j, "images");
	char *res = calloc(1, 4096);
	cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		strcat(res, fst_jstr(it, "id"));
		strcat(res, "\n");
	}
	cJSON_Delete(j);
	free(body);
	return res;
}

char *fst_proxy_start(pid_t *pid, const char *args)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "exec python3 %s/glance_proxy.py --upstream %s %s 2>/tmp/fst-proxy-%d.log",
		fst_env("FASTSNAP_TEST_SUPPORT"), fst_env("FASTSNAP_GLANCE_URL"), args ? args : "",
		(int)getpid());
	pid_t p = fork();
	cr_assert_geq(p, 0);
	if (p == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char line[64] = "";
	cr_assert_not_null(fgets(line, sizeof(line), f), "glance_proxy.py did not start");
	fclose(f);
	int port = 0;
	cr_assert_eq(sscanf(line, "PORT %d", &port), 1, "glance_proxy.py said '%s'", line);
	*pid = p;
	char *url = malloc(64);
	snprintf(url, 64, "http://127.0.0.1:%d", port);
	return url;
}

void fst_proxy_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}
