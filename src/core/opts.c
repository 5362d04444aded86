/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/opts.c: upgrades an option struct of any known version to the
 * current one. Fields are only ever appended, so version N's fields are a
 * prefix of the struct: copy that prefix, default the rest. The size of
 * each version is the offset of the first field the next one added.
 */
#include <stddef.h>
#include <string.h>

#include "core/opts.h"

static const size_t engine_sizes[] = {
	[1] = offsetof(fastsnap_engine_opts, retry_base_ms),
	[2] = offsetof(fastsnap_engine_opts, call_deadline_s),
	[3] = offsetof(fastsnap_engine_opts, glance_cache_s),
	[4] = offsetof(fastsnap_engine_opts, flatten_helper),
	[5] = sizeof(fastsnap_engine_opts),
};

static const size_t snapshot_sizes[] = {
	[1] = offsetof(fastsnap_snapshot_opts, capture_cb),
	[2] = offsetof(fastsnap_snapshot_opts, cancel),
	[3] = offsetof(fastsnap_snapshot_opts, image_id),
	[4] = offsetof(fastsnap_snapshot_opts, target_pool),
	[5] = offsetof(fastsnap_snapshot_opts, copy_to),
	[6] = sizeof(fastsnap_snapshot_opts),
};

static const size_t copy_sizes[] = {
	[1] = sizeof(fastsnap_copy_opts),
};

static const size_t gc_sizes[] = {
	[1] = sizeof(fastsnap_gc_opts),
};

_Static_assert(sizeof(copy_sizes) / sizeof(copy_sizes[0]) == FASTSNAP_COPY_OPTS_VERSION + 1,
	"copy_sizes needs an entry for every version");
_Static_assert(sizeof(gc_sizes) / sizeof(gc_sizes[0]) == FASTSNAP_GC_OPTS_VERSION + 1,
	"gc_sizes needs an entry for every version");
_Static_assert(sizeof(engine_sizes) / sizeof(engine_sizes[0]) == FASTSNAP_ENGINE_OPTS_VERSION + 1,
	"engine_sizes needs an entry for every version");
_Static_assert(sizeof(snapshot_sizes) / sizeof(snapshot_sizes[0]) == FASTSNAP_SNAPSHOT_OPTS_VERSION + 1,
	"snapshot_sizes needs an entry for every version");

static int upgrade(void *out, const void *in, const void *defaults, const size_t *sizes,
	unsigned int current, const char *what, const char *init)
{
	if (!in)
		return fs_err(FASTSNAP_EINVAL, "%s: NULL", what);
	unsigned int v = *(const unsigned int *)in;
	if (v < 1 || v > current)
		return fs_err(FASTSNAP_EINVAL, "%s: version %u, this library knows 1 to %u "
			"(initialise with %s)", what, v, current, init);
	memcpy(out, defaults, sizes[current]);
	memcpy(out, in, sizes[v]);
	*(unsigned int *)out = current;
	return 0;
}

int fs_engine_opts_upgrade(fastsnap_engine_opts *out, const fastsnap_engine_opts *in)
{
	static const fastsnap_engine_opts def = FASTSNAP_ENGINE_OPTS_INIT;
	return upgrade(out, in, &def, engine_sizes, FASTSNAP_ENGINE_OPTS_VERSION, "engine options",
		"FASTSNAP_ENGINE_OPTS_INIT");
}

int fs_snapshot_opts_upgrade(fastsnap_snapshot_opts *out, const fastsnap_snapshot_opts *in)
{
	static const fastsnap_snapshot_opts def = FASTSNAP_SNAPSHOT_OPTS_INIT;
	return upgrade(out, in, &def, snapshot_sizes, FASTSNAP_SNAPSHOT_OPTS_VERSION, "snapshot options",
		"FASTSNAP_SNAPSHOT_OPTS_INIT");
}

int fs_gc_opts_upgrade(fastsnap_gc_opts *out, const fastsnap_gc_opts *in)
{
	static const fastsnap_gc_opts def = FASTSNAP_GC_OPTS_INIT;
	return upgrade(out, in, &def, gc_sizes, FASTSNAP_GC_OPTS_VERSION, "gc options",
		"FASTSNAP_GC_OPTS_INIT");
}

int fs_copy_opts_upgrade(fastsnap_copy_opts *out, const fastsnap_copy_opts *in)
{
	static const fastsnap_copy_opts def = FASTSNAP_COPY_OPTS_INIT;
	return upgrade(out, in, &def, copy_sizes, FASTSNAP_COPY_OPTS_VERSION, "copy options",
		"FASTSNAP_COPY_OPTS_INIT");
}
