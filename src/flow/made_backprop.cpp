#include "flow/made_backprop.hpp"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#include "flow/made_simd.hpp"  // first of the SIMD headers: it sets the warning pragmas

namespace sedpost::flow::kern {

namespace {

constexpr int S = kLanes;
constexpr double kLog2Pi = 1.8378770664093453;

// ------------------------------------------------------------------ activation products
// One call computes J units of NT tiles (tile-major activations, [tile][unit][S]):
//   out[t][j][l] = act(bias[j] + init[t][j][l] + sum_{k in [k0, k1)} W[j * wu + k * wr] * in[t][k][l])
// its / ots: tile strides of in and out (init shares out's). wu = 1, wr = ld gives W^T, the
// backward pass of a layer. bias and init may be null; init may equal out.

// AVX-512: one zmm per unit and tile; NT * J accumulators + NT inputs within 32 registers.
template <int J, int NT, bool kTanh>
__attribute__((target("avx512f"))) void tiles_avx512(const float* in, std::int64_t its, std::int64_t k0,
                                                     std::int64_t k1, const float* W, std::int64_t wu,
                                                     std::int64_t wr, const float* bias, const float* init,
                                                     float* out, std::int64_t ots) {
  __m512 acc[NT][J];
#pragma GCC unroll 8
  for (int j = 0; j < J; ++j) {
    const __m512 b = bias ? _mm512_set1_ps(bias[j]) : _mm512_setzero_ps();
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) acc[t][j] = init ? _mm512_add_ps(b, _mm512_loadu_ps(init + t * ots + j * S)) : b;
  }
  for (std::int64_t k = k0; k < k1; ++k) {
    __m512 x[NT];
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) x[t] = _mm512_loadu_ps(in + t * its + k * S);
    const float* wk = W + k * wr;
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) {
      const __m512 w = _mm512_set1_ps(wk[j * wu]);
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) acc[t][j] = _mm512_fmadd_ps(w, x[t], acc[t][j]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < J; ++j)
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t)
      _mm512_storeu_ps(out + t * ots + j * S, kTanh ? tanh16(acc[t][j]) : acc[t][j]);
}

// AVX2 + FMA: the same product, each 16-lane unit of a tile as two ymm halves, so NT * J * 2
// accumulators + NT * 2 inputs + 1 weight broadcast within 16 registers.
template <int J, int NT, bool kTanh>
__attribute__((target("avx2,fma"))) void tiles_avx2(const float* in, std::int64_t its, std::int64_t k0,
                                                    std::int64_t k1, const float* W, std::int64_t wu,
                                                    std::int64_t wr, const float* bias, const float* init,
                                                    float* out, std::int64_t ots) {
  __m256 acc[NT][J][2];
#pragma GCC unroll 8
  for (int j = 0; j < J; ++j) {
    const __m256 b = bias ? _mm256_set1_ps(bias[j]) : _mm256_setzero_ps();
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t)
      for (int h = 0; h < 2; ++h)
        acc[t][j][h] = init ? _mm256_add_ps(b, _mm256_loadu_ps(init + t * ots + j * S + 8 * h)) : b;
  }
  for (std::int64_t k = k0; k < k1; ++k) {
    __m256 x[NT][2];
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t)
      for (int h = 0; h < 2; ++h) x[t][h] = _mm256_loadu_ps(in + t * its + k * S + 8 * h);
    const float* wk = W + k * wr;
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) {
      const __m256 w = _mm256_broadcast_ss(wk + j * wu);
#pragma GCC unroll 4
      for (int t = 0; t < NT; ++t)
        for (int h = 0; h < 2; ++h) acc[t][j][h] = _mm256_fmadd_ps(w, x[t][h], acc[t][j][h]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < J; ++j)
#pragma GCC unroll 4
    for (int t = 0; t < NT; ++t)
      for (int h = 0; h < 2; ++h)
        _mm256_storeu_ps(out + t * ots + j * S + 8 * h, kTanh ? tanh8(acc[t][j][h]) : acc[t][j][h]);
}

// ------------------------------------------------------------------ weight gradients
// dW[r][c] (+)= sum_{b < B} dA(b, r) X[b * ldx + c] for the R rows r0.. and columns c < K,
// with dA(b, r) = da[(b / S) * dts + r * S + b % S] (tile-major, dts = its tile stride) and
// X row-major. One pass covers NQ vectors of columns from c0; columns >= K are neither read
// nor written.

