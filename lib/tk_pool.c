/* tk_pool.c: fixed-size objects from slabs (see tk_pool.h). */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tk_pool.h"
#include "tk_asan_int.h"

#ifdef TK_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)	((void)(p), (void)(n))
#define UNPOISON(p, n)	((void)(p), (void)(n))
#endif

struct tk_pool_slab {
	struct tk_pool_slab *next;
	alignas(max_align_t) unsigned char obj[];
};

void
tk_pool_init(struct tk_pool *p, size_t size, size_t per)
{
	/* what the objects hold: pointers, 64-bit integers, doubles */
	const size_t a = alignof(union { void *p; uint64_t u; double d; });

	memset(p, 0, sizeof(*p));
	if (size < sizeof(void *))
		size = sizeof(void *);
	p->size = (size + a - 1) / a * a;
	p->per = per ? per : 1;
}

/* The free list's link lives in the object's first bytes. */
static void *
link_of(void *o)
{
	void *nx;
	UNPOISON(o, sizeof(void *));
	memcpy(&nx, o, sizeof(nx));
	POISON(o, sizeof(void *));
	return nx;
}

static void
set_link(void *o, void *nx)
{
	UNPOISON(o, sizeof(void *));
	memcpy(o, &nx, sizeof(nx));
	POISON(o, sizeof(void *));
}

static void
push_free(struct tk_pool *p, void *o)
{
	POISON(o, p->size);
	set_link(o, NULL);
	if (p->ftail != NULL)
		set_link(p->ftail, o);
	else
		p->fhead = o;
	p->ftail = o;
}

static int
add_slab(struct tk_pool *p)
{
	if (p->per > (SIZE_MAX - sizeof(struct tk_pool_slab)) / p->size)
		return -1;
	struct tk_pool_slab *sl = malloc(sizeof(*sl) + p->per * p->size);
	if (sl == NULL)
		return -1;
	sl->next = p->slabs;
	p->slabs = sl;
	p->nslabs++;
	for (size_t i = 0; i < p->per; i++)
		push_free(p, sl->obj + i * p->size);
	return 0;
}

void *
tk_pool_get(struct tk_pool *p)
{
	if (p->fhead == NULL && add_slab(p) != 0)
		return NULL;
	void *o = p->fhead;
	p->fhead = link_of(o);
	if (p->fhead == NULL)
		p->ftail = NULL;
	UNPOISON(o, p->size);
	memset(o, 0, p->size);
	p->live++;
	return o;
}

void
tk_pool_put(struct tk_pool *p, void *o)
{
	if (o == NULL)
		return;
	p->live--;
	push_free(p, o);
}

void
tk_pool_fini(struct tk_pool *p)
{
	struct tk_pool_slab *sl, *nx;
	for (sl = p->slabs; sl != NULL; sl = nx) {
		nx = sl->next;
		UNPOISON(sl->obj, p->per * p->size);
		free(sl);
	}
	p->slabs = NULL;
	p->fhead = p->ftail = NULL;
	p->nslabs = p->live = 0;
}

size_t
tk_pool_bytes(const struct tk_pool *p)
{
	return p->nslabs * (sizeof(struct tk_pool_slab) + p->per * p->size);
}
