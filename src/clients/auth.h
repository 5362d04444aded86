/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/auth.h: Glance identity. A static token (X-Auth-Token), or a
 * Keystone v3 token from a password or an application credential, plus
 * the Glance endpoint (explicit, or from the token's service catalog).
 * Identity headers from fs_settings.glance_headers are added by glance.c (its request core).
 */
#ifndef FS_AUTH_H
#define FS_AUTH_H

#include "core/common.h"
#include "clients/http.h"
#include "core/settings.h"

/* ---- Keystone v3 token body (parser: no I/O) ---- */

typedef struct {
	char *service_type;
	char *interface;
	char *region;              /* region_id, else region, or NULL */
	char *url;
} fs_catalog_endpoint;

typedef struct {
	char *user_id;
	char *project_id;          /* NULL for unscoped tokens */
	char *expires_at;
	char *issued_at;
	fs_catalog_endpoint *endpoints;
	size_t n_endpoints;
} fs_keystone_token;

int fs_parse_keystone_token(fs_keystone_token *out, const char *buf, size_t len);
void fs_keystone_token_free(fs_keystone_token *t);
/* The URL of the first endpoint of `type` with `interface` (NULL: "public")
 * and, when region is non-NULL, that region; NULL when none matches. */
const char *fs_keystone_find_endpoint(const fs_keystone_token *t, const char *type,
	const char *interface, const char *region);

/* "{auth_url}[/v3]/auth/tokens": /v3 is appended when the URL's last path
 * segment is not a version ("v3", "v3.14"). Returns a new string. */
char *fs_keystone_tokens_url(const char *auth_url);
/* The JSON body of POST /v3/auth/tokens for the settings (password or
 * application credential). Returns 0 and a new string, or an error. */
int fs_keystone_request_body(char **out, const fs_settings *s);

/* "2026-12-01T12:00:00.000000Z" (Keystone's expires_at / issued_at) as
 * seconds since the epoch; 0 when it does not parse. */
long long fs_keystone_time(const char *iso);
/* Should a token issued at `issued` expiring at `expires` (epoch seconds,
 * 0 unknown) be renewed at `now`? Yes within a margin of its expiry: 60 s,
 * or a fifth of its lifetime when that is shorter than 5 minutes. */
int fs_keystone_token_stale(long long issued, long long expires, long long now);

/* ---- the authenticator ---- */

typedef enum {
	FS_AUTH_NONE = 0,          /* headers only (e.g. identity headers in dev) */
	FS_AUTH_TOKEN,             /* static os_token */
	FS_AUTH_KEYSTONE           /* password or application credential */
} fs_auth_mode;

typedef struct fs_auth fs_auth;

/* Chooses the mode from s; registers every secret with h (for redaction).
 * Fails with FASTSNAP_ECONFIG when neither a Glance URL nor an auth URL is
 * set, or when Keystone settings are incomplete. No I/O. */
int fs_auth_new(fs_auth **out, const fs_settings *s, fs_http *h);
void fs_auth_free(fs_auth *a);
/* A copy of `a` (identity, tokens, endpoint) for another HTTP client `h`
 * (fs_http_clone of a's): it authenticates again on its own after a 401. */
int fs_auth_clone(fs_auth **out, const fs_auth *a, fs_http *h);
fs_auth_mode fs_auth_get_mode(const fs_auth *a);
/* Get a token (Keystone) if there is none yet, and the endpoint. */
int fs_auth_ensure(fs_auth *a);
/* Drop the token and authenticate again (Keystone only; after a 401). */
int fs_auth_reauth(fs_auth *a);
/* The token to send as X-Auth-Token, or NULL. */
const char *fs_auth_token(const fs_auth *a);
/* The Glance endpoint without a trailing '/', or NULL before ensure. */
const char *fs_auth_endpoint(const fs_auth *a);
/* Number of Keystone token requests made (for tests). */
int fs_auth_token_requests(const fs_auth *a);

/* ---- the service token ([service_user], as Nova sends it) ----
 * When s->service_token is set, fs_auth_ensure also gets a token for the
 * service user and renews it before its expires_at (Glance silently ignores
 * an expired service token). fs_auth_reauth renews both. */
int fs_auth_has_service(const fs_auth *a);
/* The token to send as X-Service-Token, or NULL. */
const char *fs_auth_service_token(const fs_auth *a);
/* Number of service token requests made (for tests). */
int fs_auth_service_token_requests(const fs_auth *a);

#endif
