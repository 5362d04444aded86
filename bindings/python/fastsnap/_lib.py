# SPDX-License-Identifier: Apache-2.0
# fastsnap/_lib.py: the ctypes view of libfastsnap.so.0 (include/fastsnap.h):
# loading the library, the option and store structs field by field, the
# callback types, and every function's argument and return types. Nothing
# else in the package touches ctypes declarations.
#
# The structs must match the header exactly; tests/test_binding.py compiles
# a C program against the installed header and compares every offset.
import ctypes
import os
import threading

c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p

LOG_CB = ctypes.CFUNCTYPE(None, ctypes.c_int, c_char_p, c_void_p)
PROGRESS_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64, c_void_p)
ACTIVE_CB = ctypes.CFUNCTYPE(None, c_char_p, c_void_p)
CAPTURE_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, c_void_p)


class EngineOpts(ctypes.Structure):
    """fastsnap_engine_opts, version 5."""
    VERSION = 5
    _fields_ = [
        ("version", ctypes.c_uint),
        ("config_file", c_char_p),
        ("use_env", ctypes.c_int),
        ("ceph_conf", c_char_p),
        ("ceph_user", c_char_p),
        ("keyring", c_char_p),
        ("glance_url", c_char_p),
        ("os_token", c_char_p),
        ("glance_headers", ctypes.POINTER(c_char_p)),
        ("glance_headers_count", ctypes.c_size_t),
        ("os_auth_url", c_char_p),
        ("os_username", c_char_p),
        ("os_password", c_char_p),
        ("os_user_domain_name", c_char_p),
        ("os_project_name", c_char_p),
        ("os_project_id", c_char_p),
        ("os_project_domain_name", c_char_p),
        ("os_application_credential_id", c_char_p),
        ("os_application_credential_secret", c_char_p),
        ("os_interface", c_char_p),
        ("os_region_name", c_char_p),
        ("connect_timeout_ms", ctypes.c_long),
        ("low_speed_time_s", ctypes.c_long),
        ("num_retries", ctypes.c_int),
        ("ca_file", c_char_p),
        ("client_cert", c_char_p),
        ("client_key", c_char_p),
        ("insecure", ctypes.c_int),
        ("log_cb", LOG_CB),
        ("log_payload", c_void_p),
        # version 2
        ("retry_base_ms", ctypes.c_long),
        ("heartbeat_period_s", ctypes.c_long),
        # version 3
        ("call_deadline_s", ctypes.c_long),
        # version 4
        ("glance_cache_s", ctypes.c_long),
        # version 5
        ("flatten_helper", c_char_p),
    ]

    def __init__(self):
        # FASTSNAP_ENGINE_OPTS_INIT
        super().__init__()
        self.version = self.VERSION
        self.num_retries = -1


# fastsnap_snapshot_opts as include/fastsnap.h has it (versions 1 to 3).
SNAPSHOT_OPTS_HEADER = [
    ("version", ctypes.c_uint),
    ("disk", c_char_p),
    ("disk_file", c_char_p),
    ("name", c_char_p),
    ("base_image_ref", c_char_p),
    ("instance_uuid", c_char_p),
    ("user_id", c_char_p),
    ("owner_id", c_char_p),
    ("store", c_char_p),
    ("flatten", ctypes.c_int),
    ("image_type", ctypes.c_int),
    ("backup_type", c_char_p),
    ("properties", ctypes.POINTER(c_char_p)),
    ("properties_count", ctypes.c_size_t),
    ("disk_format", c_char_p),
    ("verify_md5", ctypes.c_int),
    ("read_depth", ctypes.c_uint),
    ("read_size", ctypes.c_uint64),
    ("clone_depth_cap", ctypes.c_uint),
    ("progress_cb", PROGRESS_CB),
    ("progress_payload", c_void_p),
    ("active_cb", ACTIVE_CB),
    ("active_payload", c_void_p),
    # version 2
    ("capture_cb", CAPTURE_CB),
    ("capture_payload", c_void_p),
    # version 3
    ("cancel", c_void_p),           # fastsnap_cancel *, NULL
]

# Version 4 of fastsnap_snapshot_opts: Nova's Ceph-only mode
# (docs/embedding.md "Nova mode"). The binding sets `version` to
# NOVA_OPTS_VERSION only when the library exports fastsnap_direct_cleanup(),
# which came with the mode (version 5 added target_pool and tmp_snap_name).
NOVA_OPTS_VERSION = 5
SNAPSHOT_OPTS_NOVA = [
    ("image_id", c_char_p),   # an existing queued Glance image to fill; NULL: create one
    ("flags", ctypes.c_uint),  # FASTSNAP_SNAPSHOT_CEPH_ONLY, ...
    # version 5 (fastsnap.nova's backend, docs/nova.md)
    ("target_pool", c_char_p),    # Ceph-only: the caller's pool, Glance not asked
    ("tmp_snap_name", c_char_p),  # the temporary snapshot's name (Nova's random hex)
]
# Version 6: copies into further stores once the image is active (Glance's
# copy-image import; docs/usage.md). The binding leaves them NULL/0.
COPY_CB = ctypes.CFUNCTYPE(None, c_char_p, c_char_p, c_void_p)
SNAPSHOT_OPTS_COPY = [
    ("copy_to", ctypes.POINTER(c_char_p)),
    ("copy_to_count", ctypes.c_size_t),
    ("copy_all_must_succeed", ctypes.c_int),
    ("copy_wait_s", ctypes.c_long),
    ("copy_cb", COPY_CB),
    ("copy_payload", c_void_p),
]
SNAPSHOT_CEPH_ONLY = 0x1      # FASTSNAP_SNAPSHOT_CEPH_ONLY
CLEANUP_IMAGE = 0x1           # FASTSNAP_CLEANUP_IMAGE