// AVX-512: NQ vectors of 16 columns, the partial ones under __mmask16 masks.
template <int R, int NQ>
__attribute__((target("avx512f"))) void wgrad_avx512(const float* da, std::int64_t dts, std::int64_t r0,
                                                     const float* X, std::int64_t ldx, std::int64_t B,
                                                     std::int64_t c0, std::int64_t K, float* dW,
                                                     std::int64_t ldw, bool accumulate) {
  __mmask16 m[NQ];
  for (int q = 0; q < NQ; ++q) {
    const std::int64_t left = K - c0 - 16 * q;
    m[q] = left >= 16 ? __mmask16(0xFFFF) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1u);
  }
  __m512 acc[R][NQ];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < NQ; ++q) acc[r][q] = _mm512_setzero_ps();
  for (std::int64_t b = 0; b < B; ++b) {
    __m512 x[NQ];
    const float* xb = X + b * ldx + c0;
#pragma GCC unroll 4
    for (int q = 0; q < NQ; ++q) x[q] = _mm512_maskz_loadu_ps(m[q], xb + 16 * q);
    const float* a = da + (b / S) * dts + r0 * S + b % S;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m512 w = _mm512_set1_ps(a[r * S]);
#pragma GCC unroll 4
      for (int q = 0; q < NQ; ++q) acc[r][q] = _mm512_fmadd_ps(w, x[q], acc[r][q]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < NQ; ++q) {
      float* dst = dW + (r0 + r) * ldw + c0 + 16 * q;
      const __m512 v = accumulate ? _mm512_add_ps(acc[r][q], _mm512_maskz_loadu_ps(m[q], dst)) : acc[r][q];
      _mm512_mask_storeu_ps(dst, m[q], v);
    }
}

// AVX2 + FMA: NQ vectors of 8 columns. Only the last vector of a pass may be partial (the
// caller makes the others full); it alone goes through _mm256_maskload_ps / maskstore_ps with
// an integer lane mask, so R * NQ accumulators + NQ inputs + mask + broadcast fit 16 registers.
template <int R, int NQ>
__attribute__((target("avx2,fma"))) void wgrad_avx2(const float* da, std::int64_t dts, std::int64_t r0,
                                                    const float* X, std::int64_t ldx, std::int64_t B,
                                                    std::int64_t c0, std::int64_t K, float* dW,
                                                    std::int64_t ldw, bool accumulate) {
  constexpr int Q = NQ - 1;  // the vector that may be partial
  const int left = static_cast<int>(std::min<std::int64_t>(8, K - c0 - 8 * Q));
  const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  __m256 acc[R][NQ];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < NQ; ++q) acc[r][q] = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < B; ++b) {
    __m256 x[NQ];
    const float* xb = X + b * ldx + c0;
#pragma GCC unroll 4
    for (int q = 0; q < Q; ++q) x[q] = _mm256_loadu_ps(xb + 8 * q);
    x[Q] = _mm256_maskload_ps(xb + 8 * Q, m);
    const float* a = da + (b / S) * dts + r0 * S + b % S;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 w = _mm256_broadcast_ss(a + r * S);
#pragma GCC unroll 4
      for (int q = 0; q < NQ; ++q) acc[r][q] = _mm256_fmadd_ps(w, x[q], acc[r][q]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* dst = dW + (r0 + r) * ldw + c0;
#pragma GCC unroll 4
    for (int q = 0; q < Q; ++q) {
      const __m256 v = accumulate ? _mm256_add_ps(acc[r][q], _mm256_loadu_ps(dst + 8 * q)) : acc[r][q];
      _mm256_storeu_ps(dst + 8 * q, v);
    }
    const __m256 v = accumulate ? _mm256_add_ps(acc[r][Q], _mm256_maskload_ps(dst + 8 * Q, m)) : acc[r][Q];
    _mm256_maskstore_ps(dst + 8 * Q, m, v);
  }
}

// ------------------------------------------------------------------ optimizer helpers
// sum_squares: sum of g[k]^2 in double. adam: AdamStep's update, written exactly as the
// scalar version with separate multiplies and adds, so every version gives the same bits; the
// SIMD versions are compiled with fp-contract=off, else GCC fuses their multiplies and adds
// into FMAs (the intrinsics are plain vector arithmetic to it).

double sum_squares_scalar(const float* g, std::int64_t n) {
  double sum = 0.0;
  for (std::int64_t k = 0; k < n; ++k) sum += static_cast<double>(g[k]) * g[k];
  return sum;
}

void adam_scalar(float* p, float* m, float* v, const float* g, std::int64_t n, const AdamStep& a) {
  for (std::int64_t k = 0; k < n; ++k) {
    const float gk = g[k] * a.clip;
    m[k] = a.b1 * m[k] + a.c1 * gk;
    v[k] = a.b2 * v[k] + a.c2 * gk * gk;
    p[k] -= a.step_size * m[k] / (std::sqrt(v[k]) * a.inv_sqrt_bc2 + a.eps);
  }
}

__attribute__((target("avx512f"))) double sum_squares_avx512(const float* g, std::int64_t n) {
  __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
  std::int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    const __m512d x0 = _mm512_cvtps_pd(_mm256_loadu_ps(g + k)), x1 = _mm512_cvtps_pd(_mm256_loadu_ps(g + k + 8));
    acc0 = _mm512_fmadd_pd(x0, x0, acc0);
    acc1 = _mm512_fmadd_pd(x1, x1, acc1);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1)) + sum_squares_scalar(g + k, n - k);
}

