#pragma once
/// SEDflow's prior over the 12 physical parameters (docs/MODEL.md section 1), its 11 "flow
/// coordinates", and the bijection of the flow-coordinate box onto R^11 that the flow trains on.
///
/// Physical theta [12] (MODEL.md 11): log_mstar_formed [log10 M_sun], beta_1..beta_4 (SFH basis
/// weights, sum 1), f_burst, t_burst [Gyr lookback], gamma_1, gamma_2 (linear absolute-Z
/// weights), tau_bc, tau_ism, n_dust.
/// Flow coordinates [11]: log_mstar_formed, u_1..u_3 (stick-breaking coordinates in [0,1]),
/// f_burst, t_burst, log_gamma_1, log_gamma_2 (log10), tau_bc, tau_ism, n_dust.
///
/// In both SFH variants the prior is *uniform on the flow-coordinate box*; the variants differ
/// only in the map u -> beta:
///  - kDirichlet (default, flat Dirichlet(1,1,1,1)): v_k = 1 - (1-u_k)^(1/(4-k)),
///    beta_1 = v_1, beta_k = v_k prod_{j<k}(1-v_j), beta_4 = prod_{j<4}(1-v_j).
///  - kSedflow (what the SEDflow code ran; not flat): beta_1 = 1-u_1, beta_2 = u_1(1-u_2),
///    beta_3 = u_1 u_2 (1-u_3), beta_4 = u_1 u_2 u_3.
///
/// Batch functions take and return row-major arrays: `[n, 12]` physical, `[n, 11]` flow or
/// unbounded. Nothing here is collective; nothing prints.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.hpp"

namespace sedpost {
class Config;
}

namespace sedpost::prior {

inline constexpr std::size_t kNumPhysical = 12;  ///< physical parameters
inline constexpr std::size_t kNumFlow = 11;      ///< flow coordinates
inline constexpr std::size_t kNumBeta = 4;       ///< SFH basis weights

using Physical = std::array<double, kNumPhysical>;
using FlowCoords = std::array<double, kNumFlow>;

/// Index of each physical parameter in `Physical`.
enum PhysicalIndex : std::size_t {
  kLogMstar = 0, kBeta1 = 1, kBeta2 = 2, kBeta3 = 3, kBeta4 = 4, kFBurst = 5, kTBurst = 6,
  kGamma1 = 7, kGamma2 = 8, kTauBc = 9, kTauIsm = 10, kNDust = 11,
};
/// Index of each flow coordinate in `FlowCoords`.
enum FlowIndex : std::size_t {
  kFlowLogMstar = 0, kFlowU1 = 1, kFlowU2 = 2, kFlowU3 = 3, kFlowFBurst = 4, kFlowTBurst = 5,
  kFlowLogGamma1 = 6, kFlowLogGamma2 = 7, kFlowTauBc = 8, kFlowTauIsm = 9, kFlowNDust = 10,
};

/// How the SFH weights beta are distributed (config key `prior.sfh_prior`).
enum class SfhPrior {
  kDirichlet,  ///< "dirichlet": flat Dirichlet(1,1,1,1) by stick-breaking (default)
  kSedflow,    ///< "sedflow": beta from uniform z_k as in the SEDflow code (not flat)
};

/// Parses "dirichlet" / "sedflow" (case-sensitive); throws ConfigError otherwise.
SfhPrior parse_sfh_prior(const std::string& name);
/// "dirichlet" or "sedflow".
std::string to_string(SfhPrior p);

/// Prior bounds (hard) and SFH variant. Defaults are SEDflow's (MODEL.md section 1).
struct PriorSettings {
  double log_mstar_min = 7.0, log_mstar_max = 12.5;  ///< log10 M* formed [M_sun]
  double f_burst_min = 0.0, f_burst_max = 1.0;
  double t_burst_min = 0.01, t_burst_max = 13.27;    ///< [Gyr lookback]
  double gamma_min = 4.5e-5, gamma_max = 1.5e-2;     ///< both gammas, log-uniform (linear units)
  double tau_bc_min = 0.0, tau_bc_max = 3.0;
  double tau_ism_min = 0.0, tau_ism_max = 3.0;
  double n_dust_min = -2.0, n_dust_max = 1.0;
  SfhPrior sfh_prior = SfhPrior::kDirichlet;

  /// Reads the optional keys `<table>.sfh_prior` (string) and `<table>.log_mstar_formed`,
  /// `.f_burst`, `.t_burst`, `.gamma`, `.tau_bc`, `.tau_ism`, `.n_dust` (each a 2-element
  /// array [lower, upper]); absent keys keep the defaults. Throws ConfigError on bad values.
  static PriorSettings from_config(const Config& config, const std::string& table = "prior");
  /// Throws ConfigError unless every lower < upper, all finite and gamma_min > 0.
  void validate() const;
};

/// The prior. Cheap to copy; all methods are const and thread-safe.
class Prior {
 public:
  /// Throws ConfigError when `settings` is invalid.
  explicit Prior(const PriorSettings& settings = PriorSettings{});

  const PriorSettings& settings() const { return settings_; }

