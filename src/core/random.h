// Counter-based randomness shared by every stage that draws random numbers
// without LibTorch (render, the N-back sampler). Values come from hashes of
// (seed, what, index) rather than a shared generator, so a value never
// depends on which thread drew first: the same parameters give the same
// bytes at any thread count. std::*_distribution is avoided on purpose: its
// output differs between standard libraries, and results are cached.
#pragma once

#include <cstdint>
#include <string_view>

namespace wmgeom::random {

// SplitMix64 finaliser: a bijective, well-mixed 64-bit hash.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr std::uint64_t hash_combine(std::uint64_t a, std::uint64_t b) {
  return mix64(a ^ mix64(b + 0x632be59bd9b4e019ULL));
}

// FNV-1a, for mixing names (categories, purpose tags) into seeds.
constexpr std::uint64_t hash_string(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// A small sequential SplitMix64 generator for one owner. Not thread-safe.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(mix64(seed)) {}
  std::uint64_t next() { return mix64(state_ += 0x9e3779b97f4a7c15ULL); }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  float uniformf(double lo, double hi) { return static_cast<float>(uniform(lo, hi)); }
  // Uniform integer in [lo, hi], inclusive.
  int range(int lo, int hi) {
    return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1));
  }
  bool chance(double p) { return uniform() < p; }

 private:
  std::uint64_t state_;
};

}  // namespace wmgeom::random