__attribute__((target("avx2,fma"))) double sum_squares_avx2(const float* g, std::int64_t n) {
  __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
  std::int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m256d x0 = _mm256_cvtps_pd(_mm_loadu_ps(g + k));
    const __m256d x1 = _mm256_cvtps_pd(_mm_loadu_ps(g + k + 4));
    acc0 = _mm256_fmadd_pd(x0, x0, acc0);
    acc1 = _mm256_fmadd_pd(x1, x1, acc1);
  }
  const __m256d s = _mm256_add_pd(acc0, acc1);
  const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h))) + sum_squares_scalar(g + k, n - k);
}

__attribute__((target("avx512f"), optimize("fp-contract=off"))) void adam_avx512(
    float* p, float* m, float* v, const float* g, std::int64_t n, const AdamStep& a) {
  const __m512 b1 = _mm512_set1_ps(a.b1), b2 = _mm512_set1_ps(a.b2), c1 = _mm512_set1_ps(a.c1),
               c2 = _mm512_set1_ps(a.c2), step = _mm512_set1_ps(a.step_size),
               isb = _mm512_set1_ps(a.inv_sqrt_bc2), eps = _mm512_set1_ps(a.eps), clip = _mm512_set1_ps(a.clip);
  std::int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    const __m512 gk = _mm512_mul_ps(_mm512_loadu_ps(g + k), clip);
    const __m512 mk = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(m + k)), _mm512_mul_ps(c1, gk));
    const __m512 vk = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_loadu_ps(v + k)), _mm512_mul_ps(_mm512_mul_ps(c2, gk), gk));
    const __m512 den = _mm512_add_ps(_mm512_mul_ps(_mm512_sqrt_ps(vk), isb), eps);
    _mm512_storeu_ps(m + k, mk);
    _mm512_storeu_ps(v + k, vk);
    _mm512_storeu_ps(p + k, _mm512_sub_ps(_mm512_loadu_ps(p + k), _mm512_div_ps(_mm512_mul_ps(step, mk), den)));
  }
  adam_scalar(p + k, m + k, v + k, g + k, n - k, a);
}

__attribute__((target("avx2"), optimize("fp-contract=off"))) void adam_avx2(
    float* p, float* m, float* v, const float* g, std::int64_t n, const AdamStep& a) {
  const __m256 b1 = _mm256_set1_ps(a.b1), b2 = _mm256_set1_ps(a.b2), c1 = _mm256_set1_ps(a.c1),
               c2 = _mm256_set1_ps(a.c2), step = _mm256_set1_ps(a.step_size),
               isb = _mm256_set1_ps(a.inv_sqrt_bc2), eps = _mm256_set1_ps(a.eps), clip = _mm256_set1_ps(a.clip);
  std::int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m256 gk = _mm256_mul_ps(_mm256_loadu_ps(g + k), clip);
    const __m256 mk = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + k)), _mm256_mul_ps(c1, gk));
    const __m256 vk = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + k)), _mm256_mul_ps(_mm256_mul_ps(c2, gk), gk));
    const __m256 den = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vk), isb), eps);
    _mm256_storeu_ps(m + k, mk);
    _mm256_storeu_ps(v + k, vk);
    _mm256_storeu_ps(p + k, _mm256_sub_ps(_mm256_loadu_ps(p + k), _mm256_div_ps(_mm256_mul_ps(step, mk), den)));
  }
  adam_scalar(p + k, m + k, v + k, g + k, n - k, a);
}

// ------------------------------------------------------------------ kernel sets
// The kernels of one instruction set with their register-block limits, chosen once from
// isa_name(): the activation products of NT <= max_nt tiles take up to j_for[NT - 1] units per
// call, the weight gradients up to max_r rows x max_nq vectors of `width` columns.

using TilesFn = void (*)(const float*, std::int64_t, std::int64_t, std::int64_t, const float*, std::int64_t,
                         std::int64_t, const float*, const float*, float*, std::int64_t);
using WgradFn = void (*)(const float*, std::int64_t, std::int64_t, const float*, std::int64_t, std::int64_t,
                         std::int64_t, std::int64_t, float*, std::int64_t, bool);
constexpr int kMaxNT = 4, kMaxJ = 8, kMaxR = 6, kMaxNQ = 4;  // table bounds over all sets

struct KernelSet {
  std::array<std::array<TilesFn, kMaxJ>, kMaxNT> tiles[2];  ///< [tanh][NT - 1][J - 1], null beyond j_for
  std::array<std::array<WgradFn, kMaxNQ>, kMaxR> wgrad;     ///< [R - 1][NQ - 1]
  std::array<int, kMaxNT> j_for;
  int max_nt, max_r, max_nq, width;
  double (*sum_squares)(const float*, std::int64_t);
  void (*adam)(float*, float*, float*, const float*, std::int64_t, const AdamStep&);
};

