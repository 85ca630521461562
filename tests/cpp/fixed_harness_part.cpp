// One slice of the cross-check cases; compiled once per part with
// -DEDGEMOE_CASES="\"cases_<k>.inc\"" so the slices build in parallel.
#include "fixed_harness.hpp"

#include EDGEMOE_CASES
