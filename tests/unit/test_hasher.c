/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_hasher.c: the hashing thread (stream/hasher.c): sha512
 * and md5 of a stream pushed in pieces equal the one-shot digests (and the
 * published ones for "abc" and the empty stream), every buffer is handed
 * back once and in order, a full queue blocks the pusher instead of losing
 * a buffer, reset starts over, and md5 is optional.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "stream/hasher.h"

#define SHA512_ABC "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define SHA512_EMPTY "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce" \
	"47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define MD5_ABC "900150983cd24fb0d6963f7d28e17f72"

typedef struct {
	int n;
	void *order[4096];
} handed_back;

static void done(void *ctx, void *item)
{
	handed_back *h = ctx;   /* the hashing thread alone calls it */
	if (h->n < 4096)
		h->order[h->n] = item;
	h->n++;
}

Test(hasher, abc_in_pieces_and_the_empty_stream)
{
	handed_back hb = { 0 };
	fs_hasher *h;
	cr_assert_eq(fs_hasher_new(&h, 1, 2, done, &hb), 0, "%s", fastsnap_error_last());
	cr_assert_eq(fs_hasher_push(h, "a", 1, (void *)1), 0);
	cr_assert_eq(fs_hasher_push(h, "bc", 2, (void *)2), 0);
	char sha[129], md5[33];
	cr_assert_eq(fs_hasher_final(h, sha, md5), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(sha, SHA512_ABC);
	cr_assert_str_eq(md5, MD5_ABC);
	cr_assert_eq(fs_hasher_bytes(h), 3);
	cr_assert_eq(hb.n, 2);
	/* reset: the empty stream */
	cr_assert_eq(fs_hasher_reset(h), 0);
	cr_assert_eq(fs_hasher_final(h, sha, md5), 0);
	cr_assert_str_eq(sha, SHA512_EMPTY);
	cr_assert_str_eq(md5, "d41d8cd98f00b204e9800998ecf8427e");
	fs_hasher_free(h);
}

Test(hasher, without_md5)
{
	fs_hasher *h;
	cr_assert_eq(fs_hasher_new(&h, 0, 4, NULL, NULL), 0, "%s", fastsnap_error_last());
	cr_assert_eq(fs_hasher_push(h, "abc", 3, NULL), 0);
	char sha[129], md5[33] = "x";
	cr_assert_eq(fs_hasher_final(h, sha, md5), 0);
	cr_assert_str_eq(sha, SHA512_ABC);
	cr_assert_str_eq(md5, "");
	fs_hasher_free(h);
}

/* 2000 buffers of odd sizes through a queue of 3: the digests equal the
 * one-shot ones of the whole, each buffer comes back once, in order. */
Test(hasher, many_buffers_through_a_small_queue)
{
	enum { N = 2000 };
	size_t total = 0;
	size_t len[N];
	for (int i = 0; i < N; i++)
		total += (len[i] = (size_t)(i * 37 % 1021) + (i % 7 == 0 ? 0 : 1));
	unsigned char *data = malloc(total);
	cr_assert_not_null(data);
	unsigned int seed = 7;
	for (size_t i = 0; i < total; i++)
		data[i] = (unsigned char)rand_r(&seed);
	handed_back *hb = calloc(1, sizeof(*hb));
	fs_hasher *h;
	cr_assert_eq(fs_hasher_new(&h, 1, 3, done, hb), 0, "%s", fastsnap_error_last());
	size_t off = 0;
	for (int i = 0; i < N; i++) {
		cr_assert_eq(fs_hasher_push(h, data + off, len[i], data + off), 0);
		off += len[i];
	}
	char sha[129], md5[33], want[129];
	cr_assert_eq(fs_hasher_final(h, sha, md5), 0);
	cr_assert_eq(fs_sha512_hex(want, data, total), 0);
	cr_assert_str_eq(sha, want);
	unsigned char m[EVP_MAX_MD_SIZE];
	unsigned int mlen = 0;
	cr_assert(EVP_Digest(data, total, m, &mlen, EVP_md5(), NULL));
	char want_md5[33];
	for (unsigned int i = 0; i < mlen; i++)
		snprintf(want_md5 + 2 * i, 3, "%02x", m[i]);
	cr_assert_str_eq(md5, want_md5);
	cr_assert_eq(fs_hasher_bytes(h), total);
	cr_assert_eq(hb->n, N, "%d of %d buffers handed back", hb->n, N);
	off = 0;
	for (int i = 0; i < N; i++) {
		cr_assert_eq(hb->order[i], data + off, "buffer %d handed back out of order", i);
		off += len[i];
	}
	fs_hasher_free(h);
	free(hb);
	free(data);
}

Test(hasher, one_shot)
{
	char sha[129];
	cr_assert_eq(fs_sha512_hex(sha, "abc", 3), 0);
	cr_assert_str_eq(sha, SHA512_ABC);
	cr_assert_eq(fs_sha512_hex(sha, "", 0), 0);
	cr_assert_str_eq(sha, SHA512_EMPTY);
}
