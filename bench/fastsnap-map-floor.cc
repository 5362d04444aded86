// SPDX-License-Identifier: Apache-2.0
//
// bench/fastsnap-map-floor.cc: how fast can one ask RADOS about every object
// of an RBD snapshot? The floor under the qcow2 stream's map from RADOS
// (src/clients/rados_map.cc, docs/streaming.md "The map from RADOS"): the
// objects that exist (from librbd's object map, as the engine finds them)
// are asked, in turns, with
//   mapext:T  the OSD's MAPEXT, T synchronous calls at once (librados has no
//             asynchronous MAPEXT: this is how the engine maps)
//   stat:D    the OSD's STAT, up to D asynchronous operations in flight
//             (awaited in turn, so at times fewer): the cheapest operation
//             that touches an object, so the least any one-op-per-object
//             map can cost
// in the image's data pool (its own, or the one it names), the default
// namespace. An object that does not answer "exists" is counted as missing
// and said: a floor made of "no such object" answers is no floor.
// Each run prints its seconds, operations per second and, with --osd-pid,
// the OSD's CPU seconds; the last lines give each mode's median.
//
// Usage: fastsnap-map-floor --rbd POOL/IMAGE@SNAP [--reps N] [--osd-pid PID]
//                           [MODE ...]          (default: mapext:8 mapext:16 stat:64)
// env: CEPH_CONF, FASTSNAP_CEPH_USER (admin), FASTSNAP_CEPH_KEYRING.
// Default striping only (stripe count 1), as the objects are named from it.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <rados/librados.hpp>
#include <rbd/librbd.h>
#include <unistd.h>

