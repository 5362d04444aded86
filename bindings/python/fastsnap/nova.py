# SPDX-License-Identifier: Apache-2.0
# fastsnap/nova.py: Nova's direct snapshot on libfastsnap. Rbd is a
# subclass of Nova's own image backend (nova.virt.libvirt.imagebackend.Rbd)
# whose direct_snapshot() and cleanup_direct_snapshot() run on the library
# with Nova's arguments, return value, exceptions and pool choice; install()
# puts it into Nova's Backend.BACKEND (fastsnap.nova_compute does that
# before Nova's own nova-compute main). docs/nova.md says what differs from
# stock Nova and why; docs/embedding.md ("Nova mode") the C side.
"""Nova's Rbd image backend with fastsnap's direct snapshot.

    import fastsnap.nova
    fastsnap.nova.install()          # Backend.BACKEND['rbd'] = fastsnap.nova.Rbd
    # ... nova-compute runs as usual (fastsnap-nova-compute does both)

Needs Nova (a supported release: SUPPORTED) and a libfastsnap with
version 5 of the snapshot options (target_pool, tmp_snap_name).
"""
import logging
import threading

from . import _lib
from .errors import FastsnapError, NotFound
from .errors import Forbidden as _FsForbidden

LOG = logging.getLogger("fastsnap.nova")

# Nova releases whose Rbd.direct_snapshot/cleanup_direct_snapshot and
# driver.snapshot() this backend was read against (docs/nova.md): 31
# (2025.1, Debian 13) is tested; 32 and 33 have the same two methods.
SUPPORTED = (31, 32, 33)

try:  # Nova's own classes, so that its driver's except clauses catch ours
    from nova import exception as nova_exception
    from nova.virt.libvirt import imagebackend as _imagebackend
    _NovaRbd = _imagebackend.Rbd
except ImportError:  # no Nova here: only supported() and the helpers work
    nova_exception = None
    _imagebackend = None
    _NovaRbd = object

try:
    from eventlet import tpool as _tpool
except ImportError:  # no eventlet (Nova 33 in threading mode): call directly
    _tpool = None


def _off_hub(fn, *args, **kw):
    """Run a blocking call in a native thread, as Nova runs librbd calls
    (eventlet.tpool): the compute service's hub keeps running meanwhile.
    The library releases the GIL for the whole call (ctypes)."""
    if _tpool is None:
        return fn(*args, **kw)
    return _tpool.execute(fn, *args, **kw)


def supported():
    """True when the loaded library has what the backend needs."""
    return _lib.has("fastsnap_direct_cleanup") and _lib.SnapshotOpts.VERSION >= 5


def nova_release():
    """Nova's major release number (31 for 31.0.0), or None without Nova."""
    try:
        from nova import version
        return int(version.version_string().split(".")[0])
    except Exception:  # noqa: BLE001 -- no Nova, or an unreadable version
        return None


def check_release():
    """Refuse an unknown Nova release (docs/nova.md, "Supported releases")."""
    rel = nova_release()
    if rel not in SUPPORTED:
        raise RuntimeError("fastsnap's Nova backend supports Nova %s, not %s: turn it off "
                           "([fastsnap] enabled = false) or upgrade python3-fastsnap"
                           % ("/".join(str(r) for r in SUPPORTED), rel))
    return rel


# ---- settings (nova.conf [fastsnap]) ----

_OPTS_REGISTERED = False


def register_opts(conf):
    """[fastsnap] enabled, store, config_file in Nova's CONF (idempotent)."""
    global _OPTS_REGISTERED
    if _OPTS_REGISTERED:
        return
    from oslo_config import cfg
    conf.register_opts([
        cfg.BoolOpt("enabled", default=True,
                    help="Use fastsnap's Rbd image backend (fastsnap-nova-compute). "
                         "False: Nova's own backend, as if fastsnap were not installed."),
        cfg.StrOpt("store", default=None,
                   help="The Glance store snapshots go to (the blueprint's [glance] store). "
                        "Unset: Nova's choice, the pool of the disk's RBD parent."),
        cfg.StrOpt("config_file", default=None,
                   help="fastsnap's config file (docs/configuration.md): the Glance "
                        "identity the store look-up uses and the library's settings "
                        "(ceph_op_timeout_s, ...); unset: the nova.conf in use when store "
                        "is set, the library's defaults otherwise."),
        cfg.BoolOpt("register_location_post", default=True,
                    help="Nova 31 only: register the snapshot's location with "
                         "POST /v2/images/{id}/locations (as Nova 32 does), so that Glance "
                         "with show_multiple_locations = False accepts it."),
    ], group="fastsnap")
    _OPTS_REGISTERED = True


