/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/status.c: `fastsnap status IMAGE_ID`: the final result a --detach
 * child wrote under the state directory (cli_state_dir()/runs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "cli/detach.h"

int cmd_status(global_opts *g, int argc, char **argv)
{
	const char *id = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: fastsnap [global options] status IMAGE_ID [--json]\n\n"
				"Prints the final result of a 'snapshot --detach' run, as its background child\n"
				"wrote it to $FASTSNAP_STATE_DIR/runs/IMAGE_ID.json (default /var/lib/fastsnap).\n"
				"Exit status: 0 the run completed, 1 it failed, or no result yet (still running,\n"
				"or the child died: see fastsnap gc), 2 usage error.\n");
			return 0;
		}
		if (!strcmp(argv[i], "--json"))
			g->json = 1;
		else if (!id && argv[i][0] != '-')
			id = argv[i];
		else {
			fprintf(stderr, "%s: status: unexpected argument '%s'\n", prog, argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!id || strchr(id, '/')) {
		fprintf(stderr, "%s: status: give the image id of a detached run\n", prog);
		return EXIT_USAGE;
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/runs/%s.json", cli_state_dir(), id);
	FILE *f = fopen(path, "r");
	if (!f) {
		char msg[4400];
		snprintf(msg, sizeof(msg), "no result for %s in %s: the run may still be going, or its "
			"child died (fastsnap gc cleans up after it)", id, path);
		cli_error(g, msg, FASTSNAP_ENOTFOUND);
		return EXIT_FAIL;
	}
	char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	cJSON *o = cJSON_Parse(buf);
	int failed = !o || cJSON_GetObjectItemCaseSensitive(o, "error") != NULL;
	if (g->json) {
		fputs(buf, stdout);
	} else {
		const char *err = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "error"));
		const char *path_s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "path"));
		printf("image    %s\nresult   %s%s%s\n", id, failed ? "failed" : "completed",
			path_s ? ", path " : "", path_s ? path_s : "");
		if (err)
			printf("error    %s\n", err);
	}
	cJSON_Delete(o);
	return failed ? EXIT_FAIL : 0;
}
