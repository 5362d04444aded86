/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/header.c: the one validator of "Name: value" HTTP header lines (see
 * header.h): one character rule for names, one for values, and messages
 * that never show a value or a secret-looking name.
 */
#include <ctype.h>
#include <string.h>

#include "core/header.h"

static int fs_is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Printable, bounded copy of a header name for messages. */
static const char *fs_show_name(char out[72], const char *s, size_t n)
{
	if (fs_name_is_secret(s, n))
		return "<redacted>";
	return fs_printable(out, 64, s, n);
}

int fs_header_check(const char *hdr, size_t len, const char *where, size_t *name_len,
	const char **value, size_t *value_len)
{
	char show[72];
	if (!where)
		where = "HTTP header";
	if (!hdr)
		return fs_err(FASTSNAP_EINVAL, "%s: header is NULL", where);
	const char *colon = memchr(hdr, ':', len);
	if (!colon)
		return fs_err(FASTSNAP_EINVAL, "%s: header '%s' is not 'Name: value' (no ':')", where,
			fs_show_name(show, hdr, len));
	size_t nlen = (size_t)(colon - hdr);
	if (nlen == 0)
		return fs_err(FASTSNAP_EINVAL, "%s: header has an empty name; expected 'Name: value'",
			where);
	for (size_t i = 0; i < nlen; i++)
		if (!fs_is_tchar((unsigned char)hdr[i]))
			return fs_err(FASTSNAP_EINVAL, "%s: header name '%s' is not a valid token "
				"(no spaces, colons or control characters)", where,
				fs_show_name(show, hdr, nlen));
	const char *v = colon + 1, *end = hdr + len;
	for (const char *q = v; q < end; q++) {
		if (*q == '\r' || *q == '\n')
			return fs_err(FASTSNAP_EINVAL, "%s: header '%s' has CR or LF in its value "
				"(refused)", where, fs_show_name(show, hdr, nlen));
		if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
			return fs_err(FASTSNAP_EINVAL, "%s: header '%s' has a control character in "
				"its value", where, fs_show_name(show, hdr, nlen));
	}
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (v == end)
		return fs_err(FASTSNAP_EINVAL, "%s: header '%s' has an empty value", where,
			fs_show_name(show, hdr, nlen));
	if (name_len)
		*name_len = nlen;
	if (value)
		*value = v;
	if (value_len)
		*value_len = (size_t)(end - v);
	return 0;
}
