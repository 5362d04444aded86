/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/rbd_url.c: parse and format Glance rbd:// location URLs
 * (rbd://fsid/pool/image/snap, percent-quoted parts) and the CLI's
 * "pool/image" disk spec. No I/O; see rbd_url.h for the decisions.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/rbd_url.h"

#define FS_SHOW_MAX 160

/* A printable, bounded copy of untrusted input for messages. */
static const char *fs_show(char out[FS_SHOW_MAX + 4], const char *buf, size_t len)
{
	return fs_printable(out, FS_SHOW_MAX, buf, len);
}

static int fs_hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int fs_is_uuid(const char *s, size_t len)
{
	if (!s || len != 36)
		return 0;
	for (size_t i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (fs_hexval(s[i]) < 0) {
			return 0;
		}
	}
	return 1;
}

int fs_fsid_equal(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

void fs_rbd_url_free(fs_rbd_url *u)
{
	if (!u)
		return;
	free(u->fsid);
	free(u->pool);
	free(u->image);
	free(u->snap);
	memset(u, 0, sizeof(*u));
}

static const char *const fs_part_names[4] = { "fsid", "pool", "image", "snapshot" };

/* Decode one %-quoted part; returns NULL and sets *why on error. */
static char *fs_unquote(const char *s, size_t n, const char **why)
{
	char *out = malloc(n + 1);
	if (!out) {
		*why = "out of memory";
		return NULL;
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		int hi = i + 1 < n ? fs_hexval(s[i + 1]) : -1;
		int lo = i + 2 < n ? fs_hexval(s[i + 2]) : -1;
		if (hi < 0 || lo < 0) {
			free(out);
			*why = "malformed %-escape";
			return NULL;
		}
		if (hi == 0 && lo == 0) {
			free(out);
			*why = "%00 (NUL) is not allowed";
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

int fs_rbd_url_parse(fs_rbd_url *out, const char *buf, size_t len)
{
	char show[FS_SHOW_MAX + 4];
	memset(out, 0, sizeof(*out));
	if (!buf)
		return fs_err(FASTSNAP_EINVAL, "rbd URL: none given");
	static const char prefix[] = "rbd://";
	const size_t plen = sizeof(prefix) - 1;
	if (len < plen || memcmp(buf, prefix, plen) != 0)
		return fs_err(FASTSNAP_EINVAL, "rbd URL '%s': does not start with rbd://",
			fs_show(show, buf, len));
	if (memchr(buf, '\0', len))
		return fs_err(FASTSNAP_EINVAL, "rbd URL '%s': contains a NUL byte", fs_show(show, buf, len));
	const char *p = buf + plen, *end = buf + len;
	const char *part[4];
	size_t plens[4];
	size_t nparts = 0;
	for (;;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *stop = slash ? slash : end;
		if (nparts < 4) {
			part[nparts] = p;
			plens[nparts] = (size_t)(stop - p);
		}
		nparts++;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (nparts == 1)
		return fs_err(FASTSNAP_EINVAL, "rbd URL '%s': legacy form rbd://image has no fsid and pool; "
			"expected rbd://fsid/pool/image/snap", fs_show(show, buf, len));
	if (nparts != 4)
		return fs_err(FASTSNAP_EINVAL, "rbd URL '%s': %zu parts, expected rbd://fsid/pool/image/snap "
			"(a '/' inside a part must be written %%2F)", fs_show(show, buf, len), nparts);
	char *dec[4] = { NULL, NULL, NULL, NULL };
	for (size_t i = 0; i < 4; i++) {
		const char *why = NULL;
		if (plens[i] == 0) {
			why = "is empty";
		} else {
			for (size_t k = 0; k < plens[i]; k++) {
				unsigned char c = (unsigned char)part[i][k];
				if (c < 0x20 || c == 0x7f || c == ' ') {
					why = "contains a space or control character";
					break;
				}
			}
			if (!why)
				dec[i] = fs_unquote(part[i], plens[i], &why);
		}
		if (!why && i == 0 && !fs_is_uuid(dec[0], strlen(dec[0])))
			why = "is not a UUID (8-4-4-4-12 hex digits)";
		if (why) {
			for (size_t k = 0; k < 4; k++)
				free(dec[k]);
			if (!strcmp(why, "out of memory"))
				return fs_err(FASTSNAP_ENOMEM, "rbd URL: out of memory");
			return fs_err(FASTSNAP_EINVAL, "rbd URL '%s': %s %s; expected rbd://fsid/pool/image/snap",
				fs_show(show, buf, len), fs_part_names[i], why);
		}
	}
	out->fsid = dec[0];
	out->pool = dec[1];
	out->image = dec[2];
	out->snap = dec[3];
	return 0;
}

static int fs_quote(fs_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		unsigned char c = *q;
		int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '.' || c == '-' || c == '~';
		if (plain) {
			if (fs_buf_put(b, &c, 1) < 0)
				return -1;
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			if (fs_buf_put(b, e, 3) < 0)
				return -1;
		}
	}
	return 0;
}

char *fs_rbd_url_format(const char *fsid, const char *pool, const char *image, const char *snap)
{
	const char *parts[4] = { fsid, pool, image, snap };
	for (int i = 0; i < 4; i++)
		if (!parts[i] || !*parts[i])
			return NULL;
	fs_buf b = FS_BUF_INIT;
	int bad = fs_buf_puts(&b, "rbd://") < 0;
	for (int i = 0; i < 4 && !bad; i++) {
		if (i && fs_buf_puts(&b, "/") < 0)
			bad = 1;
		else if (fs_quote(&b, parts[i]) < 0)
			bad = 1;
	}
	if (bad) {
		fs_buf_free(&b);
		return NULL;
	}
	return fs_buf_detach(&b);
}

void fs_rbd_spec_free(fs_rbd_spec *s)
{
	if (!s)
		return;
	free(s->pool);
	free(s->image);
	s->pool = s->image = NULL;
}

int fs_rbd_spec_parse(fs_rbd_spec *out, const char *buf, size_t len)
{
	char show[FS_SHOW_MAX + 4];
	memset(out, 0, sizeof(*out));
	if (!buf || !len)
		return fs_err(FASTSNAP_EINVAL, "disk '': expected POOL/IMAGE");
	const char *why = NULL;
	for (size_t i = 0; i < len && !why; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < 0x20 || c == 0x7f)
			why = "contains a control character";
		else if (c == '@')
			why = "contains '@' (give the disk, not a snapshot)";
	}
	const char *slash = memchr(buf, '/', len);
	if (!why && !slash)
		why = "has no '/'";
	if (!why && memchr(slash + 1, '/', len - (size_t)(slash + 1 - buf)))
		why = "has more than one '/' (namespaces are not supported)";
	if (!why && slash == buf)
		why = "has an empty pool";
	if (!why && slash + 1 == buf + len)
		why = "has an empty image name";
	if (why)
		return fs_err(FASTSNAP_EINVAL, "disk '%s' %s; expected POOL/IMAGE", fs_show(show, buf, len), why);
	out->pool = strndup(buf, (size_t)(slash - buf));
	out->image = strndup(slash + 1, len - (size_t)(slash + 1 - buf));
	if (!out->pool || !out->image) {
		fs_rbd_spec_free(out);
		return fs_err(FASTSNAP_ENOMEM, "disk spec: out of memory");
	}
	return 0;
}
