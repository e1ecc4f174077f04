#include "mcmc/galaxy_posterior.hpp"

#include "core/error.hpp"
#include "core/logger.hpp"
#include "posterior/sed_target.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace sedpost::mcmc {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kNumFlow = static_cast<int>(prior::kNumFlow);
constexpr int kNumPhys = static_cast<int>(prior::kNumPhysical);

using Amplitude = posterior::Amplitude;

}  // namespace

SampledCoords sampled_coords_from_string(const std::string& name) {
  if (name == "box") return SampledCoords::kBox;
  if (name == "unbounded") return SampledCoords::kUnbounded;
  if (name == "amplitude") return SampledCoords::kAmplitude;
  throw ConfigError("mcmc: unknown --coordinates '" + name + "' (amplitude, unbounded, box)");
}

GalaxyPosterior::GalaxyPosterior(const sps::FreeZModel& model, const prior::RedshiftPrior& z_prior,
                                 const prior::Prior& prior, const double* flux_obs, const double* sigma, int n_bands,
                                 SampledCoords coords, const posterior::SpectrumLikelihood* spectrum)
    : GalaxyPosterior(nullptr, prior, flux_obs, sigma, n_bands, coords, spectrum) {
  const double z_min = z_prior.z_min(), z_max = z_prior.z_max();
  if (!(z_max <= model.z_max()))
    throw ConfigError(cat("mcmc: redshift range [", z_min, ", ", z_max, "] not inside [0, ", model.z_max(), "]"));
  free_ = &model;
  lo_.push_back(z_min);
  hi_.push_back(z_max);
  log_prior_in_box_ -= std::log(z_max - z_min);  // the uniform density; z_prior_ adds the rest
  z_prior_.emplace(z_prior);
}

GalaxyPosterior::GalaxyPosterior(const sps::FixedZModel& model, const prior::Prior& prior, const double* flux_obs,
                                 const double* sigma, int n_bands, SampledCoords coords,
                                 const posterior::SpectrumLikelihood* spectrum)
    : GalaxyPosterior(&model, prior, flux_obs, sigma, n_bands, coords, spectrum) {}

GalaxyPosterior::GalaxyPosterior(const sps::FixedZModel* model, const prior::Prior& prior, const double* flux_obs,
                                 const double* sigma, int n_bands, SampledCoords coords,
                                 const posterior::SpectrumLikelihood* spectrum)
    : fixed_(model), prior_(prior), lo_(prior.flow_lower().begin(), prior.flow_lower().end()),
      hi_(prior.flow_upper().begin(), prior.flow_upper().end()), flux_obs_(flux_obs, flux_obs + n_bands),
      ivar_(n_bands), n_bands_(n_bands), coords_(coords), spectrum_(spectrum) {
  for (int b = 0; b < n_bands; ++b) {
    const bool missing = std::isinf(sigma[b]);
    ivar_[b] = missing ? 0.0 : 1.0 / (sigma[b] * sigma[b]);
    if (missing) flux_obs_[b] = 0.0;
  }
  prior::FlowCoords mid{};
  for (int k = 0; k < kNumFlow; ++k) mid[k] = 0.5 * (prior.flow_lower()[k] + prior.flow_upper()[k]);
  log_prior_in_box_ = prior.log_prob_flow(mid);
  m_lo_ = std::pow(10.0, prior.flow_lower()[0]);
  m_hi_ = std::pow(10.0, prior.flow_upper()[0]);
  // from_unbounded's log-Jacobian term of coordinate 0 at y_0 = 0 (removed in kAmplitude).
  log_det_y0_ = std::log(prior.flow_upper()[0] - prior.flow_lower()[0]) + 2.0 * std::log(0.5);
}

void GalaxyPosterior::model_fluxes(const double* phys, const double* z, int m, double* flux) {
  if (m <= 0) return;
  if (fixed_) fixed_->evaluate_batch(phys, m, flux);
  else free_->evaluate_batch(phys, z, m, flux);
  n_evals_ += m;
}

double GalaxyPosterior::z_of(double v, double* log_det) const {
  const double lo = lo_.back(), hi = hi_.back();
  if (coords_ == SampledCoords::kBox) return v;
  const double s = v >= 0 ? 1.0 / (1.0 + std::exp(-v)) : std::exp(v) / (1.0 + std::exp(v));
  *log_det += std::log(hi - lo) + std::log(s) + std::log1p(-s);
  return std::clamp(lo + (hi - lo) * s, lo, hi);
}

double GalaxyPosterior::sampled_of_z(double z) const {
  if (coords_ == SampledCoords::kBox) return z;
  const double lo = lo_.back(), hi = hi_.back();
  return std::log(z - lo) - std::log(hi - z);
}

void GalaxyPosterior::operator()(const Eigen::Ref<const Eigen::MatrixXd>& thetas, Eigen::Ref<Eigen::VectorXd> logp) {
  evaluate(thetas, logp.data(), nullptr, nullptr);
}