namespace {

struct Mode {
	std::string op;     // "mapext" or "stat"
	unsigned n;         // threads or operations in flight
	std::vector<double> secs;
};

[[noreturn]] void die(const char *what)
{
	std::fprintf(stderr, "fastsnap-map-floor: %s\n", what);
	std::exit(1);
}

double cpu_seconds(long pid)
{
	if (pid <= 0)
		return 0;
	char path[64];
	std::snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = std::fopen(path, "r");
	if (!f)
		return 0;
	char buf[2048];
	size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
	std::fclose(f);
	buf[n] = '\0';
	const char *p = std::strrchr(buf, ')');   // the name may hold spaces
	unsigned long long ut = 0, st = 0;
	if (!p || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
	    &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

int diff_cb(uint64_t off, size_t len, int exists, void *arg)
{
	auto *ext = static_cast<std::vector<std::pair<uint64_t, uint64_t>> *>(arg);
	if (exists && len)
		ext->emplace_back(off, len);
	return 0;
}

// MAPEXT, `threads` synchronous calls at once; returns the extents seen
size_t run_mapext(librados::IoCtx &io, const std::vector<std::string> &names, uint64_t len,
	unsigned threads, size_t *missing)
{
	std::atomic<size_t> next{0}, extents{0}, absent{0};
	std::atomic<int> err{0};
	auto work = [&] {
		for (;;) {
			size_t i = next.fetch_add(1);
			if (i >= names.size())
				return;
			std::map<uint64_t, uint64_t> m;
			int r = io.mapext(names[i], 0, (size_t)len, m);
			if (r == -ENOENT)
				absent++;
			else if (r < 0)
				err = r;
			extents += m.size();
		}
	};
	std::vector<std::thread> pool;
	for (unsigned t = 1; t < threads; t++)
		pool.emplace_back(work);
	work();
	for (auto &t : pool)
		t.join();
	if (err)
		die("MAPEXT failed");
	*missing = absent;
	return extents;
}

// STAT, `depth` asynchronous operations in flight
void run_stat(librados::IoCtx &io, const std::vector<std::string> &names, unsigned depth,
	size_t *missing)
{
	struct Slot {
		librados::AioCompletion *c = nullptr;
		librados::ObjectReadOperation op;
		uint64_t size = 0;
		int rval = 0;
	};
	std::vector<Slot> slots(depth);
	size_t issued = 0, done = 0;
	auto issue = [&](Slot &s) {
		s.op = librados::ObjectReadOperation();
		s.op.stat(&s.size, nullptr, &s.rval);
		s.c = librados::Rados::aio_create_completion();
		if (io.aio_operate(names[issued], s.c, &s.op, nullptr) < 0)
			die("aio_operate failed");
		issued++;
	};
	for (auto &s : slots)
		if (issued < names.size())
			issue(s);
	while (done < names.size())
		for (auto &s : slots) {
			if (!s.c)
				continue;
			s.c->wait_for_complete();
			int r = s.c->get_return_value();
			s.c->release();
			s.c = nullptr;
			if (r == -ENOENT)
				(*missing)++;
			else if (r < 0)
				die("STAT failed");
			done++;
			if (issued < names.size())
				issue(s);
		}
}

double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	size_t n = v.size();
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

} // namespace

int main(int argc, char **argv)
{
	const char *spec = nullptr;
	int reps = 3;
	long osd_pid = 0;
	std::vector<Mode> modes;
	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--rbd") && i + 1 < argc)
			spec = argv[++i];
		else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = std::atoi(argv[++i]);
		else if (!std::strcmp(argv[i], "--osd-pid") && i + 1 < argc)
			osd_pid = std::atol(argv[++i]);
		else {
			char op[16];
			unsigned n;
			if (std::sscanf(argv[i], "%15[a-z]:%u", op, &n) != 2 || n == 0 ||
			    (std::strcmp(op, "mapext") && std::strcmp(op, "stat"))) {
				std::fprintf(stderr, "usage: fastsnap-map-floor --rbd POOL/IMAGE@SNAP "
					"[--reps N] [--osd-pid PID] [mapext:THREADS | stat:DEPTH ...]\n");
				return 2;
			}
			modes.push_back({op, n, {}});
		}
	}
	if (!spec || reps < 1) {
		std::fprintf(stderr, "fastsnap-map-floor: --rbd POOL/IMAGE@SNAP is needed (--help: the file's head)\n");
		return 2;
	}
	if (modes.empty())
		modes = {{"mapext", 8, {}}, {"mapext", 16, {}}, {"stat", 64, {}}};
	char pool[128], image[256], snap[128];
	if (std::sscanf(spec, "%127[^/]/%255[^@]@%127s", pool, image, snap) != 3)
		die("--rbd wants POOL/IMAGE@SNAP");

	rados_t cluster;
	rados_ioctx_t cio;
	const char *user = std::getenv("FASTSNAP_CEPH_USER");
	const char *keyring = std::getenv("FASTSNAP_CEPH_KEYRING");
	if (rados_create(&cluster, user ? user : "admin") < 0 ||
	    rados_conf_read_file(cluster, std::getenv("CEPH_CONF")) < 0 ||
	    (keyring && rados_conf_set(cluster, "keyring", keyring) < 0) ||
	    rados_connect(cluster) < 0)
		die("cannot connect to the cluster (CEPH_CONF, FASTSNAP_CEPH_USER, FASTSNAP_CEPH_KEYRING)");
	if (rados_ioctx_create(cluster, pool, &cio) < 0)
		die("no such pool");

	// the objects that exist at the snapshot, from librbd's object map
	rbd_image_t img;
	if (rbd_open_read_only(cio, image, &img, snap) < 0)
		die("cannot open the image at the snapshot");
	rbd_image_info_t info;
	char prefix[RBD_MAX_BLOCK_NAME_SIZE + 1];
	uint64_t snap_id = 0, stripes = 1;
	std::vector<std::pair<uint64_t, uint64_t>> ext;
	if (rbd_stat(img, &info, sizeof(info)) < 0 ||
	    rbd_get_block_name_prefix(img, prefix, sizeof(prefix)) < 0 ||
	    rbd_snap_get_id(img, snap, &snap_id) < 0 ||
	    rbd_get_stripe_count(img, &stripes) < 0 ||
	    rbd_diff_iterate2(img, nullptr, 0, info.size, 0, 1, diff_cb, &ext) < 0)
		die("cannot read the image's layout or object map");
	int64_t data_pool = rbd_get_data_pool_id(img);
	uint8_t old_format = 0;
	rbd_get_old_format(img, &old_format);
	rbd_close(img);
	if (old_format)
		die("an image of format 1 (its objects are named otherwise)");
	rados_ioctx_t dio = cio;
	if (data_pool >= 0 && data_pool != rados_ioctx_get_id(cio)) {
		char dname[256];
		if (rados_pool_reverse_lookup(cluster, data_pool, dname, sizeof(dname)) < 0 ||
		    rados_ioctx_create(cluster, dname, &dio) < 0)
			die("cannot open the image's data pool");
	}
	if (stripes > 1)
		die("fancy striping: objects are not named from offsets here");
	std::vector<std::string> names;
	uint64_t last = UINT64_MAX;
	for (const auto &e : ext)
		for (uint64_t o = e.first / info.obj_size; o <= (e.first + e.second - 1) / info.obj_size; o++)
			if (o != last) {
				char name[RBD_MAX_BLOCK_NAME_SIZE + 32];
				std::snprintf(name, sizeof(name), "%s.%016" PRIx64, prefix, o);
				names.emplace_back(name);
				last = o;
			}
	std::printf("image %s: %" PRIu64 " bytes, %zu of %" PRIu64 " objects exist\n", spec,
		info.size, names.size(), info.num_objs);

	librados::IoCtx shared, io;
	librados::IoCtx::from_rados_ioctx_t(dio, shared);
	io.dup(shared);
	io.snap_set_read(snap_id);
	for (int rep = 1; rep <= reps; rep++)
		for (auto &m : modes) {
			double c0 = cpu_seconds(osd_pid);
			auto t0 = std::chrono::steady_clock::now();
			size_t extents = 0, missing = 0;
			if (m.op == "mapext")
				extents = run_mapext(io, names, info.obj_size, m.n, &missing);
			else
				run_stat(io, names, m.n, &missing);
			double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
			m.secs.push_back(s);
			std::printf("rep %d %s:%u objects=%zu extents=%zu seconds=%.3f ops_per_s=%.0f", rep,
				m.op.c_str(), m.n, names.size(), extents, s, (double)names.size() / s);
			if (osd_pid > 0)
				std::printf(" osd_cpu_s=%.2f", cpu_seconds(osd_pid) - c0);
			if (missing)
				std::printf(" missing=%zu", missing);
			std::printf("\n");
			if (missing)
				std::fprintf(stderr, "fastsnap-map-floor: %zu object(s) did not exist: the names "
					"or the pool are not the image's\n", missing);
			std::fflush(stdout);
		}
	for (const auto &m : modes)
		std::printf("median %s:%u seconds=%.3f over %d run(s)\n", m.op.c_str(), m.n, median(m.secs), reps);
	io.close();
	shared.close();
	if (dio != cio)
		rados_ioctx_destroy(dio);
	rados_ioctx_destroy(cio);
	rados_shutdown(cluster);
	return 0;
}
