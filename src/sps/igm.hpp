#pragma once
/// Mean attenuation by the intergalactic medium: the analytic model of Inoue et al. 2014
/// (MNRAS 442, 1805; docs/igm.md), Lyman-series absorption (their eqs. 21-22, Table 2
/// coefficients for the Lyman-alpha forest (LAF) and damped Lyman-alpha systems (DLA), lines
/// j = 2..40) plus Lyman-continuum absorption (their eqs. 25-29).
///
/// Units: wavelengths in Angstrom, observed frame; z is the source's redshift.
#include <string>
#include <vector>

namespace sedpost::sps {

class IgmInoue2014 {
 public:
  /// Lyman limit [A] of the continuum terms (Inoue et al. 2014: 911.8; 911.75 as EAZY and
  /// ProSpect use, the value the coefficients were fitted with).
  static constexpr double kLymanLimit = 911.75;

  /// Reads `dir`/LAFcoeff.txt (j, lambda_j [A], A_LAF1..3) and `dir`/DLAcoeff.txt (j,
  /// lambda_j, A_DLA1..2). Throws IoError (missing file) or DataError naming the file and line.
  explicit IgmInoue2014(const std::string& dir);

  /// Optical depth tau(lambda_obs, z) >= 0 of the mean IGM for a source at z > 0: the sum of
  /// the four terms. 0 redward of Lyman alpha (lambda_obs >= 1215.67 (1 + z)).
  double tau(double lambda_obs, double z) const;
  /// exp(-tau); 0 below the observed Lyman limit (lambda_obs < 911.75 A), where the model is
  /// not defined and no photon reaches us.
  double transmission(double lambda_obs, double z) const;

  // The four terms (tests).
  double tau_lyman_series_laf(double lambda_obs, double z) const;
  double tau_lyman_series_dla(double lambda_obs, double z) const;
  static double tau_lyman_continuum_laf(double lambda_obs, double z);
  static double tau_lyman_continuum_dla(double lambda_obs, double z);

  /// Line wavelengths lambda_j [A], j = 2, 3, ...
  const std::vector<double>& lines() const { return lambda_; }

 private:
  std::vector<double> lambda_;                 // [n_lines]
  std::vector<double> laf1_, laf2_, laf3_;     // [n_lines]
  std::vector<double> dla1_, dla2_;            // [n_lines]
};

}  // namespace sedpost::sps
