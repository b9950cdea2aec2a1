// Procedural object categories. Each grammar composes an object from parts
// (boxes, frusta, ellipsoids, tori, prisms); an identity is one seeded draw of
// the grammar's proportions, optional parts and colours, so identities of a
// category share a recognisable structure and differ in detail.
//
// Changing a grammar changes every image it makes: bump the schema version.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "render/mesh.h"

namespace wmgeom::render {

enum class ColorMode {
  kIdentity,  // every identity draws its own colours
  kCategory,  // one colour scheme per category: identities differ in shape only
  kGrey,      // uniform grey: shape is the only cue
};

// Grammar names in their default order ("chair", "car", "airplane", ...);
// `categories = K` uses the first K.
const std::vector<std::string>& grammar_names();
bool has_grammar(std::string_view name);

// Builds one identity of `category`, normalised to the unit sphere. Shape
// draws come only from shape_seed and colour draws only from color_seed, so
// the colour mode never changes an identity's shape.
Mesh build_object(std::string_view category, std::uint64_t shape_seed, std::uint64_t color_seed,
                  ColorMode mode);

}  // namespace wmgeom::render
