# SPDX-License-Identifier: Apache-2.0
# fastsnap/__init__.py: the Python binding of libfastsnap (pure Python,
# ctypes against the installed libfastsnap.so.0): Engine, snapshot(),
# plan(), stores(), Result, and the exceptions of fastsnap.errors. The Nova
# image-backend pair is in fastsnap.nova.
"""Snapshot Ceph RBD instance disks into Glance images (libfastsnap).

    import fastsnap
    with fastsnap.Engine(use_env=True) as engine:
        r = engine.snapshot(disk="vms/DISK", name="nightly", base_image_ref=BASE,
                            progress=lambda step, done, total: None)
        print(r.image_id, r.path, r.store, r.location)

Errors raise fastsnap.errors exceptions (NotFound is a LookupError,
Forbidden a PermissionError, ...). An exception raised by the progress
callable cancels the run (it is cleaned up) and is raised again by
snapshot().
"""
import ctypes
import json
import logging

from . import _lib, errors
from .errors import (FastsnapError, InvalidArgument, OutOfMemory, NotFound, Conflict,
                     Forbidden, Unauthorized, BadRequest, TooLarge, Unavailable,
                     TransportError, Timeout, ProtocolError, CephError, LocalIOError,
                     LocationDisallowed, LocationRejected, Unsupported, ChecksumError,
                     Canceled, ConfigError, FormatError, error_for)

__all__ = ["Engine", "Result", "Store", "StoreList", "load", "version", "STEPS", "errors",
           "FastsnapError", "InvalidArgument", "OutOfMemory", "NotFound", "Conflict", "Forbidden",
           "Unauthorized", "BadRequest", "TooLarge", "Unavailable", "TransportError", "Timeout",
           "ProtocolError", "CephError", "LocalIOError", "LocationDisallowed", "LocationRejected",
           "Unsupported", "ChecksumError", "Canceled", "ConfigError", "FormatError"]

load = _lib.load
LOG = logging.getLogger("fastsnap")

FLATTEN = {"sync": 0, "deferred": 1, "none": 2}
IMAGE_TYPE = {"snapshot": 0, "backup": 1}
STEPS = ("resolve", "image-create", "tmp-snap", "protect", "clone", "flatten",
         "tmp-remove", "snap", "location", "stream", "final-check")
_LOG_LEVELS = (logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG)


def version():
    """The loaded library's version, as a string ("0.1.0")."""
    return _lib.text(_lib.load().fastsnap_version(None, None, None))


def _last_error(code):
    lib = _lib.load()
    msg = _lib.text(lib.fastsnap_error_last()) or _lib.text(lib.fastsnap_strerror(code))
    return error_for(code, msg)


class Store:
    """One Glance store: id, description, is_default, read_only, and type,
    pool, fsid when known (else None)."""
    __slots__ = ("id", "description", "is_default", "read_only", "type", "pool", "fsid")

    def __init__(self, c):
        self.id = _lib.text(c.id)
        self.description = _lib.text(c.description)
        self.is_default = bool(c.is_default)
        self.read_only = bool(c.read_only)
        self.type = _lib.text(c.type)
        self.pool = _lib.text(c.pool)
        self.fsid = _lib.text(c.fsid)

    def __repr__(self):
        return "Store(%r, default=%r, read_only=%r, type=%r, pool=%r)" % (
            self.id, self.is_default, self.read_only, self.type, self.pool)


class StoreList(list):
    """A list of Store; has_detail says whether type and pool are known."""
    has_detail = False


class Result:
    """A plan or the result of a run, copied out of the library's result:
    image_id, path ("direct", "stream" or "none"), reason, store, location,
    flatten, size, seconds, active_seconds, steps (seconds per step that
    ran), sha512, md5, bytes_read, error, error_code, and as_dict() (the
    library's JSON)."""

    def __init__(self, ptr, planned=False):
        lib = _lib.load()
        t = _lib.text
        self.planned = planned
        self.image_id = t(lib.fastsnap_result_image_id(ptr))
        self.path = t(lib.fastsnap_path_name(lib.fastsnap_result_path(ptr)))
        self.reason = t(lib.fastsnap_result_reason(ptr))
        self.store = t(lib.fastsnap_result_store(ptr))
        self.location = t(lib.fastsnap_result_location(ptr))
        self.flatten = t(lib.fastsnap_result_flatten(ptr))
        self.size = lib.fastsnap_result_size(ptr)
        self.seconds = lib.fastsnap_result_seconds(ptr)
        self.active_seconds = lib.fastsnap_result_active_seconds(ptr)
        self.steps = {}
        for i, name in enumerate(STEPS):
            s = lib.fastsnap_result_step_seconds(ptr, i)
            if s > 0:
                self.steps[name] = s
        self.sha512 = t(lib.fastsnap_result_sha512(ptr))
        self.md5 = t(lib.fastsnap_result_md5(ptr))
        self.bytes_read = lib.fastsnap_result_bytes_read(ptr)
        self.error = t(lib.fastsnap_result_error(ptr)) or None
        self.error_code = lib.fastsnap_result_error_code(ptr)
        self._json = t(lib.fastsnap_result_json(ptr))

    def as_dict(self):
        return json.loads(self._json) if self._json else {}

    def __repr__(self):
        return "Result(image_id=%r, path=%r, store=%r, location=%r, reason=%r)" % (
            self.image_id, self.path, self.store, self.location, self.reason)


