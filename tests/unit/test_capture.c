/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/test_capture.c: the capture (capture/capture.c) where no
 * cluster is needed: a file's capture window, signalled BEGIN before the
 * file is opened and END exactly once after the read, also when the read,
 * the open or the change check fails; a refused BEGIN captures nothing and
 * owes no END; the first error survives an END callback that fails; a
 * capture that took no snapshot has nothing to release.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "capture/capture.h"

typedef struct {
	char events[16];          /* "B" and "E", in order */
	int n;
	int refuse_begin;
	int fail_in_end;          /* END sets an error of its own */
	int fd_open_at_begin;     /* the file was not open yet at BEGIN */
	fs_capture *cap;
} signals;

static int on_capture(fastsnap_capture_event ev, void *payload)
{
	signals *s = payload;
	if (s->n < 15)
		s->events[s->n++] = ev == FASTSNAP_CAPTURE_BEGIN ? 'B' : 'E';
	if (ev == FASTSNAP_CAPTURE_BEGIN) {
		s->fd_open_at_begin = s->cap->fd >= 0;
		return s->refuse_begin;
	}
	if (s->fail_in_end)
		fs_err(FASTSNAP_ERROR, "the thaw command failed");
	return 0;
}

static fs_capture cap;
static signals sig;
static char path[64];

static void setup(void)
{
	memset(&sig, 0, sizeof(sig));
	sig.cap = &cap;
	fastsnap_snapshot_opts o = { 0 };
	o.capture_cb = on_capture;
	o.capture_payload = &sig;
	fs_capture_init(&cap, &o);
	snprintf(path, sizeof(path), "/tmp/fs-capture-test-XXXXXX");
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
}

static void teardown(void)
{
	fs_capture_free(&cap);
	unlink(path);
}

TestSuite(capture, .init = setup, .fini = teardown);

Test(capture, file_window_begin_then_end_once)
{
	cr_assert_eq(fs_capture_live(&cap), 0);
	cr_assert_eq(fs_capture_file(&cap, path), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(sig.events, "B");
	cr_assert_eq(sig.fd_open_at_begin, 0, "BEGIN comes before the file is opened");
	rbd_image_t img = (rbd_image_t)1;
	int fd = -1;
	uint64_t size = 0;
	cr_assert_eq(fs_capture_source(&cap, &img, &fd, &size), 0, "%s", fastsnap_error_last());
	cr_assert_null(img);
	cr_assert_geq(fd, 0);
	cr_assert_eq(size, 1 << 20);
	cr_assert_eq(fs_capture_finish_read(&cap, 0), 0, "%s", fastsnap_error_last());
	cr_assert_str_eq(sig.events, "BE");
	fs_capture_free(&cap);
	cr_assert_str_eq(sig.events, "BE", "END once, not again at free");
	/* a capture that took no snapshot has nothing to release */
	cr_assert_eq(fs_capture_release(&cap, NULL, NULL), 0);
}

Test(capture, refused_begin_captures_nothing_and_owes_no_end)
{
	sig.refuse_begin = 1;
	cr_assert_eq(fs_capture_file(&cap, path), FASTSNAP_ECANCELED);
	cr_assert(strstr(fastsnap_error_last(), "refused to begin the capture"), "%s",
		fastsnap_error_last());
	cr_assert_lt(cap.fd, 0, "the file was not opened");
	fs_capture_free(&cap);
	cr_assert_str_eq(sig.events, "B");
}

Test(capture, failed_read_still_ends_the_window_and_keeps_its_error)
{
	cr_assert_eq(fs_capture_file(&cap, path), 0, "%s", fastsnap_error_last());
	sig.fail_in_end = 1;
	int rc = fs_err(FASTSNAP_ETRANSPORT, "the upload failed");
	cr_assert_eq(fs_capture_finish_read(&cap, rc), FASTSNAP_ETRANSPORT);
	cr_assert_str_eq(sig.events, "BE");
	cr_assert_str_eq(fastsnap_error_last(), "the upload failed",
		"END's own failure does not replace the read's error");
}

Test(capture, file_changed_during_the_read)
{
	cr_assert_eq(fs_capture_file(&cap, path), 0, "%s", fastsnap_error_last());
	cr_assert_eq(truncate(path, 2 << 20), 0);
	cr_assert_eq(fs_capture_finish_read(&cap, 0), FASTSNAP_ECONFLICT);
	cr_assert(strstr(fastsnap_error_last(), "changed while it was read"), "%s",
		fastsnap_error_last());
	cr_assert_str_eq(sig.events, "BE");
}

Test(capture, missing_or_refused_file_ends_the_window_at_free)
{
	char gone[80];
	snprintf(gone, sizeof(gone), "%s-gone", path);
	cr_assert_lt(fs_capture_file(&cap, gone), 0);
	cr_assert_str_eq(sig.events, "B");
	fs_capture_free(&cap);
	cr_assert_str_eq(sig.events, "BE");

	/* a qcow2 file: refused by its magic, END owed all the same */
	setup();
	FILE *f = fopen(path, "r+");
	cr_assert_not_null(f);
	fwrite("QFI\xfb\0\0\0\3", 1, 8, f);
	fclose(f);
	cr_assert_eq(fs_capture_file(&cap, path), FASTSNAP_EFORMAT);
	fs_capture_free(&cap);
	cr_assert_str_eq(sig.events, "BE");
}

Test(capture, without_a_callback)
{
	fs_capture_free(&cap);
	fs_capture_init(&cap, NULL);
	cr_assert_eq(fs_capture_file(&cap, path), 0, "%s", fastsnap_error_last());
	cr_assert_eq(fs_capture_finish_read(&cap, 0), 0);
	cr_assert_eq(sig.n, 0);
}
