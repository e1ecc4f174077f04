#include "posterior/sed_target.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/logger.hpp"
#include "prior/theta_layout.hpp"

namespace sedpost::posterior {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int D11 = static_cast<int>(prior::kNumFlow);  // the prior's flow coordinates
constexpr int P = static_cast<int>(prior::kNumPhysical);
const double kLn10 = std::log(10.0);
constexpr int kMaxBands = 32;  // band bitmasks are 32 bits

/// logit((v - lo) / (hi - lo)) as Prior::to_unbounded computes it (distances clamped).
double logit_in(double v, double lo, double hi) {
  const double width = hi - lo;
  const double a = std::clamp((v - lo) / width, std::numeric_limits<double>::denorm_min(), 1.0 - 0x1p-53);
  const double b = std::clamp((hi - v) / width, std::numeric_limits<double>::denorm_min(), 1.0 - 0x1p-53);
  return std::log(a) - std::log(b);
}

/// lo + (hi - lo) sigmoid(y), inside [lo, hi].
double sigmoid_in(double y, double lo, double hi) {
  const double s = y >= 0 ? 1.0 / (1.0 + std::exp(-y)) : std::exp(y) / (1.0 + std::exp(y));
  return std::clamp(lo + (hi - lo) * s, lo, hi);
}

}  // namespace

SedTarget::SedTarget(const sps::FixedZModel& model, const prior::Prior& prior, const double* flux_obs,
                     const double* sigma, int n_bands, double model_error, const SimulatorTerms* terms,
                     const SpectrumLikelihood* spectrum)
    : SedTarget(&model, nullptr, prior, flux_obs, sigma, n_bands, model_error, terms, spectrum) {}

SedTarget::SedTarget(const sps::FreeZModel& model, const prior::RedshiftPrior& z_prior, const prior::Prior& prior,
                     const double* flux_obs, const double* sigma, int n_bands, double model_error,
                     const SimulatorTerms* terms, const SpectrumLikelihood* spectrum)
    : SedTarget(nullptr, &model, prior, flux_obs, sigma, n_bands, model_error, terms, spectrum) {
  const double z_min = z_prior.z_min(), z_max = z_prior.z_max();
  if (!(z_max <= model.z_max()))
    throw ConfigError(cat("SedTarget: redshift range [", z_min, ", ", z_max, "] not inside (0, ", model.z_max(),
                          "]"));
  lo_.push_back(z_min);
  hi_.push_back(z_max);
  z_prior_.emplace(z_prior);
}

SedTarget::SedTarget(const sps::FixedZModel* fixed, const sps::FreeZModel* free, const prior::Prior& prior,
                     const double* flux_obs, const double* sigma, int n_bands, double model_error,
                     const SimulatorTerms* terms, const SpectrumLikelihood* spectrum)
    : fixed_(fixed), free_(free), prior_(prior), lo_(prior.flow_lower().begin(), prior.flow_lower().end()),
      hi_(prior.flow_upper().begin(), prior.flow_upper().end()), flux_obs_(flux_obs, flux_obs + n_bands),
      ivar_(static_cast<std::size_t>(n_bands)), n_bands_(n_bands), m_lo_(std::pow(10.0, prior.flow_lower()[0])),
      m_hi_(std::pow(10.0, prior.flow_upper()[0])), terms_(terms), spectrum_(spectrum) {
  if (n_bands > kMaxBands) throw ConfigError(cat("SedTarget: ", n_bands, " bands, at most ", kMaxBands));
  for (int b = 0; b < n_bands; ++b) {
    const auto k = static_cast<std::size_t>(b);
    if (std::isinf(sigma[b])) {  // band left out: no term in chi^2 or the amplitude
      flux_obs_[k] = 0.0;
      ivar_[k] = 0.0;
      continue;
    }
    const double floor = model_error * flux_obs[b];
    ivar_[k] = 1.0 / (sigma[b] * sigma[b] + floor * floor);
  }
}

