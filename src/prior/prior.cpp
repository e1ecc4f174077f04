#include "prior/prior.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/config.hpp"
#include "core/error.hpp"

namespace sedpost::prior {

namespace {

constexpr double kLn10 = 2.302585092994045684;
constexpr double kInf = std::numeric_limits<double>::infinity();
// Largest double below 1 and smallest positive double: the clamp of the scaled coordinate.
constexpr double kOneMinus = 1.0 - 1.1102230246251565e-16;
constexpr double kTiny = std::numeric_limits<double>::denorm_min();

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

// log sigmoid(y), stable for large |y|.
double log_sigmoid(double y) {
  return y >= 0 ? -std::log1p(std::exp(-y)) : y - std::log1p(std::exp(y));
}

void read_bounds(const Config& config, const std::string& key, double& lo, double& hi) {
  if (!config.has(key)) return;
  const std::vector<double> v = config.get_doubles(key, {});
  if (v.size() != 2) {
    throw ConfigError(config.source() + ": key '" + key +
                      "' must be a 2-element array [lower, upper], got " +
                      std::to_string(v.size()) + " values");
  }
  lo = v[0];
  hi = v[1];
}

void check_range(const char* name, double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi)) {
    throw ConfigError(std::string("prior bounds for ") + name + " must be finite with lower < upper, got [" +
                      fmt(lo) + ", " + fmt(hi) + "]");
  }
}

}  // namespace

SfhPrior parse_sfh_prior(const std::string& name) {
  if (name == "dirichlet") return SfhPrior::kDirichlet;
  if (name == "sedflow") return SfhPrior::kSedflow;
  throw ConfigError("sfh_prior must be \"dirichlet\" or \"sedflow\", got \"" + name + "\"");
}

std::string to_string(SfhPrior p) { return p == SfhPrior::kSedflow ? "sedflow" : "dirichlet"; }

PriorSettings PriorSettings::from_config(const Config& config, const std::string& table) {
  PriorSettings s;
  const std::string p = table.empty() ? "" : table + ".";
  if (config.has(p + "sfh_prior")) {
    try {
      s.sfh_prior = parse_sfh_prior(config.get_string(p + "sfh_prior", "dirichlet"));
    } catch (const ConfigError& e) {
      throw ConfigError(config.source() + ": key '" + p + "sfh_prior': " + e.what());
    }
  }
  read_bounds(config, p + "log_mstar_formed", s.log_mstar_min, s.log_mstar_max);
  read_bounds(config, p + "f_burst", s.f_burst_min, s.f_burst_max);
  read_bounds(config, p + "t_burst", s.t_burst_min, s.t_burst_max);
  read_bounds(config, p + "gamma", s.gamma_min, s.gamma_max);
  read_bounds(config, p + "tau_bc", s.tau_bc_min, s.tau_bc_max);
  read_bounds(config, p + "tau_ism", s.tau_ism_min, s.tau_ism_max);
  read_bounds(config, p + "n_dust", s.n_dust_min, s.n_dust_max);
  try {
    s.validate();
  } catch (const ConfigError& e) {
    throw ConfigError(config.source() + ": [" + table + "]: " + e.what());
  }
  return s;
}

void PriorSettings::validate() const {
  check_range("log_mstar_formed", log_mstar_min, log_mstar_max);
  check_range("f_burst", f_burst_min, f_burst_max);
  check_range("t_burst", t_burst_min, t_burst_max);
  check_range("gamma", gamma_min, gamma_max);
  if (!(gamma_min > 0)) throw ConfigError("prior lower bound of gamma must be > 0 (log-uniform), got " + fmt(gamma_min));
  check_range("tau_bc", tau_bc_min, tau_bc_max);
  check_range("tau_ism", tau_ism_min, tau_ism_max);
  check_range("n_dust", n_dust_min, n_dust_max);
}

