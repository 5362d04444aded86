/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/child.h: how fastsnap starts a child process (a freeze/thaw hook,
 * the flatten helper): nothing inherited past descriptor 2 (libcurl's own
 * socketpairs have no close-on-exec), no signal blocked and every
 * disposition at its default (the command's signal thread blocks INT,
 * TERM and HUP in every thread). docs/reliability.md, "Secrets and child
 * processes".
 */
#ifndef FS_CORE_CHILD_H
#define FS_CORE_CHILD_H

#include <signal.h>
#include <spawn.h>
#include <stdlib.h>

extern char **environ;

/* Append "close every descriptor from 3" to `fa` (after the caller's own
 * dup2/open actions) and set `at`'s empty signal mask and default
 * dispositions, with `flags` (e.g. POSIX_SPAWN_SETPGROUP) besides. Inline:
 * the command (which links only the library's public symbols) uses it too. */
static inline void fs_spawn_clean(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at,
	short flags)
{
	posix_spawn_file_actions_addclosefrom_np(fa, 3);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(at, &none);
	posix_spawnattr_setsigdefault(at, &all);
	posix_spawnattr_setflags(at, (short)(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | flags));
}

/* The entries of environ that `keep` accepts, for a child's envp (the
 * strings stay environ's: free only the array); NULL when out of memory. */
static inline char **fs_child_env(int (*keep)(const char *entry))
{
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **v = (char **)calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (keep(environ[i]))
			v[k++] = environ[i];
	return v;
}

#endif
