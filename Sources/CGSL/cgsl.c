#include "cgsl.h"

void livemig_gsl_disable_abort_handler(void) {
    gsl_set_error_handler_off();
}

gsl_rng *livemig_gsl_rng_new_mt19937(uint64_t seed) {
    livemig_gsl_disable_abort_handler();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (rng == NULL) {
        return NULL;
    }
    unsigned long folded = (unsigned long)((seed ^ (seed >> 32)) & 0xffffffffUL);
    gsl_rng_set(rng, folded);
    return rng;
}

const char *livemig_gsl_rng_name(const gsl_rng *rng) {
    return gsl_rng_name(rng);
}
