/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/secret.c: wipe secrets before their memory is freed (see secret.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/secret.h"

void fs_secret_wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
}

void fs_secret_free(char *s)
{
	fs_secret_wipe(s);
	free(s);
}

void fs_secret_strv_free(fs_strv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		fs_secret_wipe(v->v[i]);
	fs_strv_free(v);
}