double SedTarget::spectrum_term(const double* phys, double z) const {
  if (!spectrum_) return 0.0;
  return -0.5 * spectrum_->chi2(phys, fixed_ ? fixed_->redshift() : z);
}

void SedTarget::unit_fluxes(const double* phys, const double* z, int m, double* g) const {
  if (m <= 0) return;
  if (fixed_) fixed_->evaluate_batch(phys, m, g);
  else free_->evaluate_batch(phys, z, m, g);
}

bool SedTarget::in_box(const double* x) const {
  prior::FlowCoords xi{};
  std::copy(x, x + D11, xi.begin());
  if (!prior_.in_box(xi)) return false;
  if (!free_) return true;
  const double z = x[prior::ThetaLayout::kZ];
  return z > 0 && z >= lo_.back() && z <= hi_.back();
}

Amplitude least_squares_amplitude(const double* unit, const double* flux_obs, const double* ivar, int n_bands) {
  double a = 0, b = 0;
  for (int k = 0; k < n_bands; ++k) {
    a += unit[k] * flux_obs[k] * ivar[k];
    b += unit[k] * unit[k] * ivar[k];
  }
  return {a / b, 1.0 / std::sqrt(b)};
}

Amplitude SedTarget::amplitude(const double* unit) const {
  return least_squares_amplitude(unit, flux_obs_.data(), ivar_.data(), n_bands_);
}

double SedTarget::log_det_to_amplitude(const double* x, double mass, double sigma_m) const {
  double log_det = std::log(mass * kLn10 / sigma_m);
  for (int k = 1; k < dim(); ++k) {
    const double lo = lo_[static_cast<std::size_t>(k)], hi = hi_[static_cast<std::size_t>(k)];
    log_det += std::log((hi - lo) / ((x[k] - lo) * (hi - x[k])));
  }
  return std::isfinite(log_det) ? log_det : kNaN;
}

double SedTarget::chi2_of(const double* unit, double mass) const {
  double chi2 = 0;
  for (int k = 0; k < n_bands_; ++k) {
    const double d = mass * unit[k] - flux_obs_[static_cast<std::size_t>(k)];
    chi2 += d * d * ivar_[static_cast<std::size_t>(k)];
  }
  return chi2;
}

double SedTarget::log_target_of(const double* unit, double mass, double chi2) const {
  if (!std::isfinite(chi2)) return -kInf;
  if (!terms_) return -0.5 * chi2;
  double f[kMaxBands];
  for (int k = 0; k < n_bands_; ++k) f[k] = mass * unit[k];
  return -0.5 * chi2 + terms_->log_density(f);
}

void SedTarget::evaluate_flow(const double* x, int n, double* log_target, double* chi2, double* unit) const {
  const int D = dim();
  std::vector<double> phys(static_cast<std::size_t>(n) * P), z(free_ ? static_cast<std::size_t>(n) : 0);
  std::vector<int> inside;
  inside.reserve(static_cast<std::size_t>(n));
  prior::FlowCoords xi{};
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < D11; ++k) xi[k] = x[i * D + k];
    if (!in_box(x + i * D)) {
      log_target[i] = -kInf;
      chi2[i] = kInf;
      for (int b = 0; b < n_bands_; ++b) unit[i * n_bands_ + b] = kNaN;
      continue;
    }
    xi[0] = 0.0;  // unit mass: f = M g
    const prior::Physical p = prior_.to_physical(xi);
    std::copy(p.begin(), p.end(), phys.begin() + static_cast<std::ptrdiff_t>(inside.size() * P));
    if (free_) z[inside.size()] = x[i * D + prior::ThetaLayout::kZ];
    inside.push_back(i);
  }
  const int m = static_cast<int>(inside.size());
  std::vector<double> g(static_cast<std::size_t>(m) * n_bands_);
  unit_fluxes(phys.data(), z.data(), m, g.data());
  for (int j = 0; j < m; ++j) {
    const int i = inside[static_cast<std::size_t>(j)];
    std::copy(g.begin() + j * n_bands_, g.begin() + (j + 1) * n_bands_, unit + i * n_bands_);
    const double mass = std::pow(10.0, x[i * D]);
    chi2[i] = chi2_of(unit + i * n_bands_, mass);
    log_target[i] = log_target_of(unit + i * n_bands_, mass, chi2[i]);
    if (free_) log_target[i] += z_prior_->log_relative_density(x[i * D + D11]);
    if (spectrum_ && log_target[i] > -kInf)
      log_target[i] += spectrum_term(phys.data() + static_cast<std::ptrdiff_t>(j) * P, free_ ? z[static_cast<std::size_t>(j)] : 0.0);
  }
}