/// AVX-512, 32 zmm registers: NT * J accumulators (J = 6 for 4 tiles); 6 rows x 4 vectors.
struct Avx512 {
  static constexpr std::array<int, kMaxNT> kJFor{8, 8, 8, 6};
  static constexpr int kNT = 4, kR = 6, kNQ = 4, kWidth = 16;
  template <int J, int NT, bool kTanh>
  static constexpr TilesFn tiles = &tiles_avx512<J, NT, kTanh>;
  template <int R, int NQ>
  static constexpr WgradFn wgrad = &wgrad_avx512<R, NQ>;
  static constexpr auto sum_squares = &sum_squares_avx512;
  static constexpr auto adam = &adam_avx512;
};

/// AVX2, 16 ymm registers: 1 tile x 6 units (12 accumulators, 2 input halves, 1 broadcast);
/// 6 rows x 2 vectors of 8 columns (12 accumulators). Two tiles per call (2 x 2 or 2 x 3
/// units, inputs then read as memory operands) measured 10-30 % slower in training.
struct Avx2 {
  static constexpr std::array<int, kMaxNT> kJFor{6, 0, 0, 0};
  static constexpr int kNT = 1, kR = 6, kNQ = 2, kWidth = 8;
  template <int J, int NT, bool kTanh>
  static constexpr TilesFn tiles = &tiles_avx2<J, NT, kTanh>;
  template <int R, int NQ>
  static constexpr WgradFn wgrad = &wgrad_avx2<R, NQ>;
  static constexpr auto sum_squares = &sum_squares_avx2;
  static constexpr auto adam = &adam_avx2;
};

template <class Isa, int NT, int J, bool kTanh>
constexpr TilesFn tiles_fn() {
  if constexpr (NT <= Isa::kNT && J <= Isa::kJFor[NT - 1]) return Isa::template tiles<J, NT, kTanh>;
  return nullptr;
}
template <class Isa, bool kTanh, int NT, std::size_t... J>
std::array<TilesFn, kMaxJ> tiles_row(std::index_sequence<J...>) {
  return {tiles_fn<Isa, NT, static_cast<int>(J) + 1, kTanh>()...};
}
template <class Isa, bool kTanh>
std::array<std::array<TilesFn, kMaxJ>, kMaxNT> tiles_table() {
  const auto js = std::make_index_sequence<kMaxJ>();
  return {tiles_row<Isa, kTanh, 1>(js), tiles_row<Isa, kTanh, 2>(js), tiles_row<Isa, kTanh, 3>(js),
          tiles_row<Isa, kTanh, 4>(js)};
}

template <class Isa, int R, int NQ>
constexpr WgradFn wgrad_fn() {
  if constexpr (R <= Isa::kR && NQ <= Isa::kNQ) return Isa::template wgrad<R, NQ>;
  return nullptr;
}
template <class Isa, int R, std::size_t... Q>
std::array<WgradFn, kMaxNQ> wgrad_row(std::index_sequence<Q...>) {
  return {wgrad_fn<Isa, R, static_cast<int>(Q) + 1>()...};
}
template <class Isa, std::size_t... R>
std::array<std::array<WgradFn, kMaxNQ>, kMaxR> wgrad_table(std::index_sequence<R...>) {
  return {wgrad_row<Isa, static_cast<int>(R) + 1>(std::make_index_sequence<kMaxNQ>())...};
}

template <class Isa>
KernelSet make_set() {
  return {{tiles_table<Isa, false>(), tiles_table<Isa, true>()},
          wgrad_table<Isa>(std::make_index_sequence<kMaxR>()),
          Isa::kJFor, Isa::kNT, Isa::kR, Isa::kNQ, Isa::kWidth, Isa::sum_squares, Isa::adam};
}

/// The set for isa_name(): AVX-512 or AVX2; null for "scalar" (training uses autograd).
const KernelSet* kernel_set() {
  static const KernelSet avx512 = make_set<Avx512>(), avx2 = make_set<Avx2>();
  static const KernelSet* const set = std::strcmp(isa_name(), "avx512") == 0 ? &avx512
                                      : std::strcmp(isa_name(), "avx2") == 0 ? &avx2
                                                                              : nullptr;
  return set;
}

// ------------------------------------------------------------------ layer drivers

/// n_units units of T tiles (groups of up to max_nt tiles share every weight load).
template <bool kTanh>
void layer(const float* in, std::int64_t its, std::int64_t k0, std::int64_t k1, const float* W,
           std::int64_t wu, std::int64_t wr, std::int64_t n_units, const float* bias, const float* init,
           float* out, std::int64_t ots, std::int64_t T) {
  const KernelSet& ks = *kernel_set();
  for (std::int64_t t0 = 0; t0 < T; t0 += ks.max_nt) {
    const int nt = static_cast<int>(std::min<std::int64_t>(ks.max_nt, T - t0));
    const int jm = ks.j_for[nt - 1];
    for (std::int64_t j0 = 0; j0 < n_units; j0 += jm) {
      const int J = static_cast<int>(std::min<std::int64_t>(jm, n_units - j0));
      ks.tiles[kTanh][nt - 1][J - 1](in + t0 * its, its, k0, k1, W + j0 * wu, wu, wr,
                                     bias ? bias + j0 : nullptr, init ? init + t0 * ots + j0 * S : nullptr,
                                     out + t0 * ots + j0 * S, ots);
    }
  }
}

