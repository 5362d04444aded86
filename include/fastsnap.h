/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fastsnap.h: the one public header of libfastsnap.
 *
 * fastsnap turns a Ceph RBD (or raw file) instance disk into a Glance image.
 * When the target Glance store is RBD in the same cluster it clones inside
 * Ceph and registers an rbd:// location (the direct path); otherwise it
 * streams the disk to Glance (the streamed path).
 *
 * Conventions (libgit2 / librbd style):
 *  - Handles are opaque. Each handle type has exactly one free function.
 *  - Out-parameters come first.
 *  - Functions return 0 on success or a negative FASTSNAP_E* code. The
 *    message of the last failure in the calling thread is returned by
 *    fastsnap_error_last(); fastsnap_strerror() names a code.
 *  - Option structs start with a `version` field and have an _INIT macro.
 *    Always initialise them with the macro, then set the fields you need:
 *        fastsnap_engine_opts o = FASTSNAP_ENGINE_OPTS_INIT;
 *    Structs grow only at their end, each addition under a new version
 *    number; the library accepts every version from 1 to its own, so a
 *    program built against an older header keeps working.
 *  - Strings passed in are copied; the caller keeps ownership of its own.
 *    Strings and structs returned through a handle live as long as that
 *    handle and are released by its free function.
 *  - The library prints nothing. Progress goes to callbacks.
 *
 * Thread safety: fastsnap_error_last() is thread-local. One engine may run
 * snapshots from several threads at once: they share its Ceph connection
 * and each run makes its own Glance client. Callbacks of a run are called
 * from the thread that runs it (and, for progress, from its worker threads
 * one at a time). A result or store list belongs to one thread at a time.
 * Each function below says which of these it is:
 *   "any thread"   safe to call concurrently, also on one shared engine;
 *   "one thread"   the object it takes (a result, a store list) must not be
 *                  used by another thread during the call;
 *   "not while in use"  no other call may be using the object (close, free).
 *
 * Errors: "Errors:" lists the codes a caller can tell apart; any function
 * returning int may also give FASTSNAP_EINVAL (bad argument, option struct
 * not initialised with its _INIT macro or of a newer version than this
 * library knows) and FASTSNAP_ENOMEM. Every failure sets the calling
 * thread's fastsnap_error_last().
 *
 * ABI and API stability (SONAME libfastsnap.so.0), as librbd does it:
 *  - The ABI grows, it never changes. A release adds new functions; it
 *    never changes the signature or meaning of an existing one, never
 *    removes one, and never renumbers an enum value or error code (new
 *    codes and steps are appended; treat unknown ones as generic).
 *  - Option structs grow by version: new fields are appended at the end,
 *    the struct's _VERSION macro goes up and its _INIT macro fills the new
 *    fields with their "unset" value. A program built against version N of
 *    a struct keeps working with a library that knows N or later: the
 *    library reads only the fields that exist in the caller's version. A
 *    library older than the caller's struct refuses it with FASTSNAP_EINVAL
 *    (it cannot know what the unknown fields ask for).
 *  - Handles stay opaque and results are read through accessors, so they
 *    can grow without any ABI change.
 *  - Only fastsnap_* symbols are exported (a linker version script). An
 *    incompatible change would need a new SONAME (libfastsnap.so.1).
 *  - fastsnap_version() gives the library's version at run time; the
 *    FASTSNAP_VERSION_* macros the version a program was built against.
 *    A feature added in 0.y needs a library >= 0.y.
 * docs/embedding.md has the same rules with examples.
 */
#ifndef FASTSNAP_H
#define FASTSNAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define FASTSNAP_EXTERN __attribute__((visibility("default")))
#else
#define FASTSNAP_EXTERN
#endif

#define FASTSNAP_VERSION_MAJOR 0
#define FASTSNAP_VERSION_MINOR 1
#define FASTSNAP_VERSION_PATCH 0
#define FASTSNAP_VERSION_STRING "0.1.0"

/**
 * The library's version string ("0.1.0"), for comparing with the macros.
 * Each of major, minor, patch may be NULL; else it receives that number.
 * Ownership: the string is static. Thread-safety: any thread. Never fails.
 */
FASTSNAP_EXTERN const char *fastsnap_version(int *major, int *minor, int *patch);

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/** Error codes. 0 is success; every failure is negative. */
typedef enum {
	FASTSNAP_OK = 0,
	FASTSNAP_ERROR = -1,            /**< generic failure */
	FASTSNAP_EINVAL = -2,           /**< invalid argument or option */
	FASTSNAP_ENOMEM = -3,           /**< out of memory */
	FASTSNAP_ENOTFOUND = -4,        /**< no such image, store, disk (HTTP 404, ENOENT) */
	FASTSNAP_ECONFLICT = -5,        /**< state conflict (HTTP 409, EEXIST, EBUSY) */
	FASTSNAP_EFORBIDDEN = -6,       /**< not allowed (HTTP 403, EPERM/EACCES) */
	FASTSNAP_EUNAUTHORIZED = -7,    /**< authentication failed (HTTP 401) */
	FASTSNAP_EBADREQUEST = -8,      /**< the server rejected the request (HTTP 400, 415) */
	FASTSNAP_ETOOLARGE = -9,        /**< too large (HTTP 413, response over the cap) */
	FASTSNAP_EUNAVAILABLE = -10,    /**< service unavailable (HTTP 5xx) */
	FASTSNAP_ETRANSPORT = -11,      /**< connection, TLS or DNS failure */
	FASTSNAP_ETIMEOUT = -12,        /**< a timeout expired */
	FASTSNAP_EPROTOCOL = -13,       /**< malformed or unexpected response */
	FASTSNAP_ECEPH = -14,           /**< a Ceph call failed (see the message) */
	FASTSNAP_EIO = -15,             /**< local I/O error */
	FASTSNAP_ELOCATION_DISALLOWED = -16, /**< Glance does not allow locations (PATCH 403) */
	FASTSNAP_ELOCATION_REJECTED = -17,   /**< Glance could not open the location (400/500) */
	FASTSNAP_EUNSUPPORTED = -18,    /**< not supported (e.g. multi-store off, a path not built) */
	FASTSNAP_ECHECKSUM = -19,       /**< data verification failed */
	FASTSNAP_ECANCELED = -20,       /**< canceled by the caller or a test hook */
	FASTSNAP_ECONFIG = -21,         /**< configuration file error */
	FASTSNAP_EFORMAT = -22          /**< the source disk is not in a usable format */
} fastsnap_error_t;

