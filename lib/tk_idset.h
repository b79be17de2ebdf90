/*
 * tk_idset.h: a set of device ids read from text (tk-listen --devices).
 * Pure data: no I/O.
 */
#ifndef TK_IDSET_H
#define TK_IDSET_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The devices allowed (tk-listen --devices): one id per line; blank lines
 * and comments (from '#' to the end of the line) are ignored, spaces and
 * tabs around an id too.  An id is 1 to TK_ID_MAX - 1 characters of
 * [A-Za-z0-9_-].  NULL with "line N: ..." in err on a bad line, or when
 * out of memory.  Lookups are a binary search.
 */
struct tk_idset;
struct tk_idset	*tk_idset_parse(const char *text, size_t n, char *err, size_t errlen);
bool		 tk_idset_has(const struct tk_idset *, const char *id);
size_t		 tk_idset_count(const struct tk_idset *);
void		 tk_idset_free(struct tk_idset *);

#endif
