#pragma once
/// One galaxy's exact posterior at its fixed redshift, up to a constant, in the 11 flow
/// coordinates x (MODEL.md 1, 4):
///   log pi(x) = -0.5 chi^2(x) + log prior(x),   chi^2 = sum_b (f_b(x) - f_obs_b)^2 / sigma_eff_b^2,
///   sigma_eff_b^2 = sigma_b^2 + (model_error f_obs_b)^2   (the model-systematics floor),
/// with the prior uniform on the flow-coordinate box (constant dropped; -inf outside) and, when
/// SimulatorTerms are given, their log density added: the training simulator's truncation of
/// the prior to model fluxes inside the noise catalog's range and the noise model's density of
/// the observed errors (simulator_terms.hpp), so that the target is the posterior of the model
/// the flow learned.
///
/// Amplitude coordinates w [11] (the refinement proposal's space, as `mcmc --coordinates
/// amplitude`): the model fluxes are linear in M = 10^log M*, f_b = M g_b(s), with s the other
/// 10 coordinates. For fixed s the chi^2 is a parabola in M with minimum M_hat(s) = sum g f iv /
/// sum g^2 iv and width sigma_M(s) = (sum g^2 iv)^-1/2, so w_0 = (M - M_hat) / sigma_M has the
/// same N(0, 1) likelihood shape for every s and the curved mass ridge becomes an axis;
/// w_k = logit((x_k - lo_k) / (hi_k - lo_k)) for k >= 1. The map x <-> w is a bijection for
/// M inside the prior's mass range, with log |det dw/dx| = log(M ln 10 / sigma_M) +
/// sum_{k>=1} log((hi_k - lo_k) / ((x_k - lo_k)(hi_k - x_k))).
///
/// With the redshift inferred (docs/photo-z.md) x has a 12th coordinate, z, on [z_min, z_max]
/// with the prior::RedshiftPrior p(z): log_target adds log p(z) relative to the uniform density
/// (0 for the default uniform prior), and the model fluxes are evaluated at each
/// draw's own z; the amplitude coordinates get w_11 = logit((z - z_min) / (z_max - z_min)) like
/// the other box coordinates (the fluxes stay linear in M at every z).
///
/// With a SpectrumLikelihood (the galaxy's observed spectrum, docs/spectra.md) log_target
/// adds -0.5 chi^2_spec at every draw; chi^2_spec does not depend on the mass (the spectrum is
/// flux-normalised), so the amplitude coordinates are unchanged. The chi2 outputs stay
/// photometric only (the flags test them against the bands' chi^2 distribution).
#include <optional>
#include <vector>

#include "posterior/simulator_terms.hpp"
#include "posterior/spectrum_likelihood.hpp"
#include "prior/prior.hpp"
#include "prior/redshift_prior.hpp"
#include "sps/fixed_z_model.hpp"
#include "sps/free_z_model.hpp"

namespace sedpost::posterior {

/// Least-squares amplitude of model fluxes linear in the mass, f_b = M g_b: for unit fluxes g,
/// observed fluxes f and inverse variances iv [n_bands], the chi^2 minimum M_hat = sum g f iv /
/// sum g^2 iv and its width sigma_M = (sum g^2 iv)^-1/2 (NaN / inf when every g is 0).
struct Amplitude {
  double m_hat, sigma_m;
};
Amplitude least_squares_amplitude(const double* unit, const double* flux_obs, const double* ivar, int n_bands);

class SedTarget {
 public:
  /// flux_obs, sigma [n_bands] nanomaggies (sigma > 0; sigma = +inf leaves the band out of the
  /// likelihood, its flux is then not read); model_error >= 0; `terms` (null: none) the
  /// simulator's prior truncation and error density; `spectrum` (null: none) the galaxy's
  /// spectral likelihood, evaluated at the model's z (best built with that fixed z). The model,
  /// prior, arrays, terms and spectrum must outlive the target.
  SedTarget(const sps::FixedZModel& model, const prior::Prior& prior, const double* flux_obs, const double* sigma,
            int n_bands, double model_error, const SimulatorTerms* terms = nullptr,
            const SpectrumLikelihood* spectrum = nullptr);
  /// The same with z free: x [12] = (flow coordinates, z), z on [z_min, z_max] of `z_prior`
  /// (z_max <= the model's z_max, else ConfigError; z <= 0 is outside the support).
  SedTarget(const sps::FreeZModel& model, const prior::RedshiftPrior& z_prior, const prior::Prior& prior, const double* flux_obs,
            const double* sigma, int n_bands, double model_error, const SimulatorTerms* terms = nullptr,
            const SpectrumLikelihood* spectrum = nullptr);

