/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/config.c: reads the nova.conf-style INI config file with inih.
 *
 * inih is fed through ini_parse_stream() with our own line reader over the
 * (buf, len) buffer, so that the parser does no I/O, line numbers are
 * exact, and lines longer than inih's fixed line buffer (200 bytes in
 * Debian's build) are not silently truncated: a long comment is skipped,
 * and a long "name = value" line reaches the handler with a marker value,
 * which the handler replaces by the full text taken from the buffer. We
 * never change inih's runtime globals (ini_max_line, ...): they are
 * process-wide.
 *
 * Values follow oslo.config: surrounding quotes are removed, an empty value
 * means unset, a repeated key (or a continuation line) replaces the earlier
 * value. inih strips an inline comment that starts with " ;".
 */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/secret.h"

#define FS_CONFIG_MAX_FILE (16u * 1024u * 1024u)
#define FS_LONG_MARK "\x01"

typedef struct {
	const char *name;       /* for messages */
	const char *buf;
	size_t len;
	size_t pos;
	int lineno;             /* the line last handed to inih */
	fs_config *cfg;
	/* the line last served was longer than inih's buffer */
	int long_line;
	const char *long_val;   /* raw text of its value */
	size_t long_val_len;
	/* first error we found ourselves (0: none) */
	int err_line;
	int err_code;
	char err_msg[512];
} cfg_parser;

void fs_config_init(fs_config *c)
{
	memset(c, 0, sizeof(*c));
	c->glance_num_retries = -1;
	c->glance_insecure = -1;
	c->glance_copy_all_must_succeed = -1;
	c->su_send = -1;
	c->clone_depth_cap = -1;
	c->ceph_op_timeout_s = -1;
	c->connect_timeout_ms = -1;
	c->low_speed_time_s = -1;
	c->call_deadline_s = -1;
	c->glance_cache_s = -1;
}

void fs_config_free(fs_config *c)
{
	if (!c)
		return;
	/* every string wiped, to miss none: the service user's password and
	 * secret among them, as fs_settings_free does */
	char **strs[] = { &c->glance_api_server, &c->glance_endpoint_override, &c->glance_store,
		&c->glance_copy_to, &c->glance_cafile, &c->glance_certfile, &c->glance_keyfile, &c->glance_region_name,
		&c->glance_interface, &c->images_rbd_pool, &c->snapshot_image_format,
		&c->images_rbd_ceph_conf, &c->rbd_user, &c->images_type, &c->keyring,
		&c->flatten_helper, &c->su_auth_type };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		fs_secret_free(*strs[i]);
#define FREE_SU(name, auth_types) fs_secret_free(c->su.name);
	FS_SERVICE_USER_FIELDS(FREE_SU)
#undef FREE_SU
	fs_config_init(c);
}

/* Does the option named line[0..n) hold a secret (password, *_secret,
 * *token*)? Its value then never enters inih's line buffer. */
static int cfg_secret_name(const char *line, size_t n)
{
	while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	static const char *const words[] = { "password", "secret", "token" };
	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t k = strlen(words[w]);
		for (size_t i = 0; i + k <= n; i++)
			if (!strncasecmp(line + i, words[w], k))
				return 1;
	}
	return 0;
}

static void cfg_fail(cfg_parser *p, int code, const char *fmt, ...) FS_PRINTF(3, 4);
static void cfg_fail(cfg_parser *p, int code, const char *fmt, ...)
{
	if (p->err_line)
		return;        /* keep the first */
	p->err_line = p->lineno;
	p->err_code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err_msg, sizeof(p->err_msg), fmt, ap);
	va_end(ap);
}

/* fgets-style reader over the buffer: one whole line per call, always
 * ending in '\n' (inih discards "the rest of the line" otherwise). */
