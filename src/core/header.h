/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/header.h: the one validator of "Name: value" HTTP header lines, used
 * for the operator's extra headers (settings) and for every header the HTTP
 * layer sends. No I/O.
 */
#ifndef FS_HEADER_H
#define FS_HEADER_H

#include <stddef.h>

#include "core/common.h"

/* Check hdr[0..len): a name that is an HTTP token (RFC 9110: letters,
 * digits and the marks it lists as tchar), a colon, and a value not empty (after
 * spaces and tabs) and holds no CR, LF or other control character (a tab is
 * allowed). Returns 0, or FASTSNAP_EINVAL with "<where>: header '<name>'
 * ...". A name that looks like it carries a secret is shown as
 * '<redacted>'; the value is never shown. On success, when non-NULL,
 * *name_len is the name's length and *value and *value_len the value without
 * surrounding blanks. */
int fs_header_check(const char *hdr, size_t len, const char *where, size_t *name_len,
	const char **value, size_t *value_len);

#endif
