#pragma once
/// Counter-based random numbers (Random123 Philox4x32-10).
///
/// A generator is keyed by (seed, stream, index): `seed` is the run's seed, `stream` names
/// the purpose (RngStream), `index` is the *global* object index (galaxy row, training step,
/// ...). Draws for object i therefore never depend on the number of ranks or on the order
/// in which objects are processed.
#include <Random123/philox.h>

#include <cmath>
#include <cstdint>

namespace sedpost {

/// Purposes of random streams. Never renumber: stored results depend on these values.
enum class RngStream : std::uint32_t {
  kPrior = 1,        ///< prior draws of simulated galaxies
  kRedshift = 2,     ///< simulated redshifts
  kNoise = 3,        ///< noise model draws (sigma, flux noise)
  kSplit = 4,        ///< train/validation split, shuffling
  kFlowInit = 5,     ///< flow weight initialisation, permutations
  kFlowSample = 6,   ///< posterior sampling
  kMcmc = 7,         ///< sampler moves
  kTest = 8,         ///< tests
  kValidation = 9,   ///< held-out test sets
  kImportance = 10,  ///< likelihood weighting: refinement draws
  kResample = 11,    ///< likelihood weighting: resampling the weighted draws
  kBandMask = 12,    ///< random band masks of simulated galaxies
  kSpectrumNoise = 13,  ///< per-pixel noise of simulated spectra
  kMove = 14,        ///< likelihood weighting: resample-move steps
};

/// One independent random sequence. Cheap to construct (no state beyond 3 counters);
/// construct one per object rather than sharing a generator across objects.
class Rng {
 public:
  using Philox = r123::Philox4x32;

  Rng(std::uint64_t seed, RngStream stream, std::uint64_t index)
      : Rng(seed, static_cast<std::uint32_t>(stream), index) {}

  Rng(std::uint64_t seed, std::uint32_t stream, std::uint64_t index) {
    key_ = {{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
    ctr_ = {{0u, stream, static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32)}};
  }

  /// Next 32 random bits.
  std::uint32_t next_u32() {
    if (pos_ == 4) refill();
    return block_[pos_++];
  }

  /// Uniform double in the open interval (0, 1), 53 random bits.
  double uniform() {
    const std::uint64_t hi = next_u32() >> 5;  // 27 bits
    const std::uint64_t lo = next_u32() >> 6;  // 26 bits
    return (static_cast<double>((hi << 26) | lo) + 0.5) * (1.0 / 9007199254740992.0);
  }

  /// Uniform double in (lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  /// Standard normal draw (Box-Muller, both values used).
  double normal() {
    if (have_spare_) {
      have_spare_ = false;
      return spare_;
    }
    const double u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double phi = 6.283185307179586 * u2;
    spare_ = r * std::sin(phi);
    have_spare_ = true;
    return r * std::cos(phi);
  }

  /// Uniform integer in [0, n), n > 0 (Lemire's multiply-shift, negligible bias for n << 2^32).
  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(next_u32()) * n) >> 32);
  }

 private:
  void refill() {
    block_ = Philox()(ctr_, key_);
    ++ctr_[0];
    pos_ = 0;
  }

  Philox::key_type key_{};
  Philox::ctr_type ctr_{};
  Philox::ctr_type block_{};
  int pos_ = 4;
  bool have_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace sedpost