Prior::Prior(const PriorSettings& settings) : settings_(settings) {
  settings_.validate();
  const PriorSettings& s = settings_;
  lower_ = {s.log_mstar_min, 0.0, 0.0, 0.0, s.f_burst_min, s.t_burst_min,
            std::log10(s.gamma_min), std::log10(s.gamma_min), s.tau_bc_min, s.tau_ism_min, s.n_dust_min};
  upper_ = {s.log_mstar_max, 1.0, 1.0, 1.0, s.f_burst_max, s.t_burst_max,
            std::log10(s.gamma_max), std::log10(s.gamma_max), s.tau_bc_max, s.tau_ism_max, s.n_dust_max};
  log_box_volume_ = 0.0;
  for (std::size_t i = 0; i < kNumFlow; ++i) log_box_volume_ += std::log(upper_[i] - lower_[i]);
}

const std::vector<std::string>& Prior::physical_names() {
  static const std::vector<std::string> names = {
      "log_mstar_formed", "beta_1", "beta_2", "beta_3", "beta_4", "f_burst",
      "t_burst", "gamma_1", "gamma_2", "tau_bc", "tau_ism", "n_dust"};
  return names;
}

const std::vector<std::string>& Prior::physical_units() {
  static const std::vector<std::string> units = {
      "log10(M_sun)", "", "", "", "", "", "Gyr", "", "", "", "", ""};
  return units;
}

const std::vector<std::string>& Prior::flow_names() {
  static const std::vector<std::string> names = {
      "log_mstar_formed", "u_1", "u_2", "u_3", "f_burst", "t_burst",
      "log_gamma_1", "log_gamma_2", "tau_bc", "tau_ism", "n_dust"};
  return names;
}

const std::vector<std::string>& Prior::flow_units() {
  static const std::vector<std::string> units = {
      "log10(M_sun)", "", "", "", "", "Gyr", "log10", "log10", "", "", ""};
  return units;
}

// ---- stick-breaking ----

void Prior::betas_from_u(const double* u, double* beta) const {
  // remaining = prod_{j<k} (1 - v_j): the stick left before piece k.
  double remaining = 1.0;
  for (std::size_t k = 0; k < kNumBeta - 1; ++k) {
    double v, one_minus_v;
    if (settings_.sfh_prior == SfhPrior::kDirichlet) {
      // v_k ~ Beta(1, K-k) by inversion: v = 1 - (1-u)^(1/(K-k)) (MODEL.md 1).
      const double m = static_cast<double>(kNumBeta - 1 - k);
      const double l = std::log1p(-u[k]) / m;
      v = -std::expm1(l);
      one_minus_v = std::exp(l);
    } else {
      // SEDflow code: beta_1 = 1 - z_1, ..., i.e. v_k = 1 - z_k.
      v = 1.0 - u[k];
      one_minus_v = u[k];
    }
    beta[k] = v * remaining;
    remaining *= one_minus_v;
  }
  beta[kNumBeta - 1] = remaining;
}

void Prior::u_from_betas(const double* beta, double* u) const {
  double total = 0.0;
  for (std::size_t k = 0; k < kNumBeta; ++k) total += beta[k];
  const double norm = total > 0 ? 1.0 / total : 1.0;
  // rest[k] = sum_{j>=k} beta_j (normalised); v_k = beta_k / rest_k, 1 - v_k = rest_{k+1}/rest_k.
  double rest[kNumBeta + 1];
  rest[kNumBeta] = 0.0;
  for (std::size_t k = kNumBeta; k-- > 0;) rest[k] = rest[k + 1] + beta[k] * norm;
  for (std::size_t k = 0; k < kNumBeta - 1; ++k) {
    double v, one_minus_v;
    if (rest[k] > 0) {
      v = beta[k] * norm / rest[k];
      one_minus_v = rest[k + 1] / rest[k];
    } else {  // nothing left of the stick: any u gives the same betas
      v = 0.0;
      one_minus_v = 1.0;
    }
    if (settings_.sfh_prior == SfhPrior::kDirichlet) {
      const double m = static_cast<double>(kNumBeta - 1 - k);
      // u = 1 - (1-v)^m; pick the form that keeps relative precision.
      u[k] = v < 0.5 ? -std::expm1(m * std::log1p(-v)) : 1.0 - std::pow(one_minus_v, m);
    } else {
      u[k] = one_minus_v;
    }
  }
}

