/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/hook.h: running a --freeze-cmd or --thaw-cmd (sh -c CMD) as a clean
 * child: no signal blocked and every disposition at its default, no
 * descriptor but 0, 1 and 2, an environment without the secrets fastsnap
 * was given, its own process group, and a time limit after which the
 * group is stopped (docs/reliability.md, "Secrets and child processes").
 */
#ifndef FS_CLI_HOOK_H
#define FS_CLI_HOOK_H

#include "fastsnap.h"

#define CLI_HOOK_TIMEOUT_DEFAULT_S 60L

typedef enum {
	CLI_HOOK_OK = 0,        /* exited 0 */
	CLI_HOOK_FAILED,        /* exited non-zero, killed by a signal, or could not start */
	CLI_HOOK_TIMED_OUT,     /* still running after the limit: stopped */
	CLI_HOOK_CANCELED,      /* the run was canceled while it ran: stopped */
} cli_hook_status;

/* Run `cmd` with /bin/sh -c; wait at most timeout_s seconds (and stop
 * waiting when `cancel` is requested). A hook still running then gets
 * SIGTERM, and SIGKILL 2 s later, sent to its whole process group. *why
 * (malloc'd, NULL on success) says what happened, naming `what`. */
cli_hook_status cli_hook_run(const char *what, const char *cmd, long timeout_s,
	const fastsnap_cancel *cancel, char **why);

/* Does a hook's environment keep this "NAME=value" entry? No for every
 * OS_* or FASTSNAP_* name that contains PASSWORD, SECRET or TOKEN (any
 * case): OS_PASSWORD, OS_AUTH_TOKEN, OS_TOKEN,
 * OS_APPLICATION_CREDENTIAL_SECRET and the like), and no for
 * FASTSNAP_GLANCE_HEADERS (it may carry X-Auth-Token). The service user's
 * secrets come from the config file only, never the environment. */
int cli_hook_env_keeps(const char *entry);

#endif
