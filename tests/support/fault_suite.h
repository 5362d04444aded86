/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/support/fault_suite.h: what a unit suite against the fault server
 * (fault_server.h) shares: the server, started for each test by the
 * suite's .init and stopped by its .fini, a Glance client for a scenario,
 * and the scenario's recorded state.
 */
#ifndef FS_TEST_FAULT_SUITE_H
#define FS_TEST_FAULT_SUITE_H

#include "clients/glance.h"
#include "fault_server.h"

/* The server of the running test. */
extern fs_fault_server fs_test_srv;

/* TestSuite(name, .init = fs_test_fault_suite_init, .fini = ...fini). */
void fs_test_fault_suite_init(void);
void fs_test_fault_suite_fini(void);

/* A tag unique to this process and call, named t. */
#define FS_TEST_TAG(t) char t[96]; fs_test_unique_tag(t, sizeof(t), #t)

/* A Glance client for scenario/tag (settings in *s: fs_settings_free). */
fs_glance *fs_test_fault_client(fs_settings *s, const char *scen, const char *tag, int retries);
/* A number (true counts 1) or a string (malloc'd, or NULL) of the
 * scenario's state. */
int fs_test_fault_state_int(const char *scen, const char *tag, const char *key);
char *fs_test_fault_state_str(const char *scen, const char *tag, const char *key);
/* How many of the requests the scenario recorded start with `prefix`
 * ("PATCH", "GET /v2/images/..."). */
int fs_test_fault_count_methods(const char *scen, const char *tag, const char *prefix);

#endif
