/* tk_registry.c: device registry and held-command queue for tk-listen. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tk_pool.h"
#include "tk_registry.h"
#include "tk_util.h"

#define DEV_SLAB	512	/* entries per slab: 52 KiB */

struct tk_registry {
	struct tk_dev	**tab;
	size_t		  nbuckets, n, max;
	struct tk_pool	  pool;		/* the entries */
	struct tk_dev	 *uhead, *utail;	/* unused entries, oldest first */
	uint64_t	  evicted;
};

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

struct tk_registry *
tk_reg_new(size_t max)
{
	struct tk_registry *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	/* with a cap, the table is sized for it once (chains of 2 at most
	 * on average, never rehashed); without one it doubles as it fills */
	r->nbuckets = 256;
	while (max && r->nbuckets < max / 2)
		r->nbuckets *= 2;
	r->max = max;
	tk_pool_init(&r->pool, sizeof(struct tk_dev), DEV_SLAB);
	r->tab = calloc(r->nbuckets, sizeof(*r->tab));
	if (r->tab == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

void
tk_reg_free(struct tk_registry *r)
{
	if (r == NULL)
		return;
	tk_pool_fini(&r->pool);
	free(r->tab);
	free(r);
}

struct tk_dev *
tk_reg_find(const struct tk_registry *r, const char *id)
{
	struct tk_dev *d = r->tab[hash(id) & (r->nbuckets - 1)];
	while (d != NULL && strcmp(d->id, id) != 0)
		d = d->next;
	return d;
}

static void
grow(struct tk_registry *r)
{
	size_t nb = r->nbuckets * 2;
	struct tk_dev **t = calloc(nb, sizeof(*t));
	if (t == NULL)
		return;		/* longer chains, still correct */
	for (size_t i = 0; i < r->nbuckets; i++) {
		struct tk_dev *d = r->tab[i], *nx;
		for (; d != NULL; d = nx) {
			nx = d->next;
			size_t b = hash(d->id) & (nb - 1);
			d->next = t[b];
			t[b] = d;
		}
	}
	free(r->tab);
	r->tab = t;
	r->nbuckets = nb;
}

static void
unused_push(struct tk_registry *r, struct tk_dev *d)
{
	d->unext = NULL;
	d->uprev = r->utail;
	if (r->utail)
		r->utail->unext = d;
	else
		r->uhead = d;
	r->utail = d;
}

static void
unused_unlink(struct tk_registry *r, struct tk_dev *d)
{
	if (d->uprev)
		d->uprev->unext = d->unext;
	else
		r->uhead = d->unext;
	if (d->unext)
		d->unext->uprev = d->uprev;
	else
		r->utail = d->uprev;
	d->uprev = d->unext = NULL;
}

/* Forget an unused entry. */
static void
forget(struct tk_registry *r, struct tk_dev *d)
{
	struct tk_dev **pp = &r->tab[hash(d->id) & (r->nbuckets - 1)];
	while (*pp != d)
		pp = &(*pp)->next;
	*pp = d->next;
	unused_unlink(r, d);
	r->n--;
	tk_pool_put(&r->pool, d);
}

struct tk_dev *
tk_reg_get(struct tk_registry *r, const char *id, int64_t now)
{
	size_t n = strlen(id);
	if (n == 0 || n >= TK_ID_MAX) {
		errno = EINVAL;
		return NULL;
	}
	struct tk_dev *d = tk_reg_find(r, id);
	if (d != NULL)
		return d;
	if (r->max && r->n >= r->max) {
		if (r->uhead == NULL) {
			errno = ENOSPC;
			return NULL;
		}
		forget(r, r->uhead);
		r->evicted++;
	}
	d = tk_pool_get(&r->pool);
	if (d == NULL)
		return NULL;
	memcpy(d->id, id, n + 1);
	d->unused = now;
	if (r->n >= r->nbuckets * 2)
		grow(r);
	size_t b = hash(id) & (r->nbuckets - 1);
	d->next = r->tab[b];
	r->tab[b] = d;
	r->n++;
	unused_push(r, d);
	return d;
}

void
tk_reg_ref(struct tk_registry *r, struct tk_dev *d)
{
	if (d->refs++ == 0)
		unused_unlink(r, d);
}

void
tk_reg_unref(struct tk_registry *r, struct tk_dev *d, int64_t now)
{
	if (d->refs == 0 || --d->refs > 0)
		return;
	d->unused = now;
	unused_push(r, d);
}

size_t
tk_reg_expire(struct tk_registry *r, int64_t before)
{
	size_t k = 0;
	while (r->uhead != NULL && r->uhead->unused <= before) {
		forget(r, r->uhead);
		k++;
	}
	return k;
}

size_t
tk_reg_count(const struct tk_registry *r)
{
	return r->n;
}

uint64_t
tk_reg_evicted(const struct tk_registry *r)
{
	return r->evicted;
}

size_t
tk_reg_bytes(const struct tk_registry *r)
{
	return sizeof(*r) + r->nbuckets * sizeof(*r->tab) + tk_pool_bytes(&r->pool);
}

struct tk_dev *
tk_reg_next(const struct tk_registry *r, const struct tk_dev *prev)
{
	size_t b = 0;
	if (prev != NULL) {
		if (prev->next != NULL)
			return prev->next;
		b = (hash(prev->id) & (r->nbuckets - 1)) + 1;
	}
	for (; b < r->nbuckets; b++)
		if (r->tab[b] != NULL)
			return r->tab[b];
	return NULL;
}

/* ---- held commands ------------------------------------------------ */

void
tk_cmdq_init(struct tk_cmdq *q, size_t max)
{
	memset(q, 0, sizeof(*q));
	q->max = max;
	q->next_qid = 1;
}

void
tk_cmd_free(struct tk_cmd *c)
{
	if (c != NULL) {
		free(c->data);
		free(c);
	}
}

void
tk_cmdq_free(struct tk_cmdq *q)
{
	struct tk_cmd *c = q->head, *nx;
	for (; c != NULL; c = nx) {
		nx = c->next;
		tk_cmd_free(c);
	}
	q->head = q->tail = NULL;
	q->n = 0;
}

uint64_t
tk_cmdq_add(struct tk_cmdq *q, const char *id, int64_t expires, const uint8_t *p, size_t n)
{
	uint64_t qid = tk_cmdq_put(q, q->next_qid, id, expires, p, n);
	if (qid != 0)
		q->next_qid++;
	return qid;
}

uint64_t
tk_cmdq_put(struct tk_cmdq *q, uint64_t qid, const char *id, int64_t expires,
    const uint8_t *p, size_t n)
{
	size_t il = strlen(id);
	if (q->n >= q->max) {
		errno = ENOSPC;
		return 0;
	}
	if (qid == 0 || il == 0 || il >= TK_ID_MAX || n == 0) {
		errno = EINVAL;
		return 0;
	}
	for (struct tk_cmd *c = q->head; c != NULL; c = c->next)
		if (c->qid == qid) {
			errno = EEXIST;
			return 0;
		}
	struct tk_cmd *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return 0;
	c->data = malloc(n);
	if (c->data == NULL) {
		free(c);
		return 0;
	}
	memcpy(c->data, p, n);
	c->len = n;
	memcpy(c->id, id, il + 1);
	c->expires = expires;
	c->qid = qid;
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->n++;
	return c->qid;
}

/* Unlink the element after prev (or the head when prev is NULL). */
static struct tk_cmd *
unlink_after(struct tk_cmdq *q, struct tk_cmd *prev)
{
	struct tk_cmd *c = prev ? prev->next : q->head;
	if (prev)
		prev->next = c->next;
	else
		q->head = c->next;
	if (q->tail == c)
		q->tail = prev;
	c->next = NULL;
	q->n--;
	return c;
}

int
tk_cmdq_cancel(struct tk_cmdq *q, uint64_t qid)
{
	struct tk_cmd *prev = NULL;
	for (struct tk_cmd *c = q->head; c != NULL; prev = c, c = c->next)
		if (c->qid == qid) {
			tk_cmd_free(unlink_after(q, prev));
			return 0;
		}
	return -1;
}

struct tk_cmd *
tk_cmdq_take(struct tk_cmdq *q, const char *id)
{
	struct tk_cmd *prev = NULL;
	for (struct tk_cmd *c = q->head; c != NULL; prev = c, c = c->next)
		if (strcmp(c->id, id) == 0)
			return unlink_after(q, prev);
	return NULL;
}

size_t
tk_cmdq_expire(struct tk_cmdq *q, int64_t now)
{
	size_t k = 0;
	struct tk_cmd *prev = NULL, *c = q->head;
	while (c != NULL) {
		if (c->expires <= now) {
			struct tk_cmd *nx = c->next;
			tk_cmd_free(unlink_after(q, prev));
			k++;
			c = nx;
		} else {
			prev = c;
			c = c->next;
		}
	}
	return k;
}
