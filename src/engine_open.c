/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine_open.c: the engine handle: open (settings, Ceph connection),
 * close, its cluster's fsid and its last error. The run is in engine.c.
 */
#include <stdlib.h>
#include <string.h>

#include "clients/glance.h"
#include "core/opts.h"
#include "engine.h"

void fs_engine_note_error(fastsnap_engine *e, int code)
{
	if (code >= 0 || !e)
		return;
	pthread_mutex_lock(&e->mu);
	strncpy(e->last_error, fastsnap_error_last(), sizeof(e->last_error) - 1);
	e->last_error[sizeof(e->last_error) - 1] = '\0';
	pthread_mutex_unlock(&e->mu);
}

int fastsnap_engine_open(fastsnap_engine **out, const fastsnap_engine_opts *in)
{
	fastsnap_error_clear();
	if (!out)
		return fs_err(FASTSNAP_EINVAL, "fastsnap_engine_open: out is NULL");
	*out = NULL;
	fastsnap_engine_opts opts;
	int r = fs_engine_opts_upgrade(&opts, in);
	if (r < 0)
		return r;
	fastsnap_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	pthread_mutex_init(&e->mu, NULL);
	e->log.cb = opts.log_cb;
	e->log.payload = opts.log_payload;
	r = fs_settings_resolve(&e->s, &opts);
	/* the connection pool and the cache of the engine's runs */
	if (r == 0)
		r = fs_glance_shared_new(&e->s.glance_shared, e->s.glance_cache_s);
	if (r == 0)
		r = fs_ceph_connect(&e->ceph, e->s.ceph_conf, e->s.ceph_user, e->s.keyring,
			e->s.ceph_op_timeout_s, e->s.connect_timeout_ms, &e->log);
	if (r < 0) {
		fs_glance_shared_free(e->s.glance_shared);
		fs_settings_free(&e->s);
		pthread_mutex_destroy(&e->mu);
		free(e);
		return r;
	}
	*out = e;
	return 0;
}

void fastsnap_engine_close(fastsnap_engine *e)
{
	if (!e)
		return;
	fs_ceph_close(e->ceph);
	fs_glance_shared_free(e->s.glance_shared);
	fs_settings_free(&e->s);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

const char *fastsnap_engine_fsid(const fastsnap_engine *e) { return e ? fs_ceph_fsid(e->ceph) : NULL; }
const char *fastsnap_engine_last_error(const fastsnap_engine *e) { return e ? e->last_error : ""; }

