/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/secret.h: wiping secrets (tokens, passwords, application-credential
 * secrets, sensitive header values) from memory before it is freed, with
 * explicit_bzero, which the compiler may not drop as a dead store.
 */
#ifndef FS_SECRET_H
#define FS_SECRET_H

#include "core/common.h"

/* Overwrite the string's bytes with zeros (NULL-safe). */
void fs_secret_wipe(char *s);
/* fs_secret_wipe, then free. */
void fs_secret_free(char *s);
/* Wipe every string of the list, then fs_strv_free. */
void fs_secret_strv_free(fs_strv *v);

#endif
