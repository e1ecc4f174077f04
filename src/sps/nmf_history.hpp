#pragma once
/// PROVABGS NMF star-formation and metallicity-history bases (Hahn et al. 2023) and the
/// SEDflow/PROVABGS time bins (MODEL.md sections 2 and 11).
#include <array>
#include <string>
#include <vector>

namespace sedpost::sps {

/// Number of SFH basis weights (beta_1..beta_4) and ZH weights (gamma_1, gamma_2).
inline constexpr int kNumSfhBases = 4;
inline constexpr int kNumZhBases = 2;
/// Metallicity-history clip (absolute Z) applied to gamma_1 z_1 + gamma_2 z_2.
inline constexpr double kZhMin = 4.49043431e-5;
inline constexpr double kZhMax = 4.49043431e-2;

/// Lookback time-bin edges [yr] at an epoch of age t_age [yr]: the fixed edges 0,
/// 10^(6.05 + 0.1 k) (k = 0..40), 13.8e9 that are strictly below t_age, then t_age.
std::vector<double> time_bin_edges_yr(double t_age_yr);
/// The 43 fixed edges [yr] (0, 10^6.05 .. 10^10.05, 13.8e9).
std::vector<double> fixed_time_bin_edges_yr();

/// The NMF bases, piecewise linear in lookback time and linearly extrapolated beyond the
/// table's ends (0.067 and 13.63 Gyr).
class NmfHistory {
 public:
  /// Reads `<dir>/NMF_2basis_SFH_components_nowgt_lin_Nc4.txt`, `..._Z_components_..._Nc2.txt`
  /// and `sfh_t_int.txt`; columns reversed to increasing lookback, SFH rows ordered [2, 0, 1, 3].
  /// Throws DataError naming the file on a missing file or wrong shape.
  explicit NmfHistory(const std::string& provabgs_dir);

  /// Exact average of each SFH basis over lookback [a, b] [yr], each clipped at 0. [4]
  std::array<double, kNumSfhBases> sfh_bin_average(double a_yr, double b_yr) const;
  /// The ZH bases z_1, z_2 at lookback t [yr]. [2]
  std::array<double, kNumZhBases> zh_at(double t_yr) const;
  /// Z(t) = clip(gamma_1 z_1(t) + gamma_2 z_2(t), kZhMin, kZhMax) (absolute Z).
  double metallicity_at(double t_yr, double gamma1, double gamma2) const;

  const std::vector<double>& times_gyr() const { return t_gyr_; }

 private:
  std::vector<double> t_gyr_;                                  // [50] ascending lookback [Gyr]
  std::array<std::vector<double>, kNumSfhBases> sfh_;          // [4][50]
  std::array<std::vector<double>, kNumZhBases> zh_;            // [2][50]
};

}  // namespace sedpost::sps