# ---- the engine: one per process, opened off the hub on first use ----

_ENGINE = None
_ENGINE_LOCK = threading.Lock()


def _new_engine(**glance):
    """An engine on Nova's Ceph settings; `glance` (glance_url, os_token)
    for a named store's look-up."""
    import fastsnap
    from nova import conf as nova_conf
    conf = nova_conf.CONF
    # A named config_file is read in any case (its [fastsnap] settings,
    # e.g. ceph_op_timeout_s); the nova.conf in use only for a named store
    # (Glance is read only then: its [service_user] token)
    cfg_file = conf.fastsnap.config_file or None
    if conf.fastsnap.store and not cfg_file:
        cfg_file = conf.config_file[0] if conf.config_file else None
    return fastsnap.Engine(
        config_file=cfg_file,
        ceph_conf=conf.libvirt.images_rbd_ceph_conf or None,
        ceph_user=conf.libvirt.rbd_user or None,
        log=lambda level, msg: LOG.log(level, "%s", msg), **glance)


def _engine():
    global _ENGINE
    if _ENGINE is not None:
        return _ENGINE

    def open_engine():
        global _ENGINE
        with _ENGINE_LOCK:
            if _ENGINE is None:
                _ENGINE = _new_engine()
        return _ENGINE
    return _off_hub(open_engine)


def _store_engine(context):
    """For a named store: an engine of this request that sees Glance as Nova
    does for it: the endpoint Nova's image API uses (its [glance]
    api_servers, else the catalog, version stripped) and the request's
    user token (the service token still comes from [service_user]). A
    compute node's config gives the library neither: no endpoint when the
    catalog names Glance, and Glance refuses a service token alone (401).
    One per call (a Ceph connection, ~0.1 s); docs/nova.md."""
    from nova.image import glance as nova_glance
    url = next(nova_glance.get_api_servers(context))
    return _off_hub(_new_engine, glance_url=url.rstrip("/"), os_token=context.auth_token)