  // ---- names, units, box ----
  /// "log_mstar_formed", "beta_1".."beta_4", "f_burst", "t_burst", "gamma_1", "gamma_2",
  /// "tau_bc", "tau_ism", "n_dust".
  static const std::vector<std::string>& physical_names();
  /// Units of the physical parameters ("log10(M_sun)", "", ..., "Gyr", ...).
  static const std::vector<std::string>& physical_units();
  /// "log_mstar_formed", "u_1".."u_3", "f_burst", "t_burst", "log_gamma_1", "log_gamma_2",
  /// "tau_bc", "tau_ism", "n_dust".
  static const std::vector<std::string>& flow_names();
  /// Units of the flow coordinates.
  static const std::vector<std::string>& flow_units();
  /// Lower / upper corners of the flow-coordinate box (u_k in [0, 1]).
  const FlowCoords& flow_lower() const { return lower_; }
  const FlowCoords& flow_upper() const { return upper_; }

  // ---- sampling ----
  /// One prior draw in flow coordinates (uniform on the open box).
  FlowCoords sample_flow(Rng& rng) const;
  /// One prior draw of the physical parameters.
  Physical sample(Rng& rng) const;
  /// `n` draws [n, 12], draw i from Rng(seed, RngStream::kPrior, first_index + i): the same
  /// for any split of the rows over ranks.
  std::vector<double> sample_batch(std::uint64_t seed, std::uint64_t first_index,
                                   std::size_t n) const;

  // ---- physical <-> flow coordinates ----
  /// Flow coordinates of a physical theta. betas are used as given (normalised by their sum
  /// when it is positive); gamma <= 0 gives -inf log_gamma. No bounds check.
  FlowCoords to_flow(const Physical& theta) const;
  /// Physical theta of flow coordinates (no bounds check; u outside [0,1] gives nonsense).
  Physical to_physical(const FlowCoords& x) const;
  /// Batch versions: `physical` [n, 12] <-> `flow` [n, 11], row-major.
  void to_flow(const double* physical, std::size_t n, double* flow) const;
  void to_physical(const double* flow, std::size_t n, double* physical) const;
  std::vector<double> to_flow(const std::vector<double>& physical) const;    ///< size % 12 == 0
  std::vector<double> to_physical(const std::vector<double>& flow) const;    ///< size % 11 == 0

  // ---- support and density ----
  /// True when theta is inside the prior's support: every bound (inclusive), betas >= 0 with
  /// |sum - 1| <= 1e-9, all finite. On false, `reason` (if given) names the first violation.
  bool in_support(const Physical& theta, std::string* reason = nullptr) const;
  /// True when x lies in the (closed) flow-coordinate box and is finite.
  bool in_box(const FlowCoords& x) const;
  /// Log prior density of the physical parameters, -inf outside the support. The density is
  /// with respect to Lebesgue measure on the 11 free parameters (log_mstar_formed,
  /// beta_1..beta_3, f_burst, t_burst, gamma_1, gamma_2 [linear], tau_bc, tau_ism, n_dust;
  /// beta_4 = 1 - sum is implied): flat Dirichlet -> log 3! on the simplex; gamma log-uniform ->
  /// -log(gamma ln(gmax/gmin)); sedflow SFH -> -log((1 - beta_1)(beta_3 + beta_4)).
  double log_prob_physical(const Physical& theta) const;
  /// Log prior density in flow coordinates: -log(box volume) inside the box, -inf outside.
  double log_prob_flow(const FlowCoords& x) const;
  /// Log prior density of the unbounded coordinates y = to_unbounded(x):
  /// -log(box volume) + log|dx/dy|; finite everywhere (for samplers working in R^11).
  double log_prob_unbounded(const FlowCoords& y) const;
  /// Batch versions: `theta` [n, 12] / `x`, `y` [n, 11] -> `out` [n].
  void log_prob_physical(const double* theta, std::size_t n, double* out) const;
  void log_prob_flow(const double* x, std::size_t n, double* out) const;
  void log_prob_unbounded(const double* y, std::size_t n, double* out) const;

  // ---- bijection flow box <-> R^11 ----
  /// y_i = logit(s_i), s_i = (x_i - lo_i) / (hi_i - lo_i), computed as log(s) - log(1-s) with
  /// both distances to the bounds clamped to [denorm_min, 1 - 2^-53], so points on (or past)
  /// the boundary map to finite |y| (<= ~745). NaN stays NaN.
  FlowCoords to_unbounded(const FlowCoords& x) const;
  /// x_i = lo_i + (hi_i - lo_i) sigmoid(y_i); always inside the closed box.
  FlowCoords from_unbounded(const FlowCoords& y) const;
  /// log |det dx/dy| at y = sum_i [log(hi_i - lo_i) + log sigmoid(y_i) + log sigmoid(-y_i)].
  double log_abs_det_jacobian_from_unbounded(const FlowCoords& y) const;
  /// log |det dy/dx| at x (= -log_abs_det_jacobian_from_unbounded(to_unbounded(x))).
  double log_abs_det_jacobian_to_unbounded(const FlowCoords& x) const;
  /// Batch versions over [n, 11]; `log_det` [n] may be null. For to_unbounded it receives
  /// log|dy/dx|, for from_unbounded log|dx/dy|.
  void to_unbounded(const double* x, std::size_t n, double* y, double* log_det = nullptr) const;
  void from_unbounded(const double* y, std::size_t n, double* x, double* log_det = nullptr) const;

 private:
  void betas_from_u(const double* u, double* beta) const;
  void u_from_betas(const double* beta, double* u) const;

  PriorSettings settings_;
  FlowCoords lower_{};
  FlowCoords upper_{};
  double log_box_volume_ = 0.0;
};

}  // namespace sedpost::prior
