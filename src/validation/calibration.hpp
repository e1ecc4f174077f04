#pragma once
/// Calibration of posteriors on a simulated test set with known truths (MODEL.md section 10):
/// coverage / p-p curves, simulation-based calibration (Talts et al. 2018, arXiv 1804.06788),
/// TARP (Lemos et al. 2023, arXiv 2302.03026), bias and RMSE of the posterior median.
///
/// Array layout everywhere: C order (row-major), samples [N galaxies, S samples, K quantities]
/// as float (the posterior catalog's /samples), truths [N, K] as double (/truth).
/// Nothing here is collective or random without a seed; results depend only on the inputs and
/// CalibrationSettings::seed.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sedpost::validation {

/// Read-only view of samples laid out [n_objects, n_samples, row_stride] (C order), of which the
/// first n_quantities columns of each row are used (row_stride = 0 means row_stride = n_quantities).
/// Lets a caller compare the 12 physical parameters of an [N, S, 18] posterior-catalog buffer
/// without copying.
struct SamplesView {
  const float* data = nullptr;
  std::size_t n_objects = 0;
  std::size_t n_samples = 0;
  std::size_t n_quantities = 0;
  std::size_t row_stride = 0;

  std::size_t stride() const { return row_stride == 0 ? n_quantities : row_stride; }
  /// Sample s of quantity k of object i (no bounds check).
  float at(std::size_t i, std::size_t s, std::size_t k) const {
    return data[(i * n_samples + s) * stride() + k];
  }
};

/// Settings of calibrate(). The defaults are the ones `sedpost validate` uses.
struct CalibrationSettings {
  int n_levels = 101;                ///< grid of credibility levels 0, 1/(n-1), ..., 1 (>= 2)
  int sbc_bins = 20;                 ///< B, SBC histogram bins
  int sbc_max_rank = 0;              ///< upper bound on L (samples ranked per galaxy); 0 = use all S
  std::uint64_t seed = 0;            ///< TARP reference points, SBC tie breaking and KS jitter
  std::vector<int> tarp_quantities;  ///< quantity indices of the TARP joint space; empty = all K
};

/// Simulation-based calibration of one quantity (Talts et al. 2018, Algorithm 2).
/// The rank of the truth among L posterior samples (evenly thinned from S, L + 1 a multiple of B
/// so that every bin holds the same number of rank values) is uniform on 0..L for a calibrated
/// posterior.
struct SbcResult {
  int n_ranks = 0;                      ///< L: samples ranked per galaxy (ranks take L + 1 values)
  int n_bins = 0;                       ///< B: histogram bins (bin of rank r = r * B / (L + 1))
  std::vector<std::int64_t> histogram;  ///< [B] counts of ranks per bin
  double chi2 = 0.0;                    ///< Pearson chi^2 of the histogram vs N / B per bin
  double chi2_dof = 0.0;                ///< B - 1
  double chi2_p_value = 0.0;            ///< P(chi^2_{B-1} >= chi2); tiny = ranks not uniform
  double ks_statistic = 0.0;            ///< KS D of the jittered normalised ranks (r + U) / (L + 1)
  double ks_p_value = 0.0;              ///< its p-value (exactly U(0,1) under calibration)
  /// Fraction of ranks in the first and last bins together; expected 2 / B. Above = U-shape =
  /// overconfident (too narrow) posteriors; below = cap shape = underconfident (too wide).
  double outer_fraction = 0.0;
  double outer_expected = 0.0;  ///< 2 / B
  /// Signed over-confidence indicator: (outer count - N 2/B) / sqrt(N 2/B (1 - 2/B)), a z-score
  /// under calibration. > +3: overconfident; < -3: underconfident.
  double outer_z = 0.0;
  /// Mean of r / L - 0.5: > 0 when truths sit above the posteriors (posteriors biased low).
  double mean_rank_offset = 0.0;
};

/// Calibration metrics of one quantity over the galaxies where it is usable (finite truth and
/// all S samples finite).
struct QuantityCalibration {
  std::string name;
  std::int64_t n_used = 0;  ///< galaxies used
  /// [n_levels] p-p curve: fraction of galaxies whose truth percentile u_i <= level, where
  /// u_i = (#{samples < truth} + #{samples == truth} / 2) / S. Diagonal = calibrated; below the
  /// diagonal at low levels and above at high levels (an S curve) = overconfident.
  std::vector<double> pp_ecdf;
  /// [n_levels] fraction of truths inside the central credible interval of each level
  /// (|u_i - 0.5| <= level / 2). Below the diagonal = overconfident.
  std::vector<double> central_coverage;
  double pp_max_deviation = 0.0;  ///< sup_a |ECDF(a) - a| (exact KS statistic of the u_i)
  double coverage_68 = 0.0;       ///< central-interval coverage at 0.6827 (exact, not the grid)
  double coverage_95 = 0.0;       ///< central-interval coverage at 0.9545
  SbcResult sbc;
  double median_bias = 0.0;         ///< mean over galaxies of (posterior median - truth)
  double median_rmse = 0.0;         ///< sqrt(mean (posterior median - truth)^2)
  double mean_posterior_std = 0.0;  ///< mean over galaxies of the posterior std (for scale)
};

