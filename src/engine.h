/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engine.h: the engine handle (internal layout), opened and closed by
 * engine_open.c and shared by the entry points: engine.c (the run),
 * stores.c, direct_undo.c, gc/ and backup/.
 */
#ifndef FS_ENGINE_H
#define FS_ENGINE_H

#include <pthread.h>

#include "clients/ceph.h"
#include "core/settings.h"

struct fastsnap_engine {
	fs_settings s;
	fs_logger log;
	fs_ceph *ceph;
	pthread_mutex_t mu;
	char last_error[1024];
};

/* Keep the calling thread's message as the engine's last error. */
void fs_engine_note_error(fastsnap_engine *e, int code);

#endif