/**
 * A static, human name for an error code ("not found"). Never NULL; an
 * unknown code gives a generic name. Thread-safety: any thread.
 */
FASTSNAP_EXTERN const char *fastsnap_strerror(int code);

/**
 * The message of the last failure in the calling thread, or "" if none.
 * The string belongs to the library and is valid until the next fastsnap
 * call in this thread. Secrets are never part of a message.
 * Thread-safety: any thread (the message is thread-local).
 */
FASTSNAP_EXTERN const char *fastsnap_error_last(void);

/** The code of the last failure in the calling thread (0 if none). Any thread. */
FASTSNAP_EXTERN int fastsnap_error_last_code(void);

/** Clear the calling thread's last error. Any thread. */
FASTSNAP_EXTERN void fastsnap_error_clear(void);

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

typedef enum {
	FASTSNAP_LOG_ERROR = 0,
	FASTSNAP_LOG_WARN = 1,
	FASTSNAP_LOG_INFO = 2,
	FASTSNAP_LOG_DEBUG = 3
} fastsnap_log_level;

/**
 * Receives log lines. `msg` is valid only during the call (copy it to keep
 * it). It is called from whichever thread runs a call on the engine, so
 * with a shared engine it may run in several threads at once: make it
 * thread-safe. It must not call back into fastsnap on the same engine.
 */
typedef void (*fastsnap_log_cb)(fastsnap_log_level level, const char *msg, void *payload);

/* ------------------------------------------------------------------ */
/* Engine                                                              */
/* ------------------------------------------------------------------ */

/** An open engine: a Ceph cluster connection plus a Glance endpoint. */
typedef struct fastsnap_engine fastsnap_engine;

/**
 * Options for fastsnap_engine_open(). Every pointer may be NULL ("unset").
 * Unset values fall back to the environment (CEPH_CONF, FASTSNAP_CEPH_USER,
 * FASTSNAP_CEPH_KEYRING, FASTSNAP_GLANCE_URL, OS_AUTH_TOKEN,
 * FASTSNAP_GLANCE_HEADERS, OS_AUTH_URL, ...) only if `use_env` is non-zero,
 * then to the config file, then to built-in defaults.
 * Strings are copied by fastsnap_engine_open(); the struct and everything
 * it points to may be freed once it returns (log_payload excepted: it is
 * passed to log_cb for the engine's lifetime).
 */
typedef struct {
	unsigned int version;

	/** nova.conf-style INI file ([glance], [libvirt] sections), or NULL. */
	const char *config_file;
	/** Read CEPH_CONF, OS_* and FASTSNAP_* variables for unset fields. */
	int use_env;

	/* Ceph */
	const char *ceph_conf;    /**< path of ceph.conf */
	const char *ceph_user;    /**< user name without "client." ("fastsnap") */
	const char *keyring;      /**< keyring path */

	/* Glance */
	const char *glance_url;   /**< e.g. "http://127.0.0.1:9292" */
	const char *os_token;     /**< a static token (X-Auth-Token) */
	/** Extra request headers, "Name: value" each; CR/LF are refused. */
	const char *const *glance_headers;
	size_t glance_headers_count;

	/* Keystone v3 (used when os_token is unset and auth_url is set) */
	const char *os_auth_url;
	const char *os_username;
	const char *os_password;
	const char *os_user_domain_name;
	const char *os_project_name;
	const char *os_project_id;
	const char *os_project_domain_name;
	const char *os_application_credential_id;
	const char *os_application_credential_secret;
	const char *os_interface;     /**< "public", "internal", "admin" */
	const char *os_region_name;

	/* HTTP */
	long connect_timeout_ms;  /**< 0: default (10 s) */
	long low_speed_time_s;    /**< abort when below 1 byte/s this long; 0: default (60 s) */
	int num_retries;          /**< -1: default (config file, else 3) */
	const char *ca_file;
	const char *client_cert;
	const char *client_key;
	int insecure;             /**< skip TLS verification (explicit only) */

	/* Output */
	fastsnap_log_cb log_cb;
	void *log_payload;

	/* Version 2 */
	long retry_base_ms;       /**< first retry back-off; 0: default (1000 ms) */
	long heartbeat_period_s;  /**< a run's heartbeat period; 0: default (5 s) */

	/* Version 3 */
	/** Overall limit of one Glance or Keystone call, its retries included,
	 *  in seconds; the error names it. An upload is bounded by
	 *  low_speed_time_s instead. 0: default ([fastsnap] call_deadline_s,
	 *  else 120 s). */
	long call_deadline_s;

	/* Version 4 */
	/** How long the engine keeps Glance's store list (with stores/detail)
	 *  and image schema for its next runs, in seconds (at most 86400).
	 *  0: default ([fastsnap] glance_cache_s, else 30 s); negative: keep
	 *  nothing (ask Glance every run). */
	long glance_cache_s;

	/* Version 5 */
	/** The flatten helper program: a flatten runs in that child process,
	 *  so that a flatten the cluster stops answering (a paused OSD) ends
	 *  with FASTSNAP_ETIMEOUT within the Ceph operation timeout instead of
	 *  blocking the call (docs/reliability.md). NULL: default ([fastsnap]
	 *  flatten_helper, else the installed
	 *  <libexecdir>/fastsnap/fastsnap-flatten); "none", or a program that
	 *  cannot be run or does not connect (logged as a warning): the flatten
	 *  runs in this process, unbounded. */
	const char *flatten_helper;
} fastsnap_engine_opts;

