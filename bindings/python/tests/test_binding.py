# SPDX-License-Identifier: Apache-2.0
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
            "fastsnap_snapshot_opts": (_lib.SnapshotOpts, [f for f, _ in _lib.SnapshotOpts._fields_]),
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


class NovaMode(unittest.TestCase):
    """The library's Ceph-only mode as fastsnap.nova.Rbd drives it (Nova
    itself is in the trixie root only: tests/nova/contract.py runs the
    backend there with Nova's own code)."""

    @classmethod
    def setUpClass(cls):
        cls.tag = "pynova-%d-%s" % (os.getpid(), uuid.uuid4().hex[:6])
        cls.disk = dev.make_disk(cls.tag)

    @classmethod
    def tearDownClass(cls):
        dev.remove_disk(cls.disk)

    def test_caller_pool_and_snapshot_name_ask_glance_nothing(self):
        self.assertTrue(fastsnap.nova.supported())
        # no such Glance image: with the caller's pool Glance is not asked
        image_id = str(uuid.uuid4())
        snap = uuid.uuid4().hex          # Nova's snapshot_name
        during = {}

        def progress(step, done, total):
            if step == "clone" and "snaps" not in during:
                during["snaps"] = dev.snapshots(self.disk)
        with engine() as e:
            r = e._run(e._lib.fastsnap_snapshot, False, disk=self.disk, name=snap, flatten="sync",
                       progress=progress,
                       _nova={"image_id": image_id, "flags": _lib.SNAPSHOT_CEPH_ONLY,
                              "target_pool": "images", "tmp_snap_name": snap})
            url = "rbd://%s/images/%s/snap" % (os.environ["FASTSNAP_DEV_FSID"], image_id)
            self.assertEqual(r.location, url)
            self.addCleanup(dev.rbd, "rm", "images/" + image_id, check=False)
            self.addCleanup(dev.rbd, "snap", "purge", "images/" + image_id, check=False)
            self.addCleanup(dev.rbd, "snap", "unprotect", "images/%s@snap" % image_id, check=False)
            self.assertIn(snap, during["snaps"])          # the temporary snapshot is Nova's name
            self.assertEqual(dev.snapshots(self.disk), [])  # and it is gone
            self.assertIn(image_id, dev.rbd("ls", "images").split())
            self.assertNotIn("parent", dev.rbd("info", "images/" + image_id))  # flattened
            self.assertEqual(e._lib.fastsnap_direct_cleanup(e._handle(), url.encode(),
                                                            _lib.CLEANUP_IMAGE), 0)
            self.assertNotIn(image_id, dev.rbd("ls", "images").split())

    def test_target_pool_needs_ceph_only_mode(self):
        with engine() as e:
            with self.assertRaises(fastsnap.InvalidArgument):
                e._run(e._lib.fastsnap_snapshot, False, disk=self.disk, name="x",
                       _nova={"image_id": str(uuid.uuid4()), "flags": 0, "target_pool": "images"})


if __name__ == "__main__":
    unittest.main()
