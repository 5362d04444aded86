#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# tests/nova/contract.py: the contract test of fastsnap's Nova image backend
# (bindings/python/fastsnap/nova.py, docs/nova.md) with Nova's own code:
# Debian 13's python3-nova (Nova 31) in the trixie root, its nova.conf
# handling, its Rbd backend and its LibvirtDriver.snapshot() flow, against
# the trixie stack's real Ceph 18, Glance 30 (show_multiple_locations =
# False) and Keystone. Only the libvirt guest is mocked (its lookup and the
# disk path), and the generic snapshot's qemu-img extract (the root has no
# QEMU rbd driver) is an `rbd export` of the same disk. tests/nova/run runs
# it inside the root; it needs the stack's env (sourced) and FASTSNAP_LIBRARY.
import nova.monkey_patch  # noqa: F401 -- eventlet, as nova-compute runs

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid
import warnings
from unittest import mock

import eventlet
import rbd
import rados

from nova import conf as nova_conf
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.compute import power_state
from nova.image import glance
from nova.storage import rbd_utils
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import imagebackend
from nova.virt.libvirt import utils as libvirt_utils

import fastsnap
import fastsnap.nova
import fastsnap.nova_glance

warnings.simplefilter("ignore", DeprecationWarning)   # Nova 31's own, on every context
# Nova's and fastsnap's log lines (Nova logs the failures the tests cause,
# with tracebacks) go to a file; its path is printed at the start.
LOG_FILE = os.path.join(tempfile.gettempdir(), "fastsnap-nova-contract-%d.log" % os.getpid())
logging.basicConfig(filename=LOG_FILE, level=logging.INFO,
                    format="%(asctime)s %(name)s %(levelname)s %(message)s")
ENV = os.environ
CONF = nova_conf.CONF
STOCK_RBD = imagebackend.Rbd
TAG = "nova-%d-%s" % (os.getpid(), uuid.uuid4().hex[:6])
MiB = 1 << 20
DISKS = []   # the disks made here, removed at the end


def log(msg):
    sys.stderr.write("contract: %s\n" % msg)


# ---- the stack: Keystone tokens, Glance over HTTP, Ceph as admin ----

