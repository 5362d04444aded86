/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli/hook.c: --freeze-cmd and --thaw-cmd children (see hook.h): spawned
 * clean, waited for with a limit, stopped with their process group.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/hook.h"
#include "core/child.h"


int cli_hook_env_keeps(const char *entry)
{
	const char *eq = strchr(entry, '=');
	size_t n = eq ? (size_t)(eq - entry) : strlen(entry);
	if (n == strlen("FASTSNAP_GLANCE_HEADERS") && !strncmp(entry, "FASTSNAP_GLANCE_HEADERS", n))
		return 0;
	if (strncmp(entry, "OS_", 3) != 0 && strncmp(entry, "FASTSNAP_", 9) != 0)
		return 1;
	static const char *const secret[] = { "PASSWORD", "SECRET", "TOKEN" };
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		size_t k = strlen(secret[i]);
		for (size_t j = 0; j + k <= n; j++)
			if (!strncasecmp(entry + j, secret[i], k))
				return 0;
	}
	return 1;
}


static int spawn(pid_t *pid, const char *cmd)
{
	char **env = fs_child_env(cli_hook_env_keeps);
	if (!env)
		return ENOMEM;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	/* whatever a library left without close-on-exec stays here too; the
	 * signal thread blocks INT, TERM and HUP in every thread, and a
	 * --detach child ignores HUP: the hook starts with neither, in its
	 * own process group */
	posix_spawnattr_setpgroup(&at, 0);
	fs_spawn_clean(&fa, &at, POSIX_SPAWN_SETPGROUP);
	char *const argv[] = { "sh", "-c", (char *)cmd, NULL };
	fflush(NULL);
	int r = posix_spawn(pid, "/bin/sh", &fa, &at, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	return r;
}

/* Reap `pid` if it ended; 1 with *st when it did. */
static int reaped(pid_t pid, int *st)
{
	for (;;) {
		pid_t w = waitpid(pid, st, WNOHANG);
		if (w == pid)
			return 1;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {       /* not our child any more: count it as ended */
			*st = -1;
			return 1;
		}
		return 0;
	}
}

/* Wait up to `ms` (or until canceled) for the child; 1 when it ended.
 * A pidfd wakes at once when it ends; without one (old kernels), poll
 * every 10 ms. */
static int wait_for(pid_t pid, int pidfd, long ms, const fastsnap_cancel *cancel, int *st,
	int *canceled)
{
	double end = cli_now() + (double)ms / 1000.0;
	for (;;) {
		if (reaped(pid, st))
			return 1;
		if (cancel && fastsnap_cancel_requested(cancel)) {
			*canceled = 1;
			return 0;
		}
		double left = end - cli_now();
		if (left <= 0)
			return 0;
		int slice = left > 0.1 ? 100 : (int)(left * 1000) + 1;   /* the cancel check */
		if (pidfd >= 0) {
			struct pollfd p = { .fd = pidfd, .events = POLLIN };
			poll(&p, 1, slice);
		} else {
			struct timespec ts = { 0, (slice < 10 ? slice : 10) * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
}

cli_hook_status cli_hook_run(const char *what, const char *cmd, long timeout_s,
	const fastsnap_cancel *cancel, char **why)
{
	*why = NULL;
	pid_t pid = 0;
	int r = spawn(&pid, cmd);
	if (r != 0) {
		if (asprintf(why, "%s '%s' could not start: %s", what, cmd, strerror(r)) < 0)
			*why = NULL;
		return CLI_HOOK_FAILED;
	}
#ifdef SYS_pidfd_open
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	int pidfd = -1;
#endif
	int st = 0, canceled = 0;
	cli_hook_status res;
	if (wait_for(pid, pidfd, timeout_s * 1000, cancel, &st, &canceled)) {
		if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			res = CLI_HOOK_OK;
		else
			res = CLI_HOOK_FAILED;
	} else {
		/* its whole process group: sh and what it started */
		kill(-pid, SIGTERM);
		if (!wait_for(pid, pidfd, 2000, NULL, &st, &canceled)) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
		}
		kill(-pid, SIGKILL);   /* children that outlived sh */
		res = canceled ? CLI_HOOK_CANCELED : CLI_HOOK_TIMED_OUT;
	}
	if (pidfd >= 0)
		close(pidfd);
	int n = -1;
	if (res == CLI_HOOK_TIMED_OUT)
		n = asprintf(why, "%s '%s' timed out after %ld s (--hook-timeout; stopped)", what, cmd,
			timeout_s);
	else if (res == CLI_HOOK_CANCELED)
		n = asprintf(why, "%s '%s' stopped: the run was canceled", what, cmd);
	else if (res == CLI_HOOK_FAILED && st != -1 && WIFEXITED(st))
		n = asprintf(why, "%s '%s' failed (exit status %d)", what, cmd, WEXITSTATUS(st));
	else if (res == CLI_HOOK_FAILED && st != -1 && WIFSIGNALED(st))
		n = asprintf(why, "%s '%s' failed (killed by signal %d)", what, cmd, WTERMSIG(st));
	else if (res == CLI_HOOK_FAILED)
		n = asprintf(why, "%s '%s' failed", what, cmd);
	if (res != CLI_HOOK_OK && n < 0)
		*why = strdup("a hook command failed");
	return res;
}
