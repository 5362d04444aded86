# fastsnap/nova.py: a drop-in for the direct-snapshot pair of Nova's Rbd
# image backend (nova/virt/libvirt/imagebackend.py): RbdDisk stands for an
# instance disk (Nova's `self`), with direct_snapshot() and
# cleanup_direct_snapshot() of the same signatures and the same contract:
# the Glance image already exists (Nova's API created it), only the Ceph
# side is done here, and Nova registers the returned rbd:// location itself.
#
# It needs the library's Ceph-only mode (docs/embedding.md, "Nova mode"):
# fastsnap_snapshot_opts `image_id` + `flags` = FASTSNAP_SNAPSHOT_CEPH_ONLY,
# and fastsnap_direct_cleanup(). A library without them makes
# direct_snapshot() raise NotImplementedError, which is where Nova's driver
# falls back to its generic snapshot.
"""Nova's Rbd.direct_snapshot / cleanup_direct_snapshot on libfastsnap.

    disk = fastsnap.nova.RbdDisk(engine, "vms", "%s_disk" % instance.uuid)
    location = disk.direct_snapshot(context, snapshot_name, "raw", image_id, base_image_id)
    # ... Nova registers `location` on image_id; on a failure it calls
    disk.cleanup_direct_snapshot({"url": location}, also_destroy_volume=True, ignore_errors=True)
"""
import logging

from . import _lib
from .errors import FastsnapError, NotFound, Unsupported
from .errors import Forbidden as _FastsnapForbidden

LOG = logging.getLogger("fastsnap.nova")


class ImageUnacceptable(FastsnapError, ValueError):
    """The direct path is not possible for this image (named like Nova's
    exception.ImageUnacceptable); Nova falls back to its generic snapshot."""
    code = -18


Forbidden = _FastsnapForbidden


def _nova_exceptions():
    """Nova's own ImageUnacceptable and Forbidden when Nova is importable
    (so that its driver's `except` clauses catch them), else ours."""
    try:
        from nova import exception as nova_exc  # noqa: WPS433
        return nova_exc.ImageUnacceptable, nova_exc.Forbidden
    except Exception:  # no Nova here
        return None, None


def supported():
    """True when the loaded library has the Ceph-only (Nova) mode."""
    return _lib.has("fastsnap_direct_cleanup")


class RbdDisk:
    """An instance disk in Ceph RBD, as Nova's Rbd image backend sees it.

    engine:   an open fastsnap.Engine (its Ceph identity is Nova's rbd_user)
    pool:     the disk's pool ([libvirt] images_rbd_pool)
    rbd_name: the disk's RBD image name ("<instance uuid>_disk")
    flatten:  "sync" (Nova's behaviour, the default) or "none"
    """

    def __init__(self, engine, pool, rbd_name, flatten="sync"):
        self.engine = engine
        self.pool = pool
        self.rbd_name = rbd_name
        self.flatten = flatten

    def _raise(self, kind, image_id, reason, cause):
        nova_unacceptable, nova_forbidden = _nova_exceptions()
        if kind == "unacceptable":
            if nova_unacceptable is not None:
                raise nova_unacceptable(image_id=image_id, reason=reason) from cause
            raise ImageUnacceptable("Image %s is unacceptable: %s" % (image_id, reason),
                                    result=getattr(cause, "result", None)) from cause
        if nova_forbidden is not None:
            raise nova_forbidden(reason) from cause
        raise cause

    def direct_snapshot(self, context, snapshot_name, image_format, image_id, base_image_id):
        """Snapshot the disk into the RBD image `image_id`, in the pool of the
        base image's store, and return its location rbd://fsid/pool/image_id/snap.

        `context` is unused (the engine carries the identity) and
        `snapshot_name` is the Glance image's name; fastsnap names its own
        temporary snapshot so that `fastsnap gc` can find an interrupted
        one. Raises NotImplementedError when the library has no Ceph-only
        mode or the format is not raw, ImageUnacceptable when the direct
        path is impossible (the base image's store is not RBD in this
        cluster, or cannot be established), Forbidden when Ceph refuses a
        step: in each case Nova falls back to its generic snapshot. On any
        failure the Ceph side has already been undone.
        """
        if not supported():
            raise NotImplementedError(
                "libfastsnap %s has no Ceph-only snapshot mode" % _version())
        if image_format not in (None, "raw", "rbd"):
            raise NotImplementedError("direct snapshots are raw; %s is not" % image_format)
        try:
            r = self.engine._run(
                self.engine._lib.fastsnap_snapshot, False,
                disk="%s/%s" % (self.pool, self.rbd_name), name=snapshot_name,
                base_image_ref=base_image_id, flatten=self.flatten,
                _nova={"image_id": image_id, "flags": _lib.SNAPSHOT_CEPH_ONLY})
        except Unsupported as e:
            # the plan is not direct: say why, Nova falls back
            reason = e.result.reason if e.result is not None and e.result.reason else str(e)
            self._raise("unacceptable", image_id, reason, e)
        except _FastsnapForbidden as e:
            self._raise("forbidden", image_id, str(e), e)
        if not r.location:
            raise FastsnapError("direct snapshot of %s returned no location" % image_id, result=r)
        return r.location

    def cleanup_direct_snapshot(self, location, also_destroy_volume=False, ignore_errors=False):
        """Unprotect and remove the snapshot named by `location` ({"url":
        "rbd://fsid/pool/image/snap"} as Nova passes it, or the URL), and with
        also_destroy_volume=True the RBD image too. A snapshot that is
        already gone is not an error (as in Nova). With ignore_errors=True,
        failures are logged instead of raised. No location: nothing to do.
        """
        if not location:
            return
        url = location.get("url") if isinstance(location, dict) else location
        if not url:
            return
        try:
            if not supported():
                raise NotImplementedError(
                    "libfastsnap %s has no fastsnap_direct_cleanup()" % _version())
            lib = self.engine._lib
            rc = lib.fastsnap_direct_cleanup(self.engine._handle(), _lib.enc(url),
                                             _lib.CLEANUP_IMAGE if also_destroy_volume else 0)
            if rc < 0:
                from . import _last_error
                raise _last_error(rc)
        except NotFound:
            LOG.debug("%s is already gone", url)
        except Exception as e:
            if not ignore_errors:
                raise
            LOG.warning("cleanup of %s failed (ignored): %s", url, e)


def _version():
    from . import version
    return version()