/// Gradient of R <= max_r weight rows r0.. (live columns [0, K)) and of their biases. Every
/// pass but the last covers max_nq full vectors; in the last only the final vector is partial.
void weight_rows(const float* da, std::int64_t dts, std::int64_t r0, int R, const float* X, std::int64_t ldx,
                 std::int64_t B, std::int64_t T, std::int64_t K, float* dW, std::int64_t ldw, float* db,
                 bool accumulate) {
  const KernelSet& ks = *kernel_set();
  for (std::int64_t c0 = 0; c0 < K; c0 += ks.width * ks.max_nq) {
    const int nq = static_cast<int>(std::min<std::int64_t>(ks.max_nq, (K - c0 + ks.width - 1) / ks.width));
    ks.wgrad[R - 1][nq - 1](da, dts, r0, X, ldx, B, c0, K, dW, ldw, accumulate);
  }
  // Bias: sum over all lanes (padding lanes carry zero gradient).
  for (int r = 0; r < R; ++r) {
    float lanes[S] = {};
    for (std::int64_t t = 0; t < T; ++t) {
      const float* a = da + t * dts + (r0 + r) * S;
      for (int l = 0; l < S; ++l) lanes[l] += a[l];
    }
    float sum = 0.0f;
    for (int l = 0; l < S; ++l) sum += lanes[l];
    db[r0 + r] = accumulate ? db[r0 + r] + sum : sum;
  }
}

/// One unit of weight-gradient work: R rows of one matrix with the same live prefix K.
struct GradItem {
  int matrix;  ///< 0 = W0, 1 = Wc, 2 .. L + 1 = Wh[matrix - 2], L + 2 = Wout
  std::int64_t r0;
  int R;
  std::int64_t K;
};

std::vector<GradItem> grad_items(const MafView& v) {
  std::vector<GradItem> items;
  const int max_r = kernel_set()->max_r;
  auto rows = [&](int matrix, std::int64_t begin, std::int64_t end, std::int64_t K) {
    for (std::int64_t r = begin; r < end; r += max_r)
      items.push_back({matrix, r, static_cast<int>(std::min<std::int64_t>(max_r, end - r)), K});
  };
  for (std::size_t g = 0; g < v.group_degree.size(); ++g) {
    rows(0, v.group_begin[g], v.group_end[g], std::min(v.group_degree[g], v.D));
    rows(1, v.group_begin[g], v.group_end[g], v.C);
    for (int l = 0; l < v.L; ++l) rows(2 + l, v.group_begin[g], v.group_end[g], v.group_end[g]);
  }
  for (int i = 0; i < v.D; ++i) rows(v.L + 2, 2 * i, 2 * i + 2, v.prefix_le[i]);
  return items;
}

/// Splits items into `parts` contiguous ranges of about equal multiply-adds.
std::vector<std::size_t> split_items(const std::vector<GradItem>& items, int parts) {
  double total = 0;
  for (const GradItem& it : items) total += it.R * static_cast<double>(it.K + 1);
  std::vector<std::size_t> begin(parts + 1, items.size());
  begin[0] = 0;
  double acc = 0;
  int p = 1;
  for (std::size_t i = 0; i < items.size() && p < parts; ++i) {
    acc += items[i].R * static_cast<double>(items[i].K + 1);
    while (p < parts && acc >= total * p / parts) begin[p++] = i + 1;
  }
  return begin;
}

// ------------------------------------------------------------------ layout helpers

/// rows [n, W] row-major -> tiles [T][W][S] for tiles [t0, t1) (padding lanes 0).
void to_tiles(const float* rows, std::int64_t n, int W, std::int64_t t0, std::int64_t t1, float* tiles) {
  std::fill(tiles + t0 * W * S, tiles + t1 * W * S, 0.0f);
  for (std::int64_t r = t0 * S; r < std::min(n, t1 * S); ++r)
    for (int c = 0; c < W; ++c) tiles[((r / S) * W + c) * S + r % S] = rows[r * W + c];
}

/// tiles [T][W][S] -> rows [n, W] for the rows of tiles [t0, t1).
void to_rows(const float* tiles, std::int64_t n, std::int64_t W, std::int64_t t0, std::int64_t t1, float* rows) {
  for (std::int64_t r = t0 * S; r < std::min(n, t1 * S); ++r)
    for (std::int64_t c = 0; c < W; ++c) rows[r * W + c] = tiles[((r / S) * W + c) * S + r % S];
}

/// x[i] *= 1 - h[i]^2 (tanh derivative) over count floats.
void times_tanh_derivative(float* x, const float* h, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) x[i] *= 1.0f - h[i] * h[i];
}

