/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/auth.c: Glance identity: static token, or Keystone v3 password /
 * application credential (POST /v3/auth/tokens, token from X-Subject-Token,
 * Glance endpoint from the catalog), re-authentication after a 401, and the
 * parser of Keystone's token body; and the service token of nova.conf's
 * [service_user] (X-Service-Token), renewed before it expires. Secrets are
 * registered with the HTTP layer so that they never reach a log line or an
 * error message.
 */
#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "clients/auth.h"
#include "core/secret.h"

struct fs_auth {
	fs_auth_mode mode;
	fs_settings own;          /* copies of the identity fields only */
	const fs_settings *s;     /* == &own */
	fs_http *h;
	char *token;
	long long token_issued, token_expires;   /* epoch s, 0 unknown */
	char *endpoint;
	int token_requests;
	/* [service_user] */
	int has_svc;
	fs_settings svc;          /* its identity, in the os_* fields */
	char *svc_token;
	long long svc_issued, svc_expires;
	int svc_requests;
};

/* ---- parser ---- */

static char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void fs_keystone_token_free(fs_keystone_token *t)
{
	if (!t)
		return;
	free(t->user_id);
	free(t->project_id);
	free(t->expires_at);
	free(t->issued_at);
	for (size_t i = 0; i < t->n_endpoints; i++) {
		free(t->endpoints[i].service_type);
		free(t->endpoints[i].interface);
		free(t->endpoints[i].region);
		free(t->endpoints[i].url);
	}
	free(t->endpoints);
	memset(t, 0, sizeof(*t));
}

int fs_parse_keystone_token(fs_keystone_token *out, const char *buf, size_t len)
{
	memset(out, 0, sizeof(*out));
	cJSON *j;
	int rc = fs_http_json_body(&j, buf, len, "Keystone token response");
	if (rc < 0)
		return rc;
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "token");
	if (!cJSON_IsObject(tok)) {
		rc = fs_err(FASTSNAP_EPROTOCOL, "Keystone token response: no \"token\" object");
		goto out;
	}
	const cJSON *user = cJSON_GetObjectItemCaseSensitive(tok, "user");
	const cJSON *proj = cJSON_GetObjectItemCaseSensitive(tok, "project");
	if (cJSON_IsObject(user) && jstr(user, "id"))
		out->user_id = strdup(jstr(user, "id"));
	if (cJSON_IsObject(proj) && jstr(proj, "id"))
		out->project_id = strdup(jstr(proj, "id"));
	if (jstr(tok, "expires_at"))
		out->expires_at = strdup(jstr(tok, "expires_at"));
	if (jstr(tok, "issued_at"))
		out->issued_at = strdup(jstr(tok, "issued_at"));
	const cJSON *cat = cJSON_GetObjectItemCaseSensitive(tok, "catalog");
	if (cat && !cJSON_IsArray(cat)) {
		rc = fs_err(FASTSNAP_EPROTOCOL, "Keystone token response: \"catalog\" is not an array");
		goto out;
	}
	size_t total = 0;
	const cJSON *svc;
	cJSON_ArrayForEach(svc, cat) {
		const cJSON *eps = cJSON_GetObjectItemCaseSensitive(svc, "endpoints");
		if (!cJSON_IsObject(svc) || !jstr(svc, "type") || !cJSON_IsArray(eps)) {
			rc = fs_err(FASTSNAP_EPROTOCOL, "Keystone token response: a catalog entry "
				"lacks a string \"type\" or an \"endpoints\" array");
			goto out;
		}
		total += (size_t)cJSON_GetArraySize(eps);
	}
	if (total) {
		out->endpoints = calloc(total, sizeof(*out->endpoints));
		if (!out->endpoints) {
			rc = fs_err(FASTSNAP_ENOMEM, "out of memory parsing the Keystone catalog");
			goto out;
		}
	}
	cJSON_ArrayForEach(svc, cat) {
		const cJSON *ep;
		cJSON_ArrayForEach(ep, cJSON_GetObjectItemCaseSensitive(svc, "endpoints")) {
			const char *url = cJSON_IsObject(ep) ? jstr(ep, "url") : NULL;
			const char *itf = cJSON_IsObject(ep) ? jstr(ep, "interface") : NULL;
			if (!url || !itf) {
				rc = fs_err(FASTSNAP_EPROTOCOL, "Keystone token response: an endpoint "
					"of service type '%s' lacks a string \"url\" or \"interface\"",
					jstr(svc, "type"));
				goto out;
			}
			const char *reg = jstr(ep, "region_id");
			if (!reg)
				reg = jstr(ep, "region");
			fs_catalog_endpoint *e = &out->endpoints[out->n_endpoints++];
			e->service_type = strdup(jstr(svc, "type"));
			e->interface = strdup(itf);
			e->url = strdup(url);
			e->region = reg ? strdup(reg) : NULL;
			if (!e->service_type || !e->interface || !e->url || (reg && !e->region)) {
				rc = fs_err(FASTSNAP_ENOMEM, "out of memory parsing the Keystone catalog");
				goto out;
			}
		}
	}
