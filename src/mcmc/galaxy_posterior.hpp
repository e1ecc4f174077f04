#pragma once
/// The log-probability of one catalog galaxy that `sedpost mcmc` samples: the SED model at the
/// galaxy's fixed redshift, the prior of MODEL.md 1 and the Gaussian flux likelihood, in one of
/// three sampled coordinate systems (SampledCoords). Batched for BatchLogDensity (one model
/// call per batch of points). Fluxes and errors are in nanomaggies; coordinates are the 11 flow
/// coordinates of prior::Prior (log M* first) or maps of them.
#include "mcmc/ensemble_slice_sampler.hpp"
#include "posterior/spectrum_likelihood.hpp"
#include "prior/prior.hpp"
#include "prior/redshift_prior.hpp"
#include "sps/fixed_z_model.hpp"
#include "sps/free_z_model.hpp"
#include "sps/sed_model.hpp"

#include <Eigen/Core>

#include <optional>
#include <string>
#include <vector>

namespace sedpost::mcmc {

/// Coordinates the sampler moves in (all sample the same posterior: the prior of MODEL.md 1
/// times the Gaussian flux likelihood; each carries the log-Jacobian of its map to the box).
enum class SampledCoords {
  kBox,        ///< the 11 flow coordinates themselves (uniform prior on the box)
  kUnbounded,  ///< y = logit of each flow coordinate scaled to (0, 1) (the flow's R^11 map)
  kAmplitude,  ///< kUnbounded for the 10 shape coordinates; log M* replaced by the
               ///< standardised amplitude u = (M - M_hat) / sigma_M (see GalaxyPosterior)
};

/// Parse "box" | "unbounded" | "amplitude" (`mcmc --coordinates`); throws ConfigError otherwise.
SampledCoords sampled_coords_from_string(const std::string& name);

/// Posterior of one galaxy in the flow coordinates x (MODEL.md 1, 4; SEDflow Eq. 1 with the
/// Gaussian normalisation dropped):
///   log p(x | f_obs) = -0.5 sum_b ((f_b(theta(x)) - f_obs_b) / sigma_b)^2 + log prior(x),
/// the prior uniform on the flow-coordinate box (-log volume inside, -inf outside), sampled in
/// the coordinates y of SampledCoords with log p(y) = log p(x(y)) + log |det dx/dy|. A band
/// with sigma = +inf (missing) has no term.
///
/// kAmplitude (MODEL.md 10b: the slowest mixing is along mass-dust-burst degeneracies, which
/// are mostly "the other parameters change the overall brightness and log M* compensates").
/// The model fluxes are exactly linear in M = 10^logM* (MODEL.md 2: the SFH is normalised to
/// 1 M_sun and multiplied by M*), f_b = M g_b(s) with s the 10 shape coordinates. For fixed s the
/// chi^2 is a parabola in M with minimum M_hat(s) = sum g f iv / sum g^2 iv and width
/// sigma_M(s) = (sum g^2 iv)^-1/2; sampling u = (M - M_hat(s)) / sigma_M(s) instead of log M*
/// makes the likelihood's dependence on u the same N(0, 1) shape for every s, so the curved
/// mass ridge becomes a straight axis. Bijection for fixed s: log M* = log10(M_hat + sigma_M u)
/// with log |d logM*/du| = log sigma_M - log M - log ln 10; points with M outside the prior's
/// mass range get -inf. One model evaluation per point, as in the other coordinates.
///
/// With the redshift free (photo-z mode, docs/photo-z.md) a 12th coordinate is z on
/// [z_min, z_max] with the prior::RedshiftPrior p(z) (uniform by default): linear in kBox,
/// logit((z - z_min) / (z_max - z_min)) in kUnbounded and kAmplitude (the fluxes stay linear in M at every z), and the model is evaluated at each
/// point's own z.
///
/// With a posterior::SpectrumLikelihood (the galaxy's observed spectrum, docs/spectra.md) the
/// log density adds -0.5 chi^2_spec(theta, z) at every point, in every coordinate system (the
/// spectrum is flux-normalised, so the amplitude map is unchanged).
///
/// Keeps references to `model` and `prior` (they must outlive it) and work buffers: one
/// instance per thread.
class GalaxyPosterior {
 public:
  /// flux_obs, sigma [n_bands] nanomaggies, n_bands = model.num_bands(). sigma > 0, or +inf for
  /// a missing band (its flux is then not read); a NaN or non-positive sigma is the caller's to
  /// reject (run_galaxy flags it). `spectrum` (null: photometry only; it must outlive the
  /// posterior) adds the galaxy's spectral likelihood at the model's z.
  GalaxyPosterior(const sps::FixedZModel& model, const prior::Prior& prior, const double* flux_obs,
                  const double* sigma, int n_bands, SampledCoords coords,
                  const posterior::SpectrumLikelihood* spectrum = nullptr);
  /// The same with z free on [z_min, z_max] of `z_prior`, whose density enters the log prior
  /// (z_max <= model z_max; ConfigError otherwise); the spectrum is evaluated at each point's z.
  GalaxyPosterior(const sps::FreeZModel& model, const prior::RedshiftPrior& z_prior, const prior::Prior& prior,
                  const double* flux_obs, const double* sigma, int n_bands, SampledCoords coords,
                  const posterior::SpectrumLikelihood* spectrum = nullptr);