class SnapshotOpts(ctypes.Structure):
    """fastsnap_snapshot_opts, version 6 (the Nova-mode fields stay NULL/0
    unless fastsnap.nova sets them; the version-6 copy fields stay NULL/0)."""
    VERSION = 6
    _fields_ = SNAPSHOT_OPTS_HEADER + SNAPSHOT_OPTS_NOVA + SNAPSHOT_OPTS_COPY

    def __init__(self):
        # FASTSNAP_SNAPSHOT_OPTS_INIT (every other field is 0 / NULL)
        super().__init__()
        self.version = self.VERSION


class Store(ctypes.Structure):
    """fastsnap_store."""
    _fields_ = [
        ("id", c_char_p),
        ("description", c_char_p),
        ("is_default", ctypes.c_int),
        ("read_only", ctypes.c_int),
        ("type", c_char_p),
        ("pool", c_char_p),
        ("fsid", c_char_p),
    ]


_SIGNATURES = {
    # name: (restype, argtypes)
    "fastsnap_version": (c_char_p, [ctypes.POINTER(ctypes.c_int)] * 3),
    "fastsnap_strerror": (c_char_p, [ctypes.c_int]),
    "fastsnap_error_last": (c_char_p, []),
    "fastsnap_error_last_code": (ctypes.c_int, []),
    "fastsnap_error_clear": (None, []),
    "fastsnap_engine_open": (ctypes.c_int, [ctypes.POINTER(c_void_p), ctypes.POINTER(EngineOpts)]),
    "fastsnap_engine_close": (None, [c_void_p]),
    "fastsnap_engine_fsid": (c_char_p, [c_void_p]),
    "fastsnap_stores_list": (ctypes.c_int, [ctypes.POINTER(c_void_p), c_void_p]),
    "fastsnap_store_list_count": (ctypes.c_size_t, [c_void_p]),
    "fastsnap_store_list_get": (ctypes.POINTER(Store), [c_void_p, ctypes.c_size_t]),
    "fastsnap_store_list_has_detail": (ctypes.c_int, [c_void_p]),
    "fastsnap_store_list_free": (None, [c_void_p]),
    "fastsnap_step_name": (c_char_p, [ctypes.c_int]),
    "fastsnap_path_name": (c_char_p, [ctypes.c_int]),
    "fastsnap_plan": (ctypes.c_int, [ctypes.POINTER(c_void_p), c_void_p, ctypes.POINTER(SnapshotOpts)]),
    "fastsnap_snapshot": (ctypes.c_int, [ctypes.POINTER(c_void_p), c_void_p, ctypes.POINTER(SnapshotOpts)]),
    "fastsnap_result_image_id": (c_char_p, [c_void_p]),
    "fastsnap_result_path": (ctypes.c_int, [c_void_p]),
    "fastsnap_result_reason": (c_char_p, [c_void_p]),
    "fastsnap_result_store": (c_char_p, [c_void_p]),
    "fastsnap_result_location": (c_char_p, [c_void_p]),
    "fastsnap_result_size": (ctypes.c_uint64, [c_void_p]),
    "fastsnap_result_flatten": (c_char_p, [c_void_p]),
    "fastsnap_result_step_seconds": (ctypes.c_double, [c_void_p, ctypes.c_int]),
    "fastsnap_result_seconds": (ctypes.c_double, [c_void_p]),
    "fastsnap_result_active_seconds": (ctypes.c_double, [c_void_p]),
    "fastsnap_result_sha512": (c_char_p, [c_void_p]),
    "fastsnap_result_md5": (c_char_p, [c_void_p]),
    "fastsnap_result_bytes_read": (ctypes.c_uint64, [c_void_p]),
    "fastsnap_result_error": (c_char_p, [c_void_p]),
    "fastsnap_result_error_code": (ctypes.c_int, [c_void_p]),
    "fastsnap_result_json": (c_char_p, [c_void_p]),
    "fastsnap_result_free": (None, [c_void_p]),
}
# int fastsnap_direct_cleanup(fastsnap_engine *, const char *rbd_url, unsigned int flags)
_OPTIONAL = {
    "fastsnap_direct_cleanup": (ctypes.c_int, [c_void_p, c_char_p, ctypes.c_uint]),
}

_lib = None
_lock = threading.Lock()


def load(path=None):
    """Load libfastsnap. `path` (or the FASTSNAP_LIBRARY variable) names the
    file; otherwise the dynamic loader finds libfastsnap.so.0. Called by the
    first Engine; call it earlier to choose the file. Returns the CDLL."""
    global _lib
    with _lock:
        if _lib is not None and path is None:
            return _lib
        lib = ctypes.CDLL(path or os.environ.get("FASTSNAP_LIBRARY") or "libfastsnap.so.0")
        for name, (res, args) in _SIGNATURES.items():
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args
        for name, (res, args) in _OPTIONAL.items():
            try:
                f = getattr(lib, name)
            except AttributeError:
                continue
            f.restype, f.argtypes = res, args
        _lib = lib
        return lib


def has(name):
    """True when the loaded library exports `name` (a planned function)."""
    try:
        getattr(load(), name)
        return True
    except AttributeError:
        return False


def text(b):
    return None if b is None else b.decode("utf-8", "replace")


def enc(s):
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8")


def str_array(items):
    """A C array of char* (and its length) kept alive by the returned tuple."""
    items = [enc(i) for i in items or ()]
    if not items:
        return None, 0, None
    arr = (c_char_p * len(items))(*items)
    return ctypes.cast(arr, ctypes.POINTER(c_char_p)), len(items), (arr, items)