def token(user, password, project):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    req = urllib.request.Request(ENV["FASTSNAP_DEV_KEYSTONE_URL"] + "/auth/tokens",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers["X-Subject-Token"], json.load(r)["token"]


def glance_http(tok, method, path, body=None, raw=None, ctype="application/json", headers=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    h = {"X-Auth-Token": tok, "Content-Type": ctype}
    h.update(headers or {})
    req = urllib.request.Request(ENV["FASTSNAP_DEV_GLANCE_ENDPOINT"] + path, data=data,
                                 method=method, headers=h)
    with urllib.request.urlopen(req, timeout=60) as r:
        out = r.read()
    return json.loads(out) if out else None


def ceph(*args):
    return subprocess.run(["ceph", "--conf", ENV["CEPH_CONF"], "--id", "admin", "--keyring",
                           ENV["FASTSNAP_DEV_ADMIN_KEYRING"]] + list(args),
                          check=True, capture_output=True, text=True).stdout


class Cluster:
    """Admin librados/librbd handles for checks."""

    def __init__(self):
        self.r = rados.Rados(conffile=ENV["CEPH_CONF"], rados_id="admin",
                             conf={"keyring": ENV["FASTSNAP_DEV_ADMIN_KEYRING"]})
        self.r.connect()

    def io(self, pool):
        return self.r.open_ioctx(pool)

    def ls(self, pool):
        with self.io(pool) as io:
            return rbd.RBD().list(io)

    def snaps(self, pool, name):
        with self.io(pool) as io, rbd.Image(io, name, read_only=True) as img:
            return [(s["name"], img.is_protected_snap(s["name"])) for s in img.list_snaps()]

    def has_parent(self, pool, name):
        with self.io(pool) as io, rbd.Image(io, name, read_only=True) as img:
            try:
                img.parent_info()
                return True
            except rbd.ImageNotFound:
                return False

    def digest(self, pool, name, snap=None):
        h = hashlib.sha256()
        with self.io(pool) as io, rbd.Image(io, name, snapshot=snap, read_only=True) as img:
            size = img.size()
            for off in range(0, size, 4 * MiB):
                h.update(img.read(off, min(4 * MiB, size - off)))
        return h.hexdigest()

    def write(self, pool, name, off, data):
        with self.io(pool) as io, rbd.Image(io, name) as img:
            img.write(data, off)

    def remove(self, pool, name):
        with self.io(pool) as io:
            try:
                with rbd.Image(io, name) as img:
                    for s in img.list_snaps():
                        if img.is_protected_snap(s["name"]):
                            img.unprotect_snap(s["name"])
                        img.remove_snap(s["name"])
                rbd.RBD().remove(io, name)
            except rbd.ImageNotFound:
                pass


def setUpModule():
    global C, MEMBER, MEMBER_TOK, OTHER_TOK, SERVICE_TOK, WORK, BASE, FSID
    log("Nova %s; log lines in %s (inside the root)" % (
        fastsnap.nova.nova_release(), LOG_FILE))
    C = Cluster()
    FSID = ENV["FASTSNAP_DEV_FSID"]
    WORK = tempfile.mkdtemp(prefix="fastsnap-nova-")
    MEMBER_TOK, MEMBER = token(ENV["OS_USERNAME"], ENV["OS_PASSWORD"], ENV["OS_PROJECT_NAME"])
    OTHER_TOK, _ = token(ENV["FASTSNAP_DEV_OTHER_USERNAME"], ENV["FASTSNAP_DEV_OTHER_PASSWORD"],
                         ENV["FASTSNAP_DEV_OTHER_PROJECT"])
    # Nova's Ceph users: one as a compute node has it, one that may only
    # read the images pool (its clone there is refused: EPERM)
    keyrings = {}
    for user, images_cap in (("rw", "profile rbd pool=images"),
                             ("ro", "profile rbd-read-only pool=images")):
        name = "client.%s-%s" % (TAG, user)
        path = os.path.join(WORK, "ceph.%s.keyring" % name)
        ceph("auth", "get-or-create", name, "mon", "profile rbd", "osd",
             "profile rbd pool=vms, %s" % images_cap, "-o", path)
        keyrings[name] = path
    with open(ENV["CEPH_CONF"]) as fh:
        conf = fh.read()
    for name, path in keyrings.items():
        conf += "\n[%s]\nkeyring = %s\n" % (name, path)
    with open(os.path.join(WORK, "ceph.conf"), "w") as fh:
        fh.write(conf)
    with open(os.path.join(WORK, "nova.conf"), "w") as fh:
        fh.write("""[DEFAULT]
state_path = {w}
[libvirt]
images_type = rbd
images_rbd_pool = vms
images_rbd_ceph_conf = {w}/ceph.conf
rbd_user = {tag}-rw
snapshots_directory = {w}/snapshots
[glance]
api_servers = {glance}
num_retries = 0
[service_user]
send_service_user_token = true
auth_type = password
auth_url = {ks}
username = {su}
password = {sp}
user_domain_name = Default
project_name = {sproj}
project_domain_name = Default
[oslo_concurrency]
lock_path = {w}/locks
[fastsnap]
enabled = true
""".format(w=WORK, tag=TAG, glance=ENV["FASTSNAP_DEV_GLANCE_ENDPOINT"],
           ks=ENV["FASTSNAP_DEV_KEYSTONE_URL"], su=ENV["FASTSNAP_DEV_SERVICE_USERNAME"],
           sp=ENV["FASTSNAP_DEV_SERVICE_PASSWORD"], sproj=ENV["FASTSNAP_DEV_SERVICE_PROJECT"]))
    # Nova's own configuration handling
    fastsnap.nova.register_opts(CONF)
    CONF(["--config-file", os.path.join(WORK, "nova.conf")], project="nova")
    objects.register_all()
    # the base image, as an operator uploads it: raw, into the rbd store
    BASE = glance_http(MEMBER_TOK, "POST", "/v2/images",
                       {"name": TAG + "-base", "disk_format": "raw", "container_format": "bare"})["id"]
    glance_http(MEMBER_TOK, "PUT", "/v2/images/%s/file" % BASE, raw=os.urandom(8 * MiB),
                ctype="application/octet-stream",
                headers={"X-Image-Meta-Store": ENV["FASTSNAP_DEV_RBD_STORE"]})
    assert BASE in C.ls("images"), "the base image is not in the rbd store's pool"
    log("base image %s in images/%s@snap" % (BASE, BASE))


def tearDownModule():
    for name in DISKS:
        C.remove("vms", name)
    delete_image(BASE)
    for user in ("rw", "ro"):
        ceph("auth", "del", "client.%s-%s" % (TAG, user))
    fastsnap.nova._reset_engine()


def context():
    return nova_context.RequestContext(
        user_id=MEMBER["user"]["id"], project_id=MEMBER["project"]["id"],
        auth_token=MEMBER_TOK, roles=[r["name"] for r in MEMBER["roles"]])


def instance(disk_uuid):
    return objects.Instance(
        uuid=disk_uuid, image_ref=BASE, project_id=MEMBER["project"]["id"],
        user_id=MEMBER["user"]["id"], os_type=None, kernel_id="", ramdisk_id="",
        system_metadata={"image_disk_format": "raw", "image_container_format": "bare"})


def make_disk(size=64 * MiB, written=2 * MiB, clone=True):
    """A Nova disk vms/<uuid>_disk: an RBD clone of the base image's snap
    (as Nova's boot makes it, with Nova's own RBDDriver.clone), grown and
    written by the guest."""
    inst_uuid = str(uuid.uuid4())
    name = "%s_disk" % inst_uuid
    DISKS.append(name)
    drv = rbd_utils.RBDDriver()
    if clone:
        drv.clone({"url": "rbd://%s/images/%s/snap" % (FSID, BASE)}, name)
    else:
        with C.io("vms") as io:
            rbd.RBD().create(io, name, 8 * MiB, old_format=False, features=1)
    drv.resize(name, size)
    chunk = os.urandom(MiB)
    for off in range(0, written, MiB):
        C.write("vms", name, 4 * MiB + off, chunk)
    return inst_uuid, name


def queued_image(tok=None):
    return glance_http(tok or MEMBER_TOK, "POST", "/v2/images",
                       {"name": TAG + "-snap", "disk_format": "raw",
                        "container_format": "bare"})["id"]


def image(image_id):
    return glance_http(MEMBER_TOK, "GET", "/v2/images/" + image_id)


def wait_active(image_id, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        st = image(image_id)["status"]
        if st == "active":
            return
        time.sleep(0.5)
    raise AssertionError("image %s is %s after %d s" % (image_id, st, timeout))


def delete_image(image_id, tok=None):
    """Delete, retrying a while: an image registered by the location POST is
    locked (409) while Glance 30 still hashes it in the background, and the
    second glance-api's writes could lock the stack's database while it was SQLite (500)."""
    end = time.time() + 60
    while True:
        try:
            glance_http(tok or MEMBER_TOK, "DELETE", "/v2/images/" + image_id)
            return
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return
            if e.code not in (409, 500) or time.time() > end:
                log("delete %s: %s" % (image_id, e))
                return
        time.sleep(1)


class Backends:
    """Stock Nova (its own Rbd, its own location PATCH) or fastsnap."""

    @staticmethod
    def stock():
        fastsnap.nova.uninstall()
        assert imagebackend.Backend(True).BACKEND["rbd"] is STOCK_RBD

    @staticmethod
    def fastsnap():
        fastsnap.nova._reset_engine()
        assert fastsnap.nova.install(CONF)
        assert imagebackend.Backend(True).BACKEND["rbd"] is fastsnap.nova.Rbd
        assert glance.GlanceImageServiceV2._add_location is fastsnap.nova_glance._add_location


def export_extract(self, target, out_format):
    """The generic snapshot's extract, as `rbd export` of the same disk
    (Nova runs `qemu-img convert rbd:...`; the root has no QEMU rbd driver)."""
    subprocess.run(["rbd", "export", "%s/%s" % (self.driver.pool, self.rbd_name), target]
                   + self.driver.ceph_args(), check=True, capture_output=True)
    export_extract.calls += 1


export_extract.calls = 0


def nova_snapshot(inst, image_id):
    """Nova's LibvirtDriver.snapshot(), with only the guest mocked."""
    drv = libvirt_driver.LibvirtDriver.__new__(libvirt_driver.LibvirtDriver)
    drv._image_api = glance.API()
    drv.image_backend = imagebackend.Backend(True)
    guest = mock.Mock()
    guest.get_power_state.return_value = power_state.SHUTDOWN
    drv._host = mock.Mock()
    drv._host.get_guest.return_value = guest
    drv._host.has_min_version.return_value = True
    states = []
    with mock.patch.object(libvirt_utils, "find_disk",
                           return_value=("rbd:vms/%s_disk" % inst.uuid, "raw")), \
            mock.patch.object(STOCK_RBD, "snapshot_extract", export_extract):
        drv.snapshot(context(), inst, image_id,
                     lambda task_state, expected_state=None: states.append(task_state))
    return states


class SideBySide(unittest.TestCase):
    """Stock Rbd and fastsnap's, on the same kind of Nova disk."""

    def test_same_contract_on_a_nova_disk(self):
        inst_uuid, name = make_disk()
        ctx = context()
        want = C.digest("vms", name)
        for cls in (STOCK_RBD, fastsnap.nova.Rbd):
            with self.subTest(backend=cls.__module__):
                fastsnap.nova._reset_engine()
                disk = cls(path="vms/" + name)
                image_id = queued_image()
                self.addCleanup(delete_image, image_id)
                loc = disk.direct_snapshot(ctx, uuid.uuid4().hex, "raw", image_id, BASE)
                self.assertEqual(loc, "rbd://%s/images/%s/snap" % (FSID, image_id))
                self.assertEqual(C.snaps("vms", name), [])       # no snapshot left on the disk
                self.assertFalse(C.has_parent("images", image_id))  # flat
                self.assertEqual(C.snaps("images", image_id), [("snap", True)])
                self.assertEqual(C.digest("images", image_id, "snap"), want)
                self.assertEqual(image(image_id)["status"], "queued")  # Glance untouched
                disk.cleanup_direct_snapshot({"url": loc}, also_destroy_volume=True)
                self.assertNotIn(image_id, C.ls("images"))
                # a missing image still raises, as in Nova
                with self.assertRaises(rbd.ImageNotFound):
                    disk.cleanup_direct_snapshot({"url": loc}, also_destroy_volume=True)

    def test_base_image_the_identity_cannot_see(self):
        # a disk with no RBD parent: the pool comes from the base image's
        # locations, read with the user's context; a private image of
        # another project cannot be read: stock and fastsnap both refuse
        # with Nova's ImageUnacceptable (Nova's generic snapshot follows)
        inst_uuid, name = make_disk(clone=False)
        other = glance_http(OTHER_TOK, "POST", "/v2/images",
                            {"name": TAG + "-other", "disk_format": "raw",
                             "container_format": "bare", "visibility": "private"})["id"]
        self.addCleanup(delete_image, other, OTHER_TOK)
        for cls in (STOCK_RBD, fastsnap.nova.Rbd):
            with self.subTest(backend=cls.__module__):
                fastsnap.nova._reset_engine()
                disk = cls(path="vms/" + name)
                with self.assertRaises(exception.ImageUnacceptable):
                    disk.direct_snapshot(context(), uuid.uuid4().hex, "raw",
                                         str(uuid.uuid4()), other)
                self.assertEqual(C.snaps("vms", name), [])


class DriverFlow(unittest.TestCase):
    """Nova's LibvirtDriver.snapshot(): its fallback table and image_api.update."""

    def snapshot_into_new_image(self, inst_uuid):
        """Nova's snapshot() of the instance's disk into a new queued image
        (deleted at clean-up); returns the image's id and how many generic
        uploads (Nova's fallback) it made."""
        image_id = queued_image()
        self.addCleanup(delete_image, image_id)
        calls = export_extract.calls
        nova_snapshot(instance(inst_uuid), image_id)
        return image_id, export_extract.calls - calls

    def snapshot_goes_direct_into_fast(self):
        """Nova's snapshot() of a new Nova disk takes the direct path (no
        generic upload) to an image active in `fast` holding the disk's
        bytes, with no snapshot left on the disk. Returns the image."""
        inst_uuid, name = make_disk()
        want = C.digest("vms", name)
        image_id, uploads = self.snapshot_into_new_image(inst_uuid)
        self.assertEqual(uploads, 0)                      # direct, no fallback
        wait_active(image_id)
        img = image(image_id)
        self.assertEqual(img["stores"], "fast")
        self.assertEqual(C.digest("images", image_id, "snap"), want)
        self.assertEqual(C.snaps("vms", name), [])
        return img

    def tearDown(self):
        CONF.clear_override("rbd_user", "libvirt")
        CONF.clear_override("store", "fastsnap")
        CONF.clear_override("api_servers", "glance")
        Backends.stock()

    def test_with_show_multiple_locations_on_both_succeed(self):
        # a second glance-api of the stack with show_multiple_locations =
        # True (tests/nova/run): Nova 31's PATCH is accepted there
        CONF.set_override("api_servers", [ENV["FASTSNAP_NOVA_GLANCE_MULTI"]], "glance")
        for backend in (Backends.stock, Backends.fastsnap):
            with self.subTest(backend=backend.__name__):
                backend()
                self.snapshot_goes_direct_into_fast()

    def test_stock_nova31_fails_with_show_multiple_locations_off(self):
        # the known incompatibility (docs/nova.md): Nova 31 PATCHes the
        # location, Glance 30 refuses, Nova raises ImageNotAuthorized
        # (not in its fallback tuple) and its cleanup removes the clone
        Backends.stock()
        inst_uuid, name = make_disk()
        image_id = queued_image()
        self.addCleanup(delete_image, image_id)
        with self.assertRaises(exception.ImageNotAuthorized):
            nova_snapshot(instance(inst_uuid), image_id)
        self.assertNotIn(image_id, C.ls("images"))
        self.assertEqual(C.snaps("vms", name), [])
        self.assertEqual(image(image_id)["status"], "queued")

    def test_fastsnap_gives_an_active_image(self):
        Backends.fastsnap()
        img = self.snapshot_goes_direct_into_fast()
        self.assertEqual(img["size"], 64 * MiB)
        self.assertEqual(img["image_location"], "snapshot")

    def test_failure_after_the_clone_leaves_nothing(self):
        # fastsnap's backend with Nova 31's own PATCH: the update fails after
        # direct_snapshot made the clone; Nova's cleanup (ours) removes it
        Backends.fastsnap()
        fastsnap.nova_glance.uninstall()
        inst_uuid, name = make_disk()
        image_id = queued_image()
        self.addCleanup(delete_image, image_id)
        with self.assertRaises(exception.ImageNotAuthorized):
            nova_snapshot(instance(inst_uuid), image_id)
        self.assertNotIn(image_id, C.ls("images"))
        self.assertEqual(C.snaps("vms", name), [])

    def test_eperm_on_the_clone_falls_back(self):
        # a Ceph user that may not write the images pool: the clone's EPERM
        # is Nova's Forbidden, so Nova's generic snapshot uploads the disk
        Backends.fastsnap()
        CONF.set_override("rbd_user", "%s-ro" % TAG, "libvirt")
        fastsnap.nova._reset_engine()
        inst_uuid, name = make_disk()
        image_id, uploads = self.snapshot_into_new_image(inst_uuid)
        self.assertEqual(uploads, 1)                      # the generic path ran
        wait_active(image_id)
        self.assertEqual(image(image_id)["stores"], "local")
        self.assertNotIn(image_id, C.ls("images"))
        self.assertEqual(C.snaps("vms", name), [])

    def test_named_rbd_store_goes_direct_as_the_user(self):
        # [fastsnap] store = fast (the blueprint's [glance] store): the
        # look-up (stores, base image) goes to the Glance Nova's image API
        # uses, with the request's token; the snapshot goes direct into
        # fast. Before the per-request engine the look-up had only the
        # service token (401), so Nova's generic snapshot uploaded the disk
        # into the default store
        Backends.fastsnap()
        CONF.set_override("store", "fast", "fastsnap")
        fastsnap.nova._reset_engine()
        self.snapshot_goes_direct_into_fast()

    def test_non_rbd_target_store_falls_back(self):
        # [fastsnap] store names a file store: no direct path, Nova's
        # ImageUnacceptable, the generic snapshot
        Backends.fastsnap()
        CONF.set_override("store", "local", "fastsnap")
        fastsnap.nova._reset_engine()
        inst_uuid, name = make_disk()
        image_id, uploads = self.snapshot_into_new_image(inst_uuid)
        self.assertEqual(uploads, 1)
        wait_active(image_id)
        self.assertNotIn(image_id, C.ls("images"))
        self.assertEqual(C.snaps("vms", name), [])


COMPUTE = """
import sys
from unittest import mock
import nova.cmd.compute as c   # Nova's own nova-compute module (monkey-patches)
import fastsnap.nova_compute


class Created(Exception):
    pass


def create(*args, **kw):   # Nova's main got as far as creating the service
    from nova.image import glance
    from nova.virt.libvirt import imagebackend
    print("rbd backend:", imagebackend.Backend(True).BACKEND["rbd"].__module__)
    print("add_location:", glance.GlanceImageServiceV2._add_location.__module__)
    raise Created()


sys.argv = ["fastsnap-nova-compute", "--config-file", sys.argv[1]]
with mock.patch.object(c.service.Service, "create", create), \\
        mock.patch.object(c.priv_context, "init"), \\
        mock.patch("nova.version.version_string", return_value=sys.argv_version):
    try:
        fastsnap.nova_compute.main()
    except Created:
        sys.exit(0)
"""


class Startup(unittest.TestCase):
    """fastsnap-nova-compute: Nova's own compute main with the backend put
    in place after Nova read nova.conf; [fastsnap] enabled = false; the
    release check."""

    def compute(self, enabled=True, version="31.0.0"):
        conf = os.path.join(WORK, "nova-%s.conf" % ("on" if enabled else "off"))
        with open(os.path.join(WORK, "nova.conf")) as fh:
            text = fh.read()
        with open(conf, "w") as fh:
            fh.write(text.replace("[fastsnap]\nenabled = true",
                                  "[fastsnap]\nenabled = %s" % str(enabled).lower()))
        code = COMPUTE.replace("sys.argv_version", repr(version))
        return subprocess.run([sys.executable, "-c", code, conf], capture_output=True,
                              text=True, timeout=120)

    def test_on(self):
        r = self.compute()
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertIn("rbd backend: fastsnap.nova", r.stdout)
        self.assertIn("add_location: fastsnap.nova_glance", r.stdout)

    def test_off(self):
        r = self.compute(enabled=False)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertIn("rbd backend: nova.virt.libvirt.imagebackend", r.stdout)
        self.assertIn("add_location: nova.image.glance", r.stdout)

    def test_unknown_release_is_refused(self):
        r = self.compute(version="30.1.0")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr[-2000:])
        self.assertIn("supports Nova 31/32/33, not 30", r.stderr)
        self.assertNotIn("rbd backend:", r.stdout)


class Eventlet(unittest.TestCase):
    """nova-compute's hub keeps running during a sync flatten."""

    def test_greenthread_ticks_during_a_1gib_flatten(self):
        Backends.fastsnap()
        inst_uuid, name = make_disk(size=1024 * MiB, written=512 * MiB)
        image_id = queued_image()
        self.addCleanup(delete_image, image_id)
        ticks = []
        running = [True]

        def ticker():
            while running[0]:
                ticks.append(time.monotonic())
                eventlet.sleep(0.05)
        # the window: the library's snapshot call (its flatten included);
        # Nova's own look-ups around it are Nova's business
        windows = []
        off_hub = fastsnap.nova._off_hub

        def timed(fn, *args, **kw):
            a = time.monotonic()
            try:
                return off_hub(fn, *args, **kw)
            finally:
                windows.append((a, time.monotonic()))
        gt = eventlet.spawn(ticker)
        eventlet.sleep(0)
        disk = fastsnap.nova.Rbd(path="vms/" + name)
        with mock.patch.object(fastsnap.nova, "_off_hub", timed):
            loc = disk.direct_snapshot(context(), uuid.uuid4().hex, "raw", image_id, BASE)
        running[0] = False
        gt.wait()
        disk.cleanup_direct_snapshot({"url": loc}, also_destroy_volume=True)
        t0, t1 = max(windows, key=lambda w: w[1] - w[0])
        during = [t for t in ticks if t0 <= t <= t1]
        gaps = [b - a for a, b in zip([t0] + during, during + [t1])]
        log("fastsnap_snapshot of a 1 GiB disk (512 MiB written): %.1f s, %d ticks, "
            "largest gap %.3f s" % (t1 - t0, len(during), max(gaps)))
        self.assertGreater(t1 - t0, 1.0, "the flatten was too short to show anything")
        self.assertLess(max(gaps), 0.2)


if __name__ == "__main__":
    unittest.main(verbosity=2, warnings="ignore")   # Nova 31 deprecations on every call
