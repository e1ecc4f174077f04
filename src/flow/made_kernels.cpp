#include "flow/made_kernels.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "flow/made_simd.hpp"  // first: it sets the warning pragmas for <immintrin.h>

namespace sedpost::flow::kern {

namespace {

constexpr int S = kLanes;

// ------------------------------------------------------------------ tile products
// One call computes J units of one tile:
//   out[j][lane] = act(bias[j] + lane_bias[j][lane] + sum_{k<K} W[j * ldw + k] * in[k][lane])
// in: [K][S] (unit stride S), out and lane_bias: [J][S]; bias / lane_bias may be null.

template <int J, bool kTanh>
void tile_scalar(const float* in, std::int64_t K, const float* W, std::int64_t ldw,
                 const float* bias, const float* lane_bias, float* out) {
  float acc[J][S];
  for (int j = 0; j < J; ++j)
    for (int l = 0; l < S; ++l)
      acc[j][l] = (bias ? bias[j] : 0.0f) + (lane_bias ? lane_bias[j * S + l] : 0.0f);
  for (std::int64_t k = 0; k < K; ++k)
    for (int j = 0; j < J; ++j) {
      const float w = W[j * ldw + k];
      for (int l = 0; l < S; ++l) acc[j][l] += w * in[k * S + l];
    }
  for (int j = 0; j < J; ++j)
    for (int l = 0; l < S; ++l) out[j * S + l] = kTanh ? tanh_scalar(acc[j][l]) : acc[j][l];
}

// J units x 16 lanes = 2J accumulators (J = 5: 10 of the 16 ymm registers); per k two loads
// of the input tile, J broadcasts of weights, 2J FMAs.
template <int J, bool kTanh>
__attribute__((target("avx2,fma"))) void tile_avx2(const float* in, std::int64_t K, const float* W,
                                                   std::int64_t ldw, const float* bias,
                                                   const float* lane_bias, float* out) {
  __m256 acc[J][2];
#pragma GCC unroll 8
  for (int j = 0; j < J; ++j) {
    const __m256 b = bias ? _mm256_set1_ps(bias[j]) : _mm256_setzero_ps();
    acc[j][0] = lane_bias ? _mm256_add_ps(b, _mm256_loadu_ps(lane_bias + j * S)) : b;
    acc[j][1] = lane_bias ? _mm256_add_ps(b, _mm256_loadu_ps(lane_bias + j * S + 8)) : b;
  }
  for (std::int64_t k = 0; k < K; ++k) {
    const __m256 x0 = _mm256_loadu_ps(in + k * S), x1 = _mm256_loadu_ps(in + k * S + 8);
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) {
      const __m256 w = _mm256_broadcast_ss(W + j * ldw + k);
      acc[j][0] = _mm256_fmadd_ps(w, x0, acc[j][0]);
      acc[j][1] = _mm256_fmadd_ps(w, x1, acc[j][1]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < J; ++j) {
    _mm256_storeu_ps(out + j * S, kTanh ? tanh8(acc[j][0]) : acc[j][0]);
    _mm256_storeu_ps(out + j * S + 8, kTanh ? tanh8(acc[j][1]) : acc[j][1]);
  }
}

// AVX-512: one zmm holds the 16 lanes of a unit; J = 10 units -> 10 accumulators, per k one
// load of the input tile, 10 broadcasts and 10 FMAs.
template <int J, bool kTanh>
__attribute__((target("avx512f"))) void tile_avx512(const float* in, std::int64_t K, const float* W,
                                                    std::int64_t ldw, const float* bias,
                                                    const float* lane_bias, float* out) {
  __m512 acc[J];
#pragma GCC unroll 16
  for (int j = 0; j < J; ++j) {
    const __m512 b = bias ? _mm512_set1_ps(bias[j]) : _mm512_setzero_ps();
    acc[j] = lane_bias ? _mm512_add_ps(b, _mm512_loadu_ps(lane_bias + j * S)) : b;
  }
  for (std::int64_t k = 0; k < K; ++k) {
    const __m512 x = _mm512_loadu_ps(in + k * S);
#pragma GCC unroll 16
    for (int j = 0; j < J; ++j) acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(W[j * ldw + k]), x, acc[j]);
  }
#pragma GCC unroll 16
  for (int j = 0; j < J; ++j) _mm512_storeu_ps(out + j * S, kTanh ? tanh16(acc[j]) : acc[j]);
}

enum class Isa { kScalar, kAvx2, kAvx512 };

/// Best instruction set of this CPU; SEDPOST_FLOW_ISA = scalar | avx2 caps it (to compare
/// with peers held to AVX2, e.g. OpenBLAS under OPENBLAS_CORETYPE=Haswell).
Isa detect_isa() {
  __builtin_cpu_init();
  Isa isa = Isa::kScalar;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) isa = Isa::kAvx2;
  if (isa == Isa::kAvx2 && __builtin_cpu_supports("avx512f")) isa = Isa::kAvx512;
  const char* cap = std::getenv("SEDPOST_FLOW_ISA");
  if (cap && std::strcmp(cap, "avx2") == 0 && isa == Isa::kAvx512) isa = Isa::kAvx2;
  if (cap && std::strcmp(cap, "scalar") == 0) isa = Isa::kScalar;
  return isa;
}
const Isa kIsa = detect_isa();

using TileFn = void (*)(const float*, std::int64_t, const float*, std::int64_t, const float*,
                        const float*, float*);
constexpr int kMaxJ = 10;  ///< widest register block (AVX-512); AVX2 and scalar use 5

template <int J, bool kTanh>
TileFn pick() {
  if (kIsa == Isa::kAvx512) return &tile_avx512<J, kTanh>;
  if constexpr (J <= 5) return kIsa == Isa::kAvx2 ? &tile_avx2<J, kTanh> : &tile_scalar<J, kTanh>;
  return nullptr;
}

template <bool kTanh, std::size_t... I>
std::array<TileFn, kMaxJ + 1> make_table(std::index_sequence<I...>) {
  return {nullptr, pick<static_cast<int>(I) + 1, kTanh>()...};
}

/// n units of one tile, in register blocks of up to 5 (AVX2) or 10 (AVX-512) units. Unit j uses the
/// same K (callers pass one degree group, or one output pair, at a time).
template <bool kTanh>
void layer_tile(const float* in, std::int64_t K, const float* W, std::int64_t ldw, std::int64_t n,
                const float* bias, const float* lane_bias, float* out) {
  static const std::array<TileFn, kMaxJ + 1> fns = make_table<kTanh>(std::make_index_sequence<kMaxJ>());
  static const int block = kIsa == Isa::kAvx512 ? kMaxJ : 5;
  for (std::int64_t j0 = 0; j0 < n; j0 += block) {
    const int J = static_cast<int>(std::min<std::int64_t>(block, n - j0));
    fns[J](in, K, W + j0 * ldw, ldw, bias ? bias + j0 : nullptr,
           lane_bias ? lane_bias + j0 * S : nullptr, out + j0 * S);
  }
}

// ------------------------------------------------------------------ chunk layout helpers

/// Carves the workspace into tile-major arrays for a chunk of T tiles.
struct ChunkBuffers {
  std::vector<float*> h;  ///< L + 1 arrays [T][H][S]
  float* ctx;             ///< forward: [T][H][S] context term; inverse: [n_obs][H]
  float* lane_bias;       ///< inverse: [H][S] scratch for tiles that span observations
  float *ycur, *ynext;    ///< [T][D][S]
  float* etile;           ///< forward: [T][C][S]
  float* ld;              ///< [T][S]
  float* out2;            ///< [2][S]
};

ChunkBuffers carve(const MafView& v, std::int64_t T, std::int64_t ctx_floats, Workspace& ws) {
  const std::int64_t act = T * v.H * S;
  const std::int64_t need = (v.L + 1) * act + ctx_floats + v.H * S + 2 * T * v.D * S + T * v.C * S +
                            T * S + 2 * S;
  if (static_cast<std::int64_t>(ws.buf.size()) < need) ws.buf.resize(need);
  float* p = ws.buf.data();
  ChunkBuffers b;
  for (int l = 0; l <= v.L; ++l, p += act) b.h.push_back(p);
  b.ctx = p, p += ctx_floats;
  b.lane_bias = p, p += v.H * S;
  b.ycur = p, p += T * v.D * S;
  b.ynext = p, p += T * v.D * S;
  b.etile = p, p += T * v.C * S;
  b.ld = p, p += T * S;
  b.out2 = p;
  std::fill(b.ld, b.ld + T * S, 0.0f);
  return b;
}

/// rows [n, W] row-major -> tiles [T][W][S] (padding lanes 0).
void to_tiles(const float* rows, std::int64_t n, int W, std::int64_t T, float* tiles) {
  std::fill(tiles, tiles + T * W * S, 0.0f);
  for (std::int64_t r = 0; r < n; ++r)
    for (int c = 0; c < W; ++c) tiles[((r / S) * W + c) * S + r % S] = rows[r * W + c];
}

void from_tiles(const float* tiles, std::int64_t n, int W, float* rows) {
  for (std::int64_t r = 0; r < n; ++r)
    for (int c = 0; c < W; ++c) rows[r * W + c] = tiles[((r / S) * W + c) * S + r % S];
}

/// Hidden layers 1..L of one degree group for one tile (layer 0 already computed).
void hidden_group(const MafView& v, const MadePtrs& b, const ChunkBuffers& cb, std::int64_t t,
                  std::int64_t s, std::int64_t n) {
  // Units [s, s + n) see the units of degree <= theirs in the layer below: columns [0, s + n).
  const std::int64_t tile = t * v.H * S;
  for (int l = 0; l < v.L; ++l)
    layer_tile<true>(cb.h[l] + tile, s + n, b.Wh[l] + s * v.H, v.H, n, b.bh[l] + s, nullptr,
                     cb.h[l + 1] + tile + s * S);
}

/// Output pair i (unconstrained scale, shift) of one tile into cb.out2 [2][S].
void output_pair(const MafView& v, const MadePtrs& b, const ChunkBuffers& cb, std::int64_t t, int i) {
  layer_tile<false>(cb.h[v.L] + t * v.H * S, v.prefix_le[i], b.Wout + 2 * i * v.H, v.H, 2,
                    b.bout + 2 * i, nullptr, cb.out2);
}

}  // namespace

