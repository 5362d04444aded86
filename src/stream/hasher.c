/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream/hasher.c: the hashing thread (hasher.h), on OpenSSL EVP.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "stream/hasher.h"

typedef struct {
	const void *data;
	size_t len;
	void *item;
} fs_hash_job;

struct fs_hasher {
	EVP_MD_CTX *sha;
	EVP_MD_CTX *md5;
	fs_hasher_done_fn done;
	void *ctx;
	fs_hash_job *q;
	unsigned int cap;
	unsigned int head;          /* next job to hash */
	unsigned int count;         /* jobs queued, not yet taken */
	int busy;                   /* a job is being hashed */
	int stop;
	int err;
	unsigned long long bytes;
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* job queued, or stop */
	pthread_cond_t cv_idle;     /* a job finished */
	pthread_t thread;
	int started;
};

static void hex(char *out, const unsigned char *d, unsigned int n)
{
	static const char x[] = "0123456789abcdef";
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static void *hash_thread(void *arg)
{
	fs_hasher *h = arg;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->stop && h->count == 0)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->count == 0 && h->stop)
			break;
		fs_hash_job j = h->q[h->head];
		h->head = (h->head + 1) % h->cap;
		h->count--;
		h->busy = 1;
		pthread_cond_broadcast(&h->cv_idle);   /* a queue place is free */
		pthread_mutex_unlock(&h->mu);
		int ok = EVP_DigestUpdate(h->sha, j.data, j.len) == 1;
		if (ok && h->md5)
			ok = EVP_DigestUpdate(h->md5, j.data, j.len) == 1;
		if (h->done)
			h->done(h->ctx, j.item);
		pthread_mutex_lock(&h->mu);
		if (!ok)
			h->err = FASTSNAP_ERROR;
		h->bytes += j.len;
		h->busy = 0;
		pthread_cond_broadcast(&h->cv_idle);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static int digests_init(fs_hasher *h)
{
	if (EVP_DigestInit_ex(h->sha, EVP_sha512(), NULL) != 1)
		return fs_err(FASTSNAP_ERROR, "cannot start a sha512 digest");
	if (h->md5 && EVP_DigestInit_ex(h->md5, EVP_md5(), NULL) != 1)
		return fs_err(FASTSNAP_ERROR, "cannot start an md5 digest");
	h->bytes = 0;
	h->err = 0;
	return 0;
}

int fs_hasher_new(fs_hasher **out, int with_md5, unsigned int queue_cap,
	fs_hasher_done_fn done, void *ctx)
{
	*out = NULL;
	fs_hasher *h = calloc(1, sizeof(*h));
	if (!h)
		return fs_err(FASTSNAP_ENOMEM, "out of memory for the hasher");
	h->cap = queue_cap ? queue_cap : 1;
	h->done = done;
	h->ctx = ctx;
	h->q = calloc(h->cap, sizeof(*h->q));
	h->sha = EVP_MD_CTX_new();
	h->md5 = with_md5 ? EVP_MD_CTX_new() : NULL;
	if (!h->q || !h->sha || (with_md5 && !h->md5)) {
		fs_hasher_free(h);
		return fs_err(FASTSNAP_ENOMEM, "out of memory for the hasher");
	}
	int r = digests_init(h);
	if (r < 0) {
		fs_hasher_free(h);
		return r;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	pthread_cond_init(&h->cv_idle, NULL);
	int e = pthread_create(&h->thread, NULL, hash_thread, h);
	if (e != 0) {
		pthread_cond_destroy(&h->cv);
		pthread_cond_destroy(&h->cv_idle);
		pthread_mutex_destroy(&h->mu);
		fs_hasher_free(h);
		return fs_err(FASTSNAP_ERROR, "cannot start the hashing thread: %s", strerror(e));
	}
	h->started = 1;
	*out = h;
	return 0;
}

int fs_hasher_push(fs_hasher *h, const void *data, size_t len, void *item)
{
	pthread_mutex_lock(&h->mu);
	while (h->count == h->cap)
		pthread_cond_wait(&h->cv_idle, &h->mu);
	h->q[(h->head + h->count) % h->cap] = (fs_hash_job){ data, len, item };
	h->count++;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	return 0;
}

void fs_hasher_drain(fs_hasher *h)
{
	pthread_mutex_lock(&h->mu);
	while (h->count || h->busy)
		pthread_cond_wait(&h->cv_idle, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

int fs_hasher_reset(fs_hasher *h)
{
	fs_hasher_drain(h);
	return digests_init(h);
}

int fs_hasher_final(fs_hasher *h, char sha512_hex[129], char md5_hex[33])
{
	fs_hasher_drain(h);
	if (h->err)
		return fs_err(FASTSNAP_ERROR, "hashing failed (EVP_DigestUpdate)");
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(h->sha, d, &n) != 1 || n != 64)
		return fs_err(FASTSNAP_ERROR, "cannot finish the sha512 digest");
	hex(sha512_hex, d, n);
	md5_hex[0] = '\0';
	if (h->md5) {
		if (EVP_DigestFinal_ex(h->md5, d, &n) != 1 || n != 16)
			return fs_err(FASTSNAP_ERROR, "cannot finish the md5 digest");
		hex(md5_hex, d, n);
	}
	return 0;
}

unsigned long long fs_hasher_bytes(fs_hasher *h)
{
	pthread_mutex_lock(&h->mu);
	unsigned long long b = h->bytes;
	pthread_mutex_unlock(&h->mu);
	return b;
}

void fs_hasher_free(fs_hasher *h)
{
	if (!h)
		return;
	if (h->started) {
		pthread_mutex_lock(&h->mu);
		h->stop = 1;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->thread, NULL);
		pthread_cond_destroy(&h->cv);
		pthread_cond_destroy(&h->cv_idle);
		pthread_mutex_destroy(&h->mu);
	}
	EVP_MD_CTX_free(h->sha);
	EVP_MD_CTX_free(h->md5);
	free(h->q);
	free(h);
}

int fs_sha512_hex(char out[129], const void *data, size_t len)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_Digest(data, len, d, &n, EVP_sha512(), NULL) != 1)
		return fs_err(FASTSNAP_ERROR, "sha512 failed");
	hex(out, d, n);
	return 0;
}
