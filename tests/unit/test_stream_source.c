/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_stream_source.c: raw file sources (capture/source_file.c):
 * refusing non-raw formats by magic bytes, block-device-free size checks,
 * and catching a file that changed while it was read.
 */
#include <sys/stat.h>
#include <time.h>

#include "capture/source_file.h"
#include "test_stream_util.h"

static void write_file(char *path, const void *head, size_t n, size_t off, uint64_t size)
{
	int fd = ts_sparse_file(path, size);
	cr_assert(pwrite(fd, head, n, (off_t)off) == (ssize_t)n);
	close(fd);
}

static void expect_refused(const void *magic, size_t n, size_t off, const char *name)
{
	char path[64];
	write_file(path, magic, n, off, 1 << 20);
	int fd = 123;
	uint64_t size = 0;
	fs_file_stamp st;
	int r = fs_source_file_open(&fd, &size, &st, path);
	cr_assert_eq(r, FASTSNAP_EFORMAT, "%s: got %d", name, r);
	cr_assert_eq(fd, -1);
	cr_assert(strstr(fastsnap_error_last(), name), "message names %s: %s", name,
		fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), path), "message names the file: %s",
		fastsnap_error_last());
	unlink(path);
}

Test(stream_source, refuses_non_raw_formats)
{
	expect_refused("QFI\xfb\0\0\0\3", 8, 0, "qcow2");
	expect_refused("KDMV\1\0\0\0", 8, 0, "VMDK");
	expect_refused("# Disk DescriptorFile\n", 22, 0, "VMDK");
	expect_refused("vhdxfile", 8, 0, "VHDX");
	expect_refused("conectix", 8, 0, "VHD");
	expect_refused("\x7f\x10\xda\xbe", 4, 0x40, "VDI");
	expect_refused("QED\0", 4, 0, "QED");
	expect_refused("LUKS\xba\xbe\0\1", 8, 0, "LUKS");
}

Test(stream_source, detect_format_is_a_pure_parser)
{
	cr_assert_str_eq(fs_source_detect_format((const unsigned char *)"QFI\xfb", 4), "qcow2");
	cr_assert_null(fs_source_detect_format((const unsigned char *)"QFI", 3));
	cr_assert_null(fs_source_detect_format((const unsigned char *)"", 0));
	unsigned char mbr[512] = { 0 };
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	cr_assert_null(fs_source_detect_format(mbr, sizeof(mbr)));
}

Test(stream_source, opens_raw_files)
{
	char path[64];
	int wfd = ts_sparse_file(path, 5 << 20);
	ts_fill(wfd, 0, 1000);
	close(wfd);
	int fd = -1;
	uint64_t size = 0;
	fs_file_stamp st;
	cr_assert_eq(fs_source_file_open(&fd, &size, &st, path), 0, "%s", fastsnap_error_last());
	cr_assert(fd >= 0);
	cr_assert_eq(size, 5 << 20);
	cr_assert_eq(st.size, 5 << 20);
	cr_assert_eq(st.is_blockdev, 0);
	cr_assert_eq(fs_source_file_check_unchanged(fd, path, &st), 0);
	close(fd);
	/* empty and tiny files are raw */
	cr_assert_eq(truncate(path, 0), 0);
	cr_assert_eq(fs_source_file_open(&fd, &size, &st, path), 0);
	cr_assert_eq(size, 0);
	close(fd);
	unlink(path);
}

Test(stream_source, missing_and_wrong_kind)
{
	int fd = -1;
	uint64_t size = 0;
	fs_file_stamp st;
	cr_assert_eq(fs_source_file_open(&fd, &size, &st, "/nonexistent/fastsnap-disk"),
		FASTSNAP_ENOTFOUND);
	cr_assert(strstr(fastsnap_error_last(), "/nonexistent/fastsnap-disk"));
	cr_assert_eq(fs_source_file_open(&fd, &size, &st, "/tmp"), FASTSNAP_EINVAL);
	cr_assert_eq(fd, -1);
}

Test(stream_source, unchanged_check_catches_a_write)
{
	char path[64];
	int wfd = ts_sparse_file(path, 1 << 20);
	int fd = -1;
	uint64_t size = 0;
	fs_file_stamp st;
	cr_assert_eq(fs_source_file_open(&fd, &size, &st, path), 0);
	/* same size, later mtime (set explicitly: timestamps may be coarse) */
	ts_fill(wfd, 4096, 10);
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { st.mtime.tv_sec + 5, 0 } };
	cr_assert_eq(futimens(wfd, ts), 0);
	cr_assert_eq(fs_source_file_check_unchanged(fd, path, &st), FASTSNAP_ECONFLICT);
	cr_assert(strstr(fastsnap_error_last(), "changed while it was read"), "%s",
		fastsnap_error_last());
	cr_assert(strstr(fastsnap_error_last(), path));
	/* a size change alone */
	close(fd);
	cr_assert_eq(fs_source_file_open(&fd, &size, &st, path), 0);
	cr_assert_eq(ftruncate(wfd, 2 << 20), 0);
	struct timespec back[2] = { { 0, UTIME_OMIT }, st.mtime };
	cr_assert_eq(futimens(wfd, back), 0);
	cr_assert_eq(fs_source_file_check_unchanged(fd, path, &st), FASTSNAP_ECONFLICT);
	cr_assert(strstr(fastsnap_error_last(), "size"));
	close(fd);
	close(wfd);
	unlink(path);
}
