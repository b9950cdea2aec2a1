// fuzz_obj: an OBJ mesh (and optionally its .mtl materials) loaded as the
// render stage loads `source = "meshes"`: the file is written into a
// PATH/category/identity/ folder, the catalogue is built (make_catalog), the
// identity's mesh is loaded (identity_mesh: tinyobjloader, our face/index
// checks, normals, material colours, normalise_to_unit_sphere) and drawn
// (render_sprite, small). Contract: a malformed, empty or degenerate mesh
// throws wmgeom::InputError naming the file; anything that loads renders.
//
// Input: OBJ ["\n#%mtl%\n" MTL]; the OBJ gets "mtllib model.mtl" prepended
// when an MTL part is present.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "fuzz_util.h"
#include "render/mesh.h"
#include "render/rasterizer.h"
#include "render/settings.h"
#include "render/sources.h"
#include "render_catalog.h"

using namespace wmgeom;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::fs::path scratch = fuzz::scratch_dir("obj");
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto [obj, mtl] = fuzz::split_once(input, "\n#%mtl%\n");
  const bool with_mtl = input.find("\n#%mtl%\n") != std::string_view::npos;

  const auto root = fuzz::fresh_dir(scratch, "meshes");
  const auto ident = root / "chair" / "id0";
  fuzz::fs::create_directories(ident);
  fuzz::write_file(ident / "model.obj",
                   with_mtl ? "mtllib model.mtl\n" + std::string(obj) : std::string(obj));
  if (with_mtl) fuzz::write_file(ident / "model.mtl", mtl);

  render::Settings s;
  std::string problems;
  const render::Catalog cat =
      fuzz::one_identity_catalog(s, render::Source::kMeshes, root, problems);
  WMGEOM_FUZZ_CHECK(problems.empty());
  WMGEOM_FUZZ_CHECK(cat.categories.size() == 1 && cat.categories[0].identities.size() == 1);

  render::Mesh mesh;
  try {
    mesh = render::identity_mesh(s, cat.categories[0], cat.categories[0].identities[0]);
  } catch (const InputError& e) {
    WMGEOM_FUZZ_CHECK(std::string_view(e.what()).find("model.obj") != std::string_view::npos);
    return 0;
  }
  WMGEOM_FUZZ_CHECK(!mesh.empty());
  WMGEOM_FUZZ_CHECK(mesh.positions.size() == mesh.normals.size() &&
                    mesh.positions.size() == mesh.colors.size());
  for (const auto& p : mesh.positions) WMGEOM_FUZZ_CHECK(p.allFinite() && p.norm() <= 1.0001f);
  const render::Camera camera{35.0, 20.0, 30.0};
  const render::Sprite sprite = render::render_sprite(mesh, camera, render::Lighting{}, 24, 2);
  WMGEOM_FUZZ_CHECK(sprite.rgb.rows == 24 && sprite.rgb.cols == 24);
  return 0;
}
