/*
 * simlab_rng: the deterministic pseudo-random numbers of ql-simlab.  One
 * 64-bit state advanced by splitmix64 (Steele, Lea and Flood), which is
 * enough for synthetic data and has no platform-dependent parts, so the same
 * seed gives the same bytes everywhere.  simlab_rng_derive() makes an
 * independent stream from a seed and a few keys, so that e.g. enterprise
 * number 17 is the same enterprise whenever it is drawn, without being kept
 * in memory.
 */
#ifndef SIMLAB_RNG_H
#define SIMLAB_RNG_H

#include <stdint.h>

typedef struct {
        uint64_t state;
} simlab_rng_t;

void simlab_rng_seed(simlab_rng_t *r, uint64_t seed);

/* A stream keyed by (seed, a, b): the same keys give the same stream. */
void simlab_rng_derive(simlab_rng_t *r, uint64_t seed, uint64_t a, uint64_t b);

uint64_t simlab_rng_next(simlab_rng_t *r);

/* Uniform in [0, n); n > 0. */
uint32_t simlab_rng_below(simlab_rng_t *r, uint32_t n);

/* Uniform in [lo, hi] (lo <= hi). */
int64_t simlab_rng_range(simlab_rng_t *r, int64_t lo, int64_t hi);

/* Uniform in [0, 1). */
double simlab_rng_unit(simlab_rng_t *r);

/* 1 with probability p. */
int simlab_rng_chance(simlab_rng_t *r, double p);

/* An index into weights[0..n-1], drawn in proportion to the weights. */
unsigned simlab_rng_weighted(simlab_rng_t *r, const unsigned *weights,
                             unsigned n);

#endif
