/*
 * spool_grow: the growable arrays of the streaming readers (spool_csvread,
 * spool_jsonlread) made room in one way: capacity at least 64 elements, then
 * doubled until the request fits, so that appending one element at a time
 * costs amortised constant time.  The size arithmetic is checked: a request
 * whose byte count does not fit in size_t fails instead of wrapping round to
 * a small allocation.
 */
#ifndef SPOOL_GROW_H
#define SPOOL_GROW_H

#include <stddef.h>

/* Make the array *p (a T **, holding *cap elements of size bytes each)
 * hold at least need elements.  Nothing happens when need <= *cap.
 * Returns 0, or -1 when memory ran out, size is 0 or need * size bytes do
 * not fit in size_t; on -1, *p and *cap are unchanged (the caller still
 * owns and frees *p). */
int spool_grow(void *p, size_t *cap /* IN/OUT */, size_t need, size_t size);

#endif