/// The arrays of one micro-batch of T tiles (n rows), carved from the workspace.
struct Buffers {
  // Forward, kept for the backward pass, per MADE k: tile-major.
  std::vector<float*> yin, scale, sigm;  ///< [T][D][S]: block input, s = softplus(a) + eps, sigmoid(a)
  std::vector<float*> ctx;               ///< [T][H][S]: tanh(Wc e + bc)
  std::vector<std::vector<float*>> h;    ///< [L + 1] x [T][H][S]: hidden activations
  float* etile;                          ///< [T][C][S]
  float* yfin;                           ///< [T][D][S]: base coordinates z
  float* ld;                             ///< [T][S]: sum log s
  // Backward, reused for every MADE.
  float* g;                              ///< [T][D][S]: dloss / d(block output) or input,
  float* dy;                             ///< [T][D][S]  alternating from MADE to MADE
  float* out2;                           ///< [T][2D][S]: forward MADE output, then its gradient
  float* ytmp;                           ///< [T][D][S]
  std::vector<float*> da;                ///< [L + 1] x [T][H][S]: dloss / d(pre-activation)
  float* dc;                             ///< [T][H][S]: dloss / d(context pre-activation)
  float* yin_rows;                       ///< [n][D]: row-major copies for the weight gradients
  std::vector<float*> h_rows;            ///< [L + 1] x [n][H]
};

Buffers carve(const MafView& v, std::int64_t n, std::int64_t T, BackpropWorkspace& ws) {
  const std::int64_t nb = static_cast<std::int64_t>(v.blocks.size());
  const std::int64_t tD = T * v.D * S, tH = T * v.H * S;
  const std::int64_t need = nb * (3 * tD + tH + (v.L + 1) * tH) + T * v.C * S + tD + T * S + 3 * tD +
                            2 * tD + (v.L + 2) * tH + n * v.D + (v.L + 1) * n * v.H;
  if (static_cast<std::int64_t>(ws.buf.size()) < need) ws.buf.resize(need);
  float* p = ws.buf.data();
  auto take = [&p](std::int64_t count) {
    float* q = p;
    p += count;
    return q;
  };
  Buffers b;
  b.h.resize(nb);
  for (std::int64_t k = 0; k < nb; ++k) {
    b.yin.push_back(take(tD));
    b.scale.push_back(take(tD));
    b.sigm.push_back(take(tD));
    b.ctx.push_back(take(tH));
    for (int l = 0; l <= v.L; ++l) b.h[k].push_back(take(tH));
  }
  b.etile = take(T * v.C * S);
  b.yfin = take(tD);
  b.ld = take(T * S);
  b.g = take(tD);
  b.dy = take(tD);
  b.out2 = take(2 * tD);
  b.ytmp = take(tD);
  for (int l = 0; l <= v.L; ++l) b.da.push_back(take(tH));
  b.dc = take(tH);
  b.yin_rows = take(n * v.D);
  for (int l = 0; l <= v.L; ++l) b.h_rows.push_back(take(n * v.H));
  return b;
}

// ------------------------------------------------------------------ passes over own tiles
// Every function below works on the tiles [t0, t1) of one thread.

void forward_tiles(const MafView& v, const Buffers& b, std::int64_t t0, std::int64_t t1) {
  const int D = v.D, C = v.C, H = v.H, L = v.L;
  const std::int64_t T = t1 - t0, sD = D * S, sH = H * S, sC = C * S;
  const std::size_t G = v.group_degree.size(), nb = v.blocks.size();
  std::fill(b.ld + t0 * S, b.ld + t1 * S, 0.0f);
  for (std::size_t k = 0; k < nb; ++k) {
    const MadePtrs& w = v.blocks[k];
    const std::vector<std::int64_t>& perm = (*v.perm)[k];
    float* yin = b.yin[k] + t0 * sD;
    float* ctx = b.ctx[k] + t0 * sH;
    layer<true>(b.etile + t0 * sC, sC, 0, C, w.Wc, C, 1, H, w.bc, nullptr, ctx, sH, T);
    for (std::size_t g = 0; g < G; ++g) {
      const std::int64_t s = v.group_begin[g], ng = v.group_end[g] - s;
      layer<true>(yin, sD, 0, std::min(v.group_degree[g], D), w.W0 + s * D, D, 1, ng, w.b0 + s,
                  ctx + s * S, b.h[k][0] + t0 * sH + s * S, sH, T);
    }
    for (int l = 0; l < L; ++l)
      for (std::size_t g = 0; g < G; ++g) {
        const std::int64_t s = v.group_begin[g], ng = v.group_end[g] - s;
        layer<true>(b.h[k][l] + t0 * sH, sH, 0, v.group_end[g], w.Wh[l] + s * H, H, 1, ng, w.bh[l] + s,
                    nullptr, b.h[k][l + 1] + t0 * sH + s * S, sH, T);
      }
    float* out2 = b.out2 + t0 * 2 * sD;
    for (int i = 0; i < D; ++i)
      layer<false>(b.h[k][L] + t0 * sH, sH, 0, v.prefix_le[i], w.Wout + 2 * i * H, H, 1, 2, w.bout + 2 * i,
                   nullptr, out2 + 2 * i * S, 2 * sD, T);
    // Affine step y_i -> s_i y_i + shift_i, then y_next[j] = y_new[perm[j]].
    float* ynext = k + 1 < nb ? b.yin[k + 1] + t0 * sD : b.yfin + t0 * sD;
    for (std::int64_t t = 0; t < T; ++t) {
      const float* o = out2 + t * 2 * sD;
      const float* yt = yin + t * sD;
      float* sc = b.scale[k] + (t0 + t) * sD;
      float* sg = b.sigm[k] + (t0 + t) * sD;
      float* ynew = b.ytmp + (t0 + t) * sD;
      float* ld = b.ld + (t0 + t) * S;
      for (int i = 0; i < D; ++i)
        for (int l = 0; l < S; ++l) {
          const float a = o[2 * i * S + l];
          const float s = affine_scale(a);
          sc[i * S + l] = s;
          sg[i * S + l] = 1.0f / (1.0f + std::exp(-a));
          ynew[i * S + l] = s * yt[i * S + l] + o[(2 * i + 1) * S + l];
          ld[l] += std::log(s);
        }
      for (int j = 0; j < D; ++j) std::copy_n(ynew + perm[j] * S, S, ynext + t * sD + j * S);
    }
  }
}

