/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/error_body.h: the message of an error body from Glance or
 * Keystone, fit for an error message, a log line and the --json output.
 */
#ifndef FS_ERROR_BODY_H
#define FS_ERROR_BODY_H

#include <stddef.h>

#include "core/common.h"

/* The message of an error body: JSON {"message":..}, {"error":{"message":..}},
 * {"<key>":{"message":..}}, or HTML/text (tags stripped, collapsed). At most
 * 1024 bytes of valid UTF-8 (other bytes become '?'), no control character,
 * no blank at either end. Returns a new string (possibly ""), or NULL on
 * OOM. */
char *fs_error_body_message(const char *buf, size_t len);

#endif
