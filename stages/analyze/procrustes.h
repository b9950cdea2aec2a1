// The Procrustes swap test's rotation (decoding.cpp `procrustes`), exposed
// for its tests. The rule is stages/analyze/README.md's "The rotation" and
// recompute_findings.py's `Rotation` (completion "closest"): the same
// definition, the same tolerance.
#pragma once

#include <torch/torch.h>

namespace wmgeom::analyze {

// Relative tolerance of both rank decisions: a singular value counts when it
// exceeds kProcrustesRankTolerance times the largest (float64 input).
inline constexpr double kProcrustesRankTolerance = 1e-10;

// An orthogonal map with a common scale, acting on row vectors:
// apply(c) = scale * (c Q r Q^T + c (I - Q Q^T)), Q an orthonormal basis of
// span(src, tgt) and r orthogonal [m, m]: the identity outside the span.
struct Rotation {
  torch::Tensor q, r;  // float64 [H, m], [m, m]
  double scale = 1;
  torch::Tensor apply(const torch::Tensor& c) const;
  torch::Tensor matrix() const;  // [H, H], the orthogonal part (scale left out)
};

// Orthogonal Procrustes with a common scale from src onto tgt ([K, H] each):
// among the orthogonal maps minimising ||scale * src R - tgt||, the one
// closest to the identity (max trace R, i.e. min ||R - I||_F).
// The correspondences fix R only on the row space of src, where it is
// u v^T of the SVD a^T b = u s v^T (a, b: src, tgt in the span's basis),
// restricted to the singular values above tolerance. On the rest of the span
// (u_0 -> v_0, the singular vectors of the zero singular values) any
// orthogonal completion o is equally optimal; we take the o maximising
// trace(u_0 o v_0^T) = trace(o v_0^T u_0): o = z y^T with v_0^T u_0 = y s z^T.
// Outside the span the closest map is the identity. The result depends on
// the vectors alone, not on LAPACK's choice of bases (unique whenever
// v_0^T u_0 is non-singular, the generic case).
Rotation fit_rotation(const torch::Tensor& src, const torch::Tensor& tgt);

}  // namespace wmgeom::analyze
