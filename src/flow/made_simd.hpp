#pragma once
/// Element functions shared by the flow's CPU kernels (made_kernels.cpp, made_backprop.cpp):
/// a fast tanh (scalar, AVX2, AVX-512) and nflows' affine scale. Internal header.

// GCC 12 reports its own _mm512_min_ps / _mm512_max_ps (an _mm512_undefined_ps() operand)
// as "used uninitialized" once inlined; the warning is located in the header, so it must be
// off before the include (and stays off in the including translation unit).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>

namespace sedpost::flow::kern {

constexpr float kScaleEps = 1e-3f;  // nflows MaskedAffineAutoregressiveTransform._epsilon

// ------------------------------------------------------------------ fast tanh
// Eigen's generic_fast_tanh_float (13/6 rational, max error a few ulp): 2-3x cheaper than a
// libm tanh. Coefficients shared by the scalar and the SIMD versions.
constexpr float kTanhClamp = 7.90531110763549805f, kTanhTiny = 0.0004f;
constexpr float kTanhP[7] = {-2.76076847742355e-16f, 2.00018790482477e-13f, -8.60467152213735e-11f,
                             5.12229709037114e-08f,  1.48572235717979e-05f, 6.37261928875436e-04f,
                             4.89352455891786e-03f};
constexpr float kTanhQ[4] = {1.19825839466702e-06f, 1.18534705686654e-04f, 2.26843463243900e-03f,
                             4.89352518554385e-03f};

inline float tanh_scalar(float a) {
  const float x = std::min(std::max(a, -kTanhClamp), kTanhClamp), x2 = x * x;
  float p = kTanhP[0];
  for (int c = 1; c < 7; ++c) p = p * x2 + kTanhP[c];
  float q = kTanhQ[0];
  for (int c = 1; c < 4; ++c) q = q * x2 + kTanhQ[c];
  return std::abs(a) < kTanhTiny ? a : x * p / q;
}

/// softplus(a) + eps as torch.nn.functional.softplus (threshold 20).
inline float affine_scale(float a) { return (a > 20.0f ? a : std::log1p(std::exp(a))) + kScaleEps; }

__attribute__((target("avx2,fma"))) inline __m256 tanh8(__m256 a) {
  const __m256 x = _mm256_min_ps(_mm256_max_ps(a, _mm256_set1_ps(-kTanhClamp)), _mm256_set1_ps(kTanhClamp));
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(kTanhP[0]);
  for (int c = 1; c < 7; ++c) p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(kTanhP[c]));
  __m256 q = _mm256_set1_ps(kTanhQ[0]);
  for (int c = 1; c < 4; ++c) q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(kTanhQ[c]));
  const __m256 t = _mm256_div_ps(_mm256_mul_ps(x, p), q);
  const __m256 abs_a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a);
  return _mm256_blendv_ps(t, a, _mm256_cmp_ps(abs_a, _mm256_set1_ps(kTanhTiny), _CMP_LT_OQ));
}

__attribute__((target("avx512f"))) inline __m512 tanh16(__m512 a) {
  const __m512 x = _mm512_min_ps(_mm512_max_ps(a, _mm512_set1_ps(-kTanhClamp)), _mm512_set1_ps(kTanhClamp));
  const __m512 x2 = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(kTanhP[0]);
  for (int c = 1; c < 7; ++c) p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(kTanhP[c]));
  __m512 q = _mm512_set1_ps(kTanhQ[0]);
  for (int c = 1; c < 4; ++c) q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(kTanhQ[c]));
  const __m512 t = _mm512_div_ps(_mm512_mul_ps(x, p), q);
  const __m512 abs_a = _mm512_abs_ps(a);
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(abs_a, _mm512_set1_ps(kTanhTiny), _CMP_LT_OQ), t, a);
}

}  // namespace sedpost::flow::kern
