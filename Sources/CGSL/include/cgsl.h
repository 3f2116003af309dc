// CGSL: the GNU Scientific Library as livemig uses it.
//
// Why a shim and not a bare module map: GSL exposes its generator types as mutable C globals
// (`gsl_rng_mt19937`), which Swift 6's strict concurrency rejects, and its default error
// handler aborts the process, which a simulator that reports bad inputs must not do. Each
// wrapper below is prefixed `livemig_gsl_` and says why it exists.
#ifndef LIVEMIG_CGSL_H
#define LIVEMIG_CGSL_H

#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_min.h>
#include <stddef.h>
#include <stdint.h>

/// Turns GSL's abort-on-error handler off once, so errors come back as return codes.
void livemig_gsl_disable_abort_handler(void);

/// A Mersenne Twister (MT19937) generator seeded with `seed` (MT19937 takes 32 bits: the
/// 64-bit seed is folded so that both halves matter). NULL when out of memory.
gsl_rng *livemig_gsl_rng_new_mt19937(uint64_t seed);

/// The name of the generator type, for reports ("mt19937").
const char *livemig_gsl_rng_name(const gsl_rng *rng);

#endif
