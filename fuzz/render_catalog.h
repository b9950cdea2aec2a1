// The render stage's catalogue of a folder source holding one category with
// one identity, as fuzz_obj and fuzz_image build it; every problem
// make_catalog reports is appended to `problems` ("key: message\n").
#pragma once

#include <filesystem>
#include <string>

#include "render/settings.h"

namespace wmgeom::fuzz {

// `s` is set to the settings used (the defaults but for the source).
inline render::Catalog one_identity_catalog(render::Settings& s, render::Source source,
                                            const std::filesystem::path& root,
                                            std::string& problems) {
  s = render::Settings{};
  s.source = source;
  s.path = root;
  s.categories = 1;
  s.identities_per_category = 1;
  return render::make_catalog(s, [&](const std::string& key, const std::string& msg) {
    problems += key + ": " + msg + "\n";
  });
}

}  // namespace wmgeom::fuzz
