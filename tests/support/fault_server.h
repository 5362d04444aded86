/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/support/fault_server.h: start and stop tests/support/fault_server.py
 * (a fault-injecting HTTP server) on a free loopback port, and read its
 * per-scenario state. Stopped by its pid, never by name.
 */
#ifndef FS_TEST_FAULT_SERVER_H
#define FS_TEST_FAULT_SERVER_H

#include <sys/types.h>

#include <cjson/cJSON.h>

#include "core/settings.h"

typedef struct {
	pid_t pid;
	int port;
	char base[64];            /* "http://127.0.0.1:<port>" */
} fs_fault_server;

/* Returns 0, or -1 with a reason on stderr. */
int fs_test_fault_server_start(fs_fault_server *out);
void fs_test_fault_server_stop(fs_fault_server *s);
/* "<base>/s/<scenario>/<tag>" (malloc'd). */
char *fs_test_fault_url(const fs_fault_server *s, const char *scenario, const char *tag);
/* GET /_state/<scenario>/<tag> parsed (cJSON_Delete it), or NULL. */
cJSON *fs_test_fault_state(const fs_fault_server *s, const char *scenario, const char *tag);
/* A tag unique to this process and call. */
void fs_test_unique_tag(char *out, size_t len, const char *prefix);

/* Zero `s` and set glance_url (copied), short timeouts, num_retries. Free
 * with fs_settings_free. */
void fs_test_settings(fs_settings *s, const char *glance_url, int num_retries);
#endif
