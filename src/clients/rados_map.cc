/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/rados_map.cc: rados_map.h with librados' C++ API: IoCtx::mapext
 * (the OSD's MAPEXT: BlueStore's fiemap of the object, no data moved) on
 * a private copy of the caller's I/O context set to read at the snapshot,
 * `threads` synchronous calls at once (librados has no asynchronous
 * mapext), in batches of at most 128 objects whose maps are handed to the
 * callback in order. No exception leaves this file.
 */
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <rados/librados.hpp>

#include "clients/rados_map.h"

namespace {

constexpr size_t kBatch = 128;     /* objects whose maps are held at once */

struct Batch {
	librados::IoCtx *io;
	const char *prefix;
	uint64_t object_size;
	const uint64_t *objects;
	size_t n;
	std::vector<std::map<uint64_t, uint64_t>> maps;
	std::atomic<size_t> next{0};
	std::atomic<int> err{0};

	void work()
	{
		char name[512];
		for (;;) {
			size_t i = next.fetch_add(1);
			if (i >= n || err.load() != 0)
				return;
			std::snprintf(name, sizeof(name), "%s.%016" PRIx64, prefix, objects[i]);
			int r;
			try {
				r = io->mapext(name, 0, (size_t)object_size, maps[i]);
			} catch (...) {
				r = -EIO;
			}
			if (r == -ENOENT) {
				maps[i].clear();
			} else if (r < 0) {
				int zero = 0;
				err.compare_exchange_strong(zero, r);
				return;
			}
		}
	}
};

} // namespace

extern "C" int fs_rados_map_available(void)
{
	return 1;
}

extern "C" int fs_rados_map_objects(const fs_rados_map_req *q, const uint64_t *objects, size_t n,
	fs_rados_extent_cb cb, void *ctx)
{
	try {
		librados::IoCtx shared, io;
		librados::IoCtx::from_rados_ioctx_t(q->io, shared);
		io.dup(shared);          /* our own read snapshot, not the caller's */
		io.snap_set_read(q->snap_id);
		unsigned int threads = q->threads ? q->threads : 8;
		for (size_t base = 0; base < n; base += kBatch) {
			Batch b;
			b.io = &io;
			b.prefix = q->prefix;
			b.object_size = q->object_size;
			b.objects = objects + base;
			b.n = std::min(kBatch, n - base);
			b.maps.resize(b.n);
			std::vector<std::thread> pool;
			unsigned int k = (unsigned int)std::min<size_t>(threads, b.n);
			for (unsigned int t = 1; t < k; t++) {
				try {
					pool.emplace_back([&b] { b.work(); });
				} catch (...) {
					break;   /* fewer threads: still correct */
				}
			}
			b.work();
			for (auto &t : pool)
				t.join();
			if (b.err.load() != 0)
				return b.err.load();
			for (size_t i = 0; i < b.n; i++)
				for (const auto &e : b.maps[i]) {
					uint64_t off = e.first, len = e.second;
					if (off >= q->object_size || len == 0)
						continue;
					if (len > q->object_size - off)
						len = q->object_size - off;
					int r = cb(ctx, base + i, off, len);
					if (r != 0)
						return r;
				}
		}
		return 0;
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	} catch (...) {
		return -EIO;
	}
}
