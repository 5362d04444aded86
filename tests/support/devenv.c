/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/support/devenv.c: integration-test helpers over the dev cluster:
 * env lookup, engine options, admin rados, RBD fill/hash/inspect, shell
 * and curl helpers. Uses admin credentials only for setup and checks;
 * fastsnap itself always runs as client.fastsnap.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "devenv.h"

const char *fst_env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		cr_assert_fail("%s is not set: run the integration tests through tests/run, which starts "
			"the dev cluster (ceph-dev/up) and sources its env file", name);
	return v;
}

void fst_require_env(void)
{
	fst_env("CEPH_CONF");
	fst_env("FASTSNAP_GLANCE_URL");
	fst_env("FASTSNAP_DEV_ADMIN_KEYRING");
}

fastsnap_engine_opts fst_engine_opts(void)
{
	fst_require_env();
	fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
	o.use_env = 1;
	return o;
}

fastsnap_engine *fst_engine(void)
{
	fastsnap_engine_opts o = fst_engine_opts();
	fastsnap_engine *e = NULL;
	int r = fastsnap_engine_open(&e, &o);
	if (r < 0)
		cr_assert_fail("fastsnap_engine_open: %s", fastsnap_error_last());
	return e;
}

rados_t fst_admin_rados(void)
{
	fst_require_env();
	rados_t c;
	cr_assert_eq(rados_create(&c, "admin"), 0);
	cr_assert_eq(rados_conf_read_file(c, fst_env("CEPH_CONF")), 0);
	cr_assert_eq(rados_conf_set(c, "keyring", fst_env("FASTSNAP_DEV_ADMIN_KEYRING")), 0);
	int r = rados_connect(c);
	if (r < 0)
		cr_assert_fail("admin rados_connect: %s", strerror(-r));
	return c;
}

rados_ioctx_t fst_ioctx(rados_t c, const char *pool)
{
	rados_ioctx_t io;
	int r = rados_ioctx_create(c, pool, &io);
	if (r < 0)
		cr_assert_fail("rados_ioctx_create(%s): %s", pool, strerror(-r));
	return io;
}

char *fst_unique(const char *prefix)
{
	static unsigned counter;
	char buf[128];
	snprintf(buf, sizeof(buf), "%s-%d-%u-%04x", prefix, (int)getpid(), counter++,
		(unsigned)(rand() ^ (int)time(NULL)) & 0xffff);
	return strdup(buf);
}

static void hex(const unsigned char *d, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	out[2 * n] = '\0';
}

/* End the digest md and free it; its hex in out. */
static void digest_hex(EVP_MD_CTX *md, char out[129])
{
	unsigned char d[64];
	unsigned dl;
	EVP_DigestFinal_ex(md, d, &dl);
	EVP_MD_CTX_free(md);
	hex(d, dl, out);
}

#define OBJ (4ULL << 20)

void fst_rbd_create_filled(rados_ioctx_t io, const char *name, uint64_t size, int features,
	unsigned seed, int (*pattern)(uint64_t obj), char sha_out[129])
{
	int order = 22;
	int r = rbd_create2(io, name, size, (uint64_t)features, &order);
	if (r < 0)
		cr_assert_fail("rbd_create2(%s): %s", name, strerror(-r));
	rbd_image_t img;
	cr_assert_eq(rbd_open(io, name, &img, NULL), 0);
	char *buf = malloc(OBJ);
	char *zero = calloc(1, OBJ);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha512(), NULL);
	unsigned long long x = seed * 2654435761ULL + 1;
	for (uint64_t off = 0, obj = 0; off < size; off += OBJ, obj++) {
		uint64_t len = size - off < OBJ ? size - off : OBJ;
		if (!pattern || pattern(obj)) {
			for (uint64_t i = 0; i < len; i += 8) {
				x ^= x << 13; x ^= x >> 7; x ^= x << 17;
				memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
			}
			ssize_t w = rbd_write(img, off, len, buf);
			cr_assert_eq((uint64_t)w, len, "rbd_write %s at %llu: %zd", name,
				(unsigned long long)off, w);
			EVP_DigestUpdate(md, buf, len);
		} else {
			/* A hole reads as zeros: unless the parent has data there. */
			ssize_t rd = rbd_read(img, off, len, buf);
			cr_assert_eq((uint64_t)rd, len);
			EVP_DigestUpdate(md, buf, len);
		}
	}
	digest_hex(md, sha_out);
	free(buf);
	free(zero);
	rbd_close(img);
}