def _reset_engine():
    """Close the process's engine (tests; a new nova.conf)."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is not None:
            _ENGINE.close()
        _ENGINE = None


class Rbd(_NovaRbd):
    """Nova's Rbd image backend; the direct-snapshot pair runs on libfastsnap.

    Everything else (boot clones, resize, libvirt XML, ...) is Nova's own.
    Flatten is always `sync`, as in Nova (docs/nova.md says why `deferred`
    and `none` are not offered here).
    """

    def direct_snapshot(self, context, snapshot_name, image_format, image_id, base_image_id):
        """As Nova's: snapshot the disk into `<pool>/<image_id>`, flatten it,
        protect its `snap` and return rbd://fsid/pool/image_id/snap.

        The pool is Nova's choice (_get_parent_pool: the disk's RBD parent
        pool, else a same-cluster location of the base image through Nova's
        own image API, else ImageUnacceptable) unless [fastsnap] store names
        a Glance store. `snapshot_name` is the disk's temporary RBD
        snapshot's name (Nova passes a random hex). `image_format` is
        ignored, as in Nova. Exceptions: Nova's ImageUnacceptable where Nova
        raises it, Nova's Forbidden only for a refused clone (rbd
        PermissionError in Nova), the library's own error otherwise (Nova
        then cleans up and fails the snapshot, as for any librbd error).
        A failure has already undone the Ceph side.
        """
        from nova import conf as nova_conf
        conf = nova_conf.CONF
        nova = {"image_id": image_id, "flags": _lib.SNAPSHOT_CEPH_ONLY,
                "tmp_snap_name": snapshot_name}
        own = None
        if conf.fastsnap.store:
            store = conf.fastsnap.store
            try:
                engine = own = _store_engine(context)
            except Exception as e:
                # no Glance for the look-up: nothing is made yet, Nova's
                # generic snapshot instead (as for a refused look-up)
                raise nova_exception.ImageUnacceptable(
                    image_id=image_id, reason="store %s: %s" % (store, e)) from e
        else:
            engine = _engine()
            store = None
            fsid = engine.fsid
            # Nova's own choice, Nova's own code (Glance only when the disk
            # has no RBD parent, with the user's context, as stock does)
            nova["target_pool"] = self._get_parent_pool(context, base_image_id, fsid)
        steps = []

        def progress(step, done, total):
            if not steps or steps[-1] != step:
                steps.append(step)

        try:
            try:
                r = _off_hub(engine._run, engine._lib.fastsnap_snapshot, False,
                             disk="%s/%s" % (self.driver.pool, self.rbd_name),
                             name=snapshot_name, store=store,
                             base_image_ref=base_image_id if store else None,
                             flatten="sync", progress=progress, _nova=nova)
            finally:
                if own is not None:
                    _off_hub(own.close)
        except FastsnapError as e:
            if isinstance(e, _FsForbidden) and steps and steps[-1] == "clone":
                # Nova: rbd.PermissionError on the clone only
                raise nova_exception.Forbidden(
                    "no write permission on storage pool %s: %s"
                    % (nova.get("target_pool") or store, e)) from e
            if store is not None and "clone" not in steps:
                # the named store cannot take a direct snapshot (not rbd in
                # this cluster; Glance refused, lost or timed out the look-up)
                # and nothing is lost yet: Nova's generic snapshot instead
                raise nova_exception.ImageUnacceptable(
                    image_id=image_id, reason="store %s: %s" % (store, e)) from e
            raise
        if not r.location:
            raise FastsnapError("direct snapshot of %s returned no location" % image_id,
                                result=r)
        return r.location

    def cleanup_direct_snapshot(self, location, also_destroy_volume=False,
                                ignore_errors=False):
        """As Nova's: unprotect and remove the snapshot named by
        location['url'] (a missing snapshot is skipped), and with
        also_destroy_volume remove the image too. A missing image raises
        (rbd.ImageNotFound, as Nova's RBDVolumeProxy does); ignore_errors
        only quiets the missing snapshot's warning, as in Nova."""
        if not location:
            return
        _fsid, pool, image, snap = self.driver.parse_url(location["url"])
        engine = _engine()
        flags = _lib.CLEANUP_IMAGE if also_destroy_volume else 0

        def cleanup():
            rc = engine._lib.fastsnap_direct_cleanup(engine._handle(),
                                                     _lib.enc(location["url"]), flags)
            if rc < 0:
                from . import _last_error
                raise _last_error(rc)
        try:
            _off_hub(cleanup)
        except NotFound:
            if not self.driver.exists(image, pool=pool):
                import rbd
                raise rbd.ImageNotFound("image %s/%s not found" % (pool, image))
            if not ignore_errors:
                LOG.warning("no snapshot(%s) found on rbd image(%s)", snap, image)
            if also_destroy_volume:
                self.driver.destroy_volume(image, pool=pool)


# ---- turning it on ----

_BACKEND_INIT = None


def _install_backend():
    """Nova builds Backend.BACKEND, a fixed dict of backend classes, in
    Backend.__init__: every Backend made from now on maps 'rbd' to Rbd."""
    global _BACKEND_INIT
    if _BACKEND_INIT is not None:
        return
    cls = _imagebackend.Backend
    original = cls.__init__

    def __init__(self, *args, **kw):
        original(self, *args, **kw)
        self.BACKEND["rbd"] = Rbd
    _BACKEND_INIT = original
    cls.__init__ = __init__


def uninstall():
    """Nova's own backend and location registration again (tests)."""
    global _BACKEND_INIT
    if _BACKEND_INIT is not None:
        _imagebackend.Backend.__init__ = _BACKEND_INIT
        _BACKEND_INIT = None
    from . import nova_glance
    nova_glance.uninstall()


def install(conf=None):
    """Make Nova's Backend.BACKEND['rbd'] Rbd (and, on Nova 31, the
    location POST into Nova's Glance client) unless [fastsnap] enabled is
    false. Checks the Nova release first. Returns True when installed."""
    from nova import conf as nova_conf
    conf = conf or nova_conf.CONF
    register_opts(conf)
    if not conf.fastsnap.enabled:
        LOG.info("fastsnap's Nova backend is off ([fastsnap] enabled = false): Nova's own Rbd")
        return False
    rel = check_release()
    if not supported():
        raise RuntimeError("libfastsnap %s lacks the Nova mode of snapshot options version 5"
                           % _version())
    _install_backend()
    if rel == 31 and conf.fastsnap.register_location_post:
        from . import nova_glance
        nova_glance.install()
    LOG.info("fastsnap %s: Nova %s's rbd image backend is fastsnap.nova.Rbd", _version(), rel)
    return True


def _version():
    from . import version
    return version()
