/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/detach.h: --detach. The run happens in a child; the parent returns
 * when the child reports the image active, or fails before that.
 */
#ifndef FS_CLI_DETACH_H
#define FS_CLI_DETACH_H

#include "cli/cli.h"

typedef struct {
	int fd;           /* child: write end of the pipe to the parent, -1 once used */
	double t0;
} cli_detach;

#define CLI_DETACH_TIMEOUT_DEFAULT_S 3600L
#define CLI_DETACH_STOP_GRACE_S 60.0

/* Fork before the engine exists (no library threads yet). Returns -1 in
 * the child (which goes on with the run, its output on /dev/null), or the
 * parent's exit status once the child said ACTIVE or ERROR, or after
 * timeout_s seconds without either: the child is then sent SIGTERM (it
 * cancels and cleans up) and waited for at most CLI_DETACH_STOP_GRACE_S
 * more, and the parent fails. */
int cli_detach_fork(cli_detach *d, global_opts *g, long timeout_s);
/* Child: fastsnap_snapshot_opts.active_cb (payload: cli_detach). */
void cli_detach_active(const char *image_id, void *payload);
/* Child: tell the parent the run failed before the image was active. */
void cli_detach_error(cli_detach *d, const char *msg);
/* Child, at its end: write its final JSON result to
 * <state dir>/runs/<image id>.json (mode 0600; `fastsnap status` reads
 * it) and log one line to syslog. */
void cli_detach_record(const char *image_id, const char *json, int ok);
/* The state directory: $FASTSNAP_STATE_DIR, else /var/lib/fastsnap. */
const char *cli_state_dir(void);

#endif
