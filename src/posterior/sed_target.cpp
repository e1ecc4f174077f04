#include "posterior/sed_target.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::posterior {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int D = static_cast<int>(prior::kNumFlow);
constexpr int P = static_cast<int>(prior::kNumPhysical);
const double kLn10 = std::log(10.0);
constexpr int kMaxBands = 32;  // band bitmasks are 32 bits
}  // namespace

SedTarget::SedTarget(const sps::FixedZModel& model, const prior::Prior& prior, const double* flux_obs,
                     const double* sigma, int n_bands, double model_error, const SimulatorTerms* terms)
    : model_(model), prior_(prior), flux_obs_(flux_obs, flux_obs + n_bands), ivar_(static_cast<std::size_t>(n_bands)),
      n_bands_(n_bands), m_lo_(std::pow(10.0, prior.flow_lower()[0])), m_hi_(std::pow(10.0, prior.flow_upper()[0])),
      terms_(terms) {
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
  for (int k = 1; k < D; ++k) {
    const double lo = prior_.flow_lower()[k], hi = prior_.flow_upper()[k];
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
  std::vector<double> phys(static_cast<std::size_t>(n) * P);
  std::vector<int> inside;
  inside.reserve(static_cast<std::size_t>(n));
  prior::FlowCoords xi{};
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < D; ++k) xi[k] = x[i * D + k];
    if (!prior_.in_box(xi)) {
      log_target[i] = -kInf;
      chi2[i] = kInf;
      for (int b = 0; b < n_bands_; ++b) unit[i * n_bands_ + b] = kNaN;
      continue;
    }
    xi[0] = 0.0;  // unit mass: f = M g
    const prior::Physical p = prior_.to_physical(xi);
    std::copy(p.begin(), p.end(), phys.begin() + static_cast<std::ptrdiff_t>(inside.size() * P));
    inside.push_back(i);
  }
  const int m = static_cast<int>(inside.size());
  std::vector<double> g(static_cast<std::size_t>(m) * n_bands_);
  if (m > 0) model_.evaluate_batch(phys.data(), m, g.data());
  for (int j = 0; j < m; ++j) {
    const int i = inside[static_cast<std::size_t>(j)];
    std::copy(g.begin() + j * n_bands_, g.begin() + (j + 1) * n_bands_, unit + i * n_bands_);
    const double mass = std::pow(10.0, x[i * D]);
    chi2[i] = chi2_of(unit + i * n_bands_, mass);
    log_target[i] = log_target_of(unit + i * n_bands_, mass, chi2[i]);
  }
}

double SedTarget::to_amplitude(const double* x, const double* unit, double* w) const {
  const Amplitude a = amplitude(unit);
  const double mass = std::pow(10.0, x[0]);
  w[0] = (mass - a.m_hat) / a.sigma_m;
  prior::FlowCoords y{};
  prior_.to_unbounded(x, 1, y.data());
  for (int k = 1; k < D; ++k) w[k] = y[k];
  return std::isfinite(w[0]) ? log_det_to_amplitude(x, mass, a.sigma_m) : kNaN;
}

void SedTarget::evaluate_amplitude(const double* w, int n, double* x, double* log_target, double* chi2,
                                   double* unit, double* log_det_wx) const {
  std::vector<double> phys(static_cast<std::size_t>(n) * P);
  prior::FlowCoords yi{}, xi{};
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < D; ++k) yi[k] = w[i * D + k];
    yi[0] = 0.0;
    prior_.from_unbounded(yi.data(), 1, xi.data());
    for (int k = 0; k < D; ++k) x[i * D + k] = xi[k];
    xi[0] = 0.0;  // unit mass
    const prior::Physical p = prior_.to_physical(xi);
    std::copy(p.begin(), p.end(), phys.begin() + static_cast<std::ptrdiff_t>(i) * P);
  }
  if (n > 0) model_.evaluate_batch(phys.data(), n, unit);
  for (int i = 0; i < n; ++i) {
    const double* g = unit + i * n_bands_;
    const Amplitude a = amplitude(g);
    const double mass = a.m_hat + a.sigma_m * w[i * D];
    if (!(mass >= m_lo_ && mass <= m_hi_)) {  // also NaN: no flux at all
      log_target[i] = -kInf;
      chi2[i] = kInf;
      log_det_wx[i] = kNaN;
      x[i * D] = 0.5 * (prior_.flow_lower()[0] + prior_.flow_upper()[0]);
      continue;
    }
    x[i * D] = std::log10(mass);
    chi2[i] = chi2_of(g, mass);
    log_target[i] = log_target_of(g, mass, chi2[i]);
    log_det_wx[i] = log_det_to_amplitude(x + i * D, mass, a.sigma_m);
    if (std::isnan(log_det_wx[i])) log_target[i] = -kInf;  // a shape coordinate on the box edge
  }
}

}  // namespace sedpost::posterior
