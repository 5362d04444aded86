/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/config.h: the nova.conf-style INI config file. Only the options
 * fastsnap uses are kept; every other section and key is ignored, since a
 * real nova.conf has hundreds. Parsing takes a buffer and does no I/O
 * (fs_config_parse); fs_config_load reads a file and calls it.
 * Every string is owned by the struct (fs_config_free).
 */
#ifndef FS_CONFIG_H
#define FS_CONFIG_H

#include <stddef.h>

#include "core/common.h"
#include "core/service_user.h"

typedef struct {
	/* [glance] */
	char *glance_api_server;   /* first of api_servers ("http://" added if no scheme) */
	char *glance_endpoint_override; /* endpoint_override (used when api_servers is unset) */
	char *glance_store;        /* store: the operator's snapshot store */
	char *glance_copy_to;      /* copy_to: stores to copy snapshots into ("a,b") */
	int glance_copy_all_must_succeed; /* copy_all_must_succeed: -1 unset, 0/1 */
	int glance_num_retries;    /* num_retries, -1 unset */
	char *glance_cafile;       /* cafile */
	char *glance_certfile;     /* certfile */
	char *glance_keyfile;      /* keyfile */
	int glance_insecure;       /* insecure: -1 unset, 0/1 */
	char *glance_region_name;  /* region_name */
	char *glance_interface;    /* first of valid_interfaces */

	/* [libvirt] */
	char *images_rbd_pool;
	char *snapshot_image_format; /* [libvirt] snapshot_image_format: raw or qcow2 */
	char *images_rbd_ceph_conf;
	char *rbd_user;
	char *images_type;

	/* [service_user] (as in nova.conf): the service token sent next to the
	 * user's token as X-Service-Token (docs/auth.md) */
	int su_send;               /* send_service_user_token: -1 unset, 0/1 */
	char *su_auth_type;        /* auth_type: password, v3password, v3applicationcredential */
	fs_service_user su;        /* the identity (core/service_user.h) */

	/* [fastsnap] */
	char *keyring;             /* keyring: path of the Ceph keyring */
	char *flatten_helper;      /* flatten_helper: the helper's path, or "none" */
	int clone_depth_cap;       /* -1 unset; 1..1000 */
	long ceph_op_timeout_s;    /* -1 unset; 1..86400: librados mon and OSD op timeout */
	long connect_timeout_ms;   /* -1 unset; > 0 */
	long low_speed_time_s;     /* -1 unset; > 0 */
	long call_deadline_s;      /* -1 unset; 1..86400: one Glance/Keystone call, retries included */
	long glance_cache_s;       /* -1 unset; 0..86400: the engine keeps stores and schema (0: no) */
} fs_config;

/* Set every field to "unset" (NULL / -1). */
void fs_config_init(fs_config *c);
/* Parse an INI buffer (need not be NUL-terminated). On error returns
 * FASTSNAP_ECONFIG with "<config>:LINE: ..." and leaves *out empty. */
int fs_config_parse(fs_config *out, const char *buf, size_t len);
/* Same, naming the source in messages ("PATH:LINE: ..."). */
int fs_config_parse_named(fs_config *out, const char *name, const char *buf, size_t len);
/* Read `path` and parse it. A missing file gives FASTSNAP_ENOTFOUND. */
int fs_config_load(fs_config *out, const char *path);
void fs_config_free(fs_config *c);

#endif
