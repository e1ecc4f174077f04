#include "sps/fixed_z_model.hpp"

#include "sps/model_data.hpp"

namespace sedpost::sps {

FixedZModel::FixedZModel(const SedModel& model, double z)
    : data_(model.data()), setup_(make_zsetup(*data_, z, true)) {}
FixedZModel::~FixedZModel() = default;
FixedZModel::FixedZModel(FixedZModel&&) noexcept = default;
FixedZModel& FixedZModel::operator=(FixedZModel&&) noexcept = default;

void FixedZModel::evaluate(const double* theta, double* flux_out) const {
  eval_fluxes(*data_, *setup_, theta, flux_out);
}

void FixedZModel::evaluate_batch(const double* theta, int n, double* flux_out) const {
  const int nb = num_bands();
  for (int i = 0; i < n; ++i) eval_fluxes(*data_, *setup_, theta + static_cast<long>(i) * kNumTheta, flux_out + static_cast<long>(i) * nb);
}

DerivedQuantities FixedZModel::derived(const double* theta) const { return eval_derived(*data_, *setup_, theta); }

double FixedZModel::redshift() const { return setup_->z; }
double FixedZModel::age_gyr() const { return setup_->t_age_yr * 1e-9; }
int FixedZModel::num_bands() const { return static_cast<int>(setup_->band.rows()); }
int FixedZModel::num_nodes() const { return setup_->j1 - setup_->j0; }
int FixedZModel::num_bins() const { return static_cast<int>(setup_->bins.size()); }

long FixedZModel::multiply_adds_per_eval() const {
  const long n = num_nodes();
  long rows = 0;
  for (const auto& b : setup_->bins) rows += 2 * ((b.has_young ? 1 : 0) + (b.has_old ? 1 : 0));
  rows += 4;  // burst: 2 ages x 2 Z
  // SFH sum + burst rows, dust combine (2 per node), band matrix.
  return rows * n + 2 * n + static_cast<long>(num_bands()) * n;
}

}  // namespace sedpost::sps
