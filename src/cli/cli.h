/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/cli.h: what the fastsnap command's files share: the global options,
 * exit codes, opening the engine, and error output (stderr, and one JSON
 * object on stdout with --json).
 */
#ifndef FS_CLI_H
#define FS_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "fastsnap.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_THAW_FAILED 3   /* the image was made, but the thaw command failed */
#define EXIT_KEPT 4          /* failed after the image went active: kept, needs attention */
#define EXIT_COPY_INCOMPLETE 5 /* the image is made, but not in every store asked for (copies) */

typedef struct {
	const char *config;
	const char *glance_url;
	const char *os_token;
	char *os_token_owned;     /* --os-token or --os-token-file's copy (wiped at exit) */
	const char *ceph_conf;
	const char *ceph_user;
	const char *keyring;
	const char *headers[64];
	size_t n_headers;
	int json;
	int verbose;
	int quiet;
	int insecure;
	const char *ca_file;
	const char *client_cert;
	const char *client_key;
} global_opts;

extern const char *const prog;

/* Open an engine from the global options (and the environment); on
 * failure print the error and return it. */
int cli_open_engine(fastsnap_engine **e, global_opts *g);
/* Print "fastsnap: <msg>" on stderr, and with --json an error object. */
void cli_error(const global_opts *g, const char *msg, int code);
/* With --json only: {"error": msg, "error_code": name} (no code: 0). */
void cli_json_error(const global_opts *g, const char *msg, int code);
/* Monotonic seconds. */
double cli_now(void);

/* cli/secrets.c: the token options, and no core dumps. */
/* --os-token: copy the token, blank it in argv (ps shows it no longer),
 * and warn that the command line is readable by other local users. */
int cli_token_from_argv(global_opts *g, char *arg);
/* --os-token-file FILE ('-': standard input): its first line. */
int cli_token_from_file(global_opts *g, const char *path);
/* Wipe and free the token copy. */
void cli_secrets_free(global_opts *g);
/* PR_SET_DUMPABLE 0 and RLIMIT_CORE 0: the process holds tokens and
 * passwords from its start to its end. */
void cli_refuse_core_dumps(void);

int cmd_stores(global_opts *g, int argc, char **argv);
int cmd_snapshot(global_opts *g, int argc, char **argv);
int cmd_backup(global_opts *g, int argc, char **argv);
int cmd_gc(global_opts *g, int argc, char **argv);
int cmd_status(global_opts *g, int argc, char **argv);
int cmd_copy(global_opts *g, int argc, char **argv);

/* cli/copy_cmd.c: what `snapshot --copy-to` and `copy` share. */
typedef struct {
	const char *v[16];
	size_t n;
} cli_copy_list;
/* Add the stores of one "a,b" argument (split in place); -1 (printed) on
 * an empty, repeated or 17th store. */
int cli_copy_list_add(cli_copy_list *l, char *arg, const char *opt);
/* copy_cb: "fastsnap: copy to 'STORE': STATE" on stderr (payload: the global_opts). */
void cli_copy_cb(const char *store, const char *state, void *payload);
/* Summary lines (without --json or -q) and a stderr line per store that
 * lacks the image; returns how many lack it. */
size_t cli_copy_report(const global_opts *g, fastsnap_result *res);

#endif