void GalaxyPosterior::to_flow(const Eigen::Ref<const Eigen::MatrixXd>& y, const Eigen::Ref<const Eigen::VectorXd>& logp,
                              Eigen::MatrixXd& x, Eigen::VectorXd& logp_flow) {
  const Eigen::Index n = y.rows();
  x.resize(n, dim());
  logp_flow.resize(n);
  if (coords_ == SampledCoords::kBox) {
    x = y;
    logp_flow = logp;
  } else if (coords_ == SampledCoords::kUnbounded) {
    std::vector<double> ys(static_cast<std::size_t>(n) * kNumFlow), xs(ys.size()), ld(static_cast<std::size_t>(n));
    for (Eigen::Index i = 0; i < n; ++i)
      for (int k = 0; k < kNumFlow; ++k) ys[i * kNumFlow + k] = y(i, k);
    prior_.from_unbounded(ys.data(), static_cast<std::size_t>(n), xs.data(), ld.data());
    for (Eigen::Index i = 0; i < n; ++i) {
      for (int k = 0; k < kNumFlow; ++k) x(i, k) = xs[i * kNumFlow + k];
      if (free_) x(i, kNumFlow) = z_of(y(i, kNumFlow), &ld[i]);
      logp_flow[i] = logp[i] - ld[i];
    }
  } else {
    Eigen::VectorXd lp(n);
    evaluate(y, lp.data(), &x, &logp_flow);
  }
}

Eigen::MatrixXd GalaxyPosterior::from_flow(const Eigen::Ref<const Eigen::MatrixXd>& x) {
  const Eigen::Index n = x.rows();
  Eigen::MatrixXd y(n, dim());
  if (coords_ == SampledCoords::kBox) {
    y = x;
    return y;
  }
  std::vector<double> xs(static_cast<std::size_t>(n) * kNumFlow), ys(xs.size());
  for (Eigen::Index i = 0; i < n; ++i)
    for (int k = 0; k < kNumFlow; ++k) xs[i * kNumFlow + k] = x(i, k);
  prior_.to_unbounded(xs.data(), static_cast<std::size_t>(n), ys.data());
  for (Eigen::Index i = 0; i < n; ++i) {
    for (int k = 0; k < kNumFlow; ++k) y(i, k) = ys[i * kNumFlow + k];
    if (free_) y(i, kNumFlow) = sampled_of_z(x(i, kNumFlow));
  }
  if (coords_ == SampledCoords::kAmplitude) {
    phys_.resize(static_cast<std::size_t>(n) * kNumPhys);
    flux_.resize(static_cast<std::size_t>(n) * n_bands_);
    zs_.assign(static_cast<std::size_t>(n), 0.0);
    for (Eigen::Index i = 0; i < n; ++i) {
      if (free_) zs_[i] = x(i, kNumFlow);
      prior::FlowCoords xi{};
      for (int k = 0; k < kNumFlow; ++k) xi[k] = x(i, k);
      xi[0] = 0.0;  // shape only: fluxes per M_sun formed
      const prior::Physical p = prior_.to_physical(xi);
      std::copy(p.begin(), p.end(), phys_.begin() + static_cast<std::ptrdiff_t>(i * kNumPhys));
    }
    model_fluxes(phys_.data(), zs_.data(), static_cast<int>(n), flux_.data());
    for (Eigen::Index i = 0; i < n; ++i) {
      const Amplitude a = posterior::least_squares_amplitude(flux_.data() + static_cast<std::size_t>(i) * n_bands_,
                                                              flux_obs_.data(), ivar_.data(), n_bands_);
      y(i, 0) = (std::pow(10.0, x(i, 0)) - a.m_hat) / a.sigma_m;
    }
  }
  return y;
}

Eigen::VectorXd GalaxyPosterior::scale() const {
  Eigen::VectorXd w(dim());
  for (int k = 0; k < dim(); ++k) w[k] = coords_ == SampledCoords::kBox ? hi_[k] - lo_[k] : 4.0;
  return w;
}

std::vector<BoundedAxis> GalaxyPosterior::bounded_axes() const {
  std::vector<BoundedAxis> axes;
  for (int k = coords_ == SampledCoords::kBox ? 0 : 1; k < dim(); ++k) {
    BoundedAxis a;
    a.index = k;
    if (coords_ == SampledCoords::kBox) {
      a.map = BoundedAxis::Map::kLinear;
      a.lo = lo_[k];
      a.hi = hi_[k];
    }
    axes.push_back(a);
  }
  return axes;
}