/**
 * The version this header describes. A program built against an older
 * header passes its older version number, and the library reads only the
 * fields that version has (the others take their defaults).
 */
#define FASTSNAP_ENGINE_OPTS_VERSION 5
#define FASTSNAP_ENGINE_OPTS_INIT { FASTSNAP_ENGINE_OPTS_VERSION, NULL, 0, \
	NULL, NULL, NULL, NULL, NULL, NULL, 0, \
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
	0, 0, -1, NULL, NULL, NULL, 0, NULL, NULL, 0, 0, 0, 0, NULL }

/**
 * Open an engine: connects to Ceph and prepares the Glance client.
 * Glance is not contacted until a call needs it.
 *
 * @param out   receives the engine; free it with fastsnap_engine_close()
 *              (on failure *out is set to NULL)
 * @param opts  options, initialised with FASTSNAP_ENGINE_OPTS_INIT
 * @return 0 or a negative FASTSNAP_E* code (message in fastsnap_error_last())
 *
 * Ownership: the caller owns the engine. Thread-safety: any thread; an
 * engine may be opened per thread or shared. Errors: FASTSNAP_EINVAL
 * (options, bad header or URL), FASTSNAP_ECONFIG (config file, FILE:LINE in
 * the message), FASTSNAP_ECEPH / FASTSNAP_ETIMEOUT (Ceph connection),
 * FASTSNAP_ENOTFOUND (ceph.conf or keyring missing).
 */
FASTSNAP_EXTERN int fastsnap_engine_open(fastsnap_engine **out, const fastsnap_engine_opts *opts);

/**
 * Close the engine and free everything it owns. NULL is ignored.
 * Thread-safety: not while in use (every call on it must have returned).
 * Results and store lists made by the engine stay valid after it closes.
 */
FASTSNAP_EXTERN void fastsnap_engine_close(fastsnap_engine *engine);

/**
 * The fsid of the engine's Ceph cluster. Owned by the engine, valid until
 * it closes. Thread-safety: any thread. NULL only for a NULL engine.
 */
FASTSNAP_EXTERN const char *fastsnap_engine_fsid(const fastsnap_engine *engine);

/**
 * The message of the last failure on this engine (in any thread), or "".
 * Owned by the engine; another thread's failure overwrites it, so a
 * multi-threaded caller should use fastsnap_error_last() or the result's
 * message instead. Thread-safety: any thread, with that caveat.
 */
FASTSNAP_EXTERN const char *fastsnap_engine_last_error(const fastsnap_engine *engine);

/* ------------------------------------------------------------------ */
/* Stores                                                              */
/* ------------------------------------------------------------------ */

/** One Glance store, as discovered. Strings may be NULL when unknown. */
typedef struct {
	const char *id;
	const char *description;
	int is_default;
	int read_only;
	const char *type;   /**< "rbd", "file", ... (from stores/detail), or NULL */
	const char *pool;   /**< rbd pool (from stores/detail), or NULL */
	const char *fsid;   /**< rbd cluster fsid when Glance reports it, or NULL */
} fastsnap_store;

/** A list of stores. Free with fastsnap_store_list_free(). */
typedef struct fastsnap_store_list fastsnap_store_list;

/**
 * Discover Glance's stores (GET /v2/info/stores, and stores/detail when the
 * caller may read it). Glance without multi-store gives FASTSNAP_EUNSUPPORTED.
 *
 * Ownership: the caller owns *out (NULL on failure) and frees it with
 * fastsnap_store_list_free(). Thread-safety: any thread, also on a shared
 * engine. Errors: FASTSNAP_EUNSUPPORTED (multi-store off), HTTP-mapped
 * codes (FASTSNAP_EUNAUTHORIZED, FASTSNAP_EFORBIDDEN, FASTSNAP_EUNAVAILABLE,
 * FASTSNAP_ETRANSPORT, FASTSNAP_ETIMEOUT, FASTSNAP_EPROTOCOL).
 */
