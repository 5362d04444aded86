/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clients/glance_import.c: Glance's image import for copies: POST
 * /v2/images/{id}/import with method copy-image (an active image copied
 * into further stores by Glance itself: it reads the image from a store
 * that has it into its staging area, then writes it to each store asked
 * for). The wait and the per-store outcome are the caller's (copy.c);
 * docs/operations.md, "Edge sites".
 */
#include <stdlib.h>
#include <string.h>

#include "clients/glance_core.h"

int fs_glance_copy_image(fs_glance *g, const char *id, const char *const *stores, size_t n,
	int all_must_succeed)
{
	if (!id || !*id || !n)
		return fs_err(FASTSNAP_EINVAL, "Glance copy-image: no image or no store");
	cJSON *o = cJSON_CreateObject();
	cJSON *m = o ? cJSON_AddObjectToObject(o, "method") : NULL;
	cJSON *a = m && cJSON_AddStringToObject(m, "name", "copy-image") ?
		cJSON_AddArrayToObject(o, "stores") : NULL;
	for (size_t i = 0; a && i < n; i++)
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(stores[i])))
			a = NULL;
	if (a && !cJSON_AddBoolToObject(o, "all_stores_must_succeed", all_must_succeed != 0))
		a = NULL;
	char *body = a ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	char *path = fs_glance_image_path(id, "/import");
	if (!body || !path) {
		free(body);
		free(path);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	const char *hdrs[] = { JSON_CT };
	/* not retried: a lost 202 would make the retry a 409 (the task's lock) */
	fs_glance_req r = { .method = "POST", .path = path, .extra = hdrs, .n_extra = 1,
		.body = body, .body_len = strlen(body), .retry = 0 };
	fs_http_resp resp;
	char name[512];
	int rc = fs_glance_call(g, &resp, &r, name, sizeof(name));
	free(body);
	free(path);
	if (rc == 0) {
		long st = resp.status;
		if (st != 202 && st != 200) {
			rc = fs_glance_unexpected(g, &resp, name);
			if (st == 403)
				rc = fs_glance_recode(FASTSNAP_EFORBIDDEN, " (Glance's policy copy_image "
					"allows only admins by default)");
			else if (st == 409)
				rc = fs_glance_recode(FASTSNAP_ECONFLICT, " (the image must be active, "
					"and no other import of it may be running)");
		}
	}
	fs_http_resp_free(&resp);
	return rc;
}
