/*
 * tests/tsan/threads.c: one engine, N threads, N snapshots at once, built
 * with ThreadSanitizer by tests/tsan/run (Criterion does not run under
 * TSan). Uses only the public header. Arguments: the disks ("pool/image"),
 * one thread each; the first half go direct (`fast`, with --base), the
 * rest stream into `local`. Exit 0 when every snapshot succeeded; the
 * images are deleted by the script.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastsnap.h"

typedef struct {
	fastsnap_engine *e;
	const char *disk;
	const char *base;
	int direct;
	int rc;
	char id[64];
} job;

static void *run(void *arg)
{
	job *j = arg;
	char name[160];
	snprintf(name, sizeof(name), "tsan-%s", strchr(j->disk, '/') + 1);
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.disk = j->disk;
	o.name = name;
	if (j->direct) {
		o.base_image_ref = j->base;
		o.flatten = FASTSNAP_FLATTEN_DEFERRED;
	} else {
		o.store = "local";
	}
	fastsnap_result *r = NULL;
	j->rc = fastsnap_snapshot(&r, j->e, &o);
	if (j->rc)
		fprintf(stderr, "%s: %s\n", j->disk, fastsnap_error_last());
	else
		printf("%s %s %s\n", fastsnap_result_image_id(r), j->disk,
			fastsnap_path_name(fastsnap_result_path(r)));
	fastsnap_result_free(r);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: threads BASE_IMAGE_ID POOL/DISK...\n");
		return 2;
	}
	fastsnap_engine_opts eo = FASTSNAP_ENGINE_OPTS_INIT;
	eo.use_env = 1;
	fastsnap_engine *e = NULL;
	if (fastsnap_engine_open(&e, &eo) < 0) {
		fprintf(stderr, "%s\n", fastsnap_error_last());
		return 1;
	}
	int n = argc - 2;
	job *jobs = calloc((size_t)n, sizeof(*jobs));
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	for (int i = 0; i < n; i++) {
		jobs[i] = (job){ e, argv[i + 2], argv[1], i < n / 2, -1, "" };
		pthread_create(&t[i], NULL, run, &jobs[i]);
	}
	int failed = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		failed += jobs[i].rc != 0;
	}
	free(jobs);
	free(t);
	fastsnap_engine_close(e);
	return failed ? 1 : 0;
}
