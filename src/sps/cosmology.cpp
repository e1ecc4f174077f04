#include "sps/cosmology.hpp"

#include <cmath>

#include "core/error.hpp"

namespace sedpost::sps {

namespace {
// 8-point Gauss-Legendre nodes/weights on [-1, 1].
constexpr double kGlX[8] = {-0.9602898564975363, -0.7966664774136267, -0.5255324099163290,
                            -0.1834346424956498, 0.1834346424956498,  0.5255324099163290,
                            0.7966664774136267,  0.9602898564975363};
constexpr double kGlW[8] = {0.1012285362903763, 0.2223810344533745, 0.3137066458778873,
                            0.3626837833783620, 0.3626837833783620, 0.3137066458778873,
                            0.2223810344533745, 0.1012285362903763};

template <class F>
double gauss_legendre(F&& f, double a, double b, int panels) {
  double s = 0.0;
  const double h = (b - a) / panels;
  for (int p = 0; p < panels; ++p) {
    const double m = a + (p + 0.5) * h;
    for (int k = 0; k < 8; ++k) s += kGlW[k] * f(m + 0.5 * h * kGlX[k]);
  }
  return s * 0.5 * h;
}
}  // namespace

Cosmology::Cosmology() : Cosmology(CosmologyParams{}) {}

Cosmology::Cosmology(const CosmologyParams& p) : p_(p) {
  // SI constants (CODATA 2018, as astropy).
  constexpr double kSigmaSb = 5.670374419e-8, kC = 299792458.0, kG = 6.67430e-11;
  constexpr double kKb = 1.380649e-23, kEv = 1.602176634e-19, kPi = 3.14159265358979323846;
  constexpr double kMpcM = 3.0856775814913673e22, kGyrS = 3.15576e16;
  const double h0_si = p.h0 * 1e3 / kMpcM;
  const double rho_crit = 3.0 * h0_si * h0_si / (8.0 * kPi * kG);
  const double a_b_c2 = 4.0 * kSigmaSb / (kC * kC * kC);
  ogamma0_ = a_b_c2 * std::pow(p.tcmb0, 4) / rho_crit;
  const double tnu0 = 0.7137658555036082 * p.tcmb0;
  const int n_nu = static_cast<int>(std::floor(p.neff));
  if (static_cast<int>(p.m_nu.size()) != n_nu)
    throw ConfigError("cosmology: " + std::to_string(p.m_nu.size()) + " neutrino masses given, need " +
                      std::to_string(n_nu) + " (floor(Neff))");
  for (double m : p.m_nu) {
    if (m > 0) nu_y_.push_back(m * kEv / (kKb * tnu0));
    else ++n_massless_;
  }
  onu0_ = ogamma0_ * nu_relative_density(0.0);
  ode0_ = 1.0 - p.om0 - ogamma0_ - onu0_;
  hubble_time_gyr_ = 1.0 / h0_si / kGyrS;
  hubble_distance_mpc_ = kC / 1e3 / p.h0;
  // Age today: int_0^1 da / (a E(a)), with a E(a) = sqrt(Om a^-1 + Or a^-2 + Ode a^2).
  auto age_integrand = [this](double a) {
    const double z = 1.0 / a - 1.0;
    return 1.0 / (a * efunc(z));
  };
  age0_gyr_ = hubble_time_gyr_ * gauss_legendre(age_integrand, 0.0, 1.0, 400);
  table_n_ = static_cast<int>(std::lround(5.0 / table_dz_)) + 1;
  lookback_tab_.assign(static_cast<size_t>(table_n_), 0.0);
  comoving_tab_.assign(static_cast<size_t>(table_n_), 0.0);
  for (int k = 1; k < table_n_; ++k) {
    const double a = (k - 1) * table_dz_, b = k * table_dz_;
    lookback_tab_[static_cast<size_t>(k)] =
        lookback_tab_[static_cast<size_t>(k - 1)] +
        hubble_time_gyr_ * gauss_legendre([this](double z) { return lookback_integrand(z); }, a, b, 1);
    comoving_tab_[static_cast<size_t>(k)] =
        comoving_tab_[static_cast<size_t>(k - 1)] +
        hubble_distance_mpc_ * gauss_legendre([this](double z) { return 1.0 / efunc(z); }, a, b, 1);
  }
  for (int k = 0; k + 1 < table_n_; ++k) {
    const double z0 = k * table_dz_, z1 = z0 + table_dz_;
    dlook0_.push_back(hubble_time_gyr_ * lookback_integrand(z0));
    dlook1_.push_back(hubble_time_gyr_ * lookback_integrand(z1));
    dcom0_.push_back(hubble_distance_mpc_ / efunc(z0));
    dcom1_.push_back(hubble_distance_mpc_ / efunc(z1));
  }
}

double Cosmology::nu_relative_density(double z) const {
  constexpr double kPrefac = 0.22710731766;  // 7/8 (4/11)^(4/3)
  constexpr double kP = 1.83, kInvP = 0.54644808743, kK = 0.3173;
  double rel = n_massless_;
  for (double y : nu_y_) rel += std::pow(1.0 + std::pow(kK * y / (1.0 + z), kP), kInvP);
  return kPrefac * (p_.neff / static_cast<double>(p_.m_nu.size())) * rel;
}

double Cosmology::efunc(double z) const {
  const double zp1 = 1.0 + z;
  const double zp2 = zp1 * zp1;
  return std::sqrt(p_.om0 * zp2 * zp1 + ogamma0_ * zp2 * zp2 * (1.0 + nu_relative_density(z)) + ode0_);
}

double Cosmology::lookback_integrand(double z) const { return 1.0 / ((1.0 + z) * efunc(z)); }

double Cosmology::age_gyr_exact(double z) const {
  if (z < 0) throw DataError("cosmology: negative redshift " + std::to_string(z));
  const double a_z = 1.0 / (1.0 + z);
  auto f = [this](double a) { return 1.0 / (a * efunc(1.0 / a - 1.0)); };
  return hubble_time_gyr_ * gauss_legendre(f, 0.0, a_z, 400);
}

double Cosmology::comoving_distance_mpc_exact(double z) const {
  if (z < 0) throw DataError("cosmology: negative redshift " + std::to_string(z));
  const int panels = std::max(8, static_cast<int>(std::ceil(z * 50)));
  return hubble_distance_mpc_ * gauss_legendre([this](double x) { return 1.0 / efunc(x); }, 0.0, z, panels);
}

double Cosmology::table_lookup(const std::vector<double>& y, double z, double, bool age) const {
  // Cubic Hermite with analytic derivatives.
  const double s = z / table_dz_;
  int k = static_cast<int>(s);
  if (k >= table_n_ - 1) k = table_n_ - 2;
  const double t = s - k;
  const auto u = static_cast<size_t>(k);
  const double d0 = age ? dlook0_[u] : dcom0_[u];
  const double d1 = age ? dlook1_[u] : dcom1_[u];
  const double t2 = t * t, t3 = t2 * t;
  const double h00 = 2 * t3 - 3 * t2 + 1, h10 = t3 - 2 * t2 + t, h01 = -2 * t3 + 3 * t2, h11 = t3 - t2;
  return h00 * y[static_cast<size_t>(k)] + h10 * table_dz_ * d0 + h01 * y[static_cast<size_t>(k + 1)] +
         h11 * table_dz_ * d1;
}

double Cosmology::age_gyr(double z) const {
  if (!(z >= 0)) throw DataError("cosmology: invalid redshift " + std::to_string(z));
  if (z > (table_n_ - 1) * table_dz_) return age_gyr_exact(z);
  return age0_gyr_ - table_lookup(lookback_tab_, z, 0.0, true);
}

double Cosmology::luminosity_distance_mpc(double z) const {
  if (!(z >= 0)) throw DataError("cosmology: invalid redshift " + std::to_string(z));
  if (z > (table_n_ - 1) * table_dz_) return (1.0 + z) * comoving_distance_mpc_exact(z);
  return (1.0 + z) * table_lookup(comoving_tab_, z, 0.0, false);
}

}  // namespace sedpost::sps
