/* tk_conntab.c: decoding sessions by connection (see tk_conntab.h). */
#include <stdlib.h>
#include <string.h>

#include "tk_conntab.h"
#include "tk_word_int.h"

#define FIRST_SLOTS	1024u

void
tk_conntab_init(struct tk_conntab *t, size_t max, const char *photo_dir)
{
	size_t m = 512;

	memset(t, 0, sizeof(*t));
	while (m < max && m < SIZE_MAX / 4)
		m *= 2;
	t->max = m;
	t->photo_dir = photo_dir;
}

void
tk_conntab_clear(struct tk_conntab *t)
{
	for (size_t k = 0; k < t->ntab; k++)
		if (t->tab[k].p != NULL) {
			tk_session_free(&t->tab[k].p->s);
			free(t->tab[k].p);
			t->tab[k].p = NULL;
		}
	t->live = 0;
}

void
tk_conntab_free(struct tk_conntab *t)
{
	tk_conntab_clear(t);
	free(t->tab);
	t->tab = NULL;
	t->ntab = 0;
}

uint64_t
tk_conntab_hash(const struct tk_fline *l)
{
	/* the NUL-padded peer field a word at a time, up to the word that
	 * holds its NUL (the rest is zeros): no strlen, a short chain */
	uint64_t h = (l->conn * 0x9e3779b97f4a7c15ull) ^ (uint8_t)l->transport[0];
	for (size_t i = 0; i < sizeof(l->peer); i += 8) {
		uint64_t w = tk_word(l->peer + i);
		h = (h ^ w) * 1099511628211ull;
		if (tk_word_eq(w, 0))
			break;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static bool
key_eq(const struct tk_conn *s, const struct tk_fline *l)
{
	return s->conn == l->conn && memcmp(s->transport, l->transport, 4) == 0 &&
	    memcmp(s->peer, l->peer, sizeof(s->peer)) == 0;
}

/* The slot of l's connection, or of the empty slot where it would go. */
static size_t
probe(const struct tk_conntab *t, const struct tk_fline *l, uint64_t h)
{
	size_t mask = t->ntab - 1, i = h & mask;

	while (t->tab[i].p != NULL &&
	    (t->tab[i].h != h || !key_eq(t->tab[i].p, l)))
		i = (i + 1) & mask;
	return i;
}

struct tk_conn *
tk_conntab_find(const struct tk_conntab *t, const struct tk_fline *l, uint64_t h)
{
	if (t->tab == NULL)
		return NULL;
	return t->tab[probe(t, l, h)].p;
}

/* Twice the slots (or the first ones), every entry moved.  -1: no memory. */
static int
grow(struct tk_conntab *t)
{
	size_t nn = t->ntab ? t->ntab * 2 : FIRST_SLOTS;
	struct tk_conn_slot *nt = calloc(nn, sizeof(*nt));

	if (nt == NULL)
		return -1;
	for (size_t k = 0; k < t->ntab; k++) {
		if (t->tab[k].p == NULL)
			continue;
		size_t j = t->tab[k].h & (nn - 1);
		while (nt[j].p != NULL)
			j = (j + 1) & (nn - 1);
		nt[j] = t->tab[k];
	}
	free(t->tab);
	t->tab = nt;
	t->ntab = nn;
	return 0;
}

struct tk_conn *
tk_conntab_get(struct tk_conntab *t, const struct tk_fline *l, uint64_t h, bool *reset)
{
	size_t i = 0;

	*reset = false;
	if (t->tab != NULL) {
		i = probe(t, l, h);
		if (t->tab[i].p != NULL)
			return t->tab[i].p;
	}
	struct tk_conn *s = malloc(sizeof(*s));
	if (s == NULL)
		return NULL;
	if (t->live >= t->max) {
		/* bounded memory: forget every connection, start over */
		tk_conntab_clear(t);
		*reset = true;
		i = probe(t, l, h);
	} else if ((t->live + 1) * 2 > t->ntab) {
		if (grow(t) != 0) {
			free(s);
			return NULL;
		}
		i = probe(t, l, h);	/* the slots moved */
	}
	s->conn = l->conn;
	memcpy(s->transport, l->transport, sizeof(s->transport));
	memcpy(s->peer, l->peer, sizeof(s->peer));
	tk_session_init(&s->s, TK_D_UNKNOWN);
	s->s.photo_dir = t->photo_dir;
	t->tab[i].h = h;
	t->tab[i].p = s;
	t->live++;
	return s;
}

bool
tk_conntab_drop(struct tk_conntab *t, const struct tk_fline *l, uint64_t h)
{
	if (t->tab == NULL)
		return false;
	size_t mask = t->ntab - 1, i = probe(t, l, h);
	if (t->tab[i].p == NULL)
		return false;
	tk_session_free(&t->tab[i].p->s);
	free(t->tab[i].p);
	t->tab[i].p = NULL;
	t->live--;
	/* backward-shift deletion keeps linear probing intact */
	for (size_t j = (i + 1) & mask; t->tab[j].p != NULL; j = (j + 1) & mask) {
		size_t home = t->tab[j].h & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->tab[i] = t->tab[j];
			t->tab[j].p = NULL;
			i = j;
		}
	}
	return true;
}