// ---- sampling ----

FlowCoords Prior::sample_flow(Rng& rng) const {
  FlowCoords x;
  for (std::size_t i = 0; i < kNumFlow; ++i) {
    x[i] = lower_[i] + (upper_[i] - lower_[i]) * rng.uniform();
    x[i] = std::min(x[i], upper_[i]);
  }
  return x;
}

Physical Prior::sample(Rng& rng) const { return to_physical(sample_flow(rng)); }

std::vector<double> Prior::sample_batch(std::uint64_t seed, std::uint64_t first_index,
                                        std::size_t n) const {
  std::vector<double> out(n * kNumPhysical);
  for (std::size_t i = 0; i < n; ++i) {
    Rng rng(seed, RngStream::kPrior, first_index + i);
    const Physical t = sample(rng);
    std::copy(t.begin(), t.end(), out.begin() + static_cast<std::ptrdiff_t>(i * kNumPhysical));
  }
  return out;
}

// ---- physical <-> flow ----

FlowCoords Prior::to_flow(const Physical& t) const {
  FlowCoords x;
  x[kFlowLogMstar] = t[kLogMstar];
  u_from_betas(&t[kBeta1], &x[kFlowU1]);
  x[kFlowFBurst] = t[kFBurst];
  x[kFlowTBurst] = t[kTBurst];
  x[kFlowLogGamma1] = t[kGamma1] > 0 ? std::log10(t[kGamma1]) : -kInf;
  x[kFlowLogGamma2] = t[kGamma2] > 0 ? std::log10(t[kGamma2]) : -kInf;
  x[kFlowTauBc] = t[kTauBc];
  x[kFlowTauIsm] = t[kTauIsm];
  x[kFlowNDust] = t[kNDust];
  return x;
}

Physical Prior::to_physical(const FlowCoords& x) const {
  Physical t;
  t[kLogMstar] = x[kFlowLogMstar];
  betas_from_u(&x[kFlowU1], &t[kBeta1]);
  t[kFBurst] = x[kFlowFBurst];
  t[kTBurst] = x[kFlowTBurst];
  t[kGamma1] = std::pow(10.0, x[kFlowLogGamma1]);
  t[kGamma2] = std::pow(10.0, x[kFlowLogGamma2]);
  t[kTauBc] = x[kFlowTauBc];
  t[kTauIsm] = x[kFlowTauIsm];
  t[kNDust] = x[kFlowNDust];
  return t;
}

void Prior::to_flow(const double* physical, std::size_t n, double* flow) const {
  for (std::size_t i = 0; i < n; ++i) {
    Physical t;
    std::copy_n(physical + i * kNumPhysical, kNumPhysical, t.begin());
    const FlowCoords x = to_flow(t);
    std::copy(x.begin(), x.end(), flow + i * kNumFlow);
  }
}

void Prior::to_physical(const double* flow, std::size_t n, double* physical) const {
  for (std::size_t i = 0; i < n; ++i) {
    FlowCoords x;
    std::copy_n(flow + i * kNumFlow, kNumFlow, x.begin());
    const Physical t = to_physical(x);
    std::copy(t.begin(), t.end(), physical + i * kNumPhysical);
  }
}

std::vector<double> Prior::to_flow(const std::vector<double>& physical) const {
  if (physical.size() % kNumPhysical != 0) {
    throw DataError("Prior::to_flow: array of " + std::to_string(physical.size()) +
                    " values is not [n, 12]");
  }
  const std::size_t n = physical.size() / kNumPhysical;
  std::vector<double> out(n * kNumFlow);
  to_flow(physical.data(), n, out.data());
  return out;
}

