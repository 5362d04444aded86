/* SPDX-License-Identifier: Apache-2.0 */
/*
 * examples/list-stores.c: list Glance's stores through libfastsnap, one
 * line each: id, default, read-only, type and pool when known. Settings
 * come from the environment (use_env), as for the fastsnap command.
 *
 * Build against an installed libfastsnap:
 *   cc list-stores.c $(pkg-config --cflags --libs fastsnap) -o list-stores
 */
#include <stdio.h>

#include <fastsnap.h>

int main(void)
{
	int major, minor, patch;
	fastsnap_version(&major, &minor, &patch);
	if (major != FASTSNAP_VERSION_MAJOR || minor < FASTSNAP_VERSION_MINOR) {
		fprintf(stderr, "built against fastsnap %s, running with an older %d.%d\n",
			FASTSNAP_VERSION_STRING, major, minor);
		return 1;
	}
	fastsnap_engine_opts eo = FASTSNAP_ENGINE_OPTS_INIT;
	eo.use_env = 1;
	fastsnap_engine *engine = NULL;
	fastsnap_store_list *list = NULL;
	if (fastsnap_engine_open(&engine, &eo) < 0 || fastsnap_stores_list(&list, engine) < 0) {
		fprintf(stderr, "stores: %s (%s)\n", fastsnap_error_last(),
			fastsnap_strerror(fastsnap_error_last_code()));
		fastsnap_engine_close(engine);
		return 1;
	}
	printf("cluster %s\n", fastsnap_engine_fsid(engine));
	for (size_t i = 0; i < fastsnap_store_list_count(list); i++) {
		const fastsnap_store *s = fastsnap_store_list_get(list, i);
		printf("%-10s %-8s %-10s %-5s %s\n", s->id, s->is_default ? "default" : "-",
			s->read_only ? "read-only" : "-", s->type ? s->type : "?", s->pool ? s->pool : "-");
	}
	fastsnap_store_list_free(list);
	fastsnap_engine_close(engine);
	return 0;
}
