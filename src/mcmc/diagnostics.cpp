#include "mcmc/diagnostics.hpp"

#include <unsupported/Eigen/FFT>

#include <cmath>
#include <complex>
#include <limits>
#include <vector>

namespace sedpost::mcmc {

Eigen::VectorXd autocorrelation_function(const Eigen::Ref<const Eigen::VectorXd>& x) {
  const Eigen::Index n = x.size();
  Eigen::VectorXd acf = Eigen::VectorXd::Zero(n);
  if (n == 0) return acf;
  std::size_t m = 1;
  while (m < static_cast<std::size_t>(2 * n)) m <<= 1;  // zero padding: no circular wrap
  const double mean = x.mean();
  std::vector<std::complex<double>> in(m, 0.0), spec, out;
  for (Eigen::Index i = 0; i < n; ++i) in[static_cast<std::size_t>(i)] = x[i] - mean;
  Eigen::FFT<double> fft;
  fft.fwd(spec, in);
  for (auto& s : spec) s = std::norm(s);
  fft.inv(out, spec);
  const double c0 = out[0].real();
  if (!(c0 > 0.0)) {
    acf[0] = 1.0;
    return acf;
  }
  for (Eigen::Index i = 0; i < n; ++i) acf[i] = out[static_cast<std::size_t>(i)].real() / c0;
  return acf;
}

double integrated_autocorr_time(const Eigen::Ref<const Eigen::MatrixXd>& series, double c) {
  const Eigen::Index n = series.rows(), w = series.cols();
  if (n == 0 || w == 0) return std::numeric_limits<double>::quiet_NaN();
  Eigen::VectorXd f = Eigen::VectorXd::Zero(n);
  for (Eigen::Index j = 0; j < w; ++j) f += autocorrelation_function(series.col(j));
  f /= static_cast<double>(w);
  // emcee autocorr.integrated_time: taus = 2 cumsum(f) - 1; window = first M with M >= c taus[M].
  double cum = 0.0;
  double tau = 1.0;
  for (Eigen::Index m = 0; m < n; ++m) {
    cum += f[m];
    tau = 2.0 * cum - 1.0;
    if (static_cast<double>(m) >= c * tau) return tau;
  }
  return tau;  // window not reached: chain too short, the estimate is a lower bound
}

double split_rhat(const Eigen::Ref<const Eigen::MatrixXd>& series) {
  const Eigen::Index n = series.rows(), w = series.cols();
  if (n < 4 || w < 1) return std::numeric_limits<double>::quiet_NaN();
  const Eigen::Index h = n / 2;
  const Eigen::Index m = 2 * w;
  Eigen::VectorXd means(m), vars(m);
  for (Eigen::Index j = 0; j < w; ++j) {
    for (int part = 0; part < 2; ++part) {
      const auto seg = series.col(j).segment(part == 0 ? 0 : n - h, h);
      const double mu = seg.mean();
      means[2 * j + part] = mu;
      vars[2 * j + part] = (seg.array() - mu).square().sum() / static_cast<double>(h - 1);
    }
  }
  const double within = vars.mean();
  const double between =
      static_cast<double>(h) * (means.array() - means.mean()).square().sum() / static_cast<double>(m - 1);
  if (!(within > 0.0)) return between > 0.0 ? std::numeric_limits<double>::infinity() : 1.0;
  const double var_plus = (static_cast<double>(h - 1) / h) * within + between / static_cast<double>(h);
  return std::sqrt(var_plus / within);
}

double effective_sample_size(const Eigen::Ref<const Eigen::MatrixXd>& series, double c) {
  return static_cast<double>(series.size()) / integrated_autocorr_time(series, c);
}

double mc_standard_error(const Eigen::Ref<const Eigen::MatrixXd>& series, double c) {
  const double n = static_cast<double>(series.size());
  const double mean = series.mean();
  const double var = (series.array() - mean).square().sum() / (n - 1.0);
  return std::sqrt(var * integrated_autocorr_time(series, c) / n);
}

ChainDiagnostics diagnose(const SamplerResult& r, double c, double min_tau_multiple, double max_rhat) {
  ChainDiagnostics d;
  d.tau.resize(r.n_dim);
  d.rhat.resize(r.n_dim);
  d.ess.resize(r.n_dim);
  for (int k = 0; k < r.n_dim; ++k) {
    const Eigen::MatrixXd s = r.parameter(k);
    d.tau[k] = integrated_autocorr_time(s, c);
    d.rhat[k] = split_rhat(s);
    d.ess[k] = static_cast<double>(s.size()) / d.tau[k];
  }
  const Eigen::Index n_run = r.n_evals.size() - r.n_burn;
  if (n_run > 0) {
    d.evals_per_step = r.n_evals.tail(n_run).cast<double>().mean();
    d.expansions_per_step = r.n_expansions.tail(n_run).cast<double>().mean();
    d.contractions_per_step = r.n_contractions.tail(n_run).cast<double>().mean();
  }
  if (r.sampling_evals > 0 && r.n_dim > 0)
    d.ess_per_1k_evals = d.ess.minCoeff() / static_cast<double>(r.sampling_evals) * 1000.0;
  d.converged = r.n_dim > 0 && r.n_steps > min_tau_multiple * d.tau.maxCoeff() &&
                d.rhat.maxCoeff() < max_rhat;
  return d;
}

}  // namespace sedpost::mcmc
