/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capture/source_file.h: a raw file or block device as a snapshot source:
 * open it, refuse image formats that are not raw (by magic bytes), and
 * check afterwards that it did not change while it was read (docs/streaming.md, "Sources").
 */
#ifndef FS_SOURCE_FILE_H
#define FS_SOURCE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/common.h"

/* What identifies the file's state before the read. */
typedef struct {
	uint64_t size;
	struct timespec mtime;
	uint64_t dev;
	uint64_t ino;
	int is_blockdev;
} fs_file_stamp;

/* The name of the non-raw format whose magic starts `buf` ("qcow2",
 * "VMDK", ...), or NULL when none is recognised (raw). No I/O. */
const char *fs_source_detect_format(const unsigned char *buf, size_t len);

/* Open `path` read-only (a regular file or a block device), get its size
 * (BLKGETSIZE64 for a block device), refuse a non-raw format
 * (FASTSNAP_EFORMAT), and record its stamp. The caller closes *fd_out. */
int fs_source_file_open(int *fd_out, uint64_t *size_out, fs_file_stamp *stamp, const char *path);

/* FASTSNAP_ECONFLICT "file X changed while it was read" when the size or
 * the mtime (regular files) differ from the stamp. */
int fs_source_file_check_unchanged(int fd, const char *path, const fs_file_stamp *stamp);

#endif
