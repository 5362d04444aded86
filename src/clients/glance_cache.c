/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/glance_cache.c: what an engine's Glance clients share
 * (fs_glance_shared): the HTTP handle pool and the cache of the answers
 * that only a reconfigured Glance changes (docs/architecture.md, "Glance:
 * one pool and one cache per engine").
 */
#include <stdlib.h>
#include <string.h>

#include "clients/glance_core.h"

/* Answers kept per engine (docs/configuration.md, glance_cache_s): they
 * change only when an operator reconfigures or upgrades Glance. */
/* Answers kept per engine (docs/configuration.md, glance_cache_s): they
 * change only when an operator reconfigures or upgrades Glance. */
static const char *const cached_paths[] = {
	"/v2/info/stores", "/v2/info/stores/detail", "/v2/schemas/image",
};
_Static_assert(sizeof(cached_paths) / sizeof(cached_paths[0]) == FS_GLANCE_N_CACHED,
	"FS_GLANCE_N_CACHED counts cached_paths");

int fs_glance_shared_new(fs_glance_shared **out, long cache_s)
{
	*out = NULL;
	fs_glance_shared *sh = calloc(1, sizeof(*sh));
	if (!sh)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	int rc = fs_http_pool_new(&sh->pool);
	if (rc < 0) {
		free(sh);
		return rc;
	}
	sh->cache_s = cache_s > 0 ? cache_s : 0;
	pthread_mutex_init(&sh->mu, NULL);
	*out = sh;
	return 0;
}

void fs_glance_shared_free(fs_glance_shared *sh)
{
	if (!sh)
		return;
	for (size_t i = 0; i < FS_GLANCE_N_CACHED; i++) {
		free(sh->c[i].endpoint);
		fs_buf_free(&sh->c[i].body);
	}
	fs_http_pool_free(sh->pool);
	pthread_mutex_destroy(&sh->mu);
	free(sh);
}

void fs_glance_shared_stats(fs_glance_shared *sh, fs_glance_shared_counts *out)
{
	memset(out, 0, sizeof(*out));
	fs_http_pool_stats(sh->pool, &out->handles_created, &out->handles_reused);
	pthread_mutex_lock(&sh->mu);
	out->cache_hits = sh->hits;
	out->cache_misses = sh->misses;
	pthread_mutex_unlock(&sh->mu);
}

int fs_glance_cache_slot(const fs_glance *g, const char *method, const char *path)
{
	if (!g->sh || g->sh->cache_s <= 0 || strcmp(method, "GET") != 0)
		return -1;
	for (size_t i = 0; i < FS_GLANCE_N_CACHED; i++)
		if (!strcmp(path, cached_paths[i]))
			return (int)i;
	return -1;
}

/* A copy of a fresh kept answer into resp; 1 when there was one. */
int fs_glance_cache_get(fs_glance *g, int slot, const char *endpoint, fs_http_resp *resp,
	const char *log_name)
{
	fs_glance_shared *sh = g->sh;
	double age = 0;
	int hit = 0;
	pthread_mutex_lock(&sh->mu);
	if (sh->c[slot].endpoint && !strcmp(sh->c[slot].endpoint, endpoint) &&
	    (age = fs_now() - sh->c[slot].at) < (double)sh->cache_s) {
		fs_buf_put(&resp->body, sh->c[slot].body.ptr, sh->c[slot].body.len);
		resp->status = sh->c[slot].status;
		hit = !resp->body.oom;
	}
	if (hit)
		sh->hits++;
	else
		sh->misses++;
	pthread_mutex_unlock(&sh->mu);
	if (!hit) {
		fs_buf_free(&resp->body);
		resp->status = 0;
		return 0;
	}
	fs_log(&g->lg, FASTSNAP_LOG_DEBUG, "%s: %ld from the engine's cache (%.1f s old; "
		"glance_cache_s %ld)", log_name, resp->status, age, sh->cache_s);
	return 1;
}

/* Keep an answer that only a reconfigured Glance changes: 200, and the
 * 403/404 that say "no detail" or "no multi-store". */
void fs_glance_cache_put(fs_glance *g, int slot, const char *endpoint, const fs_http_resp *resp)
{
	if (resp->status != 200 && resp->status != 403 && resp->status != 404)
		return;
	fs_buf copy = FS_BUF_INIT;
	fs_buf_put(&copy, resp->body.ptr, resp->body.len);
	char *ep = fs_strdup(endpoint);
	if (copy.oom || !ep) {
		fs_buf_free(&copy);
		free(ep);
		return;
	}
	fs_glance_shared *sh = g->sh;
	pthread_mutex_lock(&sh->mu);
	fs_buf old = sh->c[slot].body;
	char *old_ep = sh->c[slot].endpoint;
	sh->c[slot].body = copy;
	sh->c[slot].endpoint = ep;
	sh->c[slot].status = resp->status;
	sh->c[slot].at = fs_now();
	pthread_mutex_unlock(&sh->mu);
	fs_buf_free(&old);
	free(old_ep);
}
