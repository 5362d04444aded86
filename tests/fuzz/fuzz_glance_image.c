/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_glance_image.c: libFuzzer target for fs_parse_image (the
 * body of GET/POST/PATCH /v2/images/{id}). A parsed image has an id and a
 * status, and every accessor works on it.
 */
#include "fuzz_common.h"
#include "clients/glance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fs_image *img = NULL;
	int rc = fs_parse_image(&img, (const char *)data, size);
	fuzz_check_rc(rc);
	if (rc < 0) {
		FUZZ_CHECK(!img);
		return 0;
	}
	FUZZ_CHECK(img && img->id && img->status && img->raw);
	FUZZ_CHECK(img->size >= -1 && img->virtual_size >= -1);
	FUZZ_CHECK(img->min_disk >= 0 && img->min_ram >= 0);
	for (size_t i = 0; i < img->n_locations; i++)
		FUZZ_CHECK(img->locations[i].url);
	for (size_t i = 0; i < img->stores.n; i++)
		FUZZ_CHECK(img->stores.v[i] && *img->stores.v[i] && !strchr(img->stores.v[i], ','));
	(void)fs_image_prop(img, "os_glance_importing_to_stores");
	(void)fs_image_prop(img, "id");
	fs_image_free(img);
	return 0;
}
