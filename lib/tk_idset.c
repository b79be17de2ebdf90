/* tk_idset.c: a sorted set of device ids (tk-listen --devices). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk_ctl.h"
#include "tk_idset.h"
#include "tk_record.h"

struct tk_idset {
	char	(*ids)[TK_ID_MAX];	/* sorted, unique */
	size_t	 n;
};

static int
idcmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

struct tk_idset *
tk_idset_parse(const char *text, size_t n, char *err, size_t errlen)
{
	struct tk_idset *set = calloc(1, sizeof(*set));
	size_t cap = 0, line = 0;

	if (set == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n;) {
		size_t e = i;
		while (e < n && text[e] != '\n')
			e++;
		line++;
		size_t a = i, b = e;
		for (size_t k = a; k < b; k++)
			if (text[k] == '#') {
				b = k;
				break;
			}
		while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
			a++;
		while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' ||
		    text[b - 1] == '\r'))
			b--;
		i = e + 1;
		if (a == b)
			continue;
		if (!tk_ctl_valid_id(text + a, b - a)) {
			snprintf(err, errlen, "line %zu: not a device id (1 to %d characters "
			    "of A-Za-z0-9_-): %.*s", line, TK_ID_MAX - 1,
			    (int)(b - a > 40 ? 40 : b - a), text + a);
			tk_idset_free(set);
			return NULL;
		}
		if (set->n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			void *np = reallocarray(set->ids, nc, sizeof(*set->ids));
			if (np == NULL) {
				snprintf(err, errlen, "out of memory");
				tk_idset_free(set);
				return NULL;
			}
			set->ids = np;
			cap = nc;
		}
		memset(set->ids[set->n], 0, TK_ID_MAX);
		memcpy(set->ids[set->n], text + a, b - a);
		set->n++;
	}
	if (set->n > 1) {
		qsort(set->ids, set->n, sizeof(*set->ids), idcmp);
		size_t k = 1;
		for (size_t j = 1; j < set->n; j++)
			if (strcmp(set->ids[j], set->ids[k - 1]) != 0)
				memcpy(set->ids[k++], set->ids[j], TK_ID_MAX);
		set->n = k;
	}
	return set;
}

bool
tk_idset_has(const struct tk_idset *set, const char *id)
{
	char key[TK_ID_MAX];
	size_t n = strlen(id);

	if (set == NULL || set->n == 0 || n >= TK_ID_MAX)
		return false;
	memset(key, 0, sizeof(key));
	memcpy(key, id, n);
	return bsearch(key, set->ids, set->n, sizeof(*set->ids), idcmp) != NULL;
}

size_t
tk_idset_count(const struct tk_idset *set)
{
	return set ? set->n : 0;
}

void
tk_idset_free(struct tk_idset *set)
{
	if (set == NULL)
		return;
	free(set->ids);
	free(set);
}
