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

/** The library's version string ("0.1.0"), for comparing with the macros. */
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

/** A static, human name for an error code ("not found"). Never NULL. */
FASTSNAP_EXTERN const char *fastsnap_strerror(int code);

/**
 * The message of the last failure in the calling thread, or "" if none.
 * The string belongs to the library and is valid until the next fastsnap
 * call in this thread. Secrets are never part of a message.
 */
FASTSNAP_EXTERN const char *fastsnap_error_last(void);

/** The code of the last failure in the calling thread (0 if none). */
FASTSNAP_EXTERN int fastsnap_error_last_code(void);

/** Clear the calling thread's last error. */
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

/** Receives log lines. `msg` is valid only during the call. */
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
	/** Overall limit of one Glance or Keystone call, its retries included,
	 *  in seconds; the error names it. An upload is bounded by
	 *  low_speed_time_s instead. 0: default ([fastsnap] call_deadline_s,
	 *  else 120 s). */
	long call_deadline_s;
} fastsnap_engine_opts;

#define FASTSNAP_ENGINE_OPTS_VERSION 2
#define FASTSNAP_ENGINE_OPTS_INIT { FASTSNAP_ENGINE_OPTS_VERSION, NULL, 0, \
	NULL, NULL, NULL, NULL, NULL, NULL, 0, \
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
	0, 0, -1, NULL, NULL, NULL, 0, NULL, NULL, 0 }

/**
 * Open an engine: connects to Ceph and prepares the Glance client.
 * Glance is not contacted until a call needs it.
 *
 * @param out   receives the engine; free it with fastsnap_engine_close()
 * @param opts  options, initialised with FASTSNAP_ENGINE_OPTS_INIT
 * @return 0 or a negative FASTSNAP_E* code (message in fastsnap_error_last())
 */
FASTSNAP_EXTERN int fastsnap_engine_open(fastsnap_engine **out, const fastsnap_engine_opts *opts);

/** Close the engine and free everything it owns. NULL is ignored. */
FASTSNAP_EXTERN void fastsnap_engine_close(fastsnap_engine *engine);

/** The fsid of the engine's Ceph cluster. Owned by the engine. */
FASTSNAP_EXTERN const char *fastsnap_engine_fsid(const fastsnap_engine *engine);

/** The message of the last failure on this engine (any thread), or "". */
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
 */
FASTSNAP_EXTERN int fastsnap_stores_list(fastsnap_store_list **out, fastsnap_engine *engine);
FASTSNAP_EXTERN size_t fastsnap_store_list_count(const fastsnap_store_list *list);
/** The i-th store, or NULL when i is out of range. Owned by the list. */
FASTSNAP_EXTERN const fastsnap_store *fastsnap_store_list_get(const fastsnap_store_list *list, size_t i);
/** Non-zero when stores/detail was readable (type and pool are known). */
FASTSNAP_EXTERN int fastsnap_store_list_has_detail(const fastsnap_store_list *list);
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

/** Stable name of a step ("clone"), or NULL if out of range. */
FASTSNAP_EXTERN const char *fastsnap_step_name(fastsnap_step step);

/**
 * Progress: called at the start (done = 0) and end (done = total) of each
 * step, and repeatedly during flatten and stream. Return non-zero to cancel
 * the run (it takes the failure path and cleans up).
 */
typedef int (*fastsnap_progress_cb)(fastsnap_step step, uint64_t done, uint64_t total, void *payload);

/** Snapshot request options. */
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
	const char *disk_format;   /**< "raw" (default) */
	int verify_md5;            /**< also compute md5 and compare with `checksum` */
	unsigned int read_depth;   /**< stream: reads in flight (0: default 8) */
	uint64_t read_size;        /**< stream: bytes per read (0: default 4 MiB) */
	unsigned int clone_depth_cap; /**< flatten=none: max chain depth (0: default 5) */

	fastsnap_progress_cb progress_cb;
	void *progress_payload;
	/** Called once when the image becomes active (before a deferred flatten ends). */
	void (*active_cb)(const char *image_id, void *payload);
	void *active_payload;
} fastsnap_snapshot_opts;

#define FASTSNAP_SNAPSHOT_OPTS_VERSION 1
#define FASTSNAP_SNAPSHOT_OPTS_INIT { FASTSNAP_SNAPSHOT_OPTS_VERSION, \
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, FASTSNAP_FLATTEN_SYNC, FASTSNAP_IMAGE_SNAPSHOT, \
	NULL, NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL }

/** A plan or the result of a run. Free with fastsnap_result_free(). */
typedef struct fastsnap_result fastsnap_result;

/**
 * Decide which store and which path a snapshot would take, and why,
 * without creating anything. The result carries store, path and reason.
 */
FASTSNAP_EXTERN int fastsnap_plan(fastsnap_result **out, fastsnap_engine *engine,
	const fastsnap_snapshot_opts *opts);

/**
 * Run a snapshot. On success *out holds the result. On failure, everything
 * the run created is removed, the first error is returned, and *out (if
 * not NULL) still holds a result with the error message and the plan.
 */
FASTSNAP_EXTERN int fastsnap_snapshot(fastsnap_result **out, fastsnap_engine *engine,
	const fastsnap_snapshot_opts *opts);

/* Accessors. Strings are owned by the result; NULL when not applicable. */
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
/** The result as one JSON object (owned by the result). */
FASTSNAP_EXTERN const char *fastsnap_result_json(fastsnap_result *r);
FASTSNAP_EXTERN void fastsnap_result_free(fastsnap_result *r);

#ifdef __cplusplus
}
#endif

#endif /* FASTSNAP_H */