FASTSNAP_EXTERN int fastsnap_stores_list(fastsnap_store_list **out, fastsnap_engine *engine);
/** Number of stores (0 for NULL). Thread-safety of the list accessors: one thread. */
FASTSNAP_EXTERN size_t fastsnap_store_list_count(const fastsnap_store_list *list);
/** The i-th store, or NULL when i is out of range. Owned by the list, valid until it is freed. */
FASTSNAP_EXTERN const fastsnap_store *fastsnap_store_list_get(const fastsnap_store_list *list, size_t i);
/** Non-zero when stores/detail was readable (type and pool are known). */
FASTSNAP_EXTERN int fastsnap_store_list_has_detail(const fastsnap_store_list *list);
/** Free the list and every store in it. NULL is ignored. Not while in use. */
FASTSNAP_EXTERN void fastsnap_store_list_free(fastsnap_store_list *list);

/* ------------------------------------------------------------------ */
/* Snapshots                                                           */
/* ------------------------------------------------------------------ */

typedef enum {
	FASTSNAP_FLATTEN_SYNC = 0,     /**< flatten before registering (like Nova) */
	FASTSNAP_FLATTEN_DEFERRED = 1, /**< register first, flatten afterwards */
	FASTSNAP_FLATTEN_NONE = 2      /**< clone format 2, never flatten (depth capped) */
} fastsnap_flatten_mode;

typedef enum {
	FASTSNAP_IMAGE_SNAPSHOT = 0,
	FASTSNAP_IMAGE_BACKUP = 1
} fastsnap_image_type;

typedef enum {
	FASTSNAP_PATH_NONE = 0,
	FASTSNAP_PATH_DIRECT = 1,
	FASTSNAP_PATH_STREAM = 2
} fastsnap_path;

/** Named steps, used by progress, per-phase times and test hooks. */
typedef enum {
	FASTSNAP_STEP_RESOLVE = 0,    /**< "resolve": store policy, source checks */
	FASTSNAP_STEP_IMAGE_CREATE,   /**< "image-create": POST /v2/images */
	FASTSNAP_STEP_TMP_SNAP,       /**< "tmp-snap": temporary snapshot on the disk */
	FASTSNAP_STEP_PROTECT,        /**< "protect": protect it (clone format 1) */
	FASTSNAP_STEP_CLONE,          /**< "clone": clone into the store's pool */
	FASTSNAP_STEP_FLATTEN,        /**< "flatten" */
	FASTSNAP_STEP_TMP_REMOVE,     /**< "tmp-remove": remove the temporary snapshot */
	FASTSNAP_STEP_SNAP,           /**< "snap": create and protect `snap` */
	FASTSNAP_STEP_LOCATION,       /**< "location": register rbd:// with Glance */
	FASTSNAP_STEP_STREAM,         /**< "stream": upload the data */
	FASTSNAP_STEP_FINAL_CHECK,    /**< "final-check": image active, hashes agree */
	FASTSNAP_STEP__COUNT
} fastsnap_step;

/** Stable name of a step ("clone"), or NULL if out of range. Static; any thread. */
FASTSNAP_EXTERN const char *fastsnap_step_name(fastsnap_step step);

/**
 * Progress. At the start and the end of every step: (done, total) = (0, 1)
 * and (1, 1). In between, during the two long steps, both counts are
 * bytes: "flatten" reports objects copied times the object size, "stream"
 * the bytes of the disk read and sent. Return non-zero to cancel the run
 * (it takes the failure path and cleans up, and the call returns
 * FASTSNAP_ECANCELED). It runs on the calling thread or on one of the
 * run's worker threads, never two at once for one run. It must not call
 * fastsnap_snapshot() or fastsnap_engine_close() on the same engine.
 */
typedef int (*fastsnap_progress_cb)(fastsnap_step step, uint64_t done, uint64_t total, void *payload);

/**
 * A cancel token: a caller requests cancellation of the runs given it,
 * from any thread. A run sees the request within about a second wherever
 * it is (a Ceph step's progress, an HTTP transfer, a retry's back-off, a
 * status poll), takes the failure path with its full clean-up (or, once
 * its image is active, keeps the image: see
 * fastsnap_result_needs_attention) and returns FASTSNAP_ECANCELED.
 */
typedef struct fastsnap_cancel fastsnap_cancel;

/** A new token, not requested. Free with fastsnap_cancel_free(). */
FASTSNAP_EXTERN int fastsnap_cancel_new(fastsnap_cancel **out);
/**
 * Request cancellation. Thread-safe and lock-free (one atomic store), so
 * it may be called from a signal handler. A request cannot be taken back.
 */
FASTSNAP_EXTERN void fastsnap_cancel_request(fastsnap_cancel *token);
/** Non-zero once cancellation was requested. */
FASTSNAP_EXTERN int fastsnap_cancel_requested(const fastsnap_cancel *token);
/** Free the token (no run may still use it). NULL is ignored. */
FASTSNAP_EXTERN void fastsnap_cancel_free(fastsnap_cancel *token);

/** Capture signals: see fastsnap_snapshot_opts.capture_cb. */
typedef enum {
	FASTSNAP_CAPTURE_BEGIN = 0,  /**< the source is about to be captured */
	FASTSNAP_CAPTURE_END = 1     /**< the capture is over (also after a failure) */
} fastsnap_capture_event;

/**
 * Called just before the source is captured and right after: for an RBD
 * disk around the temporary snapshot (the disk is opened before BEGIN, so
 * a disk that cannot be opened fails with no signal), for a file around
 * the whole read.
 * END follows every BEGIN exactly once, also when the run fails in
 * between. A non-zero return at BEGIN cancels the run before anything is
 * captured (the return value at END is ignored). This is where a caller
 * freezes and thaws the guest's file systems.
 */
