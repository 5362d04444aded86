# tests/test_binding.py: the Python binding against the dev cluster (real
# Ceph, real Glance) and a library built without sanitizers: struct layout
# against the installed header, exceptions, stores(), plan(), snapshots on
# both paths, an unknown store, a cancel from the progress callable, and
# the Nova-shaped pair. Run by tests/python/run.
import ctypes
import os
import subprocess
import tempfile
import threading
import unittest
import uuid

import fastsnap
import fastsnap.nova
from fastsnap import _lib

import devcluster as dev


def engine():
    return fastsnap.Engine(use_env=True)


class Layout(unittest.TestCase):
    """The ctypes structs match include/fastsnap.h, field by field."""

    def test_offsets_match_the_header(self):
        inc = os.environ["FASTSNAP_INCLUDE"]
        structs = {
            "fastsnap_engine_opts": (_lib.EngineOpts, [f for f, _ in _lib.EngineOpts._fields_]),
            "fastsnap_snapshot_opts": (_lib.SnapshotOpts, [f for f, _ in _lib.SNAPSHOT_OPTS_HEADER]),
            "fastsnap_store": (_lib.Store, [f for f, _ in _lib.Store._fields_]),
        }
        src = ["#include <stdio.h>", "#include <stddef.h>", "#include <fastsnap.h>", "int main(void) {"]
        for s, (_, fields) in structs.items():
            for f in fields:
                src.append('printf("%s %s %%zu %%zu\\n", offsetof(%s, %s), sizeof(((%s *)0)->%s));'
                           % (s, f, s, f, s, f))
            src.append('printf("%s sizeof %%zu 0\\n", sizeof(%s));' % (s, s))
        src.append('printf("versions x %d %d\\n", FASTSNAP_ENGINE_OPTS_VERSION, FASTSNAP_SNAPSHOT_OPTS_VERSION);')
        src.append("return 0; }")
        with tempfile.TemporaryDirectory() as d:
            c = os.path.join(d, "layout.c")
            with open(c, "w") as fh:
                fh.write("\n".join(src))
            subprocess.run(["gcc", "-std=c11", "-I", inc, c, "-o", os.path.join(d, "layout")], check=True)
            out = subprocess.run([os.path.join(d, "layout")], check=True, capture_output=True,
                                 text=True).stdout.split("\n")
        for line in filter(None, out):
            s, f, a, b = line.split()
            if s == "versions":
                self.assertEqual(int(a), _lib.EngineOpts.VERSION, "engine opts version")
                self.assertEqual(int(b), _lib.SnapshotOpts.VERSION,
                                 "snapshot opts version: update fastsnap/_lib.py")
                continue
            cls = structs[s][0]
            if f == "sizeof":
                if cls is not _lib.SnapshotOpts:  # ours carries the planned fields too
                    self.assertEqual(int(a), ctypes.sizeof(cls), s)
                continue
            field = getattr(cls, f)
            self.assertEqual((int(a), int(b)), (field.offset, field.size), "%s.%s" % (s, f))


class Errors(unittest.TestCase):
    def test_codes_map_to_builtin_exceptions(self):
        E = fastsnap.errors
        self.assertIsInstance(E.error_for(-4, "x"), LookupError)
        self.assertIsInstance(E.error_for(-6, "x"), PermissionError)
        self.assertIsInstance(E.error_for(-16, "x"), PermissionError)
        self.assertIsInstance(E.error_for(-2, "x"), ValueError)
        self.assertIsInstance(E.error_for(-12, "x"), TimeoutError)
        self.assertIsInstance(E.error_for(-18, "x"), NotImplementedError)
        self.assertIsInstance(E.error_for(-11, "x"), ConnectionError)
        e = E.error_for(-99, "new code")
        self.assertIs(type(e), fastsnap.FastsnapError)
        self.assertEqual(e.code, -99)
        lib = _lib.load()
        for code, cls in E.BY_CODE.items():  # every code the library names
            if code != -1:
                self.assertNotEqual(lib.fastsnap_strerror(code), b"unknown error", cls.__name__)

    def test_engine_error_is_raised_with_message(self):
        with self.assertRaises(fastsnap.NotFound) as cm:
            fastsnap.Engine(ceph_conf="/nonexistent/ceph.conf", glance_url="http://127.0.0.1:9")
        self.assertIn("/nonexistent/ceph.conf", str(cm.exception))
        self.assertIsInstance(cm.exception, LookupError)

    def test_unknown_keyword(self):
        with self.assertRaises(TypeError):
            fastsnap.Engine(no_such_option=1)


