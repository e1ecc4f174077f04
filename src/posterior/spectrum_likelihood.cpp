#include "posterior/spectrum_likelihood.hpp"

#include <limits>

#include "catalog/spectra.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::posterior {

SpectrumLikelihood::SpectrumLikelihood(const sps::SedModel& model, const sps::Spectrograph& spectrograph,
                                       const float* observed, std::optional<double> fixed_z)
    : model_(model), spectrograph_(spectrograph),
      observed_(observed, observed + spectrograph.num_pixels()), snr_(spectrograph.settings().snr),
      fixed_z_(fixed_z) {
  const std::string bad = catalog::first_bad_spectrum_pixel(observed, spectrograph.num_pixels());
  if (!bad.empty()) throw DataError(cat("SpectrumLikelihood: ", bad));
  if (fixed_z_) {
    // The nodes depend on z only (rest-frame nodes x (1 + z)); any theta gives them.
    const double theta[12] = {0.0, 0.25, 0.25, 0.25, 0.25, 0.0, 1.0, 1e-3, 1e-3, 0.0, 0.0, 0.0};
    matrix_ = spectrograph_.observation_matrix(model_.spectrum(theta, *fixed_z_).wavelength);
  }
}

std::vector<double> SpectrumLikelihood::model_spectrum(const double* theta_physical, double z) const {
  // The simulator's noiseless path (TrainingSimulator): observe the SED, divide by the mean;
  // at the fixed z observe() is the precomputed matrix (equal to rounding).
  const sps::Spectrum s = model_.spectrum(theta_physical, z);
  std::vector<double> f;
  if (fixed_z_ && z == *fixed_z_ && s.wavelength.size() == matrix_.node_wavelength.size()) {
    f.resize(static_cast<std::size_t>(matrix_.num_pixels()));
    matrix_.apply(s.flambda.data(), f.data());
  } else {
    f = spectrograph_.observe(s);
  }
  if (!spectrograph_.normalise(f)) f.clear();
  return f;
}

double SpectrumLikelihood::chi2(const double* theta_physical, double z) const {
  const std::vector<double> f = model_spectrum(theta_physical, z);
  if (f.empty()) return std::numeric_limits<double>::infinity();
  double sum = 0;
  for (std::size_t p = 0; p < f.size(); ++p) {
    const double d = observed_[p] - f[p];
    sum += d * d;
  }
  return sum * snr_ * snr_;
}

}  // namespace sedpost::posterior
