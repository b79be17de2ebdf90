/*
 * tk_pool.h: fixed-size objects carved from slabs, recycled in place.
 *
 * For the objects tk-listen makes and forgets by the thousand under a
 * cap (registry entries, sessions): memory is what the most objects ever
 * live at once needed, rounded up to a slab, whatever the allocator and
 * whatever the order of frees (no per-object malloc header, no
 * fragmentation, no allocator quarantine growing with churn).  Slabs are
 * only given back by tk_pool_fini(): the caller's cap is the bound.
 *
 * Free objects wait in first-in first-out order, so a freed object is
 * reused as late as possible; under AddressSanitizer they are poisoned
 * while free, so a use after free is still reported.
 */
#ifndef TK_POOL_H
#define TK_POOL_H

#include <stddef.h>

struct tk_pool_slab;

struct tk_pool {
	size_t		 size;		/* object size, rounded up to 8 */
	size_t		 per;		/* objects per slab */
	struct tk_pool_slab *slabs;
	void		*fhead, *ftail;	/* free objects, oldest first */
	size_t		 nslabs, live;
};

/* Objects of size bytes, per of them in each slab (allocated as needed). */
void	 tk_pool_init(struct tk_pool *, size_t size, size_t per);
/* A zeroed object, NULL when out of memory. */
void	*tk_pool_get(struct tk_pool *);
/* Give back an object of this pool (NULL: nothing). */
void	 tk_pool_put(struct tk_pool *, void *);
/* Free every slab (every object of the pool). */
void	 tk_pool_fini(struct tk_pool *);
/* Bytes held in slabs. */
size_t	 tk_pool_bytes(const struct tk_pool *);

#endif