  /// Sampled (and flow) coordinates: 11, or 12 with z free.
  int dim() const { return static_cast<int>(lo_.size()); }

  /// thetas [n, dim()] sampled coordinates -> logp [n] (log density in those coordinates; -inf
  /// outside the support; a NaN model flux gives NaN, which the sampler reports as
  /// NumericsError). The BatchLogDensity signature.
  void operator()(const Eigen::Ref<const Eigen::MatrixXd>& thetas, Eigen::Ref<Eigen::VectorXd> logp);

  /// Sampled coordinates y [n, dim()] with their log density `logp` [n] (as the sampler returned
  /// it) -> flow coordinates x [n, dim()] (then z) and the flow-coordinate log posterior [n] (-0.5 chi^2
  /// (- 0.5 chi^2_spec with a spectrum) + log prior, the schema's /log_prob). kAmplitude evaluates the model once per row (log M*
  /// needs M_hat); the others need no model call.
  void to_flow(const Eigen::Ref<const Eigen::MatrixXd>& y, const Eigen::Ref<const Eigen::VectorXd>& logp,
               Eigen::MatrixXd& x, Eigen::VectorXd& logp_flow);

  /// Flow coordinates x [n, dim()] (inside the box) -> sampled coordinates [n, dim()]. kAmplitude
  /// evaluates the model once per row (for M_hat, sigma_M).
  Eigen::MatrixXd from_flow(const Eigen::Ref<const Eigen::MatrixXd>& x);

  /// Typical scale of each sampled coordinate [dim()] (the box widths; 4 in the logit and
  /// amplitude coordinates, where the prior's bulk spans a few units).
  Eigen::VectorXd scale() const;

  /// The sampled coordinates with a fixed bounded support (for the sampler's whole-range
  /// coordinate slices, AxisSliceSettings): the 10 shape coordinates (1..10) as kLogit in
  /// kUnbounded and kAmplitude, all box coordinates as kLinear in kBox (z too, when free). The amplitude u of
  /// kAmplitude has no fixed bounds (its range depends on the shape) and is not listed.
  std::vector<BoundedAxis> bounded_axes() const;

  /// Model evaluations (points) so far: operator(), to_flow and from_flow.
  long n_evals() const { return n_evals_; }

 private:
  /// Log density in the sampled coordinates at the rows of y [n, dim()] into logp [n]; optionally
  /// the flow coordinates x [n, dim()] (rows outside the support: NaN) and the flow-coordinate log
  /// posterior [n].
  void evaluate(const Eigen::Ref<const Eigen::MatrixXd>& y, double* logp, Eigen::MatrixXd* x_out,
                Eigen::VectorXd* logp_flow);
  /// The shared constructor (fixed z; the z-free one then sets free_ and the z bounds).
  GalaxyPosterior(const sps::FixedZModel* model, const prior::Prior& prior, const double* flux_obs,
                  const double* sigma, int n_bands, SampledCoords coords, const posterior::SpectrumLikelihood* spectrum);
  /// Model fluxes [m, B] of physical thetas [m, 12] at redshifts z [m] (ignored at a fixed z).
  void model_fluxes(const double* phys, const double* z, int m, double* flux);
  /// z of the sampled coordinate v (kBox: v itself) and the log |dz/dv| it adds.
  double z_of(double v, double* log_det) const;
  /// The sampled coordinate of z.
  double sampled_of_z(double z) const;

  const sps::FixedZModel* fixed_ = nullptr;  ///< the model at the galaxy's z, or
  const sps::FreeZModel* free_ = nullptr;    ///< the model at any z (z free)
  const prior::Prior& prior_;
  std::vector<double> lo_, hi_;  ///< [dim()] the flow box, then [z_min, z_max]
  std::vector<double> flux_obs_, ivar_;  ///< [n_bands]; a missing band has ivar 0 and flux 0
  int n_bands_;
  SampledCoords coords_;
  const posterior::SpectrumLikelihood* spectrum_ = nullptr;  ///< null: photometry only
  double log_prior_in_box_ = 0.0;
  std::optional<prior::RedshiftPrior> z_prior_;  ///< set when z is free
  double m_lo_ = 0.0, m_hi_ = 0.0;  ///< the prior's mass range [M_sun]
  double log_det_y0_ = 0.0;
  std::vector<double> ys_, xs_, zs_, log_det_, phys_, flux_;  ///< ys_, xs_ [n, 11]; zs_ [n]
  std::vector<Eigen::Index> inside_;
  long n_evals_ = 0;
};

}  // namespace sedpost::mcmc
