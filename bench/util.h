/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/util.h: what every module of fastsnap-bench (issue 19) shares: the
 * run's settings (G, filled by main from the environment and options), the
 * stop flag, and small helpers: clock, ids, shell commands, HTTP with the
 * run's identity headers, Glance image deletion, the OSD counters, `rbd
 * du` and the removal of an RBD image with its snapshots. It includes no
 * other bench header: the includes of bench/ go one way, util < cells <
 * runner < plan < fastsnap-bench.c, and util < report < fastsnap-bench.c.
 */
#ifndef FSB_UTIL_H
#define FSB_UTIL_H

#include <stddef.h>
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
extern char fsb_rbd_admin[1024]; /* "rbd --conf C --id ADMIN": set-up, inspection, clean-up */

double fsb_now(void);
void fsb_uuid(char out[37]);
char *fsb_cmd_out(const char *cmd);      /* stdout of a shell command (malloc), NULL on failure */
char *fsb_trim(char *s);                 /* trailing newlines and blanks off, in place */
int fsb_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fsb_say(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* "fastsnap-bench: ..." */
const char *fsb_envd(const char *k, const char *d); /* $k if set and not empty, else d */

/* a growing buffer, and a curl write callback (fsb_collect) that fills it */
typedef struct {
	char *p;
	size_t n;
} fsb_buf;
size_t fsb_collect(char *d, size_t sz, size_t n, void *ud);

/* FASTSNAP_GLANCE_HEADERS ("H: v|H: v") split into G.hdr (the string is kept) */
void fsb_split_headers(char *headers);
long fsb_http(const char *method, const char *url, const char *ctype, const char *body,
	char **resp, int extra_svc);          /* one request with the identity headers */
void *fsb_curl_new(void);                  /* a kept-alive handle for the floor */
const char *fsb_svc_hdr_extra(void);     /* FSB_SERVICE_HEADER unless the headers carry it */
long fsb_http_on(void *curl, const char *method, const char *url, const char *ctype,
	const char *body, char **resp, int extra_svc);
void fsb_curl_free(void *curl);
void fsb_glance_delete_on(void *curl, const char *id);   /* after its import task (Glance >= 29) */
void fsb_glance_delete(const char *id);

long long fsb_osd_counter(const char *sect, const char *name); /* summed over the OSDs; -1 unknown */
long long fsb_rbd_du(const char *pool, const char *image);     /* used bytes with snapshots; -1 */
void fsb_rbd_purge(const char *pool, const char *image);      /* unprotect, remove snaps, rm */

#endif
