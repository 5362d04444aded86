/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/settings.h: the resolved settings of an engine. Each value comes
 * from, in order: the caller's fastsnap_engine_opts, the environment
 * (when use_env is set), the nova.conf-style config file, a default.
 * Every string is owned by the struct (fs_settings_free). This is the
 * only module that reads the environment, and only when use_env is set.
 */
#ifndef FS_SETTINGS_H
#define FS_SETTINGS_H

#include "core/common.h"
#include "core/service_user.h"

typedef struct fs_glance_shared fs_glance_shared;   /* clients/glance.h */

typedef struct {
	/* Ceph */
	char *ceph_conf;
	char *ceph_user;          /* without "client." */
	char *keyring;
	char *images_rbd_pool;    /* [libvirt] images_rbd_pool (informational) */

	/* Glance */
	char *glance_url;         /* explicit endpoint, or NULL (catalog) */
	char *os_token;
	fs_strv glance_headers;   /* "Name: value" */
	char *glance_store;       /* [glance] store: operator's snapshot store */
	char *glance_copy_to;     /* [glance] copy_to: "a,b", or NULL */
	int copy_all_must_succeed; /* [glance] copy_all_must_succeed: -1 unset, 0/1 */

	/* Keystone v3 */
	char *os_auth_url;
	char *os_username;
	char *os_password;
	char *os_user_domain_name;
	char *os_project_name;
	char *os_project_id;
	char *os_project_domain_name;
	char *os_application_credential_id;
	char *os_application_credential_secret;
	char *os_interface;
	char *os_region_name;

	/* Service token: nova.conf's [service_user] (config file only).
	 * service_token = send_service_user_token; the su_* identity is
	 * authenticated like the user's (password or application credential). */
	int service_token;
	fs_service_user su;       /* core/service_user.h */

	/* HTTP */
	long connect_timeout_ms;
	long low_speed_time_s;
	long call_deadline_s;     /* one Glance or Keystone call, retries included */
	long glance_cache_s;      /* the engine keeps stores and schema this long (0: no) */
	int num_retries;
	char *ca_file;
	char *client_cert;
	char *client_key;
	int insecure;

	long retry_base_ms;       /* first back-off delay */

	/* Snapshot defaults from [libvirt]/[fastsnap] */
	long clone_depth_cap;
	/* librados: a mon or OSD op that takes longer fails (ETIMEDOUT)
	 * instead of hanging on a dead OSD */
	long ceph_op_timeout_s;
	long heartbeat_s;         /* heartbeat period of a run */
	char *flatten_helper;     /* the flatten helper's path, or "none" (clients/flattener.h) */
	char *snapshot_image_format; /* [libvirt] snapshot_image_format, or NULL (raw) */

	/* Test builds only (FASTSNAP_TEST_HOOKS; else always NULL): a step
	 * name after which the run fails or the process SIGKILLs itself, and
	 * "step:fraction" to SIGKILL it once that share of a step is done; a
	 * kill hook may end in ":INT", ":TERM" or ":HUP" to send that signal
	 * (once) instead. */
	char *test_fail_after;
	char *test_kill_after;
	char *test_kill_during;
	char *test_run_during;    /* "step:fraction:shell command", run once */

	/* Not a setting: the engine's shared Glance state (connection pool,
	 * cache), made by fastsnap_engine_open and freed by its close, never by
	 * fs_settings_free. Every client made from these settings uses it;
	 * NULL (settings resolved elsewhere): a client of its own. */
	fs_glance_shared *glance_shared;
} fs_settings;

/* Resolve opts + env + config file into `s` (zeroed first). */
int fs_settings_resolve(fs_settings *s, const fastsnap_engine_opts *opts);
void fs_settings_free(fs_settings *s);
/* Validate and add one "Name: value" header (CR/LF refused). */
int fs_settings_add_header(fs_settings *s, const char *hdr);

#endif
