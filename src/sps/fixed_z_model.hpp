#pragma once
/// The forward model at one redshift with everything that depends only on z precomputed
/// (time bins, bin-integrated SSPs at each library Z on the rest-frame nodes the bands see,
/// band integrals as one [n_bands, n_nodes] matrix). This is what MCMC and likelihoods call.
#include <memory>
#include <vector>

#include "sps/sed_model.hpp"

namespace sedpost::sps {

class FixedZModel {
 public:
  /// Precomputes for redshift z. Throws DataError for z <= 0 or z > settings.z_max.
  FixedZModel(const SedModel& model, double z);
  ~FixedZModel();
  FixedZModel(FixedZModel&&) noexcept;
  FixedZModel& operator=(FixedZModel&&) noexcept;

  /// Band fluxes [n_bands] in nanomaggies for physical theta [12]. Agrees with
  /// SedModel::evaluate(theta, z) to rounding.
  void evaluate(const double* theta, double* flux_out) const;
  /// Batch: theta [n, 12] row-major, flux_out [n, n_bands] row-major (nanomaggies).
  void evaluate_batch(const double* theta, int n, double* flux_out) const;
  /// Derived quantities at this z.
  DerivedQuantities derived(const double* theta) const;

  double redshift() const;
  double age_gyr() const;
  int num_bands() const;
  /// Rest-frame wavelength nodes touched per evaluation.
  int num_nodes() const;
  /// Time bins at this z.
  int num_bins() const;
  /// Approximate multiply-adds per evaluate() (Z interpolation + SFH sum + dust + band matrix).
  long multiply_adds_per_eval() const;

 private:
  std::shared_ptr<const ModelData> data_;
  std::unique_ptr<ZSetup> setup_;
};

}  // namespace sedpost::sps
