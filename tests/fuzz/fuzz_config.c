/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/fuzz_config.c: libFuzzer target for fs_config_parse (the
 * nova.conf-style INI file). On failure the struct is left empty; on
 * success every numeric option is unset or within its documented range.
 */
#include "fuzz_common.h"
/* by file name: the config loader may move between src/ folders, and
 * tests/fuzz/CMakeLists.txt puts every src/ folder on the include path */
#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fs_config c;
	int rc = fs_config_parse(&c, (const char *)data, size);
	fuzz_check_rc(rc);
	if (rc < 0) {
		FUZZ_CHECK(!c.glance_api_server && !c.glance_store && !c.keyring && !c.rbd_user);
		fs_config_free(&c);
		return 0;
	}
	FUZZ_CHECK(c.clone_depth_cap == -1 || (c.clone_depth_cap >= 1 && c.clone_depth_cap <= 1000));
	FUZZ_CHECK(c.ceph_op_timeout_s == -1 ||
		(c.ceph_op_timeout_s >= 1 && c.ceph_op_timeout_s <= 86400));
	FUZZ_CHECK(c.connect_timeout_ms == -1 || c.connect_timeout_ms > 0);
	FUZZ_CHECK(c.low_speed_time_s == -1 || c.low_speed_time_s > 0);
	FUZZ_CHECK(c.call_deadline_s == -1 || (c.call_deadline_s >= 1 && c.call_deadline_s <= 86400));
	FUZZ_CHECK(c.glance_insecure >= -1 && c.glance_insecure <= 1);
	FUZZ_CHECK(!c.glance_api_server || strstr(c.glance_api_server, "//"));
	fs_config_free(&c);
	return 0;
}
