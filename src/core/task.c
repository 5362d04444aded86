/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/task.c: run a function on its own thread, join it with its error
 * (see task.h).
 */
#include "core/task.h"

static void *trampoline(void *p)
{
	fs_task *t = p;
	fastsnap_error_clear();
	t->rc = t->fn(t->arg);
	if (t->rc < 0)
		fs_error_state_capture(&t->err);
	return NULL;
}

void fs_task_start(fs_task *t, int (*fn)(void *), void *arg)
{
	t->fn = fn;
	t->arg = arg;
	t->rc = 0;
	t->err.code = 0;
	t->started = pthread_create(&t->thread, NULL, trampoline, t) == 0;
	if (!t->started) {
		fs_error_state mine;
		fs_error_state_capture(&mine);
		trampoline(t);
		fs_error_state_restore(&mine);
	}
}

int fs_task_join(fs_task *t)
{
	if (t->started)
		pthread_join(t->thread, NULL);
	t->started = 0;
	if (t->rc < 0)
		fs_error_state_restore(&t->err);
	return t->rc;
}