/// TARP expected coverage (Lemos et al. 2023, their Algorithm 1, as in the `tarp` package's
/// get_tarp_coverage): the joint space of the chosen quantities is z-scored with the mean and std
/// of the truths; each galaxy i gets one reference point drawn uniformly in the bounding box of
/// the z-scored truths (seeded); f_i = fraction of samples closer (Euclidean) to the reference
/// than the truth; ECP(alpha) = fraction of galaxies with f_i < alpha (ECP(1) = 1). Calibrated
/// posteriors give ECP(alpha) = alpha for every reference distribution.
struct TarpResult {
  std::vector<int> quantities;  ///< indices of the quantities in the joint space
  std::int64_t n_used = 0;      ///< galaxies with finite truths in all of them
  std::vector<double> ecp;      ///< [n_levels] at CalibrationReport::levels
  double max_deviation = 0.0;   ///< sup_alpha |ECP(alpha) - alpha| (exact, the KS D of the f_i)
  double ks_p_value = 0.0;      ///< KS p-value of the f_i against U(0, 1)
};

/// Everything calibrate() measures.
struct CalibrationReport {
  std::int64_t n_galaxies = 0;                  ///< N
  std::int64_t n_samples = 0;                   ///< S
  std::vector<double> levels;                   ///< [n_levels] credibility levels 0..1
  std::vector<QuantityCalibration> quantities;  ///< [K]
  TarpResult tarp;
  CalibrationSettings settings;  ///< the settings used (for the JSON)
};

/// Calibration metrics computed galaxy block by galaxy block, for test sets whose samples do not
/// fit in memory at once (10^4 galaxies x 10^4 samples x 18 quantities is 7 GB of float32):
/// construct with all truths, add() each block of rows (any order, each galaxy once), finish().
/// Gives exactly the same result as calibrate() on the whole array.
class CalibrationAccumulator {
 public:
  /// truth: [n_galaxies, n_quantities] double (copied); n_samples: S of every galaxy; names: [K].
  /// Throws sedpost::ConfigError on inconsistent shapes/settings (as calibrate()).
  CalibrationAccumulator(const double* truth, std::size_t n_galaxies, std::size_t n_samples,
                         std::size_t n_quantities, const std::vector<std::string>& names,
                         const CalibrationSettings& settings = {});
  ~CalibrationAccumulator();
  CalibrationAccumulator(CalibrationAccumulator&&) noexcept;
  CalibrationAccumulator& operator=(CalibrationAccumulator&&) noexcept;

  /// Adds the samples of galaxies first_galaxy .. first_galaxy + block.n_objects - 1:
  /// block is a view [n_block, S, K] (row stride >= K). Throws sedpost::ConfigError when
  /// block.n_samples != S, block.n_quantities != K or the rows run past n_galaxies.
  void add(std::size_t first_galaxy, const SamplesView& block);

  /// The metrics over the galaxies added so far (galaxies never added count as unusable).
  CalibrationReport finish() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Calibration metrics of posterior samples against truths.
/// samples: [N, S, K] (view; the first K columns of each row), truth: [N, K] double, C order;
/// names: [K]. Galaxies with a non-finite truth or any non-finite sample of a quantity are left
/// out of that quantity (and out of TARP when it concerns a TARP quantity).
/// Throws sedpost::ConfigError on inconsistent shapes/settings (names.size() != K, S < 1,
/// n_levels < 2, sbc_bins < 2, a TARP index out of range).
CalibrationReport calibrate(const SamplesView& samples, const double* truth,
                            const std::vector<std::string>& names, const CalibrationSettings& settings = {});

/// Same with a contiguous samples array [n_galaxies, n_samples, n_quantities] float.
CalibrationReport calibrate(const float* samples, const double* truth, std::size_t n_galaxies,
                            std::size_t n_samples, std::size_t n_quantities,
                            const std::vector<std::string>& names, const CalibrationSettings& settings = {});

/// Counts of flagged galaxies (posterior-catalog /flags bit masks, MODEL.md section 9).
struct FlagSummary {
  std::int64_t n_galaxies = 0;
  std::int64_t n_flagged = 0;        ///< flags != 0
  double fraction_flagged = 0.0;     ///< n_flagged / n_galaxies (NaN when 0 galaxies)
  std::vector<std::string> names;    ///< [n_bits] bit i = names[i]
  std::vector<std::int64_t> counts;  ///< [n_bits] galaxies with bit i set
  std::vector<double> fractions;     ///< [n_bits] counts / n_galaxies
  /// [n_bits] rate each flag should fire at on galaxies simulated from the model (NaN: not
  /// stated), and the largest fraction a binomial test at level 1e-3 still accepts (see
  /// posterior_checks.hpp); empty when no expectation was set.
  std::vector<double> expected, allowed;
};

/// Flag statistics of flags [n] (uint32 bit masks) with bit names flag_names [n_bits <= 32].
FlagSummary summarize_flags(const std::uint32_t* flags, std::size_t n,
                            const std::vector<std::string>& flag_names);

}  // namespace sedpost::validation
