/*
 * cleanup/undo.c: runs the undo stack in reverse on failure and keeps the
 * first error: clean-up messages are appended, never put in its place.
 */
#include <stdlib.h>
#include <string.h>

#include "undo.h"

int fs_undo_push(fs_undo *u, fs_undo_fn fn, void *ctx, const char *a, const char *b,
	const char *c, int flag, const char *what_fmt, ...)
{
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 8;
		fs_undo_entry *v = realloc(u->v, cap * sizeof(*v));
		if (!v)
			return fs_err(FASTSNAP_ENOMEM, "out of memory");
		u->v = v;
		u->cap = cap;
	}
	fs_undo_entry *e = &u->v[u->n];
	memset(e, 0, sizeof(*e));
	e->fn = fn;
	e->ctx = ctx;
	e->flag = flag;
	va_list ap;
	va_start(ap, what_fmt);
	e->what = fs_vasprintf(what_fmt, ap);
	va_end(ap);
	e->a = fs_strdup(a);
	e->b = fs_strdup(b);
	e->c = fs_strdup(c);
	if (!e->what || (a && !e->a) || (b && !e->b) || (c && !e->c)) {
		free(e->what); free(e->a); free(e->b); free(e->c);
		return fs_err(FASTSNAP_ENOMEM, "out of memory");
	}
	return (int)u->n++;
}

void fs_undo_forget(fs_undo *u, int idx)
{
	if (idx >= 0 && (size_t)idx < u->n)
		u->v[idx].done = 1;
}

void fs_undo_set_flag(fs_undo *u, int idx, int flag)
{
	if (idx >= 0 && (size_t)idx < u->n)
		u->v[idx].flag = flag;
}

int fs_undo_run(fs_undo *u)
{
	/* Save the first error: undo actions overwrite the thread-local one. */
	int code = fastsnap_error_last_code();
	char *first = fs_strdup(fastsnap_error_last());
	fs_buf notes = FS_BUF_INIT;
	int failed = 0;

	for (size_t i = u->n; i-- > 0;) {
		fs_undo_entry *e = &u->v[i];
		if (e->done)
			continue;
		e->done = 1;
		int r = e->fn(e->ctx, e->a, e->b, e->c, e->flag);
		if (r < 0) {
			failed++;
			fs_buf_printf(&notes, "; clean-up failed: %s: %s", e->what, fastsnap_error_last());
		}
	}
	fs_err(code, "%s%s", first ? first : "", fs_buf_cstr(&notes));
	free(first);
	fs_buf_free(&notes);
	return failed;
}

int fs_undo_run_from(fs_undo *u, size_t mark)
{
	int failed = 0;
	for (size_t i = u->n; i-- > mark;) {
		fs_undo_entry *e = &u->v[i];
		if (e->done)
			continue;
		e->done = 1;
		if (e->fn(e->ctx, e->a, e->b, e->c, e->flag) < 0)
			failed++;
	}
	return failed;
}

void fs_undo_free(fs_undo *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->v[i].what);
		free(u->v[i].a);
		free(u->v[i].b);
		free(u->v[i].c);
	}
	free(u->v);
	u->v = NULL;
	u->n = u->cap = 0;
}
