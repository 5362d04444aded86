/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/error_body.c: the message of a server's error body (see
 * error_body.h): JSON, HTML or text made into one clean line. Pure: no
 * I/O, no state; fuzzed by tests/fuzz/fuzz_error_body.c.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "clients/error_body.h"

static const char *json_message(const cJSON *o)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
	if (cJSON_IsString(m) && m->valuestring[0])
		return m->valuestring;
	m = cJSON_GetObjectItemCaseSensitive(o, "explanation");
	if (cJSON_IsString(m) && m->valuestring[0])
		return m->valuestring;
	m = cJSON_GetObjectItemCaseSensitive(o, "detail");
	if (cJSON_IsString(m) && m->valuestring[0])
		return m->valuestring;
	m = cJSON_GetObjectItemCaseSensitive(o, "title");
	if (cJSON_IsString(m) && m->valuestring[0])
		return m->valuestring;
	return NULL;
}

/* Strip tags, decode the common entities, collapse whitespace. */
static char *text_of(const char *buf, size_t len)
{
	fs_buf b = FS_BUF_INIT;
	int intag = 0, space = 0;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (intag) {
			if (c == '>')
				intag = 0;
			continue;
		}
		if (c == '<') {
			intag = 1;
			space = 1;
			continue;
		}
		if (c == '&') {
			static const struct { const char *e; char c; } ents[] = {
				{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
				{ "&quot;", '"' }, { "&#39;", '\'' }, { "&#x27;", '\'' },
				{ "&nbsp;", ' ' } };
			int done = 0;
			for (size_t e = 0; e < sizeof(ents) / sizeof(ents[0]); e++) {
				size_t el = strlen(ents[e].e);
				if (i + el <= len && memcmp(buf + i, ents[e].e, el) == 0) {
					c = ents[e].c;
					i += el - 1;
					done = 1;
					break;
				}
			}
			(void)done;
		}
		if (isspace((unsigned char)c) || (unsigned char)c < 32 || c == 0x7f) {
			space = 1;
			continue;
		}
		if (space && b.len)
			fs_buf_put(&b, " ", 1);
		space = 0;
		fs_buf_put(&b, &c, 1);
	}
	if (b.oom) {
		fs_buf_free(&b);
		return NULL;
	}
	return fs_buf_detach(&b);
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t want;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		want = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		want = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		want = 4;
	else
		return 0;
	if (want > n)
		return 0;
	for (size_t i = 1; i < want; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* no overlong 3/4-byte forms, no surrogates, nothing above U+10FFFF */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return want;
}

/* A message from a server, made fit for a log line or a JSON string:
 * bytes that are not valid UTF-8 become '?', and a text over `max` bytes
 * is cut at a character boundary; no blank at either end. In place. */
static void clean_text(char *t, size_t max)
{
	size_t n = strlen(t);
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq((const unsigned char *)t + i, n - i);
		if (k == 0) {
			t[i] = '?';
			k = 1;
		}
		if (i + k > max) {      /* the character would cross the cap */
			n = i;
			break;
		}
		i += k;
	}
	t[n] = '\0';
	while (n && t[n - 1] == ' ')
		t[--n] = '\0';
}

static const char *memfind(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

char *fs_error_body_message(const char *buf, size_t len)
{
	if (!buf || !len)
		return strdup("");
	size_t i = 0;
	while (i < len && isspace((unsigned char)buf[i]))
		i++;
	if (i < len && buf[i] == '{') {
		cJSON *j = cJSON_ParseWithLength(buf, len);
		if (j) {
			const char *m = NULL;
			if (cJSON_IsObject(j)) {
				m = json_message(j);
				for (const cJSON *c = j->child; !m && c; c = c->next)
					if (cJSON_IsObject(c))
						m = json_message(c);
			}
			char *r = m ? text_of(m, strlen(m)) : NULL;
			cJSON_Delete(j);
			if (r) {
				clean_text(r, 1024);
				return r;
			}
		}
	}
	/* HTML: the text after </h1> is Glance's (webob's) message. */
	const char *start = buf, *end = buf + len;
	const char *h1 = memfind(buf, len, "</h1>");
	if (h1) {
		start = h1 + 5;
		const char *be = memfind(start, (size_t)(end - start), "</body>");
		if (be)
			end = be;
	} else {
		const char *body = memfind(buf, len, "<body");
		if (body)
			start = body;
	}
	char *t = text_of(start, (size_t)(end - start));
	if (t && !*t && h1) {
		free(t);
		t = text_of(buf, len);
	}
	if (t)
		clean_text(t, 1024);
	return t;
}
