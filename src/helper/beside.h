/* SPDX-License-Identifier: Apache-2.0 */
/*
 * helper/beside.h: the fastsnap-flatten built beside the running program
 * (a build tree), for the command and the benchmark tool; installed, there
 * is none and the library's default (libexec, or [fastsnap]
 * flatten_helper) applies. Header-only: neither program links the other.
 */
#ifndef FS_HELPER_BESIDE_H
#define FS_HELPER_BESIDE_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Its path in buf, or NULL when FASTSNAP_FLATTEN_HELPER is set (it wins)
 * or there is no runnable helper beside this program. */
static inline const char *fs_helper_beside_self(char *buf, size_t size)
{
	if (getenv("FASTSNAP_FLATTEN_HELPER") || size < 64)
		return NULL;
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	if (n <= 0 || (size_t)n >= size - 32)
		return NULL;
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	strcpy(slash + 1, "fastsnap-flatten");
	return access(buf, X_OK) == 0 ? buf : NULL;
}

#endif