class Cluster(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tag = "py-%d-%s" % (os.getpid(), uuid.uuid4().hex[:6])
        cls.disks = []
        cls.images = []
        cls.base = dev.make_base_image(cls.tag + "-base", "fast")
        cls.images.append(cls.base)

    @classmethod
    def tearDownClass(cls):
        for i in cls.images:
            dev.delete_image(i)
        for d in cls.disks:
            dev.remove_disk(d)

    def disk(self, n):
        d = dev.make_disk("%s-%s" % (self.tag, n))
        self.disks.append(d)
        return d

    def test_engine_context_manager_and_fsid(self):
        with engine() as e:
            self.assertEqual(e.fsid, os.environ["FASTSNAP_DEV_FSID"])
        with self.assertRaises(ValueError):
            e.stores()
        self.assertEqual(fastsnap.version(), "%d.%d.%d" % tuple(
            int(x) for x in fastsnap.version().split(".")))

    def test_stores(self):
        with engine() as e:
            stores = {s.id: s for s in e.stores()}
        self.assertTrue(stores["local"].is_default)
        self.assertEqual((stores["fast"].type, stores["fast"].pool), ("rbd", "images"))
        self.assertFalse(stores["fast"].is_default)
        self.assertTrue(stores["web"].read_only)

    def test_plan_direct_and_stream(self):
        d = self.disk("plan")
        with engine() as e:
            p = e.plan(disk=d, name=self.tag + "-plan", base_image_ref=self.base)
            self.assertEqual((p.path, p.store, p.image_id), ("direct", "fast", None))
            self.assertIn("fast", p.reason)
            p = e.plan(disk=d, name=self.tag + "-plan", store="local")
            self.assertEqual((p.path, p.store), ("stream", "local"))
        self.assertEqual(dev.images_named(self.tag + "-plan"), [])

    def test_snapshot_streamed(self):
        d = self.disk("stream")
        steps = []
        with engine() as e:
            r = e.snapshot(disk=d, name=self.tag + "-s", store="local",
                           properties={"py_test": "yes"},
                           progress=lambda s, done, total: steps.append(s))
        self.images.append(r.image_id)
        self.assertEqual((r.path, r.store, r.size), ("stream", "local", 8 << 20))
        img = dev.image(r.image_id)
        self.assertEqual((img["status"], img["size"], img["py_test"]), ("active", 8 << 20, "yes"))
        self.assertEqual(img["os_hash_value"], r.sha512)
        self.assertIn("stream", steps)
        self.assertIn("stream", r.steps)
        self.assertEqual(r.as_dict()["image_id"], r.image_id)

    def test_snapshot_direct_from_threads(self):
        disks = [self.disk("direct-%d" % i) for i in range(2)]
        results, errors = [], []
        with engine() as e:
            def run(d, mode):
                try:
                    results.append(e.snapshot(disk=d, name=self.tag + "-d", base_image_ref=self.base,
                                              flatten=mode))
                except Exception as ex:  # reported below
                    errors.append(ex)
            ts = [threading.Thread(target=run, args=(d, m)) for d, m in zip(disks, ("sync", "deferred"))]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        self.images.extend(r.image_id for r in results)
        self.assertEqual(errors, [])
        for r in results:
            self.assertEqual(r.path, "direct")
            self.assertEqual(r.location, "rbd://%s/images/%s/snap" % (os.environ["FASTSNAP_DEV_FSID"], r.image_id))
            self.assertEqual(dev.image(r.image_id)["status"], "active")

    def test_unknown_store(self):
        d = self.disk("nostore")
        with engine() as e:
            with self.assertRaises(fastsnap.NotFound) as cm:
                e.snapshot(disk=d, name=self.tag + "-nostore", store="no-such-store")
        self.assertIsInstance(cm.exception, LookupError)
        self.assertIn("no-such-store", str(cm.exception))
        self.assertIsNotNone(cm.exception.result)
        self.assertEqual(dev.images_named(self.tag + "-nostore"), [])
        self.assertEqual(dev.snapshots(d), [])

    def test_cancel_by_raising_from_progress(self):
        d = self.disk("cancel")

        class Stop(Exception):
            pass
        seen = []

        def progress(step, done, total):
            seen.append(step)
            if step == "clone":
                raise Stop("enough")
        with engine() as e:
            with self.assertRaises(Stop) as cm:
                e.snapshot(disk=d, name=self.tag + "-cancel", base_image_ref=self.base, progress=progress)
        self.assertEqual(str(cm.exception), "enough")
        self.assertIsInstance(cm.exception.__context__, fastsnap.Canceled)
        self.assertIn("clone", seen)
        # the run was undone: no image, no temporary snapshot, no clone
        self.assertEqual(dev.images_named(self.tag + "-cancel"), [])
        self.assertEqual(dev.snapshots(d), [])

    def test_capture_signals_and_cancel_at_begin(self):
        d = self.disk("capture")
        events = []
        with engine() as e:
            r = e.snapshot(disk=d, name=self.tag + "-cap", store="local", capture=events.append)
            self.images.append(r.image_id)
            self.assertEqual(events, ["begin", "end"])

            def refuse(event):
                if event == "begin":
                    raise RuntimeError("freeze failed")
            with self.assertRaises(RuntimeError):
                e.snapshot(disk=d, name=self.tag + "-cap2", store="local", capture=refuse)
        self.assertEqual(dev.images_named(self.tag + "-cap2"), [])
        self.assertEqual(dev.snapshots(d), [])

    def test_cancel_streamed_by_raising(self):
        d = self.disk("cancel-s")
        with engine() as e:
            with self.assertRaises(KeyError):
                e.snapshot(disk=d, name=self.tag + "-cancel-s", store="local",
                           progress=lambda s, done, total: {}["x"] if s == "stream" else None)
        self.assertEqual(dev.images_named(self.tag + "-cancel-s"), [])
        self.assertEqual(dev.snapshots(d), [])


class Nova(unittest.TestCase):
    """The Nova-shaped pair: the test plays Nova (creates the image, registers
    the returned location, and on a failure calls the cleanup)."""

    @classmethod
    def setUpClass(cls):
        cls.tag = "pynova-%d-%s" % (os.getpid(), uuid.uuid4().hex[:6])
        cls.base = dev.make_base_image(cls.tag + "-base", "fast")
        cls.disk = dev.make_disk(cls.tag)

    @classmethod
    def tearDownClass(cls):
        dev.delete_image(cls.base)
        dev.remove_disk(cls.disk)

    def test_direct_snapshot_pair(self):
        img = dev.glance("POST", "/v2/images", {"name": self.tag + "-snap", "disk_format": "raw",
                                                 "container_format": "bare"})
        image_id = img["id"]
        self.addCleanup(dev.delete_image, image_id)
        with engine() as e:
            disk = fastsnap.nova.RbdDisk(e, "vms", self.disk.split("/", 1)[1])
            if not fastsnap.nova.supported():
                # This library has no Ceph-only mode: Nova must fall back,
                # and nothing may have been touched.
                with self.assertRaises(NotImplementedError):
                    disk.direct_snapshot(None, self.tag + "-snap", "raw", image_id, self.base)
                self.assertEqual(dev.image(image_id)["status"], "queued")
                self.assertEqual(dev.snapshots(self.disk), [])
                disk.cleanup_direct_snapshot(None)  # Nova's fallback passes None: a no-op
                return
            location = disk.direct_snapshot(None, self.tag + "-snap", "raw", image_id, self.base)
            self.assertEqual(location, "rbd://%s/images/%s/snap" % (os.environ["FASTSNAP_DEV_FSID"], image_id))
            self.assertEqual(dev.image(image_id)["status"], "queued")  # nothing registered
            self.assertEqual(dev.snapshots(self.disk), [])              # temporary snapshot gone
            # Nova registers the location itself
            dev.glance("PATCH", "/v2/images/" + image_id,
                       raw=('[{"op":"add","path":"/locations/-","value":{"url":"%s","metadata":{"store":"fast"}}}]'
                            % location).encode(),
                       headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
            self.assertEqual(dev.image(image_id)["status"], "active")
            # and the fallback's cleanup of a second, failed one removes the clone
            img2 = dev.glance("POST", "/v2/images", {"name": self.tag + "-snap2", "disk_format": "raw",
                                                      "container_format": "bare"})
            self.addCleanup(dev.delete_image, img2["id"])
            loc2 = disk.direct_snapshot(None, self.tag + "-snap2", "raw", img2["id"], self.base)
            disk.cleanup_direct_snapshot({"url": loc2}, also_destroy_volume=True, ignore_errors=False)
            self.assertNotIn(img2["id"], dev.rbd("ls", "images").split())

    def test_not_raw_is_not_implemented(self):
        with engine() as e:
            disk = fastsnap.nova.RbdDisk(e, "vms", self.disk.split("/", 1)[1])
            with self.assertRaises(NotImplementedError):
                disk.direct_snapshot(None, "x", "qcow2", str(uuid.uuid4()), self.base)


if __name__ == "__main__":
    unittest.main()
