#pragma once
/// Inference kernels of the MAF (no LibTorch): the forward pass (log_prob) and the
/// degree-ordered inverse (sampling) of the whole flow for a chunk of rows, single-threaded.
/// Callers (maf_model.cpp) split the rows into chunks and run chunks on threads.
///
/// Layout inside a chunk: rows are grouped into tiles of kLanes rows; every activation array
/// is tile-major, [tile][unit][lane], so that one unit of one tile is kLanes contiguous floats
/// (two AVX2 registers, one AVX-512 register). A masked layer of the MADE then is a sequence of register-tiled
/// products out[j][lane] = act(bias_j + sum_{k < K_j} W[j][k] * in[k][lane]) where K_j is the
/// live prefix of row j (hidden units are sorted by degree, see maf_model.hpp): only the
/// entries the masks allow are ever multiplied, and no operand is packed or copied.
/// Weights are read in place from the flat parameter buffer (row-major, ld = fan-in), so the
/// kernels need no cache that could go stale when training changes the parameters.
#include <cstdint>
#include <vector>

namespace sedpost::flow::kern {

inline constexpr int kLanes = 16;  ///< rows per tile

/// Pointers of one MADE into the flat parameter buffer (shapes as in maf_model.hpp MadeViews).
struct MadePtrs {
  const float *W0 = nullptr, *b0 = nullptr;    ///< [H, D], [H]
  const float *Wc = nullptr, *bc = nullptr;    ///< [H, C], [H]
  std::vector<const float*> Wh, bh;            ///< L x [H, H], [H]
  const float *Wout = nullptr, *bout = nullptr;  ///< [2D, H], [2D]
};

/// Everything the kernels need about the flow: sizes, degree groups, permutations, weights.
struct MafView {
  int D = 0, C = 0, H = 0, L = 0;
  std::vector<int> group_degree;                     ///< distinct hidden degrees, increasing
  std::vector<std::int64_t> group_begin, group_end;  ///< unit range of each group
  std::vector<std::int64_t> prefix_le;               ///< [D + 1], #units with degree <= d
  std::vector<MadePtrs> blocks;                      ///< [n_blocks]
  const std::vector<std::vector<std::int64_t>>* perm = nullptr;      ///< [n_blocks][D]
  const std::vector<std::vector<std::int64_t>>* inv_perm = nullptr;  ///< [n_blocks][D]
};

/// Scratch memory of one thread; grows on first use, reused across chunks of a call.
struct Workspace {
  std::vector<float> buf;
};

/// Forward pass (density direction) of n rows: y [n, D] z-scored flow input, e [n, C]
/// z-scored context (one row per row of y). Writes z [n, D] (base coordinates) and
/// logdet [n] = sum over blocks of sum_i log s_i. Any n >= 1.
void forward_chunk(const MafView& v, const float* y, const float* e, std::int64_t n, float* z,
                   float* logdet, Workspace& ws);

/// Inverse (sampling direction) of n rows: z [n, D] base noise; the context of row r is
/// e_obs[row_obs[r] * C ...] (one row per observation, so the context layer runs once per
/// observation and block). Writes y [n, D] (z-scored flow coordinates) and logdet [n]
/// (forward-direction sum log s, as forward_chunk). n_obs: rows of e_obs.
void inverse_chunk(const MafView& v, const float* z, const float* e_obs, std::int64_t n_obs,
                   const std::int64_t* row_obs, std::int64_t n, float* y, float* logdet,
                   Workspace& ws);

/// Multiply-adds per row of one inverse (= one forward) pass, masked entries excluded:
/// the flop count to compare with the machine's GEMM peak (2 flops per multiply-add).
double macs_per_row(const MafView& v);

/// Instruction set of the tile kernels in use: "avx512", "avx2" (+FMA) or "scalar"; the best
/// the CPU has, capped by the environment variable SEDPOST_FLOW_ISA=avx2|scalar.
const char* isa_name();

}  // namespace sedpost::flow::kern
