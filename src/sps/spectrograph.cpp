#include "sps/spectrograph.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::sps {
namespace {

constexpr double kFwhmPerSigma = 2.354820045030949;  // 2 sqrt(2 ln 2)
constexpr int kNodes = 33;                            // quadrature nodes across +-4 sigma

}  // namespace

SpectrographSettings SpectrographSettings::from_config(const Config& config) {
  SpectrographSettings s;
  s.lambda_min = config.get_double("spectrum.lambda_min", s.lambda_min);
  s.lambda_max = config.get_double("spectrum.lambda_max", s.lambda_max);
  s.resolution = config.get_double("spectrum.resolution", s.resolution);
  s.pixels_per_fwhm = config.get_double("spectrum.pixels_per_fwhm", s.pixels_per_fwhm);
  s.snr = config.get_double("spectrum.snr", s.snr);
  try {
    Spectrograph check(s);
  } catch (const ConfigError& e) {
    throw ConfigError(config.source() + ": " + e.what());
  }
  return s;
}

Spectrograph::Spectrograph(const SpectrographSettings& settings) : settings_(settings) {
  const auto& s = settings_;
  if (!(s.lambda_min > 0 && s.lambda_max > s.lambda_min && std::isfinite(s.lambda_max)))
    throw ConfigError(cat("spectrum.lambda_min = ", s.lambda_min, ", spectrum.lambda_max = ", s.lambda_max,
                          ": need 0 < lambda_min < lambda_max [A]"));
  if (!(s.resolution > 0) || !(s.pixels_per_fwhm > 0) || !(s.snr > 0) || !std::isfinite(s.resolution * s.snr))
    throw ConfigError(cat("spectrum.resolution = ", s.resolution, ", pixels_per_fwhm = ", s.pixels_per_fwhm,
                          ", snr = ", s.snr, ": each must be > 0"));
  const double fwhm_ln = 1.0 / s.resolution;  // FWHM lambda / R is 1 / R in ln(lambda)
  const double sigma_ln = fwhm_ln / kFwhmPerSigma;  // line-spread sigma in ln(lambda)
  const double step = fwhm_ln / s.pixels_per_fwhm;
  const auto n = static_cast<std::size_t>(std::ceil(std::log(s.lambda_max / s.lambda_min) / step));
  if (n > 1000000) throw ConfigError(cat("spectrum: ", n, " pixels; lower spectrum.resolution or pixels_per_fwhm"));
  for (std::size_t i = 0; i < n; ++i) wavelength_.push_back(s.lambda_min * std::exp((static_cast<double>(i) + 0.5) * step));
  double sum = 0;
  for (int k = 0; k < kNodes; ++k) {
    const double u = -4.0 + 8.0 * k / (kNodes - 1);  // in sigmas
    scales_.push_back(std::exp(u * sigma_ln));
    weights_.push_back(std::exp(-0.5 * u * u));
    sum += weights_.back();
  }
  for (double& w : weights_) w /= sum;
}

void Spectrograph::check_coverage(const std::vector<double>& lam) const {
  const double lo = wavelength_.front() * scales_.front(), hi = wavelength_.back() * scales_.back();
  if (lam.size() < 2 || lam.front() > lo || lam.back() < hi)
    throw DataError(cat("spectrum: the model covers [", lam.empty() ? 0.0 : lam.front(), ", ",
                        lam.empty() ? 0.0 : lam.back(), "] A observed, the spectrograph needs [", lo, ", ", hi,
                        "] A; widen the model's bands or narrow spectrum.lambda_min/lambda_max"));
}

std::vector<double> Spectrograph::observe(const Spectrum& s) const {
  const std::vector<double>& lam = s.wavelength;
  check_coverage(lam);
  std::vector<double> out(wavelength_.size(), 0.0);
  for (std::size_t i = 0; i < wavelength_.size(); ++i) {
    // lam[j] <= the node < lam[j + 1]: found for the pixel's first node, then stepped up.
    const auto first = std::upper_bound(lam.begin(), lam.end(), wavelength_[i] * scales_.front());
    auto j = static_cast<std::size_t>(first - lam.begin()) - 1;
    double acc = 0;
    for (std::size_t k = 0; k < scales_.size(); ++k) {
      const double x = wavelength_[i] * scales_[k];
      while (j + 2 < lam.size() && lam[j + 1] <= x) ++j;
      const double t = (x - lam[j]) / (lam[j + 1] - lam[j]);
      acc += weights_[k] * (s.flambda[j] + t * (s.flambda[j + 1] - s.flambda[j]));
    }
    out[i] = acc;
  }
  return out;
}

namespace {

double mean_of(const std::vector<double>& f) {
  double mean = 0;
  for (double v : f) mean += v;
  return mean / static_cast<double>(f.size());
}

}  // namespace

bool Spectrograph::normalise(std::vector<double>& f) const {
  const double mean = mean_of(f);
  if (!(mean > 0) || !std::isfinite(mean)) return false;
  for (double& v : f) v /= mean;
  return true;
}

ObservationMatrix Spectrograph::observation_matrix(const std::vector<double>& node_wavelength) const {
  const std::vector<double>& lam = node_wavelength;
  check_coverage(lam);
  ObservationMatrix m;
  m.node_wavelength = lam;
  m.first.resize(wavelength_.size());
  m.offset.assign(wavelength_.size() + 1, 0);
  std::vector<double> band;
  for (std::size_t i = 0; i < wavelength_.size(); ++i) {
    // The same node walk as observe(), collecting each interpolation's two weights per node.
    const auto first = std::upper_bound(lam.begin(), lam.end(), wavelength_[i] * scales_.front());
    const auto j0 = static_cast<std::size_t>(first - lam.begin()) - 1;
    auto j = j0;
    band.assign(2, 0.0);
    for (std::size_t k = 0; k < scales_.size(); ++k) {
      const double x = wavelength_[i] * scales_[k];
      while (j + 2 < lam.size() && lam[j + 1] <= x) ++j;
      const double t = (x - lam[j]) / (lam[j + 1] - lam[j]);
      if (band.size() < j - j0 + 2) band.resize(j - j0 + 2, 0.0);
      band[j - j0] += weights_[k] * (1.0 - t);
      band[j - j0 + 1] += weights_[k] * t;
    }
    m.first[i] = static_cast<int>(j0);
    m.weight.insert(m.weight.end(), band.begin(), band.end());
    m.offset[i + 1] = static_cast<int>(m.weight.size());
  }
  return m;
}

void ObservationMatrix::apply(const double* f, double* out) const {
  for (std::size_t i = 0; i < first.size(); ++i) {
    const double* fi = f + first[i];
    const double* w = weight.data() + offset[i];
    const int n = offset[i + 1] - offset[i];
    double acc = 0;
    for (int k = 0; k < n; ++k) acc += w[k] * fi[k];
    out[i] = acc;
  }
}

void Spectrograph::normalise_and_add_noise(std::vector<double>& f, Rng& rng) const {
  if (!normalise(f)) throw DataError(cat("spectrum: mean flux ", mean_of(f), " cannot be normalised"));
  const double sigma = 1.0 / settings_.snr;
  for (double& v : f) v += sigma * rng.normal();
}

}  // namespace sedpost::sps
