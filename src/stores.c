/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stores.c: the public store list: Glance's stores as discovered by the
 * Glance client (stores, and stores/detail when readable).
 */
#include <stdlib.h>

#include "clients/glance.h"
#include "engine.h"

struct fastsnap_store_list {
	fs_store_set set;
	fastsnap_store *pub;
};

int fastsnap_stores_list(fastsnap_store_list **out, fastsnap_engine *e)
{
	fastsnap_error_clear();
	if (!out || !e)
		return fs_err(FASTSNAP_EINVAL, "fastsnap_stores_list: NULL argument");
	*out = NULL;
	fs_glance *g = NULL;
	int r = fs_glance_new(&g, &e->s, &e->log);
	if (r < 0)
		goto done;
	fastsnap_store_list *l = calloc(1, sizeof(*l));
	if (!l) {
		r = fs_err(FASTSNAP_ENOMEM, "out of memory");
		goto done;
	}
	r = fs_glance_stores(g, &l->set);
	if (r == 0 && l->set.n && !(l->pub = calloc(l->set.n, sizeof(*l->pub))))
		r = fs_err(FASTSNAP_ENOMEM, "out of memory");
	if (r < 0) {
		fastsnap_store_list_free(l);
		goto done;
	}
	for (size_t i = 0; i < l->set.n; i++) {
		const fs_store_info *si = &l->set.v[i];
		l->pub[i] = (fastsnap_store){ si->id, si->description, si->is_default, si->read_only,
			si->type, si->pool, si->fsid };
	}
	*out = l;
done:
	fs_glance_free(g);
	fs_engine_note_error(e, r);
	return r;
}

size_t fastsnap_store_list_count(const fastsnap_store_list *l) { return l ? l->set.n : 0; }

const fastsnap_store *fastsnap_store_list_get(const fastsnap_store_list *l, size_t i)
{
	return l && i < l->set.n ? &l->pub[i] : NULL;
}

int fastsnap_store_list_has_detail(const fastsnap_store_list *l) { return l ? l->set.has_detail : 0; }

void fastsnap_store_list_free(fastsnap_store_list *l)
{
	if (!l)
		return;
	fs_store_set_free(&l->set);
	free(l->pub);
	free(l);
}
