// The `render` stage: makes the StimulusSet (images + attributes) from
// procedural shape grammars, a folder of OBJ meshes or a folder of
// pre-rendered images. Parameters: stages/render/schema.toml; README.md beside
// this file.
//
// Determinism: every image is a function of (parameters, seed, file
// contents) only: identities, views and sprites are seeded by name and index
// and per-image randomness (jitter, backgrounds) by image index, so thread
// count and scheduling never change a byte.
#pragma once

#include <filesystem>
#include <string>

#include "core/stage.h"
#include "render/settings.h"

namespace wmgeom {

class RenderStage final : public StageWith<render::Settings> {
 public:
  std::string type() const override { return "render"; }
  // Missing/empty folders, missing categories, non-image files, locations
  // that do not fit, hold-outs out of range.
  void check(const render::Settings& s, ParamIssues& issues) const override;
  // N = identities x views x locations images of 3 x S x S bytes, plus five
  // int32 attributes each; working memory: the RGBA sprites (identity x view)
  // at supersampled size for one at a time per thread, kept at sprite size.
  // dims: stimuli, image_size, categories, identities, locations,
  // validation_stimuli (images of a held-out view or identity: split 1).
  SizeEstimate estimate_of(const render::Settings& s, const EstimateInputs& inputs) const override;
  // OpenCV's version: its resizing and decoding shape the bytes.
  std::string key_extras_of(const render::Settings& s) const override;
  // Throws wmgeom::InputError for a malformed or degenerate mesh or an
  // unreadable image (naming the file).
  Artifact compute(const render::Settings& s, const StageInputs& inputs,
                   RunContext& ctx) const override;
  // Writes contact_sheet.png: one row per identity, its views and locations.
  void export_extras(const Artifact& artifact, const std::filesystem::path& dir) const override;
};

}  // namespace wmgeom
