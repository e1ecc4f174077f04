#include "sps/dust.hpp"

#include <algorithm>
#include <cmath>

#include "sps/simd.hpp"

namespace sedpost::sps {

double calzetti_kprime(double lam) {
  const double x = lam * 1e-4;  // micron
  constexpr double kRv = 4.05;
  double k;
  if (x >= 0.63) {
    k = 2.659 * (-1.857 + 1.040 / x) + kRv;
  } else {
    k = 2.659 * (-2.156 + 1.509 / x - 0.198 / (x * x) + 0.011 / (x * x * x)) + kRv;
  }
  return std::max(k, 0.0);
}

double uv_bump_profile(double lam) {
  constexpr double kLam0 = 2175.0, kDlam = 350.0;
  const double ld = lam * kDlam;
  const double d = lam * lam - kLam0 * kLam0;
  return ld * ld / (d * d + ld * ld);
}

DustCurves::DustCurves(const std::vector<double>& lam, double bc_index) {
  for (double l : lam) {
    kprime_.push_back(calzetti_kprime(l));
    bump_.push_back(uv_bump_profile(l));
    log_ratio_.push_back(std::log(l / 5500.0));
    bc_power_.push_back(std::pow(l / 5500.0, bc_index));
  }
  const auto n = static_cast<Eigen::Index>(lam.size());
  kprime_f_ = Eigen::Map<const Eigen::ArrayXd>(kprime_.data(), n).cast<float>();
  bump_f_ = Eigen::Map<const Eigen::ArrayXd>(bump_.data(), n).cast<float>();
  log_ratio_f_ = Eigen::Map<const Eigen::ArrayXd>(log_ratio_.data(), n).cast<float>();
  bc_power_f_ = Eigen::Map<const Eigen::ArrayXd>(bc_power_.data(), n).cast<float>();
}

void DustCurves::ism(double tau_ism, double n_dust, int j0, int j1, double* out) const {
  const double eb = 0.85 - 1.9 * n_dust;
  const double a = -tau_ism / 4.05;
  for (int j = j0; j < j1; ++j) {
    const auto u = static_cast<size_t>(j);
    out[j - j0] = std::exp(a * (kprime_[u] + eb * bump_[u]) * std::exp(n_dust * log_ratio_[u]));
  }
}

void DustCurves::birth_cloud(double tau_bc, int j0, int j1, double* out) const {
  for (int j = j0; j < j1; ++j) out[j - j0] = std::exp(-tau_bc * bc_power_[static_cast<size_t>(j)]);
}

namespace {
SEDPOST_SPS_CLONES void ism_kernel(const float* __restrict kp, const float* __restrict bump,
                                   const float* __restrict lr, float a, float eb, float n,
                                   float* __restrict out, int cnt) {
  for (int j = 0; j < cnt; ++j) {
    float p;
    SEDPOST_SPS_FAST_EXPF(n * lr[j], p);  // |n ln(lam/5500)| < 10 on any grid we use
    float x = a * (kp[j] + eb * bump[j]) * p;
    x = x < -87.0f ? -87.0f : x;  // transmission < 1.6e-38 is 0 for all purposes
    x = x > 88.0f ? 88.0f : x;
    SEDPOST_SPS_FAST_EXPF(x, out[j]);
  }
}
SEDPOST_SPS_CLONES void bc_kernel(const float* __restrict q, float tau, float* __restrict out, int cnt) {
  for (int j = 0; j < cnt; ++j) {
    float x = -tau * q[j];
    x = x < -87.0f ? -87.0f : x;
    SEDPOST_SPS_FAST_EXPF(x, out[j]);
  }
}
}  // namespace

void DustCurves::ism_f(float tau_ism, float n_dust, int j0, int j1, float* out) const {
  const float eb = 0.85f - 1.9f * n_dust;
  ism_kernel(kprime_f_.data() + j0, bump_f_.data() + j0, log_ratio_f_.data() + j0, -tau_ism / 4.05f, eb,
             n_dust, out, j1 - j0);
}

void DustCurves::birth_cloud_f(float tau_bc, int j0, int j1, float* out) const {
  bc_kernel(bc_power_f_.data() + j0, tau_bc, out, j1 - j0);
}

}  // namespace sedpost::sps