out:
	cJSON_Delete(j);
	if (rc < 0)
		fs_keystone_token_free(out);
	return rc;
}

const char *fs_keystone_find_endpoint(const fs_keystone_token *t, const char *type,
	const char *interface, const char *region)
{
	if (!interface || !*interface)
		interface = "public";
	for (size_t i = 0; i < t->n_endpoints; i++) {
		const fs_catalog_endpoint *e = &t->endpoints[i];
		if (!fs_streq(e->service_type, type))
			continue;
		/* "publicURL"-style names are accepted too */
		if (strncmp(e->interface, interface, strlen(interface)) != 0)
			continue;
		if (region && *region && !fs_streq(e->region, region))
			continue;
		return e->url;
	}
	return NULL;
}

long long fs_keystone_time(const char *iso)
{
	if (!iso)
		return 0;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	int n = 0;
	if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n < 19)
		return 0;
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return 0;
	/* fractions and a trailing 'Z' (or "+00:00") are UTC, as Keystone writes */
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	return t == (time_t)-1 ? 0 : (long long)t;
}

int fs_keystone_token_stale(long long issued, long long expires, long long now)
{
	if (expires <= 0)
		return 0;          /* unknown: rely on the 401 */
	long long margin = 60;
	if (issued > 0 && expires > issued && expires - issued < 300)
		margin = (expires - issued) / 5;
	return now >= expires - margin;
}

/* ---- request building ---- */

char *fs_keystone_tokens_url(const char *auth_url)
{
	size_t n = strlen(auth_url);
	while (n && auth_url[n - 1] == '/')
		n--;
	size_t seg = n;
	while (seg && auth_url[seg - 1] != '/')
		seg--;
	int versioned = 0;
	if (n - seg >= 2 && auth_url[seg] == 'v' && isdigit((unsigned char)auth_url[seg + 1]))
		versioned = 1;
	return fs_asprintf("%.*s%s/auth/tokens", (int)n, auth_url, versioned ? "" : "/v3");
}

/* Wipe every string of a JSON tree (the request holds a password or a
 * secret) before it is freed. */
static void wipe_json(cJSON *j)
{
	for (cJSON *c = j; c; c = c->next) {
		fs_secret_wipe(c->valuestring);
		wipe_json(c->child);
	}
}

static const char *or_default(const char *v, const char *d)
{
	return v && *v ? v : d;
}