typedef int (*fastsnap_capture_cb)(fastsnap_capture_event event, void *payload);

/**
 * Snapshot request options. Strings are read during the call only; the
 * caller keeps ownership and may free them when the call returns.
 * Payload pointers are passed back untouched.
 */
typedef struct {
	unsigned int version;

	const char *disk;          /**< RBD source "pool/image", or NULL */
	const char *disk_file;     /**< raw file or block device source, or NULL */
	const char *name;          /**< Glance image name (required) */
	const char *base_image_ref;/**< the image the instance booted from, or NULL */
	const char *instance_uuid; /**< or NULL */
	const char *user_id;       /**< user_id property (the requesting user), or NULL */
	const char *owner_id;      /**< owner_id property (the instance's project), or NULL */
	const char *store;         /**< requested store id, or NULL (policy decides) */
	fastsnap_flatten_mode flatten;
	fastsnap_image_type image_type;
	const char *backup_type;   /**< for backups */
	/** Extra properties, "key=value" each. */
	const char *const *properties;
	size_t properties_count;
	/** "raw" or "qcow2" (streamed as a qcow2 v3 image, holes left out);
	 * NULL: [libvirt] snapshot_image_format, else raw. qcow2 means the
	 * streamed path: Ceph clones are raw. */
	const char *disk_format;
	int verify_md5;            /**< also compute md5 and compare with `checksum` */
	unsigned int read_depth;   /**< stream: reads in flight (0: default 8) */
	uint64_t read_size;        /**< stream: bytes per read (0: default 4 MiB) */
	unsigned int clone_depth_cap; /**< flatten=none: max chain depth (0: default 5) */

	fastsnap_progress_cb progress_cb;
	void *progress_payload;
	/** Called once when the image becomes active (before a deferred flatten ends). */
	void (*active_cb)(const char *image_id, void *payload);
	void *active_payload;

	/* Version 2 */
	fastsnap_capture_cb capture_cb;  /**< freeze/thaw signals, or NULL */
	void *capture_payload;

	/* Version 3 */
	fastsnap_cancel *cancel;   /**< cancel token, or NULL (owned by the caller) */

	/* Version 4 */
	/** An existing, queued Glance image to fill (with
	 * FASTSNAP_SNAPSHOT_CEPH_ONLY), or NULL: create one. */
	const char *image_id;
	unsigned int flags;        /**< FASTSNAP_SNAPSHOT_* bits */

	/* Version 5 */
	/** With FASTSNAP_SNAPSHOT_CEPH_ONLY: the pool to clone into, chosen by
	 * the caller (Nova: the disk's RBD parent pool). Glance is then not
	 * contacted at all: no store discovery, no base image, no check of
	 * `image_id` (docs/nova.md). NULL: the store policy decides. */
	const char *target_pool;
	/** The temporary snapshot's name on the disk (Nova: its random hex),
	 * or NULL: fastsnap's own, which `fastsnap gc` recognises. */
	const char *tmp_snap_name;

	/* Version 6 */
	/** Stores to copy the new image into once it is active, with Glance's
	 * copy-image import (POST /v2/images/{id}/import), or NULL: the config
	 * file's [glance] copy_to, else none (docs/operations.md, "Edge
	 * sites"). The run waits for the copies up to copy_wait_s. A copy that
	 * fails never undoes the snapshot: the call still returns 0 and the
	 * result says, per store, which have the image
	 * (fastsnap_result_copy_count and _get, "copies" in the JSON). Glance
	 * lets only admins copy by default (its copy_image policy). */
	const char *const *copy_to;
	size_t copy_to_count;
	/** Glance's all_stores_must_succeed: 0 = unset ([glance]
	 * copy_all_must_succeed, else Glance's default, true), 1 = true,
	 * -1 = false (every store is tried, whatever the others do). */
	int copy_all_must_succeed;
	/** How long to wait for the copies, in seconds: 0 = default (600), < 0
	 * = do not wait (the stores are reported "copying"). Glance goes on
	 * copying after the wait ends ("timeout"). */
	long copy_wait_s;
	/** Called, from the calling thread, when a store's copy changes state:
	 * "copying", "done", "failed", "timeout". */
	void (*copy_cb)(const char *store, const char *state, void *payload);
	void *copy_payload;
} fastsnap_snapshot_opts;

/**
 * Nova's direct snapshot (its Rbd image backend): with this flag and
 * `image_id`, Glance is only read (the image must exist and be queued:
 * else FASTSNAP_ENOTFOUND or FASTSNAP_ECONFLICT; with `target_pool` it is
 * not contacted at all) and nothing is created, registered or deleted
 * there. The plan must be direct (else
 * FASTSNAP_EUNSUPPORTED, the result carrying the plan's path and reason).
 * fastsnap does the Ceph side: temporary snapshot, clone into the target
 * store's pool as <image_id>, flatten by mode (deferred: after `snap` and
 * active_cb, inside the call), `snap` created and protected; the result's
 * location is rbd://fsid/pool/image_id/snap, which the caller registers.
 * A failure undoes the Ceph side only; a Ceph EPERM is FASTSNAP_EFORBIDDEN
 * (no streamed fallback in this mode).
 */
#define FASTSNAP_SNAPSHOT_CEPH_ONLY 0x1u
/**
 * disk_format "qcow2" into an rbd store is refused: it defeats
 * copy-on-write boot (Nova downloads and converts such an image at every
 * boot). This flag allows it anyway.
 */
