/*
 * core/testhook.c: test builds only (CMake FASTSNAP_TEST_HOOKS, which
 * tests/run turns on; the default and installed library leave this file
 * out). Fails a run after a named step, or SIGKILLs the process after a
 * step or part-way through one, as the settings say (read from the
 * environment by core/settings.c when use_env is set).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/steps.h"

static int is_step(const char *want, fastsnap_step step)
{
	const char *name = fastsnap_step_name(step);
	return want && name && strcmp(want, name) == 0;
}

int fs_test_hook_after(const fs_settings *s, fastsnap_step step)
{
	if (!s)
		return 0;
	if (is_step(s->test_kill_after, step))
		raise(SIGKILL);
	if (is_step(s->test_fail_after, step))
		return fs_err(FASTSNAP_ECANCELED, "test hook: failing after step '%s'",
			fastsnap_step_name(step));
	return 0;
}

void fs_test_hook_during(const fs_settings *s, fastsnap_step step, uint64_t done, uint64_t total)
{
	if (!s || !s->test_kill_during || !total)
		return;
	const char *colon = strchr(s->test_kill_during, ':');
	const char *name = fastsnap_step_name(step);
	if (!colon || !name || strlen(name) != (size_t)(colon - s->test_kill_during) ||
	    strncmp(s->test_kill_during, name, strlen(name)) != 0)
		return;
	if ((double)done / (double)total >= strtod(colon + 1, NULL) && done < total)
		raise(SIGKILL);
}
