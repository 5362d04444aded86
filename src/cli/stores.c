/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/stores.c: `fastsnap stores`: Glance's stores as a table or JSON.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"

int cmd_stores(global_opts *g, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: fastsnap [global options] stores\n\nLists Glance's stores: id, "
				"default, read-only, and type and pool when stores/detail is readable.\n");
			return 0;
		}
		if (!strcmp(argv[i], "--json")) {
			g->json = 1;
			continue;
		}
		fprintf(stderr, "%s: stores: unknown argument '%s'\n", prog, argv[i]);
		return EXIT_USAGE;
	}
	fastsnap_engine *e = NULL;
	if (cli_open_engine(&e, g) < 0)
		return EXIT_FAIL;
	fastsnap_store_list *l = NULL;
	int r = fastsnap_stores_list(&l, e);
	if (r < 0) {
		cli_error(g, fastsnap_error_last(), r);
		fastsnap_engine_close(e);
		return EXIT_FAIL;
	}
	size_t n = fastsnap_store_list_count(l);
	if (g->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "fsid", fastsnap_engine_fsid(e));
		cJSON *arr = cJSON_AddArrayToObject(o, "stores");
		for (size_t i = 0; i < n; i++) {
			const fastsnap_store *s = fastsnap_store_list_get(l, i);
			cJSON *so = cJSON_CreateObject();
			cJSON_AddStringToObject(so, "id", s->id);
			cJSON_AddBoolToObject(so, "default", s->is_default);
			cJSON_AddBoolToObject(so, "read_only", s->read_only);
			if (s->type)
				cJSON_AddStringToObject(so, "type", s->type);
			if (s->pool)
				cJSON_AddStringToObject(so, "pool", s->pool);
			if (s->description)
				cJSON_AddStringToObject(so, "description", s->description);
			cJSON_AddItemToArray(arr, so);
		}
		char *txt = cJSON_PrintUnformatted(o);
		printf("%s\n", txt);
		free(txt);
		cJSON_Delete(o);
	} else {
		printf("Ceph cluster fsid: %s\n", fastsnap_engine_fsid(e));
		printf("%-12s %-8s %-10s %-6s %s\n", "STORE", "DEFAULT", "READ-ONLY", "TYPE", "POOL");
		for (size_t i = 0; i < n; i++) {
			const fastsnap_store *s = fastsnap_store_list_get(l, i);
			printf("%-12s %-8s %-10s %-6s %s\n", s->id, s->is_default ? "yes" : "no",
				s->read_only ? "yes" : "no", s->type ? s->type : "?", s->pool ? s->pool : "-");
		}
		if (!fastsnap_store_list_has_detail(l))
			printf("(type and pool unknown: this identity may not read /v2/info/stores/detail)\n");
	}
	fastsnap_store_list_free(l);
	fastsnap_engine_close(e);
	return 0;
}