double SedTarget::to_amplitude(const double* x, const double* unit, double* w) const {
  const Amplitude a = amplitude(unit);
  const double mass = std::pow(10.0, x[0]);
  w[0] = (mass - a.m_hat) / a.sigma_m;
  prior::FlowCoords y{};
  prior_.to_unbounded(x, 1, y.data());
  for (int k = 1; k < D11; ++k) w[k] = y[k];
  if (free_) w[D11] = logit_in(x[D11], lo_.back(), hi_.back());
  return std::isfinite(w[0]) ? log_det_to_amplitude(x, mass, a.sigma_m) : kNaN;
}

void SedTarget::evaluate_amplitude(const double* w, int n, double* x, double* log_target, double* chi2,
                                   double* unit, double* log_det_wx) const {
  const int D = dim();
  std::vector<double> phys(static_cast<std::size_t>(n) * P), z(free_ ? static_cast<std::size_t>(n) : 0);
  prior::FlowCoords yi{}, xi{};
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < D11; ++k) yi[k] = w[i * D + k];
    yi[0] = 0.0;
    prior_.from_unbounded(yi.data(), 1, xi.data());
    for (int k = 0; k < D11; ++k) x[i * D + k] = xi[k];
    if (free_) z[i] = x[i * D + D11] = sigmoid_in(w[i * D + D11], lo_.back(), hi_.back());
    xi[0] = 0.0;  // unit mass
    const prior::Physical p = prior_.to_physical(xi);
    std::copy(p.begin(), p.end(), phys.begin() + static_cast<std::ptrdiff_t>(i) * P);
  }
  // z = 0 (a sigmoid underflow at z_min = 0) has no model: those rows are outside the support.
  for (int i = 0; i < n && free_; ++i)
    if (!(z[i] > 0)) z[i] = hi_.back();
  unit_fluxes(phys.data(), z.data(), n, unit);
  for (int i = 0; i < n; ++i) {
    const double* g = unit + i * n_bands_;
    const Amplitude a = amplitude(g);
    const double mass = a.m_hat + a.sigma_m * w[i * D];
    if (!(mass >= m_lo_ && mass <= m_hi_) || (free_ && !(x[i * D + D11] > 0))) {  // also NaN: no flux at all
      log_target[i] = -kInf;
      chi2[i] = kInf;
      log_det_wx[i] = kNaN;
      x[i * D] = 0.5 * (prior_.flow_lower()[0] + prior_.flow_upper()[0]);
      continue;
    }
    x[i * D] = std::log10(mass);
    chi2[i] = chi2_of(g, mass);
    log_target[i] = log_target_of(g, mass, chi2[i]);
    if (free_) log_target[i] += z_prior_->log_relative_density(x[i * D + D11]);
    log_det_wx[i] = log_det_to_amplitude(x + i * D, mass, a.sigma_m);
    if (std::isnan(log_det_wx[i])) log_target[i] = -kInf;  // a shape coordinate on the box edge
    if (spectrum_ && log_target[i] > -kInf)
      log_target[i] += spectrum_term(phys.data() + static_cast<std::ptrdiff_t>(i) * P, free_ ? z[static_cast<std::size_t>(i)] : 0.0);
  }
}

}  // namespace sedpost::posterior
