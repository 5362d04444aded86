/* SPDX-License-Identifier: Apache-2.0 */
/*
 * examples/snapshot.c: snapshot one disk into a Glance image with
 * libfastsnap and print the result. Settings (Ceph identity, Glance URL
 * and headers or token) come from the environment (use_env), as for the
 * fastsnap command.
 *
 *   snapshot [--store ID] [--base-image-ref UUID] [--flatten sync|deferred|none]
 *            [--dry-run] POOL/IMAGE NAME
 *
 * Build against an installed libfastsnap:
 *   cc snapshot.c $(pkg-config --cflags --libs fastsnap) -o snapshot
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <fastsnap.h>

static int progress(fastsnap_step step, uint64_t done, uint64_t total, void *payload)
{
	(void)payload;
	if (done == 0 || done == total)
		fprintf(stderr, "  %-12s %s\n", fastsnap_step_name(step), done == 0 ? "started" : "done");
	return 0; /* non-zero would cancel the run */
}

int main(int argc, char **argv)
{
	fastsnap_snapshot_opts so = FASTSNAP_SNAPSHOT_OPTS_INIT;
	int dry_run = 0, i;
	for (i = 1; i < argc - 2; i++) {
		if (!strcmp(argv[i], "--store") && i + 1 < argc - 2)
			so.store = argv[++i];
		else if (!strcmp(argv[i], "--base-image-ref") && i + 1 < argc - 2)
			so.base_image_ref = argv[++i];
		else if (!strcmp(argv[i], "--flatten") && i + 1 < argc - 2) {
			const char *m = argv[++i];
			so.flatten = !strcmp(m, "none") ? FASTSNAP_FLATTEN_NONE
				: !strcmp(m, "deferred") ? FASTSNAP_FLATTEN_DEFERRED : FASTSNAP_FLATTEN_SYNC;
		} else if (!strcmp(argv[i], "--dry-run"))
			dry_run = 1;
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: %s [--store ID] [--base-image-ref UUID] "
			"[--flatten sync|deferred|none] [--dry-run] POOL/IMAGE NAME\n", argv[0]);
		return 2;
	}
	so.disk = argv[i];
	so.name = argv[i + 1];
	so.progress_cb = progress;

	fastsnap_engine_opts eo = FASTSNAP_ENGINE_OPTS_INIT;
	eo.use_env = 1;
	fastsnap_engine *engine = NULL;
	if (fastsnap_engine_open(&engine, &eo) < 0) {
		fprintf(stderr, "engine: %s (%s)\n", fastsnap_error_last(),
			fastsnap_strerror(fastsnap_error_last_code()));
		return 1;
	}
	fastsnap_result *r = NULL;
	int rc = dry_run ? fastsnap_plan(&r, engine, &so) : fastsnap_snapshot(&r, engine, &so);
	if (rc < 0) {
		/* The result, when there is one, still holds the plan and the message. */
		fprintf(stderr, "snapshot: %s (%s)\n",
			r ? fastsnap_result_error(r) : fastsnap_error_last(), fastsnap_strerror(rc));
	} else {
		printf("image_id %s\n", fastsnap_result_image_id(r) ? fastsnap_result_image_id(r) : "-");
		printf("path     %s\n", fastsnap_path_name(fastsnap_result_path(r)));
		printf("store    %s\n", fastsnap_result_store(r) ? fastsnap_result_store(r) : "-");
		printf("location %s\n", fastsnap_result_location(r) ? fastsnap_result_location(r) : "-");
		printf("size     %" PRIu64 "\n", fastsnap_result_size(r));
		printf("seconds  %.3f\n", fastsnap_result_seconds(r));
		printf("reason   %s\n", fastsnap_result_reason(r));
	}
	fastsnap_result_free(r);
	fastsnap_engine_close(engine);
	return rc < 0 ? 1 : 0;
}