class Engine:
    """An open libfastsnap engine: a Ceph connection plus a Glance endpoint.

    Keyword arguments are the fields of fastsnap_engine_opts (config_file,
    use_env, ceph_conf, ceph_user, keyring, glance_url, os_token,
    glance_headers (a list of "Name: value"), os_auth_url, os_username, ...,
    connect_timeout_ms, low_speed_time_s, num_retries, ca_file, client_cert,
    client_key, insecure). use_env=True reads CEPH_CONF, FASTSNAP_* and OS_*
    for unset fields, as the fastsnap command does. Log lines go to `log`
    (a callable taking a logging level and a message; it may be called from
    several threads) or to the "fastsnap" logger.

    Use it as a context manager, or call close(). One engine may be shared
    by threads: each call releases the GIL while the library works.
    """

    def __init__(self, log=None, library=None, **opts):
        lib = _lib.load(library) if library else _lib.load()
        self._lib = lib
        self._ptr = None
        o = _lib.EngineOpts()
        keep = []
        for k, v in opts.items():
            if k in ("version", "log_cb", "log_payload", "glance_headers_count"):
                raise TypeError("Engine() got an unexpected keyword argument %r" % k)
            if k == "glance_headers":
                arr, n, ref = _lib.str_array(v)
                o.glance_headers, o.glance_headers_count = arr, n
                keep.append(ref)
                continue
            if not hasattr(o, k):
                raise TypeError("Engine() got an unexpected keyword argument %r" % k)
            if v is None:
                continue
            ctype = dict(o._fields_)[k]
            if ctype is ctypes.c_char_p:
                v = _lib.enc(v)
            elif k in ("use_env", "insecure"):
                v = int(bool(v))
            setattr(o, k, v)
            keep.append(v)
        sink = log or (lambda level, msg: LOG.log(level, "%s", msg))

        def on_log(level, msg, payload):
            try:
                sink(_LOG_LEVELS[level] if 0 <= level < 4 else logging.DEBUG, _lib.text(msg))
            except Exception:  # a logging failure must not reach C
                LOG.exception("fastsnap log callback failed")
        self._log_cb = _lib.LOG_CB(on_log)  # lives as long as the engine
        o.log_cb = self._log_cb
        ptr = ctypes.c_void_p()
        rc = lib.fastsnap_engine_open(ctypes.byref(ptr), ctypes.byref(o))
        if rc < 0:
            raise _last_error(rc)
        self._ptr = ptr

    # context manager
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Close the engine (every call on it must have returned)."""
        if self._ptr is not None:
            self._lib.fastsnap_engine_close(self._ptr)
            self._ptr = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _handle(self):
        if self._ptr is None:
            raise ValueError("the fastsnap engine is closed")
        return self._ptr

    @property
    def fsid(self):
        """The fsid of the engine's Ceph cluster."""
        return _lib.text(self._lib.fastsnap_engine_fsid(self._handle()))

    def stores(self):
        """Glance's stores, as a StoreList of Store."""
        lst = ctypes.c_void_p()
        rc = self._lib.fastsnap_stores_list(ctypes.byref(lst), self._handle())
        if rc < 0:
            raise _last_error(rc)
        try:
            out = StoreList()
            for i in range(self._lib.fastsnap_store_list_count(lst)):
                out.append(Store(self._lib.fastsnap_store_list_get(lst, i).contents))
            out.has_detail = bool(self._lib.fastsnap_store_list_has_detail(lst))
            return out
        finally:
            self._lib.fastsnap_store_list_free(lst)

    def plan(self, **kw):
        """Which store and path a snapshot would take, and why; creates nothing.
        Takes the arguments of snapshot(); returns a Result (image_id None)."""
        return self._run(self._lib.fastsnap_plan, True, **kw)

    def snapshot(self, **kw):
        """Snapshot a disk into a new Glance image; returns a Result.

        disk="pool/image" or disk_file=PATH, name=..., and optionally
        base_image_ref, instance_uuid, user_id, owner_id, store,
        flatten ("sync", "deferred", "none"), image_type ("snapshot",
        "backup"), backup_type, properties (a dict or "k=v" strings),
        disk_format, verify_md5, read_depth, read_size, clone_depth_cap,
        progress (callable(step, done, total), step a name of STEPS; an
        exception raised in it cancels the run and is raised again here),
        on_active (callable(image_id): the image became active), capture
        (callable("begin" | "end") around the moment the source is
        captured, where a caller freezes and thaws the guest; raising at
        "begin" cancels the run before anything is captured).
        On failure everything the run created is removed and an exception
        of fastsnap.errors is raised; its .result holds the plan and message.
        """
        return self._run(self._lib.fastsnap_snapshot, False, **kw)

    # Shared by plan(), snapshot() and fastsnap.nova.
    def _run(self, func, planned, progress=None, on_active=None, capture=None, _nova=None, **kw):
        o = _lib.SnapshotOpts()
        keep = []
        fields = dict(o._fields_)
        for k, v in kw.items():
            if k in ("version", "progress_cb", "progress_payload", "active_cb", "active_payload",
                     "capture_cb", "capture_payload", "properties_count", "image_id", "flags",
                     "target_pool", "tmp_snap_name") \
                    or k not in fields:
                raise TypeError("unexpected keyword argument %r" % k)
            if v is None:
                continue
            if k == "flatten":
                if v not in FLATTEN:
                    raise InvalidArgument("flatten: expected sync, deferred or none, not %r" % (v,))
                v = FLATTEN[v]
            elif k == "image_type":
                if v not in IMAGE_TYPE:
                    raise InvalidArgument("image_type: expected snapshot or backup, not %r" % (v,))
                v = IMAGE_TYPE[v]
            elif k == "properties":
                items = ["%s=%s" % kv for kv in v.items()] if isinstance(v, dict) else list(v)
                arr, n, ref = _lib.str_array(items)
                o.properties, o.properties_count = arr, n
                keep.append(ref)
                continue
            elif k == "verify_md5":
                v = int(bool(v))
            elif fields[k] is ctypes.c_char_p:
                v = _lib.enc(v)
            setattr(o, k, v)
            keep.append(v)
        if _nova is not None:  # fastsnap.nova: the planned Ceph-only mode
            o.version = _lib.NOVA_OPTS_VERSION
            o.image_id = _lib.enc(_nova["image_id"])
            o.flags = _nova["flags"]
            o.target_pool = _lib.enc(_nova.get("target_pool"))
            o.tmp_snap_name = _lib.enc(_nova.get("tmp_snap_name"))
            keep.extend((o.image_id, o.target_pool, o.tmp_snap_name))

        raised = []  # the first exception of a Python callback, raised again below

        if progress is not None:
            def on_progress(step, done, total, payload):
                if raised:
                    return 1
                try:
                    progress(STEPS[step] if 0 <= step < len(STEPS) else str(step), done, total)
                    return 0
                except BaseException as e:  # noqa: B902 -- cancel on anything, re-raise later
                    raised.append(e)
                    return 1
            o.progress_cb = _lib.PROGRESS_CB(on_progress)
            keep.append(o.progress_cb)
        if on_active is not None:
            def on_act(image_id, payload):
                if raised:
                    return
                try:
                    on_active(_lib.text(image_id))
                except BaseException as e:  # noqa: B902
                    raised.append(e)
            o.active_cb = _lib.ACTIVE_CB(on_act)
            keep.append(o.active_cb)

        if capture is not None:
            def on_capture(event, payload):
                if raised and event == 0:
                    return 1
                try:
                    capture("begin" if event == 0 else "end")
                    return 0
                except BaseException as e:  # noqa: B902
                    raised.append(e)
                    return 1
            o.capture_cb = _lib.CAPTURE_CB(on_capture)
            keep.append(o.capture_cb)

        res = ctypes.c_void_p()
        rc = func(ctypes.byref(res), self._handle(), ctypes.byref(o))
        result = None
        try:
            if res:
                result = Result(res, planned=planned)
            if rc < 0:
                msg = _lib.text(self._lib.fastsnap_error_last()) or (result.error if result else "")
                err = error_for(rc, msg or _lib.text(self._lib.fastsnap_strerror(rc)), result)
        finally:
            if res:
                self._lib.fastsnap_result_free(res)
        if raised:
            # The callback's own exception wins over FASTSNAP_ECANCELED;
            # the run has already been undone by the library.
            exc = raised[0]
            if rc < 0:
                exc.__context__ = err
            raise exc
        if rc < 0:
            raise err
        return result
