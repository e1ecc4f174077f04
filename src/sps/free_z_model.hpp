#pragma once
/// The forward model with the redshift free, for likelihoods evaluated at a new z per call (the
/// photo-z mode's likelihood weighting and MCMC): SedModel::evaluate with the band weights
/// interpolated from a table in ln(1 + z) (TabulatedBand) instead of integrated over the
/// filter's nodes at every z. Everything else (time bins, last bin at t_age(z), IGM at z,
/// luminosity distance) is exact. The simulator keeps the exact path (SedModel).
#include <cstddef>
#include <memory>
#include <vector>

#include "sps/filters.hpp"
#include "sps/sed_model.hpp"

namespace sedpost::sps {

struct ModelData;

class FreeZModel {
 public:
  /// Table node spacing in ln(1 + z): the flux error it leaves is measured by
  /// tests/sps/free_z_model_test.cpp (docs/photo-z.md, "Conventions").
  static constexpr double kDefaultSpacing = 2e-4;

  /// Tabulates every band for 0 <= z <= model.settings().z_max (memory: ~ 4 bytes x bands x
  /// rest nodes per band x ln(1 + z_max) / spacing; 47 MB for LSST ugrizy to z = 3).
  explicit FreeZModel(const SedModel& model, double spacing = kDefaultSpacing);
  ~FreeZModel();
  FreeZModel(FreeZModel&&) noexcept;
  FreeZModel& operator=(FreeZModel&&) noexcept;

  /// Band fluxes [n_bands] in nanomaggies for physical theta [12] at z (0 < z <= z_max; DataError
  /// otherwise, as SedModel::evaluate).
  void evaluate(const double* theta, double z, double* flux_out) const;
  /// theta [n, 12] row-major, z [n], flux_out [n, n_bands] row-major (nanomaggies).
  void evaluate_batch(const double* theta, const double* z, int n, double* flux_out) const;
  /// Derived quantities at z: equal to SedModel::derived (they do not depend on the bands).
  DerivedQuantities derived(const double* theta, double z) const;
  int num_bands() const;
  /// Bytes the band tables hold.
  std::size_t memory_bytes() const;
  /// The largest z the model accepts (SedModelSettings::z_max).
  double z_max() const;

 private:
  std::shared_ptr<const ModelData> data_;
  std::vector<TabulatedBand> tables_;  // [n_bands]
};

}  // namespace sedpost::sps
