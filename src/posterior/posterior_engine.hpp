#pragma once
/// Per-galaxy posteriors of a catalog chunk (`sedpost infer`, `validate`; MODEL.md sections 8-9,
/// docs/metrics.md): input checks, flow draws, likelihood weighting with refinement
/// (LikelihoodWeighting), physical and derived quantities, weighted summaries, resampled draws,
/// chi^2 and flags. The flow's noise for catalog row r is keyed by (seed, r) and the
/// refinement's by (seed, kImportance, r), so the output does not depend on how rows are split
/// into chunks or over ranks.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog_reader.hpp"
#include "catalog/quantities.hpp"
#include "catalog/support.hpp"
#include "flow/flow.hpp"
#include "flow/spectrum_embedding.hpp"
#include "noise/conditioning.hpp"
#include "sps/free_z_model.hpp"
#include "posterior/flags.hpp"
#include "posterior/settings.hpp"
#include "prior/magnitude_redshift_prior.hpp"
#include "prior/prior.hpp"
#include "prior/theta_layout.hpp"
#include "sps/fixed_z_model.hpp"
#include "sps/sed_model.hpp"
#include "sps/spectrograph.hpp"

namespace sedpost::posterior {

/// Results for one chunk of n galaxies (row-major arrays). K = PosteriorEngine::num_quantities()
/// (catalog::kNumQuantities, plus z when the model infers it), D = PosteriorEngine::theta_dim().
struct ChunkResult {
  std::uint64_t n = 0;
  std::vector<float> summary;        ///< [n, K, 7] (weighted when the weighting is on)
  std::vector<float> samples;        ///< [n, n_store, K] equally weighted (resampled by weight)
  std::vector<float> draws_flow;     ///< [n, n_store, D] the same draws in flow coordinates
  std::vector<double> chi2;          ///< [n] chi^2 of the best-fitting draw (NaN when no posterior)
  std::vector<double> chi2_draw;     ///< [n] chi^2 of one draw picked by weight (NaN when weighting is off)
  std::vector<double> best_flux;     ///< [n, B] model fluxes of that best draw [nmgy]
  std::vector<double> log_q_best;    ///< [n] flow log density of that draw, unbounded coordinates
  std::vector<double> ess;           ///< [n] Kish effective sample size of the weights (NaN: weighting off)
  std::vector<double> efficiency;    ///< [n] ess / n_draws
  std::vector<std::uint32_t> n_draws; ///< [n] likelihood evaluations (flow draws + refinement draws + moves)
  std::vector<std::uint32_t> rounds; ///< [n] refinement rounds
  std::vector<double> acceptance;    ///< [n] mean acceptance rate of the resample-move steps (NaN: moves off or no posterior)
  std::vector<std::uint32_t> flags;  ///< [n]
  std::vector<std::uint32_t> bands_used; ///< [n] bit b set when band b's photometry entered the posterior
  std::vector<std::string> reason;   ///< [n] "" or "; "-joined reasons
  std::vector<double> truth;         ///< [n, K] when the chunk has truth, else empty
  double seconds_sampling = 0;       ///< wall time in Flow::sample
  double seconds_posterior = 0;      ///< likelihood weighting and refinement, quantities, summaries, chi^2
  double seconds_rest = 0;           ///< input checks, conditioning vectors, truth
};

class PosteriorEngine {
 public:
  /// `flow` must have been trained on this model's training set (theta = the prior's flow
  /// coordinates, then z when support.z_inferred; x = Conditioning(bands), without z when z is
  /// inferred). Throws ConfigError when the dimensions disagree or the settings are invalid.
  /// With z inferred the catalog's redshift is not read: every quantity is marginalised over the
  /// flow's (weighted) z draws, z is the last quantity, and a multimodal z posterior is flagged.
  ///
  /// A flow that conditions on spectra (its model file has a spectrum embedding) needs the
  /// training set's `spectrograph`: the likelihood weighting's target then includes each
  /// galaxy's spectral likelihood (SpectrumLikelihood), and chunks must carry spectra on its grid.
  PosteriorEngine(const flow::Flow& flow, const sps::SedModel& model, const prior::Prior& prior,
                  const catalog::TrainingSupport& support, const PosteriorSettings& settings,
                  const std::optional<sps::SpectrographSettings>& spectrograph = std::nullopt);

  ChunkResult run(const catalog::CatalogChunk& chunk) const;
  /// True when the flow conditions on a spectrum as well (then every chunk needs
  /// CatalogChunk::spectrum with spectrum_pixels() pixels per row).
  bool uses_spectra() const { return embedding_.has_value(); }
  int spectrum_pixels() const { return embedding_ ? embedding_->n_pixels() : 0; }

  int num_bands() const { return static_cast<int>(support_.bands.size()); }
  /// chi2_implausible threshold of a galaxy with `n_used` bands (default all B): the
  /// (1 - chi2_pvalue) quantile of chi^2 with n_used dof.
  double chi2_threshold(int n_used = -1) const {
    return chi2_max_.at(static_cast<std::size_t>(n_used < 0 ? num_bands() : n_used));
  }
  const PosteriorSettings& settings() const { return settings_; }
  bool z_inferred() const { return layout_.z_inferred; }
  /// Flow coordinates per draw: 11, or 12 with z.
  int theta_dim() const { return static_cast<int>(layout_.dim()); }
  /// K and the quantity names / units of /summary (catalog::quantity_names(z_inferred())).
  int num_quantities() const { return static_cast<int>(catalog::quantity_names(z_inferred()).size()); }
  const std::vector<std::string>& quantity_names() const { return catalog::quantity_names(z_inferred()); }
  const std::vector<std::string>& quantity_units() const { return catalog::quantity_units(z_inferred()); }