#define FASTSNAP_SNAPSHOT_ALLOW_QCOW2_IN_RBD 0x2u

/** As FASTSNAP_ENGINE_OPTS_VERSION: versions 1 to this one are accepted. */
#define FASTSNAP_SNAPSHOT_OPTS_VERSION 6
#define FASTSNAP_SNAPSHOT_OPTS_INIT { FASTSNAP_SNAPSHOT_OPTS_VERSION, \
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, FASTSNAP_FLATTEN_SYNC, FASTSNAP_IMAGE_SNAPSHOT, \
	NULL, NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, \
	NULL, 0, 0, 0, NULL, NULL }

/** A plan or the result of a run. Free with fastsnap_result_free(). */
typedef struct fastsnap_result fastsnap_result;

/**
 * Decide which store and which path a snapshot would take, and why,
 * without creating anything. The result carries store, path and reason.
 *
 * Ownership: the caller owns *out and frees it with fastsnap_result_free()
 * (NULL when the plan could not be made). Thread-safety: any thread, also
 * on a shared engine. Errors: FASTSNAP_ENOTFOUND (requested store unknown
 * or read-only, disk or base image missing), FASTSNAP_EFORMAT (source not
 * raw), FASTSNAP_EFORBIDDEN, and the HTTP- and Ceph-mapped codes.
 */
FASTSNAP_EXTERN int fastsnap_plan(fastsnap_result **out, fastsnap_engine *engine,
	const fastsnap_snapshot_opts *opts);

/**
 * Run a snapshot. On success *out holds the result. On failure before the
 * image is active, everything the run created is removed; after it (see
 * fastsnap_result_needs_attention) the image is kept. Either way the first
 * error is returned, and *out (if not NULL) still holds a result with the
 * error message and the plan.
 *
 * Ownership: the caller owns *out (even on failure) and frees it with
 * fastsnap_result_free(); out may be NULL when only the code matters.
 * Thread-safety: any thread; many snapshots may run on one engine at once.
 * Errors: those of fastsnap_plan(), plus FASTSNAP_ECANCELED (progress_cb
 * returned non-zero, or the cancel token was requested), FASTSNAP_ECONFLICT,
 * FASTSNAP_ELOCATION_DISALLOWED, FASTSNAP_ELOCATION_REJECTED,
 * FASTSNAP_ECHECKSUM, FASTSNAP_ETOOLARGE, FASTSNAP_ECEPH, FASTSNAP_EIO,
 * FASTSNAP_ETIMEOUT.
 */
FASTSNAP_EXTERN int fastsnap_snapshot(fastsnap_result **out, fastsnap_engine *engine,
	const fastsnap_snapshot_opts *opts);

/*
 * Accessors. Strings are owned by the result and valid until
 * fastsnap_result_free(); NULL when not applicable. A NULL result gives
 * NULL, 0 or FASTSNAP_PATH_NONE. Thread-safety: one thread per result.
 */
FASTSNAP_EXTERN const char *fastsnap_result_image_id(const fastsnap_result *r);
FASTSNAP_EXTERN fastsnap_path fastsnap_result_path(const fastsnap_result *r);
FASTSNAP_EXTERN const char *fastsnap_path_name(fastsnap_path path);
FASTSNAP_EXTERN const char *fastsnap_result_reason(const fastsnap_result *r);
FASTSNAP_EXTERN const char *fastsnap_result_store(const fastsnap_result *r);
FASTSNAP_EXTERN const char *fastsnap_result_location(const fastsnap_result *r);
FASTSNAP_EXTERN uint64_t fastsnap_result_size(const fastsnap_result *r);
FASTSNAP_EXTERN const char *fastsnap_result_flatten(const fastsnap_result *r);
/** Seconds spent in a step (0 if it did not run). */
FASTSNAP_EXTERN double fastsnap_result_step_seconds(const fastsnap_result *r, fastsnap_step step);
FASTSNAP_EXTERN double fastsnap_result_seconds(const fastsnap_result *r);
/** Seconds until the image was active. */
FASTSNAP_EXTERN double fastsnap_result_active_seconds(const fastsnap_result *r);
/** sha512 / md5 hex of the streamed data, or NULL. */
FASTSNAP_EXTERN const char *fastsnap_result_sha512(const fastsnap_result *r);
FASTSNAP_EXTERN const char *fastsnap_result_md5(const fastsnap_result *r);
/** Bytes actually read from the source (holes are not read). */
FASTSNAP_EXTERN uint64_t fastsnap_result_bytes_read(const fastsnap_result *r);
/** The run's error message ("" on success). */
FASTSNAP_EXTERN const char *fastsnap_result_error(const fastsnap_result *r);
FASTSNAP_EXTERN int fastsnap_result_error_code(const fastsnap_result *r);
/**
 * Non-zero when the run failed after the image had become active (and
 * active_cb had been called): the image is kept, never destroyed, and
 * marked fastsnap_state=needs-attention with the error in fastsnap_error;
 * what is left (a deferred flatten, the temporary snapshot) is for
 * `fastsnap gc`. The error code and message are still the run's.
 */
FASTSNAP_EXTERN int fastsnap_result_needs_attention(const fastsnap_result *r);
/** How many things the failure path removed, and the i-th as a sentence
 * ("remove snapshot vms/disk@fastsnap-..."), or NULL when out of range. */
