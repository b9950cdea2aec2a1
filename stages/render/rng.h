// The render stage's randomness: the project's counter-based generators
// (core/random.h), so that every image is a function of (parameters, seed)
// only, whatever the thread count.
#pragma once

#include "core/random.h"

namespace wmgeom::render {

using random::hash_combine;
using random::hash_string;
using random::mix64;
using random::Rng;

}  // namespace wmgeom::render
