/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_register.c: the snapshot image's properties: Nova's
 * metadata, inheritance from the base image (core, read-only and
 * non-inheritable fields skipped), min_disk/min_ram, user properties.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "register/register.h"

static const char *get(const fs_image_meta *m, const char *k)
{
	for (size_t i = 0; i < m->keys.n; i++)
		if (strcmp(m->keys.v[i], k) == 0)
			return m->values.v[i];
	return NULL;
}

static fs_image *base_image(void)
{
	const char *json = "{\"id\":\"b1\",\"name\":\"cirros\",\"status\":\"active\","
		"\"min_disk\":3,\"min_ram\":512,\"size\":1000,\"checksum\":\"abc\",\"os_distro\":\"cirros\","
		"\"hw_disk_bus\":\"virtio\",\"img_signature\":\"sig\",\"img_signature_hash_method\":\"SHA-256\","
		"\"cinder_encryption_key_id\":\"k\",\"os_glance_importing_to_stores\":\"\",\"image_type\":\"image\","
		"\"instance_uuid\":\"old\",\"fastsnap_owner\":\"h:1:2\",\"tags\":[\"t\"],\"locations\":[],"
		"\"custom_ro\":\"x\",\"visibility\":\"public\",\"stores\":\"fast\"}";
	fs_image *img = NULL;
	cr_assert_eq(fs_parse_image(&img, json, strlen(json)), 0, "%s", fastsnap_error_last());
	return img;
}

Test(register, inherits_only_inheritable_properties)
{
	fs_image *base = base_image();
	fs_image_schema schema;
	memset(&schema, 0, sizeof(schema));
	fs_strv_push(&schema.read_only, "custom_ro");
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.name = "snap1";
	o.base_image_ref = "b1";
	o.instance_uuid = "i-1";
	o.user_id = "u-1";
	o.owner_id = "p-1";
	const char *props[] = { "extra=1", "os_distro=ubuntu" };
	o.properties = props;
	o.properties_count = 2;
	fs_owner ow = { "host", 42, 7 };
	fs_image_meta m;
	cr_assert_eq(fs_image_meta_build(&m, &o, base, &schema, &ow, 5ULL << 30), 0);
	cr_assert_str_eq(get(&m, "hw_disk_bus"), "virtio");
	cr_assert_str_eq(get(&m, "os_distro"), "ubuntu", "caller's property must win");
	cr_assert_str_eq(get(&m, "extra"), "1");
	cr_assert_str_eq(get(&m, "image_type"), "snapshot");
	cr_assert_str_eq(get(&m, "instance_uuid"), "i-1");
	cr_assert_str_eq(get(&m, "base_image_ref"), "b1");
	cr_assert_str_eq(get(&m, "user_id"), "u-1");
	cr_assert_str_eq(get(&m, "owner_id"), "p-1");
	cr_assert_str_eq(get(&m, "image_location"), "snapshot");
	cr_assert_str_eq(get(&m, "image_state"), "available");
	cr_assert_str_eq(get(&m, FS_PROP_OWNER), "host:42:7");
	cr_assert_str_eq(get(&m, FS_PROP_STATE), "in-progress");
	const char *never[] = { "img_signature", "img_signature_hash_method", "cinder_encryption_key_id",
		"os_glance_importing_to_stores", "checksum", "status", "name", "id", "custom_ro",
		"visibility", "stores", "size", "backup_type" };
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		cr_assert_null(get(&m, never[i]), "%s must not be inherited", never[i]);
	cr_assert_eq(m.min_ram, 512);
	cr_assert_eq(m.min_disk, 5, "min_disk covers the 5 GiB disk");
	fs_image_meta_free(&m);
	fs_image_schema_free(&schema);
	fs_image_free(base);
}

Test(register, backup_and_no_base)
{
	fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
	o.name = "b";
	o.image_type = FASTSNAP_IMAGE_BACKUP;
	o.backup_type = "daily";
	fs_owner ow = { "h", 1, 1 };
	fs_image_meta m;
	cr_assert_eq(fs_image_meta_build(&m, &o, NULL, NULL, &ow, 1), 0);
	cr_assert_str_eq(get(&m, "image_type"), "backup");
	cr_assert_str_eq(get(&m, "backup_type"), "daily");
	cr_assert_null(get(&m, "base_image_ref"));
	cr_assert_eq(m.min_disk, 1);
	cr_assert_eq(m.min_ram, 0);
	fs_image_meta_free(&m);
}

Test(register, refuses_core_readonly_and_reserved_properties)
{
	const char *bad[] = { "status=active", "fastsnap_state=done", "checksum=1", "custom_ro=1" };
	fs_image_schema schema;
	memset(&schema, 0, sizeof(schema));
	fs_strv_push(&schema.read_only, "custom_ro");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fastsnap_snapshot_opts o = FASTSNAP_SNAPSHOT_OPTS_INIT;
		o.name = "n";
		o.properties = &bad[i];
		o.properties_count = 1;
		fs_owner ow = { "h", 1, 1 };
		fs_image_meta m;
		cr_assert_eq(fs_image_meta_build(&m, &o, NULL, &schema, &ow, 1), FASTSNAP_EINVAL, "%s", bad[i]);
		cr_assert(strstr(fastsnap_error_last(), "cannot be set"));
	}
	fs_image_schema_free(&schema);
}