void fst_rbd_sha512(rados_ioctx_t io, const char *name, const char *snap, char out[129])
{
	rbd_image_t img;
	int r = rbd_open_read_only(io, name, &img, snap);
	if (r < 0)
		cr_assert_fail("rbd_open_read_only(%s@%s): %s", name, snap ? snap : "", strerror(-r));
	uint64_t size;
	cr_assert_eq(rbd_get_size(img, &size), 0);
	char *buf = malloc(OBJ);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha512(), NULL);
	for (uint64_t off = 0; off < size; off += OBJ) {
		uint64_t len = size - off < OBJ ? size - off : OBJ;
		ssize_t rd = rbd_read(img, off, len, buf);
		cr_assert_eq((uint64_t)rd, len);
		EVP_DigestUpdate(md, buf, len);
	}
	digest_hex(md, out);
	free(buf);
	rbd_close(img);
}

static int snap_count(rados_ioctx_t io, const char *name, char **names, int want_trash)
{
	rbd_image_t img;
	if (names)
		*names = NULL;
	if (rbd_open_read_only(io, name, &img, NULL) < 0)
		return -1;
	rbd_snap_info_t snaps[64];
	int max = 64;
	int n = rbd_snap_list(img, snaps, &max);
	int users = 0;
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(snaps[i].name) + 1;
	if (names)
		*names = calloc(1, len);
	for (int i = 0; i < n; i++) {
		/* Only user snapshots: a clone-v2 parent removed while it has
		 * children waits in the trash namespace until they are gone. */
		rbd_snap_namespace_type_t t = RBD_SNAP_NAMESPACE_TYPE_USER;
		rbd_snap_get_namespace_type(img, snaps[i].id, &t);
		if ((t == RBD_SNAP_NAMESPACE_TYPE_TRASH) != (want_trash != 0))
			continue;
		users++;
		if (names) {
			strcat(*names, snaps[i].name);
			strcat(*names, "\n");
		}
	}
	if (n >= 0)
		rbd_snap_list_end(snaps);
	rbd_close(img);
	return n < 0 ? n : users;
}

int fst_rbd_snap_count(rados_ioctx_t io, const char *name, char **names)
{
	return snap_count(io, name, names, 0);
}

int fst_rbd_trash_snap_count(rados_ioctx_t io, const char *name)
{
	return snap_count(io, name, NULL, 1);
}

int fst_rbd_exists(rados_ioctx_t io, const char *name)
{
	rbd_image_t img;
	if (rbd_open_read_only(io, name, &img, NULL) < 0)
		return 0;
	rbd_close(img);
	return 1;
}

