/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/testhook.c: test builds only (CMake FASTSNAP_TEST_HOOKS, which
 * tests/run turns on; the default and installed library leave this file
 * out). Fails a run after a named step, or SIGKILLs the process after a
 * step or part-way through one (or sends it SIGINT, SIGTERM or SIGHUP
 * there, once, to test the command's own handling), as the settings say (read from the
 * environment by core/settings.c when use_env is set).
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/steps.h"

/* Does `want` ("step" or "step:...") name this step? */
static int is_step(const char *want, fastsnap_step step)
{
	const char *name = fastsnap_step_name(step);
	size_t n = name ? strlen(name) : 0;
	return want && name && strncmp(want, name, n) == 0 && (want[n] == '\0' || want[n] == ':');
}

/* The signal a hook names after its last ':' (INT, TERM, HUP), else SIGKILL. */
static int hook_signal(const char *spec)
{
	const char *c = strrchr(spec, ':');
	if (!c)
		return SIGKILL;
	c++;
	return !strcmp(c, "INT") ? SIGINT : !strcmp(c, "TERM") ? SIGTERM : !strcmp(c, "HUP") ? SIGHUP :
		SIGKILL;
}

int fs_test_hook_after(const fs_settings *s, fastsnap_step step)
{
	if (!s)
		return 0;
	if (is_step(s->test_kill_after, step))
		kill(getpid(), hook_signal(s->test_kill_after));
	if (is_step(s->test_fail_after, step))
		return fs_err(FASTSNAP_ECANCELED, "test hook: failing after step '%s'",
			fastsnap_step_name(step));
	return 0;
}

/* Has `spec` ("step:fraction...") reached its point? *rest: after the
 * fraction (":..." or ""). */
static int reached(const char *spec, fastsnap_step step, uint64_t done, uint64_t total,
	const char **rest)
{
	const char *colon = spec ? strchr(spec, ':') : NULL;
	const char *name = fastsnap_step_name(step);
	if (!colon || !name || !total || strlen(name) != (size_t)(colon - spec) ||
	    strncmp(spec, name, strlen(name)) != 0)
		return 0;
	char *end;
	double at = strtod(colon + 1, &end);
	*rest = end;
	return (double)done / (double)total >= at && done < total;
}

/* kill: "step:fraction[:INT|TERM|HUP]": SIGKILL, or once the named signal;
 * run: "step:fraction:command", once (sh -c). */
void fs_test_hook_during(const fs_settings *s, fastsnap_step step, uint64_t done, uint64_t total)
{
	static atomic_int signaled, ran;
	const char *rest;
	if (!s)
		return;
	if (reached(s->test_run_during, step, done, total, &rest) && *rest == ':' &&
	    !atomic_exchange(&ran, 1)) {
		int st = system(rest + 1);
		(void)st;
	}
	if (!reached(s->test_kill_during, step, done, total, &rest))
		return;
	int sig = hook_signal(s->test_kill_during);
	if (sig == SIGKILL || !atomic_exchange(&signaled, 1))
		kill(getpid(), sig);   /* to the process: its signal thread takes it */
}
