/*
 * spool_grow: room made in a growable array, capacity doubled from 64 elements,
 * with the byte count checked against overflow before realloc sees it.
 */
#include "spool_grow.h"

#include <stdint.h>
#include <stdlib.h>

int spool_grow(void *p, size_t *cap, size_t need, size_t size)
{
        if (need <= *cap)
                return 0;
        if (size == 0)
                return -1;
        size_t max = SIZE_MAX / size; /* elements whose bytes fit */
        if (need > max)
                return -1;
        size_t c = *cap ? *cap : 64;
        while (c < need)
                c = c > max / 2 ? need : c * 2;
        if (c > max) /* 64 elements of a huge size */
                c = max;
        void *v = realloc(*(void **)p, c * size);
        if (!v)
                return -1;
        *(void **)p = v;
        *cap = c;
        return 0;
}
