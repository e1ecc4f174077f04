#include "mcmc/log_density.hpp"

#include <utility>

namespace sedpost::mcmc {

BatchLogDensity batch_from_scalar(ScalarLogDensity f) {
  return [f = std::move(f)](const Eigen::Ref<const Eigen::MatrixXd>& thetas,
                            Eigen::Ref<Eigen::VectorXd> logp) {
    Eigen::VectorXd row(thetas.cols());
    for (Eigen::Index i = 0; i < thetas.rows(); ++i) {
      row = thetas.row(i).transpose();
      logp[i] = f(row);
    }
  };
}

Eigen::VectorXd evaluate(const BatchLogDensity& f, const Eigen::Ref<const Eigen::MatrixXd>& thetas) {
  Eigen::VectorXd out(thetas.rows());
  if (thetas.rows() > 0) f(thetas, out);
  return out;
}

}  // namespace sedpost::mcmc
