#pragma once
/// Flat Lambda-CDM with radiation and massive neutrinos, computed as astropy's FLRW does
/// (Komatsu et al. 2011 neutrino fitting formula). Default: astropy's Planck13.
#include <vector>

namespace sedpost::sps {

/// Parameters of a flat LambdaCDM cosmology.
struct CosmologyParams {
  double h0 = 67.77;           ///< Hubble constant [km/s/Mpc]
  double om0 = 0.30712;        ///< matter density today (baryons + CDM, no neutrinos)
  double tcmb0 = 2.7255;       ///< CMB temperature today [K]
  double neff = 3.046;         ///< effective number of neutrino species
  std::vector<double> m_nu{0.0, 0.0, 0.06};  ///< neutrino masses [eV] (floor(neff) entries)
};

/// Ages and distances; construction tabulates z in [0, 5] for fast cubic-Hermite look-ups
/// (relative error < 1e-10); beyond the table the integrals are evaluated directly.
class Cosmology {
 public:
  /// Planck13 (astropy.cosmology.Planck13).
  Cosmology();
  explicit Cosmology(const CosmologyParams& p);

  /// E(z) = H(z)/H0 (dimensionless).
  double efunc(double z) const;
  /// Age of the universe at redshift z [Gyr] (z >= 0), by quadrature.
  double age_gyr_exact(double z) const;
  /// Comoving distance [Mpc] (z >= 0), by quadrature.
  double comoving_distance_mpc_exact(double z) const;
  /// Age at z [Gyr], tabulated (exact beyond the table).
  double age_gyr(double z) const;
  /// Luminosity distance (1+z) D_C [Mpc], tabulated (exact beyond the table).
  double luminosity_distance_mpc(double z) const;

  double omega_gamma0() const { return ogamma0_; }
  double omega_nu0() const { return onu0_; }
  double omega_de0() const { return ode0_; }

 private:
  double nu_relative_density(double z) const;
  double lookback_integrand(double z) const;  // 1 / ((1+z) E(z))
  double table_lookup(const std::vector<double>& y, double z, double dydz0, bool age) const;

  CosmologyParams p_;
  double ogamma0_ = 0, onu0_ = 0, ode0_ = 0;
  double hubble_time_gyr_ = 0, hubble_distance_mpc_ = 0;
  std::vector<double> nu_y_;
  int n_massless_ = 0;
  double age0_gyr_ = 0;
  double table_dz_ = 0.0025;
  int table_n_ = 0;
  std::vector<double> lookback_tab_;   // [Gyr] at z_k = k dz
  std::vector<double> comoving_tab_;   // [Mpc]
  // The Hermite derivatives at both ends of cell k, [table_n_ - 1] each, precomputed (the values
  // table_lookup formed per call: lookback at z0 = k dz and z1 = z0 + dz [Gyr], comoving [Mpc]).
  std::vector<double> dlook0_, dlook1_, dcom0_, dcom1_;
};

}  // namespace sedpost::sps
