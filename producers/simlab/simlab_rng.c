/*
 * simlab_rng: splitmix64 and the few distributions ql-simlab draws from.
 * Integer draws avoid modulo bias by rejection; doubles use the top 53 bits.
 */
#include "simlab_rng.h"

static uint64_t mix(uint64_t z)
{
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
}

void simlab_rng_seed(simlab_rng_t *r, uint64_t seed)
{
        r->state = seed;
}

void simlab_rng_derive(simlab_rng_t *r, uint64_t seed, uint64_t a, uint64_t b)
{
        r->state = mix(mix(seed ^ 0x5851F42D4C957F2DULL) + mix(a + 1) * 3 +
                       mix(b + 0x9E3779B97F4A7C15ULL));
}

uint64_t simlab_rng_next(simlab_rng_t *r)
{
        r->state += 0x9E3779B97F4A7C15ULL;
        return mix(r->state);
}

uint32_t simlab_rng_below(simlab_rng_t *r, uint32_t n)
{
        uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t x;
        do
                x = simlab_rng_next(r);
        while (x >= limit);
        return (uint32_t)(x % n);
}

int64_t simlab_rng_range(simlab_rng_t *r, int64_t lo, int64_t hi)
{
        uint64_t span = (uint64_t)(hi - lo) + 1;
        if (span == 0) /* the whole 64-bit range */
                return (int64_t)simlab_rng_next(r);
        uint64_t limit = UINT64_MAX - UINT64_MAX % span;
        uint64_t x;
        do
                x = simlab_rng_next(r);
        while (x >= limit);
        return lo + (int64_t)(x % span);
}

double simlab_rng_unit(simlab_rng_t *r)
{
        return (double)(simlab_rng_next(r) >> 11) * 0x1.0p-53;
}

int simlab_rng_chance(simlab_rng_t *r, double p)
{
        return simlab_rng_unit(r) < p;
}

unsigned simlab_rng_weighted(simlab_rng_t *r, const unsigned *weights,
                             unsigned n)
{
        uint32_t total = 0;
        for (unsigned i = 0; i < n; i++)
                total += weights[i];
        uint32_t x = simlab_rng_below(r, total);
        for (unsigned i = 0; i < n; i++) {
                if (x < weights[i])
                        return i;
                x -= weights[i];
        }
        return n - 1;
}
