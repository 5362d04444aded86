/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_gc_names.c: the two parsers that decide what gc may
 * delete: a temporary snapshot's name (fs_gc_parse_tmp_snap) and a disk's
 * run tag value (fs_gc_parse_run_tag). Tables of good and bad inputs.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "gc/gc.h"

#define ID "0c1d2e3f-aaaa-4bbb-8ccc-0123456789ab"

typedef struct {
	const char *name;
	const char *id, *owner;   /* NULL: not ours */
} snap_case;

Test(gc_names, tmp_snapshot_table)
{
	static const snap_case cases[] = {
		/* good: machine-id.pidns host, a full host name, a short one */
		{ "fastsnap-" ID "-3d1219c7c4c5404aaa1f6d2a48adfda4.4026531836-1234-5678", ID,
			"3d1219c7c4c5404aaa1f6d2a48adfda4.4026531836:1234:5678" },
		{ "fastsnap-" ID "-compute1.az1.example-42-7", ID, "compute1.az1.example:42:7" },
		{ "fastsnap-" ID "-host-with-dashes-1-2", ID, "host-with-dashes:1:2" },
		{ "fastsnap-" ID "-h-1-2", ID, "h:1:2" },
		/* bad: not our prefix, case, id or shape */
		{ "fastsnap-notes", NULL, NULL },
		{ "Fastsnap-" ID "-h-1-2", NULL, NULL },
		{ "fastsnap" ID "-h-1-2", NULL, NULL },
		{ "fastsnap-0c1d2e3f-aaaa-4bbb-8ccc-0123456789a-h-1-2", NULL, NULL },    /* short id */
		{ "fastsnap-0c1d2e3f-aaaa-4bbb-8ccc-0123456789abz-h-1-2", NULL, NULL },  /* long id */
		{ "fastsnap-0c1d2e3fXaaaa-4bbb-8ccc-0123456789ab-h-1-2", NULL, NULL },   /* not a uuid */
		{ "fastsnap-" ID "-h-1", NULL, NULL },             /* no start */
		{ "fastsnap-" ID "--1-2", NULL, NULL },            /* empty host */
		{ "fastsnap-" ID "-h-x-2", NULL, NULL },           /* pid not digits */
		{ "fastsnap-" ID "-h-1-2x", NULL, NULL },          /* start not digits */
		{ "fastsnap-" ID "-h-1-", NULL, NULL },            /* empty start */
		{ "fastsnap-" ID "-h--2", NULL, NULL },            /* empty pid */
		{ "fastsnap-" ID "-h_x-1-2", NULL, NULL },         /* '_' is never in a host part */
		{ "fastsnap-" ID "-h:x-1-2", NULL, NULL },         /* nor ':' (the owner separator) */
		{ "fastsnap-" ID "-h x-1-2", NULL, NULL },
		{ "fastsnap-" ID "-h-12345678901-2", NULL, NULL }, /* a pid of 11 digits */
		{ "fastsnap-" ID "-h-1-123456789012345678901", NULL, NULL },   /* start of 21 */
		{ "fastsnap-" ID, NULL, NULL },
		{ "", NULL, NULL },
		{ "snap", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *id = (char *)1, *owner = (char *)1;
		int ours = fs_gc_parse_tmp_snap(cases[i].name, &id, &owner);
		if (cases[i].id) {
			cr_assert_eq(ours, 1, "%s: not taken for ours", cases[i].name);
			cr_assert_str_eq(id, cases[i].id, "%s", cases[i].name);
			cr_assert_str_eq(owner, cases[i].owner, "%s", cases[i].name);
		} else {
			cr_assert_eq(ours, 0, "%s: taken for ours (id %s, owner %s)", cases[i].name,
				ours ? id : "", ours ? owner : "");
			cr_assert_null(id, "%s", cases[i].name);
			cr_assert_null(owner, "%s", cases[i].name);
		}
		free(id);
		free(owner);
	}
}

typedef struct {
	const char *value;
	const char *owner, *beat;   /* owner NULL: malformed */
} tag_case;

Test(gc_names, run_tag_table)
{
	static const tag_case cases[] = {
		{ "abc.4026531836:12:34 1733450000", "abc.4026531836:12:34", "1733450000" },
		{ "compute1.az2:1:2 ended", "compute1.az2:1:2", "ended" },
		{ "h:1:2 0", "h:1:2", "0" },
		/* the old form (the value an image id), and other malformed */
		{ ID, NULL, NULL },
		{ "h:1:2", NULL, NULL },
		{ "h:1:2 ", NULL, NULL },
		{ " 123", NULL, NULL },
		{ "h:1:2 12x", NULL, NULL },
		{ "h:1:2 ENDED", NULL, NULL },
		{ "h:1:2 1 2", NULL, NULL },
		{ "h:1 123", NULL, NULL },
		{ "h:x:2 123", NULL, NULL },
		{ ":1:2 123", NULL, NULL },
		{ "h_x:1:2 123", NULL, NULL },
		{ "", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *owner = NULL;
		const char *beat = NULL;
		int ok = fs_gc_parse_run_tag(cases[i].value, &owner, &beat);
		if (cases[i].owner) {
			cr_assert_eq(ok, 1, "'%s' not parsed", cases[i].value);
			cr_assert_str_eq(owner, cases[i].owner);
			cr_assert_str_eq(beat, cases[i].beat);
		} else {
			cr_assert_eq(ok, 0, "'%s' parsed (owner %s)", cases[i].value, owner);
			cr_assert_null(owner);
		}
		free(owner);
	}
	char *owner = (char *)1;
	const char *beat = "x";
	cr_assert_eq(fs_gc_parse_run_tag(NULL, &owner, &beat), 0);
	cr_assert_null(owner);
}
