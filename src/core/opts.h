/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/opts.h: versioned option structs. A caller passes any version from
 * 1 to the current one; these copy the fields that version has into a
 * current struct whose other fields keep their defaults.
 */
#ifndef FS_OPTS_H
#define FS_OPTS_H

#include "core/common.h"

int fs_engine_opts_upgrade(fastsnap_engine_opts *out, const fastsnap_engine_opts *in);
int fs_snapshot_opts_upgrade(fastsnap_snapshot_opts *out, const fastsnap_snapshot_opts *in);
int fs_gc_opts_upgrade(fastsnap_gc_opts *out, const fastsnap_gc_opts *in);
int fs_copy_opts_upgrade(fastsnap_copy_opts *out, const fastsnap_copy_opts *in);

#endif
