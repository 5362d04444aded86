/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/signals.h: Ctrl-C and friends. SIGINT, SIGTERM and SIGHUP are
 * blocked before the engine opens (librados' and curl's threads inherit
 * the mask) and taken by one thread with sigwait: the first cancels the
 * run through its token (it cleans up and the command exits 128 + the
 * signal); a second exits at once and leaves the work for `fastsnap gc`.
 */
#ifndef FS_CLI_SIGNALS_H
#define FS_CLI_SIGNALS_H

#include "fastsnap.h"

/* Block the signals and start the thread; `token` must outlive the
 * process. A --detach child passes take_hup 0: it ignores SIGHUP. */
int cli_signals_start(fastsnap_cancel *token, int take_hup);
/* The first signal taken, or 0. */
int cli_signals_caught(void);

#endif