FASTSNAP_EXTERN size_t fastsnap_result_cleanup_count(const fastsnap_result *r);
FASTSNAP_EXTERN const char *fastsnap_result_cleanup_get(const fastsnap_result *r, size_t i);
/** How many stores the run was asked to copy the image into (copy_to, or
 * fastsnap_copy's stores). */
FASTSNAP_EXTERN size_t fastsnap_result_copy_count(const fastsnap_result *r);
/**
 * The i-th of those stores (NULL when out of range), its state in *state
 * ("done": the image is in it; "failed"; "timeout": still copying when the
 * wait ended, Glance goes on; "copying": not waited for) and in *detail
 * why (or NULL); either pointer may be NULL.
 */
FASTSNAP_EXTERN const char *fastsnap_result_copy_get(const fastsnap_result *r, size_t i,
	const char **state, const char **detail);
/** How many of those stores do not have the image (not "done"): 0 when every copy is there. */
FASTSNAP_EXTERN size_t fastsnap_result_copy_missing(const fastsnap_result *r);
/** The image's stores as Glance last listed them ("fast,edge"), or NULL
 * when no copy was asked for. */
FASTSNAP_EXTERN const char *fastsnap_result_stores(const fastsnap_result *r);
/** The result as one JSON object (owned by the result; built on the first call, hence not const). */
FASTSNAP_EXTERN const char *fastsnap_result_json(fastsnap_result *r);
/** Free a result. NULL is ignored. Not while in use. */
FASTSNAP_EXTERN void fastsnap_result_free(fastsnap_result *r);

#define FASTSNAP_CLEANUP_IMAGE 0x1u
/**
 * Undo a direct snapshot by its location (Nova's cleanup_direct_snapshot):
 * parse rbd://fsid/pool/image/snap (the fsid must be the engine's, else
 * FASTSNAP_EINVAL), unprotect the snapshot if protected and remove it; with
 * FASTSNAP_CLEANUP_IMAGE also remove the image (retrying while a crashed
 * client's watch lingers). A missing snapshot or image gives
 * FASTSNAP_ENOTFOUND (callers may treat it as done). Glance is not
 * touched. Any thread; a shared engine too.
 */
FASTSNAP_EXTERN int fastsnap_direct_cleanup(fastsnap_engine *engine, const char *location,
	unsigned int flags);

/* ------------------------------------------------------------------ */
/* Copies into further stores                                          */
/* ------------------------------------------------------------------ */

/** Options for fastsnap_copy(): the fields of the snapshot options' copy_* ones. */
typedef struct {
	unsigned int version;
	const char *image_id;      /**< an active Glance image (required) */
	const char *const *stores; /**< stores to copy it into (at least one) */
	size_t stores_count;
	int all_must_succeed;      /**< as fastsnap_snapshot_opts.copy_all_must_succeed */
	long wait_s;               /**< as copy_wait_s */
	void (*copy_cb)(const char *store, const char *state, void *payload);
	void *copy_payload;
	fastsnap_cancel *cancel;   /**< ends the wait (not Glance's copy), or NULL */
} fastsnap_copy_opts;

#define FASTSNAP_COPY_OPTS_VERSION 1
#define FASTSNAP_COPY_OPTS_INIT { FASTSNAP_COPY_OPTS_VERSION, NULL, NULL, 0, 0, 0, NULL, NULL, NULL }

/**
 * Copy an existing, active image into further stores with Glance's
 * copy-image import, and wait up to wait_s for the copies
 * (docs/operations.md, "Edge sites"). Returns 0 when Glance took the
 * request, whatever the copies then do (see fastsnap_result_copy_*: the
 * result carries image_id, the per-store states and the image's stores),
 * or the request's error: FASTSNAP_ENOTFOUND (no such image),
 * FASTSNAP_EFORBIDDEN (Glance's copy_image policy: admins by default),
 * FASTSNAP_ECONFLICT (not active, or another import is running),
 * FASTSNAP_EBADREQUEST (an unknown store, or one the image is in already),
 * FASTSNAP_ECANCELED; *out then still holds a result whose stores are
 * "failed" with that error. Ownership: the caller frees *out with
 * fastsnap_result_free(). Thread-safety: any thread, a shared engine too.
 */
FASTSNAP_EXTERN int fastsnap_copy(fastsnap_result **out, fastsnap_engine *engine,
	const fastsnap_copy_opts *opts);

/* ------------------------------------------------------------------ */
/* Backups                                                             */
/* ------------------------------------------------------------------ */

/** What a backup rotation did. Free with fastsnap_rotation_free(). */
typedef struct fastsnap_rotation fastsnap_rotation;

/**
 * Rotate backups as Nova's createBackup does, within one project: among
 * the images with image_type=backup and the new backup's backup_type and
 * instance_uuid whose Glance `owner` is the new backup's, newest first,
 * keep the first `rotation` and delete the rest (0 deletes them all, the
 * new one included). Look-alikes owned by another project (an identity
 * that lists every project, such as an admin, sees them) are never
 * deleted and never counted: fastsnap_rotation_other_owners() says how
 * many were left alone. An image that cannot be deleted (in use, gone,
 * forbidden) is skipped with its reason and the others still go; images
 * of other instances or types, and images that are not backups, are never
 * touched. Run it after a backup that completed (fastsnap_snapshot with
 * image_type BACKUP), with that image's id: instance, type and owner are
 * read from Glance's record of it. Thread-safe on one engine. Returns 0
 * (even with skipped images) or an error when the new backup or the list
 * could not be read, or the new image is not a backup with an owner.
 */
