#pragma once
/// Simulation of training-set rows (MODEL.md sections 1-6): prior draw, redshift, SED,
/// noise, conditioning vector. Row i depends only on (seed, i): the same for any rank count.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "noise/conditioning.hpp"
#include "noise/noise_model.hpp"
#include "prior/prior.hpp"
#include "simulate/band_masks.hpp"
#include "simulate/model_config.hpp"
#include "sps/flux_bounds.hpp"
#include "sps/sed_model.hpp"
#include "sps/spectrograph.hpp"

namespace sedpost::simulate {

/// A block of simulated rows, row-major.
struct SimulatedRows {
  std::uint64_t first = 0, count = 0;
  std::vector<double> theta_physical;  ///< [count, 12]
  std::vector<double> theta_flow;      ///< [count, layout.dim()] flow coordinates (then z when inferred)
  std::vector<double> z;               ///< [count]
  std::vector<double> flux_true;       ///< [count, bands] nanomaggies, noiseless
  std::vector<double> flux_obs;        ///< [count, bands] nanomaggies, with noise (NaN: band masked)
  std::vector<double> sigma;           ///< [count, bands] nanomaggies (+inf: band masked)
  std::vector<double> x;               ///< [count, conditioning().dim()] conditioning vector
  std::vector<std::uint32_t> bands_used; ///< [count] bit b set when band b is kept (not masked)
  std::vector<std::uint32_t> attempts; ///< [count] prior draws needed (1 = first accepted)
  /// [count, pixels] normalised noisy spectrum (set_spectrograph only; NaN for a failed row)
  std::vector<double> spectrum;
};

/// Counts across rows (sum over ranks with Comm::allreduce_sum on the integer fields).
struct SimulationCounters {
  std::int64_t rows = 0;
  std::int64_t rejected_draws = 0;   ///< prior draws rejected by the noise model, then redrawn
  std::int64_t prechecked_draws = 0; ///< of those, rejected by the flux bounds without an SED evaluation
  std::int64_t sed_evaluations = 0;  ///< SED evaluations (draws that passed the bounds)
  std::int64_t failed_rows = 0;      ///< rows with no accepted draw in max_attempts (NaN rows)
  noise::NoiseCounters noise;        ///< per-band reasons of the rejected draws
};

class TrainingSimulator {
 public:
  /// `model`, `prior`, `noise` must outlive the simulator. Bands of `noise` pair with the
  /// model's filters in order (ConfigError when the counts differ). With `masks` enabled the
  /// conditioning vectors carry present flags and row i loses the bands masks.draw(seed, i)
  /// drops (after its noise is drawn, so the kept bands are those of the unmasked row). With
  /// z_range.inferred the conditioning vectors have no z and theta_flow gets z as its last
  /// column; the rows are otherwise the same as with z given.
  TrainingSimulator(const sps::SedModel& model, const prior::Prior& prior, const noise::NoiseModel& noise,
                    RedshiftRange z_range, std::uint64_t seed, int max_attempts = 1000, BandMasks masks = {});

  /// Simulates rows [first, first + count). Draws for row i come from Rng(seed, kPrior, i) and
  /// Rng(seed, kRedshift, i) (candidate k: the k-th prior draw and the k-th redshift, drawn from
  /// z_range.z_prior()); a candidate
  /// whose true flux falls outside the noise catalog's range in any band (MODEL.md 5) is dropped
  /// and the next one is taken. Candidates whose sps::FluxBounds already prove that are dropped
  /// without evaluating the SED (the same decision, so the same rows as evaluating all of them).
  /// The noise of the kept candidate is drawn from Rng(seed, kNoise, i) (after any candidate the
  /// noise model dropped for a failed sigma draw). Rows depend on (seed, i) only.
  /// Per-band counts in counters.noise.n_out_of_range: for candidates rejected by the bounds,
  /// the bands proven out of range; for evaluated ones, the bands out of range.
  void simulate(std::uint64_t first, std::uint64_t count, SimulatedRows& out, SimulationCounters& counters) const;

  /// Test sets beyond the training noise: band b's noise is scaled by scale[b] >= 1 after it
  /// is drawn (sigma' = s sigma, flux' = true + s (flux - true)), so the errors are wider than
  /// the noise model allows. Throws ConfigError for a wrong length or a factor < 1.
  void set_noise_scale(std::vector<double> scale);

  /// Rows also get the observed spectrum of their galaxy (docs/spectra.md): the model spectrum at
  /// the row's theta and z through `spectrograph` (must outlive the simulator), normalised, with
  /// its noise from Rng(seed, kSpectrumNoise, i). The photometry is unchanged.
  void set_spectrograph(const sps::Spectrograph* spectrograph) { spectrograph_ = spectrograph; }
  const sps::Spectrograph* spectrograph() const { return spectrograph_; }

  std::size_t num_bands() const { return n_bands_; }
  const noise::Conditioning& conditioning() const { return conditioning_; }
  /// The flow's theta columns (theta_flow).
  prior::ThetaLayout layout() const { return z_range_.layout(); }
  const BandMasks& masks() const { return masks_; }

 private:
  bool reject_by_bounds(const double* theta, double z, SimulationCounters& counters) const;

  const sps::SedModel& model_;
  std::unique_ptr<sps::FluxBounds> bounds_;  ///< null where no bound tables could be built
  std::vector<double> flux_min_, flux_max_;  ///< [bands] the noise catalog's flux range
  const prior::Prior& prior_;
  const noise::NoiseModel& noise_;
  noise::Conditioning conditioning_;
  BandMasks masks_;
  std::vector<double> noise_scale_;  ///< [bands] error inflation (1 = the noise model's)
  const sps::Spectrograph* spectrograph_ = nullptr;
  RedshiftRange z_range_;
  prior::RedshiftPrior z_prior_;  ///< z_range_.z_prior()
  std::uint64_t seed_;
  int max_attempts_;
  std::size_t n_bands_;
};

}  // namespace sedpost::simulate
