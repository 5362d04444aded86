/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/support/fault_suite.c: the shared part of the unit suites against
 * the fault server (see fault_suite.h).
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fault_suite.h"

fs_fault_server fs_test_srv;

void fs_test_fault_suite_init(void)
{
	cr_assert_eq(fs_test_fault_server_start(&fs_test_srv), 0, "fault server did not start");
}

void fs_test_fault_suite_fini(void)
{
	fs_test_fault_server_stop(&fs_test_srv);
}

fs_glance *fs_test_fault_client(fs_settings *s, const char *scen, const char *tag, int retries)
{
	char *url = fs_test_fault_url(&fs_test_srv, scen, tag);
	fs_test_settings(s, url, retries);
	free(url);
	fs_glance *g;
	cr_assert_eq(fs_glance_new(&g, s, NULL), 0, "%s", fastsnap_error_last());
	return g;
}

int fs_test_fault_state_int(const char *scen, const char *tag, const char *key)
{
	cJSON *j = fs_test_fault_state(&fs_test_srv, scen, tag);
	cr_assert_not_null(j, "no state for %s/%s", scen, tag);
	const cJSON *v = cJSON_GetObjectItem(j, key);
	int n = cJSON_IsNumber(v) ? v->valueint : (cJSON_IsTrue(v) ? 1 : 0);
	cJSON_Delete(j);
	return n;
}

char *fs_test_fault_state_str(const char *scen, const char *tag, const char *key)
{
	cJSON *j = fs_test_fault_state(&fs_test_srv, scen, tag);
	cr_assert_not_null(j, "no state for %s/%s", scen, tag);
	const cJSON *v = cJSON_GetObjectItem(j, key);
	char *s = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
	cJSON_Delete(j);
	return s;
}

int fs_test_fault_count_methods(const char *scen, const char *tag, const char *prefix)
{
	cJSON *j = fs_test_fault_state(&fs_test_srv, scen, tag);
	cr_assert_not_null(j, "no state for %s/%s", scen, tag);
	int n = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "methods"))
		n += cJSON_IsString(m) && !strncmp(m->valuestring, prefix, strlen(prefix));
	cJSON_Delete(j);
	return n;
}