  int n_bands() const { return n_bands_; }
  /// Coordinates of x: 11, or 12 with z free.
  int dim() const { return static_cast<int>(lo_.size()); }

  /// Draws in flow coordinates x [n, dim()]: log_target [n] (-0.5 chi^2 + the simulator terms
  /// + the z prior's log relative density - 0.5 chi^2_spec with a spectrum; -inf
  /// outside the box), chi2 [n] (+inf outside the box; finite outside the flux range), unit
  /// [n, B] model fluxes per M_sun formed (NaN outside the box).
  void evaluate_flow(const double* x, int n, double* log_target, double* chi2, double* unit) const;

  /// Amplitude coordinates w [dim()] of x [dim()] with unit fluxes `unit` [B]; returns log |det dw/dx|
  /// (NaN when the unit fluxes are not usable, e.g. all zero).
  double to_amplitude(const double* x, const double* unit, double* w) const;

  /// Draws in amplitude coordinates w [n, dim()] -> x [n, dim()], log_target, chi2, unit as in
  /// evaluate_flow, and log |det dw/dx| [n]. Rows whose mass falls outside the prior range (or
  /// whose fluxes vanish) get log_target = -inf and x = the box centre.
  void evaluate_amplitude(const double* w, int n, double* x, double* log_target, double* chi2, double* unit,
                          double* log_det_wx) const;

 private:
  /// The shared constructor: exactly one of `fixed`, `free` is set (free: the caller appends
  /// the z bounds).
  SedTarget(const sps::FixedZModel* fixed, const sps::FreeZModel* free, const prior::Prior& prior,
            const double* flux_obs, const double* sigma, int n_bands, double model_error, const SimulatorTerms* terms,
            const SpectrumLikelihood* spectrum);
  /// -0.5 chi^2_spec of the unit-mass physical theta phys [12] at redshift z (0 without a spectrum).
  double spectrum_term(const double* phys, double z) const;
  /// Unit-mass fluxes g [m, B] of the physical thetas phys [m, 12] (log M* = 0) at redshifts
  /// z [m] (ignored at a fixed z).
  void unit_fluxes(const double* phys, const double* z, int m, double* g) const;
  /// x [dim()] inside the prior box (and 0 < z when z is free).
  bool in_box(const double* x) const;
  Amplitude amplitude(const double* unit) const;
  /// log |det dw/dx| at flow coordinates x [11] of mass M = 10^x_0 [M_sun] with amplitude width
  /// sigma_m (NaN at a box edge).
  double log_det_to_amplitude(const double* x, double mass, double sigma_m) const;
  /// chi^2 of fluxes mass * unit [B].
  double chi2_of(const double* unit, double mass) const;
  /// log_target of fluxes mass * unit with chi^2 `chi2`: -0.5 chi2 + the simulator terms.
  double log_target_of(const double* unit, double mass, double chi2) const;

  const sps::FixedZModel* fixed_ = nullptr;  ///< the model at the galaxy's z, or
  const sps::FreeZModel* free_ = nullptr;    ///< the model at any z (z free)
  const prior::Prior& prior_;
  std::vector<double> lo_, hi_;  ///< [dim()] box of x: the prior's flow box, then [z_min, z_max]
  std::vector<double> flux_obs_, ivar_;
  int n_bands_;
  double m_lo_, m_hi_;  ///< prior mass range [M_sun]
  const SimulatorTerms* terms_;
  const SpectrumLikelihood* spectrum_;  ///< null: photometry only
  std::optional<prior::RedshiftPrior> z_prior_;  ///< set when z is free
};

}  // namespace sedpost::posterior
