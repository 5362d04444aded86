/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy/fallback.c: the fallback decision (see fallback.h). No I/O.
 */
#include "core/common.h"
#include "policy/fallback.h"

fs_fallback fs_fallback_decide(const fs_direct_outcome *o)
{
	if (!o || o->error >= 0)
		return FS_FALLBACK_FAIL;
	switch (o->error) {
	case FASTSNAP_EFORBIDDEN:
	case FASTSNAP_ELOCATION_DISALLOWED:
		return o->registered ? FS_FALLBACK_FAIL : FS_FALLBACK_STREAM;
	case FASTSNAP_ELOCATION_REJECTED:
		return !o->registered && !o->flattened && !o->retried ? FS_FALLBACK_FLATTEN_RETRY
			: FS_FALLBACK_FAIL;
	default:
		return FS_FALLBACK_FAIL;
	}
}

const char *fs_fallback_name(fs_fallback f)
{
	switch (f) {
	case FS_FALLBACK_STREAM: return "stream";
	case FS_FALLBACK_FLATTEN_RETRY: return "flatten-and-register-again";
	default: return "fail";
	}
}