const char* isa_name() {
  return kIsa == Isa::kAvx512 ? "avx512" : kIsa == Isa::kAvx2 ? "avx2" : "scalar";
}

double macs_per_row(const MafView& v) {
  double per_made = 0;
  for (std::size_t g = 0; g < v.group_degree.size(); ++g) {
    const double n = static_cast<double>(v.group_end[g] - v.group_begin[g]);
    per_made += n * (std::min(v.group_degree[g], v.D) + v.C + v.L * static_cast<double>(v.group_end[g]));
  }
  for (int i = 0; i < v.D; ++i) per_made += 2.0 * v.prefix_le[i];
  return per_made * static_cast<double>(v.blocks.size());
}

void forward_chunk(const MafView& v, const float* y, const float* e, std::int64_t n, float* z,
                   float* logdet, Workspace& ws) {
  const std::int64_t T = (n + S - 1) / S;
  const int D = v.D, C = v.C, H = v.H;
  ChunkBuffers cb = carve(v, T, T * H * S, ws);
  to_tiles(y, n, D, T, cb.ycur);
  to_tiles(e, n, C, T, cb.etile);
  const std::size_t G = v.group_degree.size();
  for (std::size_t k = 0; k < v.blocks.size(); ++k) {
    const MadePtrs& b = v.blocks[k];
    const std::vector<std::int64_t>& perm = (*v.perm)[k];
    // Context term tanh(Wc e + bc), then layer 0 (masked input columns) group by group.
    for (std::int64_t t = 0; t < T; ++t)
      layer_tile<true>(cb.etile + t * C * S, C, b.Wc, C, H, b.bc, nullptr, cb.ctx + t * H * S);
    for (std::size_t g = 0; g < G; ++g) {
      const std::int64_t s = v.group_begin[g], ng = v.group_end[g] - s;
      const std::int64_t K0 = std::min(v.group_degree[g], D);
      for (std::int64_t t = 0; t < T; ++t)
        layer_tile<true>(cb.ycur + t * D * S, K0, b.W0 + s * D, D, ng, b.b0 + s,
                         cb.ctx + (t * H + s) * S, cb.h[0] + (t * H + s) * S);
    }
    for (std::size_t g = 0; g < G; ++g)
      for (std::int64_t t = 0; t < T; ++t)
        hidden_group(v, b, cb, t, v.group_begin[g], v.group_end[g] - v.group_begin[g]);
    // Affine step y_i -> s_i y_i + shift_i, then the permutation y_next[j] = y_new[perm[j]].
    for (std::int64_t t = 0; t < T; ++t) {
      float* yt = cb.ycur + t * D * S;
      for (int i = 0; i < D; ++i) {
        output_pair(v, b, cb, t, i);
        for (int l = 0; l < S; ++l) {
          const float sc = affine_scale(cb.out2[l]);
          yt[i * S + l] = sc * yt[i * S + l] + cb.out2[S + l];
          cb.ld[t * S + l] += std::log(sc);
        }
      }
      float* yn = cb.ynext + t * D * S;
      for (int j = 0; j < D; ++j) std::copy_n(yt + perm[j] * S, S, yn + j * S);
    }
    std::swap(cb.ycur, cb.ynext);
  }
  from_tiles(cb.ycur, n, D, z);
  std::copy_n(cb.ld, n, logdet);
}