int fs_keystone_request_body(char **out, const fs_settings *s)
{
	*out = NULL;
	cJSON *root = cJSON_CreateObject();
	cJSON *auth = cJSON_AddObjectToObject(root, "auth");
	cJSON *ident = cJSON_AddObjectToObject(auth, "identity");
	cJSON *methods = cJSON_AddArrayToObject(ident, "methods");
	if (s->os_application_credential_id || s->os_application_credential_secret) {
		if (!s->os_application_credential_id || !s->os_application_credential_secret) {
			cJSON_Delete(root);
			return fs_err(FASTSNAP_ECONFIG, "Keystone application credential needs both "
				"OS_APPLICATION_CREDENTIAL_ID and OS_APPLICATION_CREDENTIAL_SECRET");
		}
		cJSON_AddItemToArray(methods, cJSON_CreateString("application_credential"));
		cJSON *ac = cJSON_AddObjectToObject(ident, "application_credential");
		cJSON_AddStringToObject(ac, "id", s->os_application_credential_id);
		cJSON_AddStringToObject(ac, "secret", s->os_application_credential_secret);
		/* an application credential carries its own scope */
	} else {
		if (!s->os_username || !s->os_password) {
			cJSON_Delete(root);
			return fs_err(FASTSNAP_ECONFIG, "Keystone password authentication needs "
				"OS_USERNAME and OS_PASSWORD (or an application credential)");
		}
		cJSON_AddItemToArray(methods, cJSON_CreateString("password"));
		cJSON *pw = cJSON_AddObjectToObject(ident, "password");
		cJSON *user = cJSON_AddObjectToObject(pw, "user");
		cJSON_AddStringToObject(user, "name", s->os_username);
		cJSON *ud = cJSON_AddObjectToObject(user, "domain");
		cJSON_AddStringToObject(ud, "name", or_default(s->os_user_domain_name, "Default"));
		cJSON_AddStringToObject(user, "password", s->os_password);
		if (s->os_project_id || s->os_project_name) {
			cJSON *scope = cJSON_AddObjectToObject(auth, "scope");
			cJSON *p = cJSON_AddObjectToObject(scope, "project");
			if (s->os_project_id) {
				cJSON_AddStringToObject(p, "id", s->os_project_id);
			} else {
				cJSON_AddStringToObject(p, "name", s->os_project_name);
				cJSON *pd = cJSON_AddObjectToObject(p, "domain");
				cJSON_AddStringToObject(pd, "name",
					or_default(s->os_project_domain_name, "Default"));
			}
		}
	}
	*out = cJSON_PrintUnformatted(root);
	wipe_json(root);
	cJSON_Delete(root);
	if (!*out)
		return fs_err(FASTSNAP_ENOMEM, "out of memory building the Keystone request");
	return 0;
}

/* ---- the authenticator ---- */

static char *strip_slash(const char *u)
{
	size_t n = strlen(u);
	while (n && u[n - 1] == '/')
		n--;
	return strndup(u, n);
}

/* The identity fields of s into o. */
static int dup_identity(fs_settings *o, const fs_settings *s)
{
	char **dst[] = { &o->os_token, &o->os_auth_url, &o->os_username, &o->os_password,
		&o->os_user_domain_name, &o->os_project_name, &o->os_project_id,
		&o->os_project_domain_name, &o->os_application_credential_id,
		&o->os_application_credential_secret, &o->os_interface, &o->os_region_name };
	const char *src[] = { s->os_token, s->os_auth_url, s->os_username, s->os_password,
		s->os_user_domain_name, s->os_project_name, s->os_project_id,
		s->os_project_domain_name, s->os_application_credential_id,
		s->os_application_credential_secret, s->os_interface, s->os_region_name };
	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
		if (src[i] && !(*dst[i] = strdup(src[i])))
			return fs_err(FASTSNAP_ENOMEM, "out of memory copying identity settings");
	return 0;
}

/* The caller's identity, copied (the settings may go before the client). */
static int copy_identity(fs_auth *a, const fs_settings *s)
{
	a->s = &a->own;
	return dup_identity(&a->own, s);
}