void fst_rbd_remove_all(rados_ioctx_t io, const char *name)
{
	rbd_image_t img;
	if (rbd_open(io, name, &img, NULL) == 0) {
		rbd_snap_info_t snaps[64];
		int max = 64;
		int n = rbd_snap_list(img, snaps, &max);
		for (int i = 0; i < n; i++) {
			int prot = 0;
			if (rbd_snap_is_protected(img, snaps[i].name, &prot) == 0 && prot)
				rbd_snap_unprotect(img, snaps[i].name);
			rbd_snap_remove(img, snaps[i].name);
		}
		if (n >= 0)
			rbd_snap_list_end(snaps);
		rbd_close(img);
	}
	rbd_remove(io, name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *fst_rbd_list(rados_ioctx_t io)
{
	size_t sz = 0;
	rbd_image_spec_t *specs = NULL;
	int r;
	while ((r = rbd_list2(io, specs, &sz)) == -ERANGE) {
		free(specs);
		specs = calloc(sz, sizeof(*specs));
	}
	cr_assert_geq(r, 0, "rbd_list2: %s", strerror(-r));
	char **names = calloc(sz + 1, sizeof(char *));
	size_t len = 1;
	for (size_t i = 0; i < sz; i++) {
		names[i] = specs[i].name;
		len += strlen(names[i]) + 1;
	}
	qsort(names, sz, sizeof(char *), cmp_str);
	char *out = calloc(1, len);
	for (size_t i = 0; i < sz; i++) {
		strcat(out, names[i]);
		strcat(out, "\n");
	}
	free(names);
	if (specs)
		rbd_image_spec_list_cleanup(specs, sz);
	free(specs);
	return out;
}

static char *slurp(FILE *f)
{
	size_t cap = 4096, len = 0;
	char *b = malloc(cap);
	size_t n;
	while ((n = fread(b + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			b = realloc(b, cap);
		}
	}
	b[len] = '\0';
	return b;
}

int fst_sh(char **out, char **err, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char errpath[] = "/tmp/fst-err-XXXXXX";
	int efd = mkstemp(errpath);
	cr_assert_geq(efd, 0);
	close(efd);
	char full[8400];
	snprintf(full, sizeof(full), "( %s ) 2>%s", cmd, errpath);
	FILE *p = popen(full, "r");
	cr_assert_not_null(p);
	char *o = slurp(p);
	int st = pclose(p);
	FILE *ef = fopen(errpath, "r");
	char *e = ef ? slurp(ef) : strdup("");
	if (ef)
		fclose(ef);
	unlink(errpath);
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

const char *fst_cli(void)
{
	const char *c = getenv("FASTSNAP_CLI");
	return c && *c ? c : "./fastsnap";
}

static void curl_headers(char *out, size_t cap)
{
	out[0] = '\0';
	const char *h = getenv("FASTSNAP_GLANCE_HEADERS");
	if (!h)
		return;
	char *dup = strdup(h), *save = NULL;
	for (char *t = strtok_r(dup, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
		size_t l = strlen(out);
		snprintf(out + l, cap - l, " -H '%s'", t);
	}
	free(dup);
}

int fst_glance(char **body, const char *method, const char *path, const char *extra)
{
	char hdrs[2048];
	curl_headers(hdrs, sizeof(hdrs));
	char *out = NULL;
	char tmp[] = "/tmp/fst-body-XXXXXX";
	int fd = mkstemp(tmp);
	close(fd);
	fst_sh(&out, NULL, "curl -s -o %s -w '%%{http_code}' -X %s%s %s '%s%s'", tmp, method, hdrs,
		extra ? extra : "", fst_env("FASTSNAP_GLANCE_URL"), path);
	int status = atoi(out ? out : "0");
	free(out);
	if (body) {
		FILE *f = fopen(tmp, "r");
		*body = f ? slurp(f) : strdup("");
		if (f)
			fclose(f);
	}
	unlink(tmp);
	return status;
}

void fst_glance_download_sha512(const char *image_id, char out[129])
{
	char hdrs[2048];
	curl_headers(hdrs, sizeof(hdrs));
	char *o = NULL;
	int rc = fst_sh(&o, NULL, "curl -sf%s '%s/v2/images/%s/file' | sha512sum | cut -d' ' -f1",
		hdrs, fst_env("FASTSNAP_GLANCE_URL"), image_id);
	cr_assert_eq(rc, 0);
	cr_assert_geq(strlen(o), 128, "download of %s failed", image_id);
	memcpy(out, o, 128);
	out[128] = '\0';
	free(o);
}

char *fst_glance_image_ids(void)
{
	char hdrs[2048];
	curl_headers(hdrs, sizeof(hdrs));
	char *o = NULL;
	int rc = fst_sh(&o, NULL, "curl -sf%s '%s/v2/images?limit=1000' | python3 -c 'import json,sys; "
		"print(\"\\n\".join(sorted(i[\"id\"]+\":\"+i[\"status\"] for i in json.load(sys.stdin)[\"images\"])))'",
		hdrs, fst_env("FASTSNAP_GLANCE_URL"));
	cr_assert_eq(rc, 0, "listing Glance images failed");
	return o;
}

void fst_pools_open(rados_t *c, rados_ioctx_t *vms, rados_ioctx_t *images)
{
	*c = fst_admin_rados();
	*vms = fst_ioctx(*c, "vms");
	*images = fst_ioctx(*c, "images");
}

void fst_pools_close(rados_t c, rados_ioctx_t vms, rados_ioctx_t images)
{
	rados_ioctx_destroy(vms);
	rados_ioctx_destroy(images);
	rados_shutdown(c);
}

int fst_rbd_parent(rados_ioctx_t io, const char *name, char **parent, int *in_trash)
{
	rbd_image_t img;
	int r = rbd_open_read_only(io, name, &img, NULL);
	cr_assert_eq(r, 0, "cannot open %s: %s", name, strerror(-r));
	rbd_linked_image_spec_t pi;
	rbd_snap_spec_t ps;
	r = rbd_get_parent(img, &pi, &ps);
	rbd_close(img);
	if (r == -ENOENT)
		return 0;
	cr_assert_eq(r, 0, "rbd_get_parent(%s): %s", name, strerror(-r));
	if (parent)
		*parent = strdup(pi.image_name);
	if (in_trash)
		*in_trash = ps.namespace_type == RBD_SNAP_NAMESPACE_TYPE_TRASH;
	rbd_linked_image_spec_cleanup(&pi);
	rbd_snap_spec_cleanup(&ps);
	return 1;
}

const char *fst_stack(void)
{
	const char *s = getenv("FASTSNAP_DEV_STACK");
	return s && !strcmp(s, "trixie") ? "trixie" : "bookworm";
}

void fst_world_take(fst_world *w, rados_ioctx_t images, rados_ioctx_t vms)
{
	w->glance = fst_glance_image_ids();
	w->images = fst_rbd_list(images);
	w->vms = fst_rbd_list(vms);
}

void fst_world_free(fst_world *w)
{
	free(w->glance);
	free(w->images);
	free(w->vms);
	memset(w, 0, sizeof(*w));
}

int fst_world_changed(const fst_world *before, rados_ioctx_t images, rados_ioctx_t vms,
	char **report)
{
	fst_world now;
	fst_world_take(&now, images, vms);
	const char *what[] = { "Glance's images", "pool images", "pool vms" };
	const char *was[] = { before->glance, before->images, before->vms };
	const char *is[] = { now.glance, now.images, now.vms };
	size_t len = 0, cap = 1;
	for (int i = 0; i < 3; i++)
		cap += strlen(what[i]) + strlen(was[i]) + strlen(is[i]) + 64;
	char *r = calloc(1, cap);
	cr_assert_not_null(r);
	for (int i = 0; i < 3; i++)
		if (strcmp(was[i], is[i]) != 0)
			len += (size_t)snprintf(r + len, cap - len, "%s changed:\nbefore:\n%s\nafter:\n%s\n",
				what[i], was[i], is[i]);
	fst_world_free(&now);
	if (!len) {
		free(r);
		r = NULL;
	}
	if (report)
		*report = r;
	else
		free(r);
	return len > 0;
}

void fst_world_same(const fst_world *before, rados_ioctx_t images, rados_ioctx_t vms,
	const char *what)
{
	char *report = NULL;
	int changed = fst_world_changed(before, images, vms, &report);
	cr_assert_not(changed, "%s: %s", what, report);
	free(report);
}

void fst_nova_case_make(fst_nova_case *c, rados_ioctx_t vms, rados_ioctx_t images,
	const char *prefix, uint64_t base_size, unsigned base_seed, uint64_t size, unsigned seed,
	int (*pattern)(uint64_t obj))
{
	c->base = fst_base_image("fast", base_size, base_seed);
	c->disk = fst_unique(prefix);
	fst_nova_disk(vms, images, c->base, c->disk, size, seed, pattern, c->sha);
}

void fst_nova_case_free(fst_nova_case *c, rados_ioctx_t vms)
{
	fst_rbd_remove_all(vms, c->disk);
	fst_glance_delete(c->base);
	free(c->base);
	free(c->disk);
}

int fst_has_edge(void)
{
	const char *c = getenv("FASTSNAP_DEV_EDGE_CEPH_CONF");
	return c && *c;
}
