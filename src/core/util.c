/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/util.c: small shared helpers: string duplication and formatting,
 * a growable buffer, a string vector, monotonic time, and log dispatch.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <errno.h>
#include <sys/random.h>
#include "core/common.h"

const char *fastsnap_version(int *major, int *minor, int *patch)
{
	if (major) *major = FASTSNAP_VERSION_MAJOR;
	if (minor) *minor = FASTSNAP_VERSION_MINOR;
	if (patch) *patch = FASTSNAP_VERSION_PATCH;
	return FASTSNAP_VERSION_STRING;
}

char *fs_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

char *fs_strndup(const char *s, size_t n)
{
	return s ? strndup(s, n) : NULL;
}

char *fs_vasprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (s)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *fs_asprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = fs_vasprintf(fmt, ap);
	va_end(ap);
	return s;
}

int fs_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

char *fs_trim(char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int fs_name_is_secret(const char *name, size_t len)
{
	static const char *const words[] = { "token", "auth", "secret", "password", "passwd",
		"cookie", "credential", "key" };
	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t wl = strlen(words[w]);
		for (size_t i = 0; i + wl <= len; i++)
			if (strncasecmp(name + i, words[w], wl) == 0)
				return 1;
	}
	return 0;
}

const char *fs_printable(char *out, size_t max, const char *buf, size_t len)
{
	size_t n = len < max ? len : max;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (len > n) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

double fs_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int fs_buf_grow(fs_buf *b, size_t extra)
{
	if (b->oom)
		return -1;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = realloc(b->ptr, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int fs_buf_put(fs_buf *b, const void *data, size_t len)
{
	if (fs_buf_grow(b, len) < 0)
		return -1;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int fs_buf_puts(fs_buf *b, const char *s)
{
	return fs_buf_put(b, s, strlen(s));
}

int fs_buf_printf(fs_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || fs_buf_grow(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *fs_buf_detach(fs_buf *b)
{
	char *p = b->ptr;
	if (!p)
		p = strdup("");
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void fs_buf_free(fs_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

int fs_strv_push(fs_strv *sv, const char *s)
{
	if (sv->n == sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 8;
		char **v = realloc(sv->v, cap * sizeof(*v));
		if (!v)
			return -1;
		sv->v = v;
		sv->cap = cap;
	}
	char *c = strdup(s ? s : "");
	if (!c)
		return -1;
	sv->v[sv->n++] = c;
	return 0;
}

void fs_strv_free(fs_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

int fs_uuid4(char out[37])
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno != EINTR)
			return fs_err(FASTSNAP_EIO, "getrandom: %s", strerror(errno));
		if (n > 0)
			got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);   /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		b[14], b[15]);
	return 0;
}

void fs_log(const fs_logger *lg, fastsnap_log_level lvl, const char *fmt, ...)
{
	if (!lg || !lg->cb)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	lg->cb(lvl, line, lg->payload);
}