static char *line_reader(char *str, int num, void *stream)
{
	cfg_parser *p = stream;
	if (p->pos >= p->len || num < 8)
		return NULL;
	const char *line = p->buf + p->pos;
	const char *nl = memchr(line, '\n', p->len - p->pos);
	size_t n = nl ? (size_t)(nl - line) : p->len - p->pos;
	p->pos += n + (nl ? 1 : 0);
	p->lineno++;
	p->long_line = 0;
	size_t sep0 = 0;
	while (sep0 < n && line[sep0] != '=' && line[sep0] != ':')
		sep0++;
	int secret = n && line[0] != ' ' && line[0] != '\t' && line[0] != '#' && line[0] != ';' &&
		line[0] != '[' && sep0 < n && sep0 + 4 <= (size_t)num && cfg_secret_name(line, sep0);
	if (secret) {
		/* inih sees "name=<mark>"; the handler takes the value from the
		 * buffer, which is wiped (docs/reliability.md, "Secrets") */
		memcpy(str, line, sep0 + 1);
		strcpy(str + sep0 + 1, FS_LONG_MARK "\n");
		p->long_line = 1;
		p->long_val = line + sep0 + 1;
		p->long_val_len = n - sep0 - 1;
		return str;
	}
	if (n + 2 <= (size_t)num) {
		memcpy(str, line, n);
		str[n] = '\n';
		str[n + 1] = '\0';
		return str;
	}
	/* Longer than inih's buffer. */
	size_t i = 0;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == n || line[i] == '#' || line[i] == ';' || line[i] == '\r') {
		strcpy(str, "#\n");            /* a comment (or blank): skip it */
		return str;
	}
	if (line[i] == '[') {
		cfg_fail(p, FASTSNAP_ECONFIG, "section header longer than %d characters", num - 2);
		strcpy(str, "[\n");            /* makes inih report this line */
		return str;
	}
	if (i > 0) {                           /* continuation of the previous value */
		p->long_line = 1;
		p->long_val = line + i;
		p->long_val_len = n - i;
		strcpy(str, " " FS_LONG_MARK "\n");
		return str;
	}
	size_t sep = i;
	while (sep < n && line[sep] != '=' && line[sep] != ':')
		sep++;
	if (sep == n || sep + 4 > (size_t)num) {
		if (sep == n)
			cfg_fail(p, FASTSNAP_ECONFIG, "expected 'name = value' or '[section]'");
		else
			cfg_fail(p, FASTSNAP_ECONFIG, "option name longer than %d characters", num - 4);
		strcpy(str, FS_LONG_MARK "\n");  /* no separator: inih reports this line */
		return str;
	}
	memcpy(str, line, sep + 1);
	strcpy(str + sep + 1, FS_LONG_MARK "\n");
	p->long_line = 1;
	p->long_val = line + sep + 1;
	p->long_val_len = n - sep - 1;
	return str;
}

/* Normalise a value: trim, drop one pair of surrounding quotes. Returns an
 * owned copy, or NULL for an empty value (= unset). *oom set on failure. */
static char *unquoted_value(const char *v, size_t n, int *oom)
{
	while (n && (*v == ' ' || *v == '\t' || *v == '\r')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		n--;
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v++;
		n -= 2;
	}
	if (n == 0)
		return NULL;
	char *s = strndup(v, n);
	if (!s)
		*oom = 1;
	return s;
}

static int set_str(cfg_parser *p, char **field, const char *v)
{
	int oom = 0;
	char *s = unquoted_value(v, strlen(v), &oom);
	if (oom) {
		cfg_fail(p, FASTSNAP_ENOMEM, "out of memory");
		return 0;
	}
	free(*field);
	*field = s;
	return 1;
}

/* First non-empty item of a comma-separated list. */
static int set_first(cfg_parser *p, char **field, const char *v, int add_scheme)
{
	const char *s = v;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		int oom = 0;
		char *item = unquoted_value(s, n, &oom);
		if (oom) {
			cfg_fail(p, FASTSNAP_ENOMEM, "out of memory");
			return 0;
		}
		if (item || !comma) {
			if (item && add_scheme && !strstr(item, "//")) {
				char *u = fs_asprintf("http://%s", item);
				free(item);
				if (!u) {
					cfg_fail(p, FASTSNAP_ENOMEM, "out of memory");
					return 0;
				}
				item = u;
			}
			free(*field);
			*field = item;
			return 1;
		}
		s = comma + 1;
	}
}

static int set_long(cfg_parser *p, long *field, const char *section, const char *name,
	const char *v, long min, long max)
{
	int oom = 0;
	char *s = unquoted_value(v, strlen(v), &oom);
	if (oom) {
		cfg_fail(p, FASTSNAP_ENOMEM, "out of memory");
		return 0;
	}
	if (!s) {
		*field = -1;
		return 1;
	}
	char *end = NULL;
	errno = 0;
	long x = strtol(s, &end, 10);
	int bad = errno || end == s || *end || x < min || x > max;
	free(s);
	if (bad) {
		cfg_fail(p, FASTSNAP_ECONFIG, "[%s] %s must be an integer from %ld to %ld",
			section, name, min, max);
		return 0;
	}
	*field = x;
	return 1;
}

static int set_int(cfg_parser *p, int *field, const char *section, const char *name,
	const char *v, long min, long max)
{
	long x = *field;
	if (!set_long(p, &x, section, name, v, min, max))
		return 0;
	*field = (int)x;
	return 1;
}

