#pragma once
/// Charlot & Fall (2000) two-component dust with the Kriek & Conroy (2013) diffuse curve
/// (FSPS dust_type = 4), MODEL.md sections 3 and 11.
#include <Eigen/Core>
#include <vector>

namespace sedpost::sps {

/// Calzetti et al. (2000) k'(lam) with R_V = 4.05: optical formula for lam >= 6300 A, UV one
/// below, both used at all wavelengths; negative values set to 0. lam in [A].
double calzetti_kprime(double lam_angstrom);
/// Drude UV bump profile without its amplitude: (lam dlam)^2 / ((lam^2 - lam0^2)^2 + (lam dlam)^2),
/// lam0 = 2175 A, dlam = 350 A.
double uv_bump_profile(double lam_angstrom);

/// Per-wavelength dust curves precomputed on a rest-frame grid.
class DustCurves {
 public:
  DustCurves() = default;
  /// `lam` rest-frame wavelengths [A]; `bc_index` birth-cloud power-law index (FSPS default -1).
  DustCurves(const std::vector<double>& lam, double bc_index);
  /// Diffuse ISM transmission exp[-tau_ism (k' + E_b D)/4.05 (lam/5500)^n], E_b = 0.85 - 1.9 n
  /// (not clipped), for nodes [j0, j1) written to out[0 .. j1-j0).
  void ism(double tau_ism, double n_dust, int j0, int j1, double* out) const;
  /// Birth-cloud transmission exp[-tau_bc (lam/5500)^bc_index] for nodes [j0, j1).
  void birth_cloud(double tau_bc, int j0, int j1, double* out) const;
  /// Single-precision, vectorised versions of ism() and birth_cloud() (the model's hot path;
  /// relative error ~1e-7).
  void ism_f(float tau_ism, float n_dust, int j0, int j1, float* out) const;
  void birth_cloud_f(float tau_bc, int j0, int j1, float* out) const;
  int size() const { return static_cast<int>(kprime_.size()); }

 private:
  std::vector<double> kprime_, bump_, log_ratio_, bc_power_;
  Eigen::ArrayXf kprime_f_, bump_f_, log_ratio_f_, bc_power_f_;
};

}  // namespace sedpost::sps