std::vector<double> Prior::to_physical(const std::vector<double>& flow) const {
  if (flow.size() % kNumFlow != 0) {
    throw DataError("Prior::to_physical: array of " + std::to_string(flow.size()) +
                    " values is not [n, 11]");
  }
  const std::size_t n = flow.size() / kNumFlow;
  std::vector<double> out(n * kNumPhysical);
  to_physical(flow.data(), n, out.data());
  return out;
}

// ---- support and density ----

bool Prior::in_support(const Physical& t, std::string* reason) const {
  const auto& names = physical_names();
  for (std::size_t i = 0; i < kNumPhysical; ++i) {
    if (!std::isfinite(t[i])) {
      if (reason) *reason = names[i] + " is not finite";
      return false;
    }
  }
  const PriorSettings& s = settings_;
  struct Bound {
    std::size_t idx;
    double lo, hi;
  };
  const Bound bounds[] = {
      {kLogMstar, s.log_mstar_min, s.log_mstar_max}, {kFBurst, s.f_burst_min, s.f_burst_max},
      {kTBurst, s.t_burst_min, s.t_burst_max},       {kGamma1, s.gamma_min, s.gamma_max},
      {kGamma2, s.gamma_min, s.gamma_max},           {kTauBc, s.tau_bc_min, s.tau_bc_max},
      {kTauIsm, s.tau_ism_min, s.tau_ism_max},       {kNDust, s.n_dust_min, s.n_dust_max}};
  for (const Bound& b : bounds) {
    if (t[b.idx] < b.lo || t[b.idx] > b.hi) {
      if (reason) {
        *reason = names[b.idx] + " = " + fmt(t[b.idx]) + " outside [" + fmt(b.lo) + ", " + fmt(b.hi) + "]";
      }
      return false;
    }
  }
  double sum = 0.0;
  for (std::size_t k = 0; k < kNumBeta; ++k) {
    if (t[kBeta1 + k] < 0) {
      if (reason) *reason = names[kBeta1 + k] + " = " + fmt(t[kBeta1 + k]) + " < 0";
      return false;
    }
    sum += t[kBeta1 + k];
  }
  if (std::abs(sum - 1.0) > 1e-9) {
    if (reason) *reason = "beta_1..beta_4 sum to " + fmt(sum) + ", not 1";
    return false;
  }
  return true;
}

bool Prior::in_box(const FlowCoords& x) const {
  for (std::size_t i = 0; i < kNumFlow; ++i) {
    if (!std::isfinite(x[i]) || x[i] < lower_[i] || x[i] > upper_[i]) return false;
  }
  return true;
}

double Prior::log_prob_physical(const Physical& t) const {
  if (!in_support(t)) return -kInf;
  const PriorSettings& s = settings_;
  double lp = -std::log(s.log_mstar_max - s.log_mstar_min) - std::log(s.f_burst_max - s.f_burst_min) -
              std::log(s.t_burst_max - s.t_burst_min) - std::log(s.tau_bc_max - s.tau_bc_min) -
              std::log(s.tau_ism_max - s.tau_ism_min) - std::log(s.n_dust_max - s.n_dust_min);
  // log-uniform gamma: p(gamma) = 1 / (gamma ln(gmax/gmin)).
  const double log_ratio = std::log(std::log(s.gamma_max / s.gamma_min));
  lp -= std::log(t[kGamma1]) + log_ratio;
  lp -= std::log(t[kGamma2]) + log_ratio;
  if (s.sfh_prior == SfhPrior::kDirichlet) {
    lp += std::log(6.0);  // Dirichlet(1,1,1,1) = Gamma(4) on the 3-simplex
  } else {
    // z uniform, |d(beta_1..3)/d(z_1..3)| = z_1^2 z_2 with z_1 = 1 - beta_1 = rest_2,
    // z_2 = rest_3 / rest_2: p = 1 / (rest_2 rest_3).
    const double rest3 = t[kBeta3] + t[kBeta4];
    const double rest2 = t[kBeta2] + rest3;
    lp -= std::log(rest2) + std::log(rest3);
  }
  return lp;
}

