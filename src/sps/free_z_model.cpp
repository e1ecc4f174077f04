#include "sps/free_z_model.hpp"

#include "sps/model_data.hpp"

namespace sedpost::sps {

FreeZModel::FreeZModel(const SedModel& model, double spacing) : data_(model.data()) {
  tables_.reserve(data_->zbands.size());
  for (const auto& band : data_->zbands) tables_.emplace_back(band, data_->settings.z_max, spacing);
}
FreeZModel::~FreeZModel() = default;
FreeZModel::FreeZModel(FreeZModel&&) noexcept = default;
FreeZModel& FreeZModel::operator=(FreeZModel&&) noexcept = default;

void FreeZModel::evaluate(const double* theta, double z, double* flux_out) const {
  // One setup per thread, rebuilt in place for each z (as SedModel::evaluate).
  thread_local ZSetup s;
  update_zsetup(*data_, z, true, s, &tables_);
  eval_fluxes(*data_, s, theta, flux_out);
}

void FreeZModel::evaluate_batch(const double* theta, const double* z, int n, double* flux_out) const {
  const long nb = num_bands();
  for (int i = 0; i < n; ++i) evaluate(theta + static_cast<long>(i) * kNumTheta, z[i], flux_out + i * nb);
}

DerivedQuantities FreeZModel::derived(const double* theta, double z) const {
  // The derived quantities need the time bins only, not the bands or any spectrum.
  thread_local ZSetup s;
  update_zsetup_bins(*data_, z, s);
  return eval_derived(*data_, s, theta);
}

double FreeZModel::z_max() const { return data_->settings.z_max; }

std::size_t FreeZModel::memory_bytes() const {
  std::size_t n = 0;
  for (const auto& t : tables_) n += t.memory_bytes();
  return n;
}

int FreeZModel::num_bands() const { return static_cast<int>(tables_.size()); }

}  // namespace sedpost::sps