/* [service_user], copied and checked (its token is fetched when needed). */
static int copy_service_user(fs_auth *a, const fs_settings *s, fs_http *h)
{
	fs_settings *v = &a->svc;
#define COPY_SU(name, auth_types) \
	if (s->su.name && !(v->os_##name = strdup(s->su.name))) \
		return fs_err(FASTSNAP_ENOMEM, "out of memory copying [service_user]");
	FS_SERVICE_USER_FIELDS(COPY_SU)
#undef COPY_SU
	a->has_svc = 1;
	int rc;
	if ((rc = fs_http_add_secret(h, s->su.password)) < 0 ||
	    (rc = fs_http_add_secret(h, s->su.application_credential_secret)) < 0)
		return rc;
	char *body = NULL;
	if ((rc = fs_keystone_request_body(&body, &a->svc)) < 0) {
		fs_err_prefix("[service_user]");
		return rc;
	}
	fs_secret_free(body);
	return 0;
}

int fs_auth_new(fs_auth **out, const fs_settings *s, fs_http *h)
{
	*out = NULL;
	fs_auth *a = calloc(1, sizeof(*a));
	if (!a)
		return fs_err(FASTSNAP_ENOMEM, "out of memory allocating the authenticator");
	a->h = h;
	int rc = copy_identity(a, s);
	if (rc == 0 && s->service_token)
		rc = copy_service_user(a, s, h);
	if (rc < 0)
		goto fail;
	if (s->os_token && *s->os_token)
		a->mode = FS_AUTH_TOKEN;
	else if (s->os_auth_url && *s->os_auth_url)
		a->mode = FS_AUTH_KEYSTONE;
	else
		a->mode = FS_AUTH_NONE;
	if ((rc = fs_http_add_secret(h, s->os_token)) < 0 ||
	    (rc = fs_http_add_secret(h, s->os_password)) < 0 ||
	    (rc = fs_http_add_secret(h, s->os_application_credential_secret)) < 0)
		goto fail;
	if (a->mode == FS_AUTH_KEYSTONE) {
		char *body = NULL;
		if ((rc = fs_keystone_request_body(&body, s)) < 0)
			goto fail;
		fs_secret_free(body);
	}
	if (s->glance_url && *s->glance_url) {
		if (!(a->endpoint = strip_slash(s->glance_url))) {
			rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
			goto fail;
		}
	} else if (a->mode != FS_AUTH_KEYSTONE) {
		rc = fs_err(FASTSNAP_ECONFIG, "no Glance endpoint: set --glance-url "
			"(FASTSNAP_GLANCE_URL), or OS_AUTH_URL to find it in Keystone's catalog");
		goto fail;
	}
	*out = a;
	return 0;
fail:
	fs_auth_free(a);
	return rc;
}

static char *dup_or_null(const char *s, int *oom)
{
	char *d = s ? strdup(s) : NULL;
	*oom |= s && !d;
	return d;
}

int fs_auth_clone(fs_auth **out, const fs_auth *a, fs_http *h)
{
	*out = NULL;
	fs_auth *b = calloc(1, sizeof(*b));
	if (!b)
		return fs_err(FASTSNAP_ENOMEM, "out of memory allocating the authenticator");
	b->mode = a->mode;
	b->h = h;
	int rc = copy_identity(b, &a->own);
	if (rc == 0 && a->has_svc)
		rc = dup_identity(&b->svc, &a->svc);
	b->has_svc = a->has_svc;
	int oom = 0;
	b->token = dup_or_null(a->token, &oom);
	b->svc_token = dup_or_null(a->svc_token, &oom);
	b->endpoint = dup_or_null(a->endpoint, &oom);
	b->token_issued = a->token_issued;
	b->token_expires = a->token_expires;
	b->svc_issued = a->svc_issued;
	b->svc_expires = a->svc_expires;
	if (rc == 0 && oom)
		rc = fs_err(FASTSNAP_ENOMEM, "out of memory copying the authenticator");
	/* the tokens are secrets of the clone's HTTP client too */
	if (rc == 0 && (rc = fs_http_add_secret(h, b->token)) == 0)
		rc = fs_http_add_secret(h, b->svc_token);
	if (rc < 0) {
		fs_auth_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

static void own_free(fs_settings *o)
{
	free(o->os_auth_url);
	free(o->os_username);
	free(o->os_user_domain_name);
	free(o->os_project_name);
	free(o->os_project_id);
	free(o->os_project_domain_name);
	free(o->os_application_credential_id);
	free(o->os_interface);
	free(o->os_region_name);
	fs_secret_free(o->os_token);
	fs_secret_free(o->os_password);
	fs_secret_free(o->os_application_credential_secret);
}

void fs_auth_free(fs_auth *a)
{
	if (!a)
		return;
	own_free(&a->own);
	own_free(&a->svc);
	fs_secret_free(a->svc_token);
	fs_secret_free(a->token);
	free(a->endpoint);
	free(a);
}

fs_auth_mode fs_auth_get_mode(const fs_auth *a) { return a->mode; }
int fs_auth_token_requests(const fs_auth *a) { return a->token_requests; }
const char *fs_auth_endpoint(const fs_auth *a) { return a->endpoint; }

const char *fs_auth_token(const fs_auth *a)
{
	if (a->mode == FS_AUTH_TOKEN)
		return a->s->os_token;
	return a->token;
}

/* POST /v3/auth/tokens for identity `s`. On success *token_out is the new
 * token (registered as a secret) and *t the parsed body. */
static int keystone_request(fs_auth *a, const fs_settings *s, const char *log_name,
	char **token_out, fs_keystone_token *t)
{
	*token_out = NULL;
	memset(t, 0, sizeof(*t));
	char *body = NULL;
	int rc = fs_keystone_request_body(&body, s);
	if (rc < 0)
		return rc;
	char *url = fs_keystone_tokens_url(s->os_auth_url);
	if (!url) {
		free(body);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	const char *hdrs[] = { "Content-Type: application/json", "Accept: application/json" };
	fs_http_req req = {
		.method = "POST", .url = url, .log_name = log_name,
		.headers = hdrs, .n_headers = 2, .body = body, .body_len = strlen(body),
		.capture_header = "X-Subject-Token",
		/* asking for a token twice is harmless (the first one just
		 * expires): retried like a safe call, within the call deadline */
		.retry = 1,
	};
	fs_http_resp resp;
	rc = fs_http_do(a->h, &resp, &req);
	fs_secret_free(body);            /* it holds the password or secret */
	free(url);
	if (rc < 0)
		goto out;
	if (resp.status != 201 && resp.status != 200) {
		rc = fs_http_unexpected_status(a->h, &resp, req.log_name, "Keystone");
		goto out;
	}
	if (!resp.captured || !*resp.captured) {
		rc = fs_err(FASTSNAP_EPROTOCOL, "%s: no X-Subject-Token header in the response",
			log_name);
		goto out;
	}
	if ((rc = fs_parse_keystone_token(t, resp.body.ptr, resp.body.len)) < 0)
		goto out;
	if ((rc = fs_http_add_secret(a->h, resp.captured)) < 0) {
		fs_keystone_token_free(t);
		goto out;
	}
	*token_out = resp.captured;
	resp.captured = NULL;
out:
	fs_http_resp_free(&resp);
	return rc;
}

static int keystone_auth(fs_auth *a)
{
	const fs_settings *s = a->s;
	char *tok;
	fs_keystone_token t;
	a->token_requests++;
	int rc = keystone_request(a, s, "Keystone POST /v3/auth/tokens", &tok, &t);
	if (rc < 0)
		return rc;
	if (!a->endpoint) {
		const char *ep = fs_keystone_find_endpoint(&t, "image", s->os_interface,
			s->os_region_name);
		if (!ep) {
			rc = fs_err(FASTSNAP_ENOTFOUND, "Keystone catalog has no endpoint of type "
				"'image' with interface '%s'%s%s", or_default(s->os_interface, "public"),
				s->os_region_name ? " in region " : "",
				s->os_region_name ? s->os_region_name : "");
			fs_keystone_token_free(&t);
			fs_secret_free(tok);
			return rc;
		}
		if (!(a->endpoint = strip_slash(ep)))
			rc = fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	a->token_issued = fs_keystone_time(t.issued_at);
	a->token_expires = fs_keystone_time(t.expires_at);
	fs_keystone_token_free(&t);
	/* the old token stays registered as a secret: it may still be valid */
	fs_secret_free(a->token);
	a->token = tok;
	return rc;
}

static int service_auth(fs_auth *a)
{
	char *tok;
	fs_keystone_token t;
	a->svc_requests++;
	int rc = keystone_request(a, &a->svc, "Keystone POST /v3/auth/tokens ([service_user])",
		&tok, &t);
	if (rc < 0) {
		fs_err_prefix("service token ([service_user] in the config file)");
		return rc;
	}
	a->svc_issued = fs_keystone_time(t.issued_at);
	a->svc_expires = fs_keystone_time(t.expires_at);
	fs_keystone_token_free(&t);
	fs_secret_free(a->svc_token);
	a->svc_token = tok;
	return 0;
}

int fs_auth_ensure(fs_auth *a)
{
	long long now = (long long)time(NULL);
	int rc = 0;
	if (a->mode == FS_AUTH_KEYSTONE && (!a->token ||
	    fs_keystone_token_stale(a->token_issued, a->token_expires, now)))
		rc = keystone_auth(a);
	if (rc == 0 && a->has_svc && (!a->svc_token ||
	    fs_keystone_token_stale(a->svc_issued, a->svc_expires, now)))
		rc = service_auth(a);
	return rc;
}

int fs_auth_reauth(fs_auth *a)
{
	if (a->mode != FS_AUTH_KEYSTONE && !a->has_svc)
		return fs_err(FASTSNAP_EUNAUTHORIZED, "cannot re-authenticate without Keystone");
	int rc = 0;
	if (a->mode == FS_AUTH_KEYSTONE)
		rc = keystone_auth(a);
	if (rc == 0 && a->has_svc)
		rc = service_auth(a);
	return rc;
}

int fs_auth_has_service(const fs_auth *a) { return a->has_svc; }
const char *fs_auth_service_token(const fs_auth *a) { return a->svc_token; }
int fs_auth_service_token_requests(const fs_auth *a) { return a->svc_requests; }