/// Backward pass of MADE k for the activations: from gout (dloss / d block output) to gin
/// (dloss / d block input), both [T][D][S], filling b.out2, b.da and b.dc; lane_scale [T][S]
/// is `scale` on real rows and 0 on padding lanes.
void backward_tiles(const MafView& v, const Buffers& b, std::size_t k, const float* gout, float* gin,
                    const float* lane_scale, std::int64_t t0, std::int64_t t1) {
  const int D = v.D, H = v.H, L = v.L;
  const std::int64_t T = t1 - t0, sD = D * S, sH = H * S;
  const std::size_t G = v.group_degree.size();
  const MadePtrs& w = v.blocks[k];
  const std::vector<std::int64_t>& perm = (*v.perm)[k];
  for (std::int64_t t = t0; t < t1; ++t) {
    const float* g = gout + t * sD;
    float* gpre = b.ytmp + t * sD;  // dloss / d y_new (before the permutation)
    for (int j = 0; j < D; ++j) std::copy_n(g + j * S, S, gpre + perm[j] * S);
    const float* yt = b.yin[k] + t * sD;
    const float* sc = b.scale[k] + t * sD;
    const float* sg = b.sigm[k] + t * sD;
    float* o = b.out2 + t * 2 * sD;
    float* dy = gin + t * sD;
    for (int i = 0; i < D; ++i)
      for (int l = 0; l < S; ++l) {
        const float gi = gpre[i * S + l];
        // loss = -scale (sum log s - |z|^2 / 2): d/ds = g y - scale / s; ds/da = sigmoid(a).
        o[2 * i * S + l] = (gi * yt[i * S + l] - lane_scale[t * S + l] / sc[i * S + l]) * sg[i * S + l];
        o[(2 * i + 1) * S + l] = gi;
        dy[i * S + l] = gi * sc[i * S + l];
      }
  }
  // Output layer: hidden unit of degree d feeds the outputs of degree > d, rows [2d, 2D).
  float* dL = b.da[L] + t0 * sH;
  for (std::size_t g = 0; g < G; ++g) {
    const std::int64_t s = v.group_begin[g], ng = v.group_end[g] - s;
    layer<false>(b.out2 + t0 * 2 * sD, 2 * sD, 2 * std::min(v.group_degree[g], D), 2 * D, w.Wout + s, 1, H,
                 ng, nullptr, nullptr, dL + s * S, sH, T);
  }
  times_tanh_derivative(dL, b.h[k][L] + t0 * sH, T * sH);
  // Hidden layers: unit of group g feeds the units of degree >= its own, rows [begin_g, H).
  for (int l = L; l >= 1; --l) {
    float* dprev = b.da[l - 1] + t0 * sH;
    for (std::size_t g = 0; g < G; ++g) {
      const std::int64_t s = v.group_begin[g], ng = v.group_end[g] - s;
      layer<false>(b.da[l] + t0 * sH, sH, s, H, w.Wh[l - 1] + s, 1, H, ng, nullptr, nullptr, dprev + s * S, sH,
                   T);
    }
    times_tanh_derivative(dprev, b.h[k][l - 1] + t0 * sH, T * sH);
  }
  // Context term tanh(Wc e + bc) enters h0's pre-activation.
  const float* da0 = b.da[0] + t0 * sH;
  const float* ctx = b.ctx[k] + t0 * sH;
  float* dc = b.dc + t0 * sH;
  for (std::int64_t i = 0; i < T * sH; ++i) dc[i] = da0[i] * (1.0f - ctx[i] * ctx[i]);
  // Input layer: dy += W0^T da0 (masked entries of W0 are exact zeros).
  layer<false>(da0, sH, 0, H, w.W0, 1, D, D, nullptr, gin + t0 * sD, gin + t0 * sD, sD, T);
}

