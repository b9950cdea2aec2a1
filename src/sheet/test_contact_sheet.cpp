// sheet::compose on a planted set: every image is one flat colour that
// encodes its (identity, view, location), so each tile's colour says which
// image the sheet put there; rows follow category order, views and
// locations are spread, a view missing at location 0 is taken from the next
// location, and held-out identities and views are found.
#include <gtest/gtest.h>

#include <tuple>

#include "core/error.h"
#include "sheet/contact_sheet.h"

namespace wmgeom::sheet {
namespace {

constexpr int kIds = 3, kViews = 4, kLocs = 2, kSize = 8;

// BGR colour of image (identity, view, location); the set stores RGB.
cv::Vec3b colour(int id, int v, int l) {
  return {static_cast<std::uint8_t>(40 * l + 5), static_cast<std::uint8_t>(50 * v + 5),
          static_cast<std::uint8_t>(70 * id + 5)};
}

// Identities 0 and 2 are category 1, identity 1 category 0; view 3 and all
// of identity 2 are validation; (identity 0, view 3, location 0) is absent.
StimulusSet planted() {
  std::vector<std::tuple<int, int, int>> images;
  for (int id = 0; id < kIds; ++id)
    for (int v = 0; v < kViews; ++v)
      for (int l = 0; l < kLocs; ++l)
        if (!(id == 0 && v == 3 && l == 0)) images.emplace_back(id, v, l);
  StimulusSet s;
  const auto n = static_cast<std::int64_t>(images.size());
  s.images = Array::zeros<std::uint8_t>({n, 3, kSize, kSize});
  std::vector<std::int32_t> ident, view, loc, split, cat;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto [id, v, l] = images[static_cast<std::size_t>(i)];
    const cv::Vec3b c = colour(id, v, l);
    for (int ch = 0; ch < 3; ++ch) {  // RGB planes: R = c[2], G = c[1], B = c[0]
      std::fill_n(s.images.data<std::uint8_t>() + (i * 3 + ch) * kSize * kSize, kSize * kSize,
                  c[2 - ch]);
    }
    ident.push_back(id);
    view.push_back(v);
    loc.push_back(l);
    cat.push_back(id == 1 ? 0 : 1);
    split.push_back(v == 3 || id == 2 ? kSplitValidation : kSplitTrain);
  }
  s.identity = Array::from_vector(ident);
  s.view = Array::from_vector(view);
  s.location = Array::from_vector(loc);
  s.category = Array::from_vector(cat);
  s.split = Array::from_vector(split);
  s.identity_names = {"a", "b", "c"};
  s.identity_category = {1, 0, 1};
  s.category_names = {"car", "mug"};
  s.n_views = kViews;
  s.n_locations = kLocs;
  return s;
}

cv::Vec3b tile_colour(const Sheet& sh, int x, int y, int thumb) {
  return sh.image.at<cv::Vec3b>(y + thumb / 2, x + thumb / 2);
}

TEST(ContactSheet, EachTileIsTheImageItsRowAndColumnName) {
  const StimulusSet set = planted();
  const Options o{.thumb = 10,
                  .gap = 2,
                  .group_gap = 5,
                  .max_identities = 16,
                  .max_views = 2,
                  .max_locations = 6};
  const Sheet sh = compose(set, o);
  EXPECT_EQ(sh.identities, (std::vector<int>{1, 0, 2}));  // category 0 first, then index order
  EXPECT_EQ(sh.views, (std::vector<int>{0, 3}));          // 2 of 4 views, spread: first and last
  EXPECT_EQ(sh.locations, (std::vector<int>{0, 1}));
  EXPECT_EQ(sh.identity_held, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(sh.view_held, (std::vector<bool>{false, true}));
  EXPECT_EQ(sh.distinct_views, kViews);
  EXPECT_EQ(sh.distinct_locations, kLocs);
  EXPECT_EQ(sh.step, 12);
  EXPECT_EQ(sh.locations_x, 2 * 12 + 5);
  EXPECT_EQ(sh.image.cols, sh.locations_x + 2 * 12);
  EXPECT_EQ(sh.image.rows, 3 * 12);
  ASSERT_EQ(sh.tiles.size(), 12u);
  for (std::size_t r = 0; r < sh.identities.size(); ++r) {
    const int id = sh.identities[r], y = static_cast<int>(r) * sh.step;
    for (std::size_t j = 0; j < sh.views.size(); ++j) {
      // Identity 0's view 3 is absent at location 0: taken from location 1.
      const int l = id == 0 && sh.views[j] == 3 ? 1 : 0;
      EXPECT_EQ(tile_colour(sh, static_cast<int>(j) * sh.step, y, o.thumb),
                colour(id, sh.views[j], l))
          << id << " " << j;
    }
    for (std::size_t j = 0; j < sh.locations.size(); ++j) {
      EXPECT_EQ(tile_colour(sh, sh.locations_x + static_cast<int>(j) * sh.step, y, o.thumb),
                colour(id, 0, sh.locations[j]));
    }
  }
  int validation = 0;
  for (const auto& t : sh.tiles) {
    validation += t.validation;
    const auto k = static_cast<std::size_t>(t.image);
    EXPECT_EQ(t.validation, set.split.values<std::int32_t>()[k] == kSplitValidation);
    EXPECT_EQ(tile_colour(sh, t.x, t.y, o.thumb),
              colour(set.identity.values<std::int32_t>()[k], set.view.values<std::int32_t>()[k],
                     set.location.values<std::int32_t>()[k]));
  }
  EXPECT_EQ(validation, 2 + 4);  // view 3 of identities 1 and 0; all four tiles of identity 2
}

TEST(ContactSheet, CapsRowsAndTakesCellCrops) {
  StimulusSet set = planted();
  // Location cells: the crop of a view tile is its location's cell; paint
  // location 0's cell (top-left 4 x 4) of every image white to see it.
  set.info = {{"cells", {{0, 0}, {4, 4}}}, {"cell_size", 4}};
  for (std::int64_t i = 0; i < set.size(); ++i)
    for (int ch = 0; ch < 3; ++ch)
      for (int y = 0; y < 4; ++y)
        std::fill_n(set.images.data<std::uint8_t>() + ((i * 3 + ch) * kSize + y) * kSize, 4, 255);
  const Sheet sh = compose(set, {.thumb = 10,
                                 .gap = 2,
                                 .group_gap = 5,
                                 .max_identities = 2,
                                 .max_views = 6,
                                 .max_locations = 1});
  EXPECT_EQ(sh.identities, (std::vector<int>{1, 0}));
  EXPECT_EQ(sh.views, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(sh.locations, (std::vector<int>{0}));
  // Identity 1, view 0 at location 0: the crop is the white cell, the whole image is not.
  EXPECT_EQ(tile_colour(sh, 0, 0, 10), cv::Vec3b(255, 255, 255));
  // The whole image: its bottom-right corner is outside the white cell.
  EXPECT_EQ(sh.image.at<cv::Vec3b>(9, sh.locations_x + 9), colour(1, 0, 0));
  // Identity 0's view 3 comes from location 1: its cell (bottom-right) is not painted.
  EXPECT_EQ(tile_colour(sh, 3 * sh.step, sh.step, 10), colour(0, 3, 1));
}

TEST(ContactSheet, SpreadAndBadInput) {
  EXPECT_EQ(spread(12, 4), (std::vector<int>{0, 3, 7, 11}));
  EXPECT_EQ(spread(3, 6), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(spread(5, 1), (std::vector<int>{0}));
  StimulusSet set = planted();
  set.identity_names.pop_back();
  EXPECT_THROW(compose(set, {}), Error);
  const Sheet empty = compose(StimulusSet{}, {});
  EXPECT_TRUE(empty.tiles.empty());
  EXPECT_EQ(empty.image.rows, 1);
}

}  // namespace
}  // namespace wmgeom::sheet