FASTSNAP_EXTERN int fastsnap_rotate_backups_after(fastsnap_rotation **out,
	fastsnap_engine *engine, const char *new_backup_id, unsigned int rotation);
/**
 * The same, told the instance and type instead of the new backup. The
 * owner rotated within is the one owner of every matching backup; when
 * they belong to more than one project it fails with FASTSNAP_EINVAL and
 * deletes nothing (use fastsnap_rotate_backups_after).
 */
FASTSNAP_EXTERN int fastsnap_rotate_backups(fastsnap_rotation **out, fastsnap_engine *engine,
	const char *instance_uuid, const char *backup_type, unsigned int rotation);
/** The owner (Glance project id) rotated within, or NULL (nothing listed). */
FASTSNAP_EXTERN const char *fastsnap_rotation_owner(const fastsnap_rotation *r);
/** Backups of this instance and type owned by other projects: left alone, not counted. */
FASTSNAP_EXTERN size_t fastsnap_rotation_other_owners(const fastsnap_rotation *r);
FASTSNAP_EXTERN size_t fastsnap_rotation_deleted_count(const fastsnap_rotation *r);
/** The i-th deleted image id, or NULL. Owned by the rotation. */
FASTSNAP_EXTERN const char *fastsnap_rotation_deleted_get(const fastsnap_rotation *r, size_t i);
FASTSNAP_EXTERN size_t fastsnap_rotation_skipped_count(const fastsnap_rotation *r);
/** The i-th skipped image id (and in *reason why), or NULL. */
FASTSNAP_EXTERN const char *fastsnap_rotation_skipped_get(const fastsnap_rotation *r, size_t i,
	const char **reason);
/** {"owner": id, "deleted": [ids], "skipped": [{"image_id", "reason"}], "kept": n,
 * "other_owners_ignored": n}. */
FASTSNAP_EXTERN const char *fastsnap_rotation_json(fastsnap_rotation *r);
FASTSNAP_EXTERN void fastsnap_rotation_free(fastsnap_rotation *r);

/* ------------------------------------------------------------------ */
/* Garbage collection of interrupted runs                              */
/* ------------------------------------------------------------------ */

/** Options for fastsnap_gc(). */
typedef struct {
	unsigned int version;
	int dry_run;              /**< list what would be done; change nothing */
	/** Another host's run is dead when its heartbeat did not move between
	 * two gc runs this many seconds apart (0: 600). At least 4 heartbeat
	 * periods (the engine's heartbeat_period_s): below, FASTSNAP_EINVAL. */
	long older_than_s;
	/** Where the heartbeat readings are kept between gc runs (written with
	 * mode 0600 under a unique temporary name, then renamed), or NULL: then
	 * other hosts' runs are never judged dead. When the temporary cannot be
	 * created beside it, fastsnap_gc does nothing and fails. */
	const char *state_file;
	/** Pools to scan besides [libvirt] images_rbd_pool and the pools of
	 * Glance's rbd stores. */
	const char *const *pools;
	size_t pools_count;
} fastsnap_gc_opts;

#define FASTSNAP_GC_OPTS_VERSION 1
#define FASTSNAP_GC_OPTS_INIT { FASTSNAP_GC_OPTS_VERSION, 0, 0, NULL, NULL, 0 }

/** What fastsnap_gc() found and did. Free with fastsnap_gc_report_free(). */
typedef struct fastsnap_gc_report fastsnap_gc_report;

/**
 * Find what interrupted runs left (temporary snapshots, tagged clones,
 * per-run tags on disks, Glance images marked in-progress or
 * needs-attention) and, for runs whose owner is dead, finish them (the
 * image went active: an interrupted flatten is finished, the temporary
 * snapshot removed, the marks cleared) or roll them back (clone, snapshot,
 * Glance image) when the image is provably unfinished. A live run, a run
 * not known to be dead, a finished image and anything fastsnap did not
 * create are never touched (docs/operations.md). One gc at a time: a
 * leased RADOS lock per scanned pool (another holder: a "skipped" row,
 * nothing done). Listing other projects' images needs an admin or service
 * identity. Returns 0 when the scan ran (see fastsnap_gc_report_failed for
 * actions that failed), or an error.
 */
FASTSNAP_EXTERN int fastsnap_gc(fastsnap_gc_report **out, fastsnap_engine *engine,
	const fastsnap_gc_opts *opts);
/** Rows: one per thing found or acted on. */
FASTSNAP_EXTERN size_t fastsnap_gc_report_count(const fastsnap_gc_report *r);
/** The i-th row's subject; *action is "found", "removed", "flattened",
 * "finished", "skipped", "failed" or "would" (dry run); *detail why. */
FASTSNAP_EXTERN const char *fastsnap_gc_report_get(const fastsnap_gc_report *r, size_t i,
	const char **action, const char **detail);
/** How many actions failed (0: everything found was handled). */
FASTSNAP_EXTERN int fastsnap_gc_report_failed(const fastsnap_gc_report *r);
/** The report as one JSON object (owned by the report). */
FASTSNAP_EXTERN const char *fastsnap_gc_report_json(fastsnap_gc_report *r);
FASTSNAP_EXTERN void fastsnap_gc_report_free(fastsnap_gc_report *r);

#ifdef __cplusplus
}
#endif

#endif /* FASTSNAP_H */