static int set_bool(cfg_parser *p, int *field, const char *section, const char *name,
	const char *v)
{
	int oom = 0;
	char *s = unquoted_value(v, strlen(v), &oom);
	if (oom) {
		cfg_fail(p, FASTSNAP_ENOMEM, "out of memory");
		return 0;
	}
	int ok = 1;
	if (!s)
		*field = -1;
	else if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") || !strcmp(s, "1"))
		*field = 1;
	else if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") || !strcmp(s, "0"))
		*field = 0;
	else
		ok = 0;
	free(s);
	if (!ok)
		cfg_fail(p, FASTSNAP_ECONFIG, "[%s] %s must be true or false", section, name);
	return ok;
}

static int apply_key(cfg_parser *p, const char *section, const char *name, const char *v)
{
	fs_config *c = p->cfg;
	if (!strcmp(section, "glance")) {
		if (!strcmp(name, "api_servers"))
			return set_first(p, &c->glance_api_server, v, 1);
		if (!strcmp(name, "endpoint_override"))
			return set_str(p, &c->glance_endpoint_override, v);
		if (!strcmp(name, "store"))
			return set_str(p, &c->glance_store, v);
		if (!strcmp(name, "copy_to"))
			return set_str(p, &c->glance_copy_to, v);
		if (!strcmp(name, "copy_all_must_succeed"))
			return set_bool(p, &c->glance_copy_all_must_succeed, section, name, v);
		if (!strcmp(name, "num_retries"))
			return set_int(p, &c->glance_num_retries, section, name, v, 0, 100);
		if (!strcmp(name, "cafile"))
			return set_str(p, &c->glance_cafile, v);
		if (!strcmp(name, "certfile"))
			return set_str(p, &c->glance_certfile, v);
		if (!strcmp(name, "keyfile"))
			return set_str(p, &c->glance_keyfile, v);
		if (!strcmp(name, "insecure"))
			return set_bool(p, &c->glance_insecure, section, name, v);
		if (!strcmp(name, "region_name"))
			return set_str(p, &c->glance_region_name, v);
		if (!strcmp(name, "valid_interfaces"))
			return set_first(p, &c->glance_interface, v, 0);
	} else if (!strcmp(section, "libvirt")) {
		if (!strcmp(name, "images_rbd_pool"))
			return set_str(p, &c->images_rbd_pool, v);
		if (!strcmp(name, "snapshot_image_format")) {
			if (!set_str(p, &c->snapshot_image_format, v))
				return 0;
			const char *f = c->snapshot_image_format;
			if (f && strcmp(f, "raw") != 0 && strcmp(f, "qcow2") != 0) {
				cfg_fail(p, FASTSNAP_ECONFIG, "[%s] %s must be raw or qcow2, not '%s'", section,
					name, f);
				return 0;
			}
			return 1;
		}
		if (!strcmp(name, "images_rbd_ceph_conf"))
			return set_str(p, &c->images_rbd_ceph_conf, v);
		if (!strcmp(name, "rbd_user"))
			return set_str(p, &c->rbd_user, v);
		if (!strcmp(name, "images_type"))
			return set_str(p, &c->images_type, v);
	} else if (!strcmp(section, "service_user")) {
		if (!strcmp(name, "send_service_user_token"))
			return set_bool(p, &c->su_send, section, name, v);
		if (!strcmp(name, "auth_type"))
			return set_str(p, &c->su_auth_type, v);
#define SET_SU(key, auth_types) \
		if (!strcmp(name, #key)) \
			return set_str(p, &c->su.key, v);
		FS_SERVICE_USER_FIELDS(SET_SU)
#undef SET_SU
	} else if (!strcmp(section, "fastsnap")) {
		if (!strcmp(name, "keyring"))
			return set_str(p, &c->keyring, v);
		if (!strcmp(name, "flatten_helper"))
			return set_str(p, &c->flatten_helper, v);
		if (!strcmp(name, "clone_depth_cap"))
			return set_int(p, &c->clone_depth_cap, section, name, v, 1, 1000);
		if (!strcmp(name, "connect_timeout_ms"))
			return set_long(p, &c->connect_timeout_ms, section, name, v, 1, 3600000);
		if (!strcmp(name, "ceph_op_timeout_s"))
			return set_long(p, &c->ceph_op_timeout_s, section, name, v, 1, 86400);
		if (!strcmp(name, "low_speed_time_s"))
			return set_long(p, &c->low_speed_time_s, section, name, v, 1, 86400);
		if (!strcmp(name, "call_deadline_s"))
			return set_long(p, &c->call_deadline_s, section, name, v, 1, 86400);
		if (!strcmp(name, "glance_cache_s"))
			return set_long(p, &c->glance_cache_s, section, name, v, 0, 86400);
	}
	return 1;   /* unknown: ignored */
}

/* inih handler */
static int on_ini_key(void *user, const char *section, const char *name, const char *value)
{
	cfg_parser *p = user;
	if (p->err_line)
		return 1;   /* only the first error counts; do not pile up */
	if (p->long_line && !strcmp(value, FS_LONG_MARK)) {
		/* Rebuild the full value; strip an inline " ;" comment as inih does. */
		size_t n = p->long_val_len;
		for (size_t i = 1; i < n; i++) {
			if (p->long_val[i] == ';' && (p->long_val[i - 1] == ' ' || p->long_val[i - 1] == '\t')) {
				n = i;
				break;
			}
		}
		char *full = strndup(p->long_val, n);
		if (!full) {
			cfg_fail(p, FASTSNAP_ENOMEM, "out of memory");
			return 0;
		}
		int r = apply_key(p, section, name, full);
		fs_secret_free(full);
		return r;
	}
	return apply_key(p, section, name, value);
}

int fs_config_parse_named(fs_config *out, const char *name, const char *buf, size_t len)
{
	fs_config_init(out);
	if (!name)
		name = "<config>";
	if (!buf && len)
		return fs_err(FASTSNAP_EINVAL, "%s: no buffer", name);
	const char *nul = len ? memchr(buf, '\0', len) : NULL;
	if (nul) {
		int line = 1;
		for (const char *q = buf; q < nul; q++)
			line += *q == '\n';
		return fs_err(FASTSNAP_ECONFIG, "%s:%d: NUL byte in the file", name, line);
	}
	cfg_parser p;
	memset(&p, 0, sizeof(p));
	p.name = name;
	p.buf = buf;
	p.len = len;
	p.cfg = out;
	int r = ini_parse_stream(line_reader, &p, on_ini_key, &p);
	if (r == 0 && !p.err_line)
		return 0;
	fs_config_free(out);
	if (r == -2 || p.err_code == FASTSNAP_ENOMEM)
		return fs_err(FASTSNAP_ENOMEM, "%s: out of memory while parsing", name);
	if (p.err_line && (r <= 0 || p.err_line <= r))
		return fs_err(p.err_code, "%s:%d: %s", name, p.err_line, p.err_msg);
	return fs_err(FASTSNAP_ECONFIG, "%s:%d: malformed line (expected '[section]' or 'name = value')",
		name, r);
}

int fs_config_parse(fs_config *out, const char *buf, size_t len)
{
	return fs_config_parse_named(out, NULL, buf, len);
}

/* Read the whole file into one buffer (no stdio buffer, no realloc
 * leaving copies behind: the file may hold [service_user] secrets). */
static int read_whole(int fd, const char *path, char **buf, size_t *len)
{
	struct stat sb;
	size_t cap = fstat(fd, &sb) == 0 && sb.st_size > 0 ? (size_t)sb.st_size + 1 : 8192;
	if (cap > FS_CONFIG_MAX_FILE + 1)
		return fs_err(FASTSNAP_ECONFIG, "config file '%s' is larger than %u bytes", path,
			FS_CONFIG_MAX_FILE);
	char *b = malloc(cap);
	if (!b)
		return fs_err(FASTSNAP_ENOMEM, "config file '%s': out of memory", path);
	size_t n = 0;
	for (;;) {
		if (n == cap) {         /* the file grew: a bigger buffer, the old one wiped */
			if (cap > FS_CONFIG_MAX_FILE) {
				explicit_bzero(b, n);
				free(b);
				return fs_err(FASTSNAP_ECONFIG, "config file '%s' is larger than %u bytes",
					path, FS_CONFIG_MAX_FILE);
			}
			char *nb = malloc(cap * 2);
			if (!nb) {
				explicit_bzero(b, n);
				free(b);
				return fs_err(FASTSNAP_ENOMEM, "config file '%s': out of memory", path);
			}
			memcpy(nb, b, n);
			explicit_bzero(b, n);
			free(b);
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			explicit_bzero(b, n);
			free(b);
			return fs_err(FASTSNAP_ECONFIG, "cannot read config file '%s': %s", path,
				strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

int fs_config_load(fs_config *out, const char *path)
{
	fs_config_init(out);
	if (!path || !*path)
		return fs_err(FASTSNAP_EINVAL, "config file: no path given");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENOTDIR)
			return fs_err(FASTSNAP_ENOTFOUND, "config file '%s' not found", path);
		return fs_err(FASTSNAP_ECONFIG, "cannot open config file '%s': %s", path, strerror(e));
	}
	char *b = NULL;
	size_t n = 0;
	int rc = read_whole(fd, path, &b, &n);
	close(fd);
	if (rc == 0)
		rc = fs_config_parse_named(out, path, n ? b : "", n);
	if (b) {
		explicit_bzero(b, n);
		free(b);
	}
	return rc;
}
