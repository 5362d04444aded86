/* SPDX-License-Identifier: Apache-2.0 */
/*
 * result.h: the result object of a plan or a run (internal layout; the
 * public accessors and the JSON are in result.c).
 */
#ifndef FS_RESULT_H
#define FS_RESULT_H

#include "core/common.h"
#include "plan/plan.h"
#include "stream/stream.h"

struct fastsnap_result {
	char *image_id;
	char *name;
	char *reason;
	char *store;
	char *location;
	char *flatten;
	const char *disk_format;    /* static: "raw" or "qcow2" */
	char *disk;
	char *error;
	char *json;
	char sha512[129];
	char md5[33];
	fastsnap_path path;
	uint64_t size;
	uint64_t bytes_read;
	uint64_t bytes_sent;
	double step_s[FASTSNAP_STEP__COUNT];
	double seconds;
	double active_seconds;
	int error_code;
	int planned_only;
	int needs_attention;        /* failed after the image went active: kept */
	fs_strv cleaned_up;         /* what the failure path removed */
	/* copies into further stores (copy.c): one per store asked for */
	struct fs_copy_state {
		char *store;
		const char *state;      /* static: "copying", "done", "failed", "timeout" */
		char *detail;           /* or NULL */
		double seconds;         /* from the request to the end of this store's copy */
	} *copies;
	size_t n_copies;
	char *stores;               /* the image's stores as last seen, or NULL */
	int copy_only;              /* fastsnap_copy's result: no snapshot fields */
};

int fs_result_new(fastsnap_result **out);
/* Store, path, reason, size and flatten mode from the plan. */
void fs_result_set_plan(fastsnap_result *res, const fs_plan *p);
/* Hashes and byte counts of a stream. */
void fs_result_set_stream(fastsnap_result *res, const fs_stream_res *s);
/* Append "; <text>" to the reason (NULL: nothing). */
void fs_result_add_reason(fastsnap_result *res, const char *text);
/* Take over the list of what the clean-up removed (leaves *done empty). */
void fs_result_take_cleanup(fastsnap_result *res, fs_strv *done);
/* The run's end: its error (rc < 0), total and per-step seconds. */
void fs_result_finish(fastsnap_result *res, int rc, const char *msg, double seconds,
	const double *step_s);

#endif
