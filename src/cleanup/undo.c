/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cleanup/undo.c: runs the undo stack in reverse on failure and keeps the
 * first error (captured before, restored after, with clean-up failures
 * appended), never a clean-up message in its place.
 */
#include <stdlib.h>
#include <string.h>

#include "cleanup/undo.h"

int fs_undo_push(fs_undo *u, fs_undo_fn fn, void *arg, void (*free_arg)(void *),
	const char *what_fmt, ...)
{
	va_list ap;
	va_start(ap, what_fmt);
	char *what = fs_vasprintf(what_fmt, ap);
	va_end(ap);
	if (what && u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 8;
		fs_undo_entry *v = realloc(u->v, cap * sizeof(*v));
		if (v) {
			u->v = v;
			u->cap = cap;
		}
	}
	if (!what || u->n == u->cap) {
		free(what);
		if (free_arg)
			free_arg(arg);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	u->v[u->n] = (fs_undo_entry){ fn, arg, free_arg, what, 0 };
	return (int)u->n++;
}

void fs_undo_forget(fs_undo *u, int idx)
{
	if (idx >= 0 && (size_t)idx < u->n)
		u->v[idx].done = 1;
}

/* Run pending entries at index >= mark in reverse; failures are described
 * in `notes`. */
static int run_range(fs_undo *u, size_t mark, fs_buf *notes)
{
	int failed = 0;
	for (size_t i = u->n; i-- > mark;) {
		fs_undo_entry *e = &u->v[i];
		if (e->done)
			continue;
		e->done = 1;
		if (e->fn(e->arg) < 0) {
			failed++;
			fs_buf_printf(notes, "; clean-up failed: %s: %s", e->what, fastsnap_error_last());
		} else {
			fs_strv_push(&u->undone, e->what);
		}
	}
	return failed;
}

int fs_undo_run_from(fs_undo *u, size_t mark)
{
	fs_error_state first;
	fs_error_state_capture(&first);
	fs_buf notes = FS_BUF_INIT;
	int failed = run_range(u, mark, &notes);
	fs_error_state_restore(&first);
	/* What could not be removed carries the run's mark (the image's
	 * fastsnap_owner/fastsnap_state, the snapshot's and the clone's owner
	 * in their name and metadata): gc finds and removes it. */
	if (notes.len)
		fs_err_append("%s; what is left is marked as this run's: fastsnap gc removes it",
			fs_buf_cstr(&notes) + 2);
	fs_buf_free(&notes);
	return failed;
}

int fs_undo_run(fs_undo *u)
{
	return fs_undo_run_from(u, 0);
}

int fs_undo_take(fs_undo *dst, fs_undo *src)
{
	size_t need = dst->n + src->n;
	if (need > dst->cap) {
		fs_undo_entry *v = realloc(dst->v, need * sizeof(*v));
		if (!v)
			return fs_err(FASTSNAP_ENOMEM, "out of memory");
		dst->v = v;
		dst->cap = need;
	}
	int base = (int)dst->n;
	if (src->n)
		memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n = need;
	src->n = 0;
	return base;
}

void fs_undo_free(fs_undo *u)
{
	for (size_t i = 0; i < u->n; i++) {
		if (u->v[i].free_arg)
			u->v[i].free_arg(u->v[i].arg);
		free(u->v[i].what);
	}
	free(u->v);
	fs_strv_free(&u->undone);
	u->v = NULL;
	u->n = u->cap = 0;
}
