/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core/error.c: the error model. Codes are FASTSNAP_E* (negative); the
 * message of the last failure lives in thread-local storage so that one
 * engine can be shared by threads. Also maps errno and HTTP statuses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/common.h"

static _Thread_local char tl_msg[FS_ERRMSG_MAX];
static _Thread_local int tl_code;

const char *fastsnap_strerror(int code)
{
	switch (code) {
	case FASTSNAP_OK: return "success";
	case FASTSNAP_ERROR: return "error";
	case FASTSNAP_EINVAL: return "invalid argument";
	case FASTSNAP_ENOMEM: return "out of memory";
	case FASTSNAP_ENOTFOUND: return "not found";
	case FASTSNAP_ECONFLICT: return "conflict";
	case FASTSNAP_EFORBIDDEN: return "forbidden";
	case FASTSNAP_EUNAUTHORIZED: return "unauthorized";
	case FASTSNAP_EBADREQUEST: return "bad request";
	case FASTSNAP_ETOOLARGE: return "too large";
	case FASTSNAP_EUNAVAILABLE: return "service unavailable";
	case FASTSNAP_ETRANSPORT: return "transport error";
	case FASTSNAP_ETIMEOUT: return "timed out";
	case FASTSNAP_EPROTOCOL: return "protocol error";
	case FASTSNAP_ECEPH: return "ceph error";
	case FASTSNAP_EIO: return "I/O error";
	case FASTSNAP_ELOCATION_DISALLOWED: return "Glance does not allow locations";
	case FASTSNAP_ELOCATION_REJECTED: return "Glance rejected the location";
	case FASTSNAP_EUNSUPPORTED: return "not supported";
	case FASTSNAP_ECHECKSUM: return "checksum mismatch";
	case FASTSNAP_ECANCELED: return "canceled";
	case FASTSNAP_ECONFIG: return "configuration error";
	case FASTSNAP_EFORMAT: return "unsupported disk format";
	default: return "unknown error";
	}
}

const char *fastsnap_error_last(void) { return tl_msg; }
int fastsnap_error_last_code(void) { return tl_code; }

void fastsnap_error_clear(void)
{
	tl_msg[0] = '\0';
	tl_code = 0;
}

int fs_err(int code, const char *fmt, ...)
{
	/* Format aside first: an argument may point into tl_msg itself. */
	char msg[FS_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(tl_msg, msg, sizeof(tl_msg));
	tl_code = code;
	return code;
}

void fs_err_append(const char *fmt, ...)
{
	size_t len = strlen(tl_msg);
	if (len + 3 >= sizeof(tl_msg))
		return;
	if (len) {
		memcpy(tl_msg + len, "; ", 2);
		len += 2;
		tl_msg[len] = '\0';
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tl_msg + len, sizeof(tl_msg) - len, fmt, ap);
	va_end(ap);
}

void fs_err_prefix(const char *fmt, ...)
{
	char prefix[512];
	char old[FS_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, tl_msg, sizeof(old));
	size_t pl = strlen(prefix);
	memcpy(tl_msg, prefix, pl);
	memcpy(tl_msg + pl, ": ", 3);
	size_t room = sizeof(tl_msg) - pl - 3;
	strncpy(tl_msg + pl + 2, old, room);
	tl_msg[sizeof(tl_msg) - 1] = '\0';
}

void fs_error_state_capture(fs_error_state *st)
{
	st->code = tl_code;
	memcpy(st->msg, tl_msg, sizeof(st->msg));
	fastsnap_error_clear();
}

int fs_error_state_restore(const fs_error_state *st)
{
	memcpy(tl_msg, st->msg, sizeof(tl_msg));
	tl_code = st->code;
	return st->code;
}

int fs_errno_to_code(int neg_errno)
{
	int e = neg_errno < 0 ? -neg_errno : neg_errno;
	switch (e) {
	case 0: return FASTSNAP_OK;
	case ENOENT: return FASTSNAP_ENOTFOUND;
	case EEXIST: case EBUSY: case ENOTEMPTY: return FASTSNAP_ECONFLICT;
	case EPERM: case EACCES: return FASTSNAP_EFORBIDDEN;
	case EINVAL: return FASTSNAP_EINVAL;
	case ENOMEM: return FASTSNAP_ENOMEM;
	case ETIMEDOUT: return FASTSNAP_ETIMEOUT;
	case ECANCELED: return FASTSNAP_ECANCELED;
	case EIO: return FASTSNAP_EIO;
	case ENOSPC: case EFBIG: case EDQUOT: return FASTSNAP_ETOOLARGE;
	case EOPNOTSUPP: case ENOSYS: return FASTSNAP_EUNSUPPORTED;
	default: return FASTSNAP_ECEPH;
	}
}

int fs_http_status_to_code(long status)
{
	if (status < 400)
		return FASTSNAP_OK;
	switch (status) {
	case 400: return FASTSNAP_EBADREQUEST;
	case 401: return FASTSNAP_EUNAUTHORIZED;
	case 403: return FASTSNAP_EFORBIDDEN;
	case 404: return FASTSNAP_ENOTFOUND;
	case 409: return FASTSNAP_ECONFLICT;
	case 413: return FASTSNAP_ETOOLARGE;
	case 415: return FASTSNAP_EBADREQUEST;
	case 408: case 504: return FASTSNAP_ETIMEOUT;
	default:
		if (status >= 500)
			return FASTSNAP_EUNAVAILABLE;
		return FASTSNAP_EBADREQUEST;
	}
}
