/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/task.h: one function run on a thread of its own while the caller
 * goes on, for stages that do not depend on each other (the image is
 * created in Glance while the disk is snapshotted in Ceph). Joining hands
 * the task's result back and, on failure, its thread-local error too.
 */
#ifndef FS_TASK_H
#define FS_TASK_H

#include <pthread.h>

#include "core/common.h"

typedef struct {
	pthread_t thread;
	int started;              /* 0: it ran inline (no thread could start) */
	int (*fn)(void *arg);
	void *arg;
	int rc;
	fs_error_state err;       /* the task's error, when rc < 0 */
} fs_task;

/* Start fn(arg); when no thread can be started it runs here, now. */
void fs_task_start(fs_task *t, int (*fn)(void *), void *arg);
/* Wait for it; returns its result and, when it failed, makes its error
 * the calling thread's. */
int fs_task_join(fs_task *t);

#endif