double Prior::log_prob_flow(const FlowCoords& x) const {
  return in_box(x) ? -log_box_volume_ : -kInf;
}

double Prior::log_prob_unbounded(const FlowCoords& y) const {
  return -log_box_volume_ + log_abs_det_jacobian_from_unbounded(y);
}

void Prior::log_prob_physical(const double* theta, std::size_t n, double* out) const {
  for (std::size_t i = 0; i < n; ++i) {
    Physical t;
    std::copy_n(theta + i * kNumPhysical, kNumPhysical, t.begin());
    out[i] = log_prob_physical(t);
  }
}

void Prior::log_prob_flow(const double* x, std::size_t n, double* out) const {
  for (std::size_t i = 0; i < n; ++i) {
    FlowCoords xi;
    std::copy_n(x + i * kNumFlow, kNumFlow, xi.begin());
    out[i] = log_prob_flow(xi);
  }
}

void Prior::log_prob_unbounded(const double* y, std::size_t n, double* out) const {
  std::vector<double> x(n * kNumFlow);
  from_unbounded(y, n, x.data(), out);
  for (std::size_t i = 0; i < n; ++i) out[i] -= log_box_volume_;
}

// ---- bijection ----

FlowCoords Prior::to_unbounded(const FlowCoords& x) const {
  FlowCoords y;
  to_unbounded(x.data(), 1, y.data(), nullptr);
  return y;
}

FlowCoords Prior::from_unbounded(const FlowCoords& y) const {
  FlowCoords x;
  from_unbounded(y.data(), 1, x.data(), nullptr);
  return x;
}

double Prior::log_abs_det_jacobian_from_unbounded(const FlowCoords& y) const {
  FlowCoords x;
  double ld = 0.0;
  from_unbounded(y.data(), 1, x.data(), &ld);
  return ld;
}

double Prior::log_abs_det_jacobian_to_unbounded(const FlowCoords& x) const {
  FlowCoords y;
  double ld = 0.0;
  to_unbounded(x.data(), 1, y.data(), &ld);
  return ld;
}

void Prior::to_unbounded(const double* x, std::size_t n, double* y, double* log_det) const {
  for (std::size_t r = 0; r < n; ++r) {
    double ld = 0.0;
    for (std::size_t i = 0; i < kNumFlow; ++i) {
      const double w = upper_[i] - lower_[i];
      const double xi = x[r * kNumFlow + i];
      // Distances to both ends computed separately keep precision near either bound.
      double a = std::clamp((xi - lower_[i]) / w, kTiny, kOneMinus);
      double b = std::clamp((upper_[i] - xi) / w, kTiny, kOneMinus);
      if (std::isnan(xi)) a = b = std::numeric_limits<double>::quiet_NaN();
      const double yi = std::log(a) - std::log(b);
      y[r * kNumFlow + i] = yi;
      // dy/dx = 1 / (w s (1-s)), written with log-sigmoids of y for consistency with the inverse.
      ld -= std::log(w) + log_sigmoid(yi) + log_sigmoid(-yi);
    }
    if (log_det) log_det[r] = ld;
  }
}

void Prior::from_unbounded(const double* y, std::size_t n, double* x, double* log_det) const {
  for (std::size_t r = 0; r < n; ++r) {
    double ld = 0.0;
    for (std::size_t i = 0; i < kNumFlow; ++i) {
      const double w = upper_[i] - lower_[i];
      const double yi = y[r * kNumFlow + i];
      const double ls_pos = log_sigmoid(yi);
      const double ls_neg = log_sigmoid(-yi);
      // Measure from the nearer bound for precision.
      x[r * kNumFlow + i] = yi <= 0 ? lower_[i] + w * std::exp(ls_pos) : upper_[i] - w * std::exp(ls_neg);
      ld += std::log(w) + ls_pos + ls_neg;
    }
    if (log_det) log_det[r] = ld;
  }
}

}  // namespace sedpost::prior