void GalaxyPosterior::evaluate(const Eigen::Ref<const Eigen::MatrixXd>& y, double* logp, Eigen::MatrixXd* x_out,
                               Eigen::VectorXd* logp_flow) {
  const Eigen::Index n = y.rows();
  if (x_out) x_out->resize(n, dim());
  ys_.resize(static_cast<std::size_t>(n) * kNumFlow);
  xs_.resize(ys_.size());
  log_det_.assign(static_cast<std::size_t>(n), 0.0);
  for (Eigen::Index i = 0; i < n; ++i)
    for (int k = 0; k < kNumFlow; ++k) ys_[i * kNumFlow + k] = y(i, k);
  if (coords_ == SampledCoords::kBox) {
    xs_ = ys_;
  } else {
    if (coords_ == SampledCoords::kAmplitude)
      for (Eigen::Index i = 0; i < n; ++i) ys_[i * kNumFlow] = 0.0;
    prior_.from_unbounded(ys_.data(), static_cast<std::size_t>(n), xs_.data(), log_det_.data());
    if (coords_ == SampledCoords::kAmplitude) {
      for (Eigen::Index i = 0; i < n; ++i) {
        log_det_[i] -= log_det_y0_;
        xs_[i * kNumFlow] = 0.0;  // unit mass: f = M g
      }
    }
  }
  phys_.resize(static_cast<std::size_t>(n) * kNumPhys);
  flux_.resize(static_cast<std::size_t>(n) * n_bands_);
  zs_.assign(static_cast<std::size_t>(n), 0.0);  // the redshift of each row inside (z free)
  std::vector<double> z_row(free_ ? static_cast<std::size_t>(n) : 0);
  inside_.clear();
  prior::FlowCoords x{};
  for (Eigen::Index i = 0; i < n; ++i) {
    bool finite = true;
    for (int k = 0; k < dim(); ++k) finite = finite && std::isfinite(y(i, k));
    for (int k = 0; k < kNumFlow; ++k) x[k] = xs_[i * kNumFlow + k];
    bool z_ok = true;
    if (free_ && finite) {
      z_row[i] = z_of(y(i, kNumFlow), &log_det_[i]);
      z_ok = z_row[i] > 0 && z_row[i] >= lo_.back() && z_row[i] <= hi_.back();
    }
    bool ok = finite && z_ok && std::isfinite(log_det_[i]);
    if (ok && coords_ == SampledCoords::kAmplitude) {
      x[0] = prior_.flow_lower()[0];  // mass checked after the model call
      ok = prior_.in_box(x);
      x[0] = 0.0;
    } else if (ok) {
      ok = prior_.in_box(x);
    }
    if (!ok) {
      logp[i] = -kInf;
      if (logp_flow) (*logp_flow)[i] = -kInf;
      if (x_out) x_out->row(i).setConstant(kNaN);
      continue;
    }
    const prior::Physical p = prior_.to_physical(x);
    std::copy(p.begin(), p.end(), phys_.begin() + static_cast<std::ptrdiff_t>(inside_.size() * kNumPhys));
    if (free_) zs_[inside_.size()] = z_row[i];
    inside_.push_back(i);
  }
  const int m = static_cast<int>(inside_.size());
  model_fluxes(phys_.data(), zs_.data(), m, flux_.data());
  for (int j = 0; j < m; ++j) {
    const Eigen::Index i = inside_[j];
    double* f = flux_.data() + static_cast<std::size_t>(j) * n_bands_;
    double log_det = log_det_[i];
    double log_mstar = xs_[i * kNumFlow];
    if (coords_ == SampledCoords::kAmplitude) {
      const Amplitude a = posterior::least_squares_amplitude(f, flux_obs_.data(), ivar_.data(), n_bands_);
      const double mass = a.m_hat + a.sigma_m * y(i, 0);
      if (!(mass >= m_lo_ && mass <= m_hi_)) {  // also rejects NaN (no flux at all)
        logp[i] = -kInf;
        if (logp_flow) (*logp_flow)[i] = -kInf;
        if (x_out) x_out->row(i).setConstant(kNaN);
        continue;
      }
      for (int b = 0; b < n_bands_; ++b) f[b] *= mass;
      log_det += std::log(a.sigma_m) - std::log(mass) - std::log(std::log(10.0));
      log_mstar = std::log10(mass);
    }
    double chi2 = 0.0;
    for (int b = 0; b < n_bands_; ++b) {
      const double d = f[b] - flux_obs_[b];
      chi2 += d * d * ivar_[b];
    }
    double lp_flow = log_prior_in_box_ - 0.5 * chi2;  // NaN flux -> NaN -> NumericsError
    if (free_) lp_flow += z_prior_->log_relative_density(z_row[i]);
    if (spectrum_)  // mass-independent: the unit-mass theta of kAmplitude gives the same
      lp_flow -= 0.5 * spectrum_->chi2(phys_.data() + static_cast<std::size_t>(j) * kNumPhys,
                                       free_ ? z_row[i] : fixed_->redshift());
    logp[i] = lp_flow + log_det;
    if (logp_flow) (*logp_flow)[i] = lp_flow;
    if (x_out) {
      for (int k = 0; k < kNumFlow; ++k) (*x_out)(i, k) = xs_[i * kNumFlow + k];
      (*x_out)(i, 0) = log_mstar;
      if (free_) (*x_out)(i, kNumFlow) = z_row[i];
    }
  }
}

}  // namespace sedpost::mcmc
