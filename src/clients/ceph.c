/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/ceph.c: connect to a Ceph cluster with an explicit conf, user
 * and keyring, read its fsid, and open per-pool I/O contexts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients/ceph.h"

struct fs_ceph {
	rados_t rados;
	char fsid[64];
	char *user;
	char *conf, *keyring;       /* as given (NULL: librados' default) */
	long op_timeout_s, connect_timeout_ms;
};

static void ceph_free(fs_ceph *c)
{
	free(c->user);
	free(c->conf);
	free(c->keyring);
	free(c);
}

int fs_ceph_connect(fs_ceph **out, const char *conf, const char *user, const char *keyring,
	long op_timeout_s, long connect_timeout_ms, const fs_logger *lg)
{
	*out = NULL;
	if (!user || !*user)
		user = "admin";
	if (conf && access(conf, R_OK) != 0)
		return fs_err(FASTSNAP_ENOTFOUND, "Ceph config file '%s' cannot be read", conf);
	if (keyring && access(keyring, R_OK) != 0)
		return fs_err(FASTSNAP_ENOTFOUND, "Ceph keyring '%s' cannot be read", keyring);

	fs_ceph *c = calloc(1, sizeof(*c));
	if (!c || !(c->user = strdup(user)) || (conf && !(c->conf = strdup(conf))) ||
	    (keyring && !(c->keyring = strdup(keyring)))) {
		if (c)
			ceph_free(c);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	c->op_timeout_s = op_timeout_s;
	c->connect_timeout_ms = connect_timeout_ms;
	int r = rados_create(&c->rados, user);
	if (r < 0) {
		ceph_free(c);
		return fs_err(fs_errno_to_code(r), "Ceph: cannot create a client for client.%s: %s",
			user, strerror(-r));
	}
	r = rados_conf_read_file(c->rados, conf); /* NULL: the default search path */
	if (r < 0) {
		fs_err(FASTSNAP_ENOTFOUND, "Ceph: cannot read config %s: %s",
			conf ? conf : "(default search path: /etc/ceph/ceph.conf, ~/.ceph/config, ./ceph.conf)",
			strerror(-r));
		goto fail;
	}
	if (keyring && (r = rados_conf_set(c->rados, "keyring", keyring)) < 0) {
		fs_err(FASTSNAP_EINVAL, "Ceph: cannot set keyring '%s': %s", keyring, strerror(-r));
		goto fail;
	}
	/* The library prints nothing: librados would log its own errors to
	 * stderr (e.g. "image watch failed"); they reach the caller as error
	 * codes instead. */
	rados_conf_set(c->rados, "log_to_stderr", "false");
	rados_conf_set(c->rados, "err_to_stderr", "false");
	/* Fail within the connect timeout instead of hanging when the mon is
	 * unreachable (librados counts whole seconds). */
	char mt[32];
	snprintf(mt, sizeof(mt), "%ld", connect_timeout_ms > 0 ? (connect_timeout_ms + 999) / 1000 : 15);
	rados_conf_set(c->rados, "client_mount_timeout", mt);
	if (op_timeout_s > 0) {
		char t[32];
		snprintf(t, sizeof(t), "%ld", op_timeout_s);
		rados_conf_set(c->rados, "rados_mon_op_timeout", t);
		rados_conf_set(c->rados, "rados_osd_op_timeout", t);
	}
	r = rados_connect(c->rados);
	if (r < 0) {
		fs_err(r == -ETIMEDOUT || r == -EINTR ? FASTSNAP_ETIMEOUT : fs_errno_to_code(r),
			"Ceph: cannot connect as client.%s%s%s: %s", user,
			conf ? " with " : "", conf ? conf : "", strerror(-r));
		goto fail;
	}
	r = rados_cluster_fsid(c->rados, c->fsid, sizeof(c->fsid));
	if (r < 0) {
		fs_err(FASTSNAP_ECEPH, "Ceph: cannot read the cluster fsid: %s", strerror(-r));
		goto fail;
	}
	fs_log(lg, FASTSNAP_LOG_DEBUG, "connected to Ceph cluster %s as client.%s", c->fsid, user);
	*out = c;
	return 0;
fail:
	rados_shutdown(c->rados);
	ceph_free(c);
	return fastsnap_error_last_code();
}

void fs_ceph_close(fs_ceph *c)
{
	if (!c)
		return;
	rados_shutdown(c->rados);
	ceph_free(c);
}

const char *fs_ceph_fsid(const fs_ceph *c) { return c->fsid; }
rados_t fs_ceph_handle(fs_ceph *c) { return c->rados; }

void fs_ceph_params_get(const fs_ceph *c, fs_ceph_params *p)
{
	p->conf = c->conf;
	p->user = c->user;
	p->keyring = c->keyring;
	p->op_timeout_s = c->op_timeout_s;
	p->connect_timeout_ms = c->connect_timeout_ms;
}

int fs_ceph_ioctx(rados_ioctx_t *out, fs_ceph *c, const char *pool)
{
	int r = rados_ioctx_create(c->rados, pool, out);
	if (r < 0)
		return fs_err(fs_errno_to_code(r), "Ceph: cannot open pool '%s' as client.%s: %s",
			pool, c->user, strerror(-r));
	return 0;
}
