/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/tsan/threads.c: one engine, N threads, N snapshots at once, built
 * with ThreadSanitizer by tests/tsan/run (Criterion does not run under
 * TSan). Uses only the public header. Arguments: the base image id, then
 * one "MODE=pool/image" per thread: MODE sync, deferred or none goes direct
 * (`fast`, base_image_ref set, that flatten mode), stream streams into
 * `local`. All threads start together. Prints one line per success
 * ("IMAGE_ID DISK PATH FLATTEN") and exits 0 when every snapshot succeeded
 * on the path its mode asks for; the images are deleted by the script.
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers under -std=c11 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastsnap.h"

typedef struct {
	fastsnap_engine *e;
	const char *disk;
	const char *base;
	const char *mode;
	pthread_barrier_t *go;
	int rc;
} job;

static void *run(void *arg)
{
	job *j = arg;
	char name[160];
	snprintf(name, sizeof(name), "tsan-%s", strchr(j->disk, '/') + 1);
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.disk = j->disk;
	o.name = name;
	int direct = strcmp(j->mode, "stream") != 0;
	if (direct) {
		o.base_image_ref = j->base;
		o.flatten = !strcmp(j->mode, "none") ? FASTSNAP_FLATTEN_NONE
			: !strcmp(j->mode, "deferred") ? FASTSNAP_FLATTEN_DEFERRED : FASTSNAP_FLATTEN_SYNC;
	} else {
		o.store = "local";
	}
	pthread_barrier_wait(j->go);
	fastsnap_result *r = NULL;
	j->rc = fastsnap_snapshot(&r, j->e, &o);
	if (j->rc) {
		fprintf(stderr, "%s (%s): %s\n", j->disk, j->mode, fastsnap_error_last());
	} else {
		fastsnap_path want = direct ? FASTSNAP_PATH_DIRECT : FASTSNAP_PATH_STREAM;
		if (fastsnap_result_path(r) != want) {
			fprintf(stderr, "%s (%s): took the %s path: %s\n", j->disk, j->mode,
				fastsnap_path_name(fastsnap_result_path(r)), fastsnap_result_reason(r));
			j->rc = -1;
		}
		/* the image id is printed either way, so that the script deletes it */
		printf("%s %s %s %s\n", fastsnap_result_image_id(r), j->disk,
			fastsnap_path_name(fastsnap_result_path(r)),
			fastsnap_result_flatten(r) ? fastsnap_result_flatten(r) : "-");
	}
	fastsnap_result_free(r);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: threads BASE_IMAGE_ID MODE=POOL/DISK... (MODE: sync, deferred, none, stream)\n");
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
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (int i = 0; i < n; i++) {
		char *eq = strchr(argv[i + 2], '=');
		if (!eq || !strchr(eq, '/')) {
			fprintf(stderr, "expected MODE=POOL/DISK, not '%s'\n", argv[i + 2]);
			return 2;
		}
		*eq = '\0';
		jobs[i] = (job){ e, eq + 1, argv[1], argv[i + 2], &go, -1 };
	}
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, run, &jobs[i]);
	int failed = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		failed += jobs[i].rc != 0;
	}
	pthread_barrier_destroy(&go);
	free(jobs);
	free(t);
	fastsnap_engine_close(e);
	return failed ? 1 : 0;
}