 private:
  /// Which bands row i's posterior uses: used[b] = 1 for a band in the likelihood, in_flow[b] = 1
  /// for a band in the flow's conditioning vector, sigma_flow [B] the errors given to the flow
  /// [nmgy]. A missing band (NaN flux, error NaN, +inf or <= 0) is left out when the model has
  /// band masks, else it flags bad photometry. A band noisier than the training data
  /// (MODEL.md 9, criterion 1) is flagged and remedied (docs/missing-bands.md): with band masks
  /// it is left out of the flow (and, with the weighting on, kept in the likelihood); without,
  /// and with the weighting on, the flow sees its error clipped to the training bound.
  struct RowBands {
    std::vector<std::uint8_t> used, in_flow;
    std::vector<std::uint8_t> typical_noise;  ///< [B] used and not noisier than training
    std::vector<double> sigma_flow;
  };
  /// Input checks (flags 0-1 and criteria 1-2) for row i; returns the flag bits and fills `bands`.
  std::uint32_t check_row(const catalog::CatalogChunk& c, std::size_t i, std::string* reason, RowBands& bands) const;
  /// The noisier-than-training test of the used bands of row i and its remedy (see RowBands).
  std::uint32_t check_noise(const double* flux, const double* sigma, std::string* reason, RowBands& bands) const;
  /// log q of a draw in the flow's unbounded coordinates u = logit((theta - lo)/(hi - lo)):
  /// log q(theta) + sum_k log |d theta_k / d u_k|. `theta` [n_theta] in flow coordinates.
  double log_q_unbounded(const double* theta, double log_q) const;
  /// Flow draws only (weighting off): equal weights, best = highest flow density.
  void summarise_flow_draws(const catalog::CatalogChunk& c, std::size_t i, const float* theta_flow,
                            const float* log_q, ChunkResult& r) const;
  /// Weighted draws: summaries, resampled draws, chi^2, ESS; the best-fitting draw's flow
  /// coordinates [D] into best_x.
  /// `typical_noise` [B]: bands whose error density enters the target (RowBands).
  void summarise_weighted(const catalog::CatalogChunk& c, std::size_t i, const float* x_cond, const float* theta_flow,
                          const float* log_q, const std::uint8_t* typical_noise, ChunkResult& r, double* best_x) const;
  /// Row i's posterior and flags (thread-safe for distinct rows when no flow call is made:
  /// weighting on, not defensive). best_x [D] as in summarise_weighted.
  void posterior_of_row(const catalog::CatalogChunk& c, std::size_t i, const float* x_cond, const float* theta_flow,
                        const float* log_q, const std::uint8_t* typical_noise, ChunkResult& r, double* best_x) const;
  /// r.log_q_best of every row with a best draw (best_x [n, D], NaN rows skipped), one flow call;
  /// x [n, n_x] the conditioning vectors.
  void flow_log_q_best(const float* x, const std::vector<double>& best_x, ChunkResult& r) const;
  /// The spectrum embedding of every row of c with a posterior (flags [n] without
  /// kFlagsNoPosterior) into the last E entries of its x [n, n_x]. DataError when c has no
  /// spectra of the model's size, or naming the galaxy (ID and row) with a non-finite pixel.
  void append_spectrum_embedding(const catalog::CatalogChunk& c, const std::vector<std::uint32_t>& flags,
                                 float* x) const;
  /// Physical and derived quantities [K] of flow coordinates x [D]: at the galaxy's z `at_z`, or
  /// (at_z null, z inferred) at the draw's own z, which is then the last quantity.
  void quantities(const sps::FixedZModel* at_z, const double* x, double* out) const;
  /// Model fluxes of flow coordinates x [D] (at_z as in quantities) into r.best_flux row i, and r.chi2[i].
  void best_fit(const catalog::CatalogChunk& c, std::size_t i, const sps::FixedZModel* at_z, const double* x,
                ChunkResult& r) const;
  /// z inferred: the redshift prior of row i's weighting target: the magnitude-dependent prior's
  /// bin of the row's magnitude when it is set and the band is in the posterior (`bands_used`
  /// bit), else the model's z prior.
  const prior::RedshiftPrior& z_prior_of_row(const catalog::CatalogChunk& c, std::size_t i,
                                             std::uint32_t bands_used) const;
  /// z inferred: flags row i z_multimodal when its z draws (column kZ of x [m, D], weights w [m]
  /// or null = equal) have two or more modes.
  void check_z_modes(const double* x, const double* w, std::size_t m, std::size_t i, ChunkResult& r) const;

  const flow::Flow& flow_;
  const sps::SedModel& model_;
  /// Set when the model conditions on spectra (the model file's spectrum embedding): its outputs
  /// are the last entries of each row's conditioning vector.
  std::optional<flow::SpectrumEmbedding> embedding_;
  std::optional<sps::Spectrograph> spectrograph_;  ///< set with embedding_
  std::optional<sps::FreeZModel> free_z_;  ///< z inferred: the model at each draw's z (tabulated bands)
  std::optional<prior::RedshiftPrior> z_prior_;  ///< z inferred: layout_.z_prior(), built once
  /// Set with settings.z_prior_mag_band: the z prior by the magnitude in band mag_band_.
  std::optional<prior::MagnitudeRedshiftPrior> mag_z_prior_;
  std::size_t mag_band_ = 0;
  const prior::Prior& prior_;
  const catalog::TrainingSupport& support_;
  PosteriorSettings settings_;
  prior::ThetaLayout layout_;
  noise::Conditioning conditioning_;
  std::vector<double> chi2_max_;  ///< [B + 1] chi2_implausible threshold by number of used bands
};

}  // namespace sedpost::posterior
