/*
 * bench/bench.h: shared declarations of fastsnap-bench (issue 19): the run's
 * settings, the cell description, the in-process cells (cells.c), the
 * report (report.c) and small helpers (util in fastsnap-bench.c).
 */
#ifndef FSB_BENCH_H
#define FSB_BENCH_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define FSB_MAX_SIZES 8
#define FSB_MAX_CONC 8
#define FSB_OBJ (4u << 20)

/* What the whole run knows (filled by main from the env and options). */
typedef struct {
	const char *ceph_conf, *user, *keyring; /* the operator's identity (fastsnap) */
	const char *admin_id;                   /* setup, inspection and clean-up */
	const char *glance;                     /* FASTSNAP_GLANCE_URL */
	char *hdr[32];                          /* FASTSNAP_GLANCE_HEADERS, split */
	int nhdr;
	const char *svc_hdr;                    /* optional X-Service-Token header (Glance >= 29) */
	const char *vms_pool, *rbd_store, *rbd_pool, *file_store;
	char fsid[64];
	char tag[64];                           /* fsbench-<pid>: every name we make */
	char outdir[1024];
	char cli[1024];                         /* the fastsnap command */
	char asok[8][512];                      /* OSD admin sockets */
	int nasok;
	char statedir[512];
	int reps, quick, no_plots;
	double settle;                          /* seconds of quiet before each timed cell */
	int fills;                              /* bit 0 full, bit 1 sparse (~10%) */
	uint64_t sizes[FSB_MAX_SIZES];
	int nsizes;
	int conc_n[4];
	int nconc;
	int glance_post;                        /* POST /locations (Glance >= 29) */
	char sink[128];                         /* null sink URL */
	char objectstore[32];
	char base[37];                          /* base image in the rbd store */
	const char *disk;                       /* --disk: an existing disk, or NULL */
} fsb_run;

extern fsb_run G;
extern volatile int fsb_stop;

/* One cell run (a "spec"); the record is the JSON it leaves. */
enum fsb_kind {
	K_SETUP = 1,   /* create and fill disks (in-process, librbd) */
	K_SNAPSHOT,    /* fastsnap_snapshot through the public API */
	K_STREAM_RBD,  /* internal fs_stream_run into the rbd store */
	K_SINK,        /* internal stream body PUT into the null sink (sha512 on) */
	K_READFS,      /* internal reader + sha512 to nowhere */
	K_SHA,         /* sha512 alone */
	K_FLOOR,       /* the direct path's unavoidable calls, N threads */
	K_FLATTEN,     /* librbd flatten of a clone, alone */
	K_CONC,        /* N snapshots through one engine */
	K_SHELL        /* a command line (baselines, limits, N CLI processes) */
};

typedef struct {
	const char *cell;    /* name in the results ("direct-sync", ...) */
	const char *group;   /* fastsnap | baseline | limit | floor | concurrency | setup */
	enum fsb_kind kind;
	uint64_t size;
	const char *fill;    /* "full" | "sparse" | "" */
	int n, rep;
	char disk[128];      /* vms image (or the prefix for N disks) */
	char shm[256];       /* bytes of the disk in tmpfs, for the "from memory" cells */
	int mode;            /* fastsnap_flatten_mode */
	const char *store;
	int md5;
	const char *disk_format; /* K_SNAPSHOT: "qcow2" (issue 21) or NULL: raw */
	int rados;           /* read the OSD's op_r_out_bytes around it */
	int space;           /* measure rbd du and OSD stored bytes of what it made */
	const char *script;  /* K_SHELL: bash script; args below */
	const char *args[12];
	uint64_t need_bytes; /* free space it needs (cluster side) */
	uint64_t need_local; /* free space it needs on TMPDIR */
} fsb_spec;

/* cells.c: run in the forked child; fill `out` (ok, t, ...). */
void fsb_cell_run(const fsb_spec *s, cJSON *out);
/* the fill pattern: disk NAME, SIZE, every object or every tenth */
int fsb_make_disks(const char *const *names, int n, uint64_t size, int sparse, cJSON *out);

/* report.c */
void fsb_report(cJSON *run, cJSON *records, const char *outdir, int plots);
/* a few lines: fastsnap's cells against the baselines, from the medians */
void fsb_summary(FILE *f, cJSON *run, cJSON *records);

/* util */
double fsb_now(void);
void fsb_uuid(char out[37]);
char *fsb_cmd_out(const char *cmd);      /* stdout of a shell command (malloc), NULL on failure */
int fsb_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
long fsb_http(const char *method, const char *url, const char *ctype, const char *body,
	char **resp, int extra_svc);          /* one request with the identity headers */
void *fsb_curl_new(void);                  /* a kept-alive handle for the floor */
long fsb_http_on(void *curl, const char *method, const char *url, const char *ctype,
	const char *body, char **resp, int extra_svc);
void fsb_curl_free(void *curl);
void fsb_glance_delete_on(void *curl, const char *id);   /* after its import task (Glance >= 29) */

#endif