void weight_grads(const MafView& v, const Buffers& b, const MadeGradPtrs& gr, const float* e,
                  std::int64_t n, std::int64_t T, const std::vector<GradItem>& items, std::size_t i0,
                  std::size_t i1, bool accumulate) {
  const int D = v.D, C = v.C, H = v.H, L = v.L;
  const std::int64_t sH = H * S;
  for (std::size_t i = i0; i < i1; ++i) {
    const GradItem& it = items[i];
    if (it.matrix == 0)
      weight_rows(b.da[0], sH, it.r0, it.R, b.yin_rows, D, n, T, it.K, gr.W0, D, gr.b0, accumulate);
    else if (it.matrix == 1)
      weight_rows(b.dc, sH, it.r0, it.R, e, C, n, T, it.K, gr.Wc, C, gr.bc, accumulate);
    else if (it.matrix < L + 2) {
      const int l = it.matrix - 2;  // Wh[l] maps h[l] -> h[l + 1]
      weight_rows(b.da[l + 1], sH, it.r0, it.R, b.h_rows[l], H, n, T, it.K, gr.Wh[l], H, gr.bh[l], accumulate);
    } else {
      weight_rows(b.out2, 2 * D * S, it.r0, it.R, b.h_rows[L], H, n, T, it.K, gr.Wout, H, gr.bout, accumulate);
    }
  }
}

}  // namespace

bool backprop_available() { return kernel_set() != nullptr; }

double sum_squares(const float* g, std::int64_t n) {
  const KernelSet* ks = kernel_set();
  return ks ? ks->sum_squares(g, n) : sum_squares_scalar(g, n);
}

void adam_update(float* p, float* m, float* v, const float* g, std::int64_t n, const AdamStep& a) {
  const KernelSet* ks = kernel_set();
  if (ks)
    ks->adam(p, m, v, g, n, a);
  else
    adam_scalar(p, m, v, g, n, a);
}

double loss_and_grad(const MafView& v, const std::vector<MadeGradPtrs>& grad, const float* y,
                     const float* e, std::int64_t n, double scale, bool accumulate, int threads,
                     BackpropWorkspace& ws) {
  const int D = v.D, C = v.C, H = v.H, L = v.L;
  const std::int64_t sD = D * S;
  const std::size_t nb = v.blocks.size();
  const std::vector<GradItem> items = grad_items(v);
  double total = 0.0;
  for (std::int64_t m0 = 0; m0 < n; m0 += kMicroRows) {
    const std::int64_t nm = std::min(kMicroRows, n - m0), T = (nm + S - 1) / S;
    const float* ym = y + m0 * D;
    const float* em = e + m0 * C;
    const Buffers b = carve(v, nm, T, ws);
    std::vector<float> lane_scale(T * S, 0.0f);
    std::fill_n(lane_scale.begin(), nm, static_cast<float>(scale));
    const bool acc = accumulate || m0 > 0;
    const int nt = static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(threads, T)));
    std::vector<double> part(nt, 0.0);
#pragma omp parallel num_threads(nt)
    {
      const int tid = omp_get_thread_num(), team = omp_get_num_threads();
      const std::int64_t t0 = T * tid / team, t1 = T * (tid + 1) / team;
      const std::vector<std::size_t> split = split_items(items, team);
      to_tiles(ym, nm, D, t0, t1, b.yin[0]);
      to_tiles(em, nm, C, t0, t1, b.etile);
      forward_tiles(v, b, t0, t1);
      // log q per row; dloss / dz = scale * z on real rows.
      double lq_sum = 0.0;
      for (std::int64_t t = t0; t < t1; ++t)
        for (int l = 0; l < S; ++l) {
          const std::int64_t r = t * S + l;
          double zz = 0.0;
          for (int i = 0; i < D; ++i) {
            const float z = b.yfin[t * sD + i * S + l];
            zz += static_cast<double>(z) * z;
            b.g[t * sD + i * S + l] = r < nm ? static_cast<float>(scale) * z : 0.0f;
          }
          if (r < nm) lq_sum += b.ld[t * S + l] - 0.5 * zz - 0.5 * D * kLog2Pi;
        }
      part[tid] = lq_sum;
      float* gout = b.g;  // this thread's tiles of both arrays only
      float* gin = b.dy;
      for (std::size_t k = nb; k-- > 0;) {
        backward_tiles(v, b, k, gout, gin, lane_scale.data(), t0, t1);
        std::swap(gout, gin);
        to_rows(b.yin[k], nm, D, t0, t1, b.yin_rows);
        for (int l = 0; l <= L; ++l) to_rows(b.h[k][l], nm, H, t0, t1, b.h_rows[l]);
#pragma omp barrier
        weight_grads(v, b, grad[k], em, nm, T, items, split[tid], split[tid + 1], acc);
#pragma omp barrier
      }
    }
    for (double p : part) total += p;
  }
  return total;
}

}  // namespace sedpost::flow::kern