void inverse_chunk(const MafView& v, const float* z, const float* e_obs, std::int64_t n_obs,
                   const std::int64_t* row_obs, std::int64_t n, float* y, float* logdet,
                   Workspace& ws) {
  const std::int64_t T = (n + S - 1) / S;
  const int D = v.D, C = v.C, H = v.H;
  // Observations referenced by this chunk: the range [o_lo, o_hi].
  std::int64_t o_lo = row_obs[0], o_hi = row_obs[0];
  for (std::int64_t r = 1; r < n; ++r) {
    o_lo = std::min(o_lo, row_obs[r]);
    o_hi = std::max(o_hi, row_obs[r]);
  }
  (void)n_obs;
  const std::int64_t n_ctx = o_hi - o_lo + 1;
  ChunkBuffers cb = carve(v, T, n_ctx * H, ws);
  to_tiles(z, n, D, T, cb.ycur);
  // Observation of every lane (padding lanes repeat the last row), and whether a tile has one.
  std::vector<std::int64_t> lane_obs(T * S);
  std::vector<std::int64_t> tile_obs(T);  // -1: lanes of several observations
  for (std::int64_t r = 0; r < T * S; ++r) lane_obs[r] = row_obs[std::min(r, n - 1)] - o_lo;
  for (std::int64_t t = 0; t < T; ++t) {
    tile_obs[t] = lane_obs[t * S];
    for (int l = 1; l < S; ++l)
      if (lane_obs[t * S + l] != tile_obs[t]) tile_obs[t] = -1;
  }
  const std::size_t G = v.group_degree.size();
  for (std::int64_t k = static_cast<std::int64_t>(v.blocks.size()) - 1; k >= 0; --k) {
    const MadePtrs& b = v.blocks[k];
    const std::vector<std::int64_t>& inv_perm = (*v.inv_perm)[k];
    // Context term once per observation, folded into the input-layer bias:
    // ctx[o][j] = tanh(bc_j + Wc_j . e_o) + b0_j.
    for (std::int64_t o = 0; o < n_ctx; ++o) {
      const float* eo = e_obs + (o_lo + o) * C;
      float* co = cb.ctx + o * H;
      for (int j = 0; j < H; ++j) {
        float a = b.bc[j];
        for (int c = 0; c < C; ++c) a += b.Wc[j * C + c] * eo[c];
        co[j] = tanh_scalar(a) + b.b0[j];
      }
    }
    // Degree order: before output i, every hidden group of degree <= i (it depends on
    // y_in[0 : degree) only, which is known by then).
    std::size_t gi = 0;
    for (int i = 0; i < D; ++i) {
      const std::size_t g_from = gi;
      while (gi < G && v.group_degree[gi] <= i) ++gi;
      for (std::int64_t t = 0; t < T; ++t) {
        float* yin = cb.ynext + t * D * S;
        for (std::size_t g = g_from; g < gi; ++g) {
          const std::int64_t s = v.group_begin[g], ng = v.group_end[g] - s;
          const std::int64_t K0 = std::min(v.group_degree[g], D);
          const float* bias = nullptr;
          const float* lane_bias = nullptr;
          if (tile_obs[t] >= 0) {
            bias = cb.ctx + tile_obs[t] * H + s;
          } else {
            for (std::int64_t j = 0; j < ng; ++j)
              for (int l = 0; l < S; ++l) cb.lane_bias[j * S + l] = cb.ctx[lane_obs[t * S + l] * H + s + j];
            lane_bias = cb.lane_bias;
          }
          layer_tile<true>(yin, K0, b.W0 + s * D, D, ng, bias, lane_bias, cb.h[0] + (t * H + s) * S);
          hidden_group(v, b, cb, t, s, ng);
        }
        // y_in[i] = (target_i - shift_i) / s_i with target_i = y[inv_perm[i]].
        output_pair(v, b, cb, t, i);
        const float* target = cb.ycur + (t * D + inv_perm[i]) * S;
        for (int l = 0; l < S; ++l) {
          const float sc = affine_scale(cb.out2[l]);
          yin[i * S + l] = (target[l] - cb.out2[S + l]) / sc;
          cb.ld[t * S + l] += std::log(sc);
        }
      }
    }
    std::swap(cb.ycur, cb.ynext);
  }
  from_tiles(cb.ycur, n, D, y);
  std::copy_n(cb.ld, n, logdet);
}

}  // namespace sedpost::flow::kern
