/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/util.c: the helpers of bench/util.h (the run's settings G, clock,
 * ids, shell commands, HTTP with the identity headers, Glance deletion, OSD
 * counters, rbd du and purge).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "util.h"

fsb_run G;
volatile int fsb_stop;
char fsb_rbd_admin[1024];

double fsb_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fsb_uuid(char out[37])
{
	unsigned char b[16];
	RAND_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		b[13], b[14], b[15]);
}

char *fsb_cmd_out(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return NULL;
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	size_t n;
	while (s && (n = fread(s + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 2048) {
			char *t = realloc(s, cap *= 2);
			if (!t) {
				free(s);
				s = NULL;
			}
			s = t;
		}
	}
	int st = pclose(p);
	if (!s)
		return NULL;
	s[len] = 0;
	if (st != 0) {
		free(s);
		return NULL;
	}
	return s;
}

int fsb_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

size_t fsb_collect(char *d, size_t sz, size_t n, void *ud)
{
	fsb_buf *b = ud;
	char *t = realloc(b->p, b->n + sz * n + 1);
	if (!t)
		return 0;
	memcpy(t + b->n, d, sz * n);
	b->n += sz * n;
	t[b->n] = 0;
	b->p = t;
	return sz * n;
}

void *fsb_curl_new(void)
{
	return curl_easy_init();
}

void fsb_curl_free(void *c)
{
	if (c)
		curl_easy_cleanup(c);
}

/* FSB_SERVICE_HEADER when FASTSNAP_GLANCE_HEADERS does not carry that
 * header already, else NULL: the service token goes once (a second
 * X-Service-Token makes Glance 30 refuse the location POST with 403, "http
 * store must be enabled to use location API by normal user"). */
const char *fsb_svc_hdr_extra(void)
{
	const char *colon = G.svc_hdr ? strchr(G.svc_hdr, ':') : NULL;
	if (!colon)
		return NULL;
	for (int i = 0; i < G.nhdr; i++)
		if (!strncasecmp(G.hdr[i], G.svc_hdr, (size_t)(colon - G.svc_hdr + 1)))
			return NULL;
	return G.svc_hdr;
}

long fsb_http_on(void *curl, const char *method, const char *url, const char *ctype,
	const char *body, char **resp, int extra_svc)
{
	CURL *c = curl;
	struct curl_slist *h = NULL;
	char ct[160];
	for (int i = 0; i < G.nhdr; i++)
		h = curl_slist_append(h, G.hdr[i]);
	const char *svc = fsb_svc_hdr_extra();
	if (extra_svc && svc)
		h = curl_slist_append(h, svc);
	if (ctype) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		h = curl_slist_append(h, ct);
	}
	fsb_buf b = { 0 };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (!body)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L), curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fsb_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	long st = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(h);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	if (resp)
		*resp = b.p;
	else
		free(b.p);
	return st;
}

long fsb_http(const char *method, const char *url, const char *ctype, const char *body,
	char **resp, int extra_svc)
{
	void *c = fsb_curl_new();
	long st = fsb_http_on(c, method, url, ctype, body, resp, extra_svc);
	fsb_curl_free(c);
	return st;
}

void fsb_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fastsnap-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

const char *fsb_envd(const char *k, const char *d)
{
	const char *v = getenv(k);
	return v && *v ? v : d;
}

char *fsb_trim(char *s)
{
	if (!s)
		return s;
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = 0;
	return s;
}

void fsb_split_headers(char *headers)
{
	G.nhdr = 0;
	for (char *t = strtok(headers, "|"); t && G.nhdr < 32; t = strtok(NULL, "|"))
		G.hdr[G.nhdr++] = t;
}

/* sum of a perf counter over every OSD admin socket; -1 if unknown */
long long fsb_osd_counter(const char *sect, const char *name)
{
	long long sum = -1;
	for (int i = 0; i < G.nasok; i++) {
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "ceph --admin-daemon %s perf dump 2>/dev/null", G.asok[i]);
		char *s = fsb_cmd_out(cmd);
		cJSON *j = s ? cJSON_Parse(s) : NULL;
		free(s);
		cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(j, sect), name);
		if (cJSON_IsNumber(v))
			sum = (sum < 0 ? 0 : sum) + (long long)v->valuedouble;
		cJSON_Delete(j);
	}
	return sum;
}

/* used bytes of pool/image and its snapshots (rbd du), -1 if unknown */
long long fsb_rbd_du(const char *pool, const char *image)
{
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "%s du --format json %s/%s 2>/dev/null", fsb_rbd_admin, pool, image);
	char *s = fsb_cmd_out(cmd);
	cJSON *j = s ? cJSON_Parse(s) : NULL;
	free(s);
	long long sum = -1;
	cJSON *im;
	cJSON_ArrayForEach(im, cJSON_GetObjectItem(j, "images")) {
		cJSON *u = cJSON_GetObjectItem(im, "used_size");
		if (cJSON_IsNumber(u))
			sum = (sum < 0 ? 0 : sum) + (long long)u->valuedouble;
	}
	cJSON_Delete(j);
	return sum;
}

/* On Glance >= 29 an image's location_import task goes on hashing the
 * clone after active: it is waited for (60 s at most) before the delete,
 * as a fastsnap run waits for it, so that no next cell runs beside it. */
void fsb_glance_delete_on(void *curl, const char *id)
{
	char url[512];
	snprintf(url, sizeof(url), "%s/v2/images/%s", G.glance, id);
	for (double t0 = fsb_now(); G.glance_post && fsb_now() - t0 < 60; usleep(100000)) {
		char *resp = NULL;
		long st = fsb_http_on(curl, "GET", url, NULL, NULL, &resp, 0);
		int busy = st == 200 && resp && strstr(resp, "\"os_glance_import_task\"");
		free(resp);
		if (!busy)
			break;
	}
	fsb_http_on(curl, "DELETE", url, NULL, NULL, NULL, 0);
}

void fsb_glance_delete(const char *id)
{
	void *c = fsb_curl_new();
	fsb_glance_delete_on(c, id);
	fsb_curl_free(c);
}

/* remove an RBD image with all its snapshots (unprotecting them first) */
void fsb_rbd_purge(const char *pool, const char *image)
{
	fsb_sh("for s in $(%s snap ls --format json %s/%s 2>/dev/null | python3 -c "
		"'import json,sys; print(\" \".join(x[\"name\"] for x in json.load(sys.stdin)))' "
		"2>/dev/null); do %s snap unprotect %s/%s@$s >/dev/null 2>&1; "
		"%s snap rm --no-progress %s/%s@$s >/dev/null 2>&1; done; "
		"%s rm --no-progress %s/%s >/dev/null 2>&1",
		fsb_rbd_admin, pool, image, fsb_rbd_admin, pool, image, fsb_rbd_admin, pool, image, fsb_rbd_admin, pool, image);
}
