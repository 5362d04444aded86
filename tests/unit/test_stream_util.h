/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_stream_util.h: helpers shared by the stream unit tests:
 * sparse temporary files with known contents, read back independently.
 */
#ifndef TEST_STREAM_UTIL_H
#define TEST_STREAM_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

/* A deterministic, non-zero byte at offset `off`. */
static inline unsigned char ts_byte(uint64_t off)
{
	uint64_t x = off * 0x9E3779B97F4A7C15ull;
	return (unsigned char)((x >> 56) | 1);
}

/* Create an empty temp file of `size` bytes (all hole); returns the fd
 * (read-write) and the path in `path` (64 bytes). */
static inline int ts_sparse_file(char *path, uint64_t size)
{
	snprintf(path, 64, "/tmp/fs-stream-test-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0, "mkstemp");
	cr_assert(ftruncate(fd, (off_t)size) == 0, "ftruncate");
	return fd;
}

/* Write the pattern over [off, off+len). */
static inline void ts_fill(int fd, uint64_t off, uint64_t len)
{
	unsigned char buf[65536];
	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = ts_byte(off + i);
		cr_assert(pwrite(fd, buf, n, (off_t)off) == (ssize_t)n, "pwrite");
		off += n;
		len -= n;
	}
}

/* The whole file as one malloc'd buffer (plain read(), no fastsnap code). */
static inline unsigned char *ts_slurp(int fd, uint64_t size)
{
	unsigned char *p = malloc(size ? size : 1);
	cr_assert(p);
	uint64_t got = 0;
	while (got < size) {
		ssize_t n = pread(fd, p + got, size - got, (off_t)got);
		cr_assert(n > 0, "pread");
		got += (uint64_t)n;
	}
	return p;
}

/* sha512 hex via EVP directly. */
static inline void ts_sha512(char out[129], const void *data, size_t len)
{
	unsigned char d[64];
	unsigned int n = 0;
	cr_assert(EVP_Digest(data, len, d, &n, EVP_sha512(), NULL) == 1);
	for (unsigned int i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static inline void ts_md5(char out[33], const void *data, size_t len)
{
	unsigned char d[16];
	unsigned int n = 0;
	cr_assert(EVP_Digest(data, len, d, &n, EVP_md5(), NULL) == 1);
	for (unsigned int i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

#endif
