/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capture/source_file.c: opening a raw file or block device source, the
 * magic-byte format check, and the "did not change" check.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/source_file.h"

#define FS_MAGIC_PROBE 512

const char *fs_source_detect_format(const unsigned char *buf, size_t len)
{
	static const struct {
		size_t off;
		const char *magic;
		size_t n;
		const char *name;
	} tab[] = {
		{ 0, "QFI\xfb", 4, "qcow2" },
		{ 0, "KDMV", 4, "VMDK" },
		{ 0, "# Disk DescriptorFile", 21, "VMDK (descriptor)" },
		{ 0, "vhdxfile", 8, "VHDX" },
		{ 0, "conectix", 8, "VHD (vpc)" },
		{ 0x40, "\x7f\x10\xda\xbe", 4, "VDI" },
		{ 0, "QED\0", 4, "QED" },
		{ 0, "LUKS\xba\xbe", 6, "LUKS" },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (len >= tab[i].off + tab[i].n &&
		    memcmp(buf + tab[i].off, tab[i].magic, tab[i].n) == 0)
			return tab[i].name;
	}
	return NULL;
}

static int stamp_of(fs_file_stamp *st, int fd, const char *path)
{
	struct stat sb;
	if (fstat(fd, &sb) < 0)
		return fs_err(FASTSNAP_EIO, "stat %s: %s", path, strerror(errno));
	memset(st, 0, sizeof(*st));
	st->dev = (uint64_t)sb.st_dev;
	st->ino = (uint64_t)sb.st_ino;
	st->mtime = sb.st_mtim;
	if (S_ISBLK(sb.st_mode)) {
		uint64_t sz = 0;
		if (ioctl(fd, BLKGETSIZE64, &sz) < 0)
			return fs_err(FASTSNAP_EIO, "size of block device %s: %s", path,
				strerror(errno));
		st->size = sz;
		st->is_blockdev = 1;
	} else if (S_ISREG(sb.st_mode)) {
		st->size = (uint64_t)sb.st_size;
	} else {
		return fs_err(FASTSNAP_EINVAL, "%s is neither a regular file nor a block device",
			path);
	}
	return 0;
}

int fs_source_file_open(int *fd_out, uint64_t *size_out, fs_file_stamp *stamp, const char *path)
{
	*fd_out = -1;
	if (!path || !*path)
		return fs_err(FASTSNAP_EINVAL, "no source file given");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return fs_err(e == ENOENT ? FASTSNAP_ENOTFOUND :
			(e == EACCES || e == EPERM) ? FASTSNAP_EFORBIDDEN : FASTSNAP_EIO,
			"open %s: %s", path, strerror(e));
	}
	fs_file_stamp st;
	int r = stamp_of(&st, fd, path);
	if (r < 0)
		goto fail;
	unsigned char head[FS_MAGIC_PROBE];
	size_t want = st.size < sizeof(head) ? (size_t)st.size : sizeof(head);
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(fd, head + got, want - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = fs_err(FASTSNAP_EIO, "read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	const char *fmt = fs_source_detect_format(head, got);
	if (fmt) {
		r = fs_err(FASTSNAP_EFORMAT, "%s is a %s image, not raw: convert it to raw first "
			"(qemu-img convert -O raw)", path, fmt);
		goto fail;
	}
	*fd_out = fd;
	*size_out = st.size;
	if (stamp)
		*stamp = st;
	return 0;
fail:
	close(fd);
	return r;
}

int fs_source_file_check_unchanged(int fd, const char *path, const fs_file_stamp *stamp)
{
	fs_file_stamp now;
	int r = stamp_of(&now, fd, path);
	if (r < 0)
		return r;
	if (now.size != stamp->size)
		return fs_err(FASTSNAP_ECONFLICT, "file %s changed while it was read "
			"(size %llu, was %llu)", path, (unsigned long long)now.size,
			(unsigned long long)stamp->size);
	if (!stamp->is_blockdev && (now.mtime.tv_sec != stamp->mtime.tv_sec ||
	    now.mtime.tv_nsec != stamp->mtime.tv_nsec))
		return fs_err(FASTSNAP_ECONFLICT, "file %s changed while it was read "
			"(its modification time moved)", path);
	return 0;
}
