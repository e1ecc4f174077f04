#pragma once
/// An observed-frame spectrum as a spectrograph records it (docs/spectra.md): the model's f_lambda
/// smoothed to a resolving power R (a Gaussian line-spread function of FWHM lambda / R), sampled
/// on pixels uniform in ln(lambda) over [lambda_min, lambda_max] (pixels_per_fwhm pixels per
/// FWHM), divided by its mean over the pixels (flux-normalised: the shape, not the amplitude),
/// and given Gaussian noise of standard deviation 1 / snr per pixel (S/N = snr at the mean flux).
/// The defaults are SDSS/DESI-like: 3,600-9,800 A at R = 2,000, S/N 20. The resolution is at most
/// the SSP library's: BC03's low-resolution spectra (10-20 A nodes in the optical, R ~ 300-600)
/// are interpolated linearly between their nodes, so below the library's resolution the smoothing
/// changes nothing.
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/rng.hpp"
#include "sps/sed_model.hpp"

namespace sedpost::sps {

struct SpectrographSettings {
  double lambda_min = 3600.0;   ///< observed-frame range [A]
  double lambda_max = 9800.0;
  double resolution = 2000.0;   ///< R = lambda / FWHM
  double pixels_per_fwhm = 2.0;
  double snr = 20.0;            ///< per pixel, at the mean (normalised) flux

  /// [spectrum] keys lambda_min, lambda_max, resolution, pixels_per_fwhm, snr; ConfigError naming
  /// the key for a bad value.
  static SpectrographSettings from_config(const Config& config);
};

/// The linear map Spectrograph::observe applies to f_lambda given on fixed node wavelengths
/// (line-spread function x linear interpolation), stored by pixel as a band: pixel i =
/// sum_{k < offset[i + 1] - offset[i]} weight[offset[i] + k] f[first[i] + k]. Built once per
/// node grid (i.e. per redshift) by Spectrograph::observation_matrix; each product then costs
/// a few multiply-adds per pixel instead of the 33 interpolations of observe().
struct ObservationMatrix {
  std::vector<double> node_wavelength;  ///< [n] the observed-frame nodes [A] it was built for
  std::vector<int> first;               ///< [P] first node of each pixel
  std::vector<int> offset;              ///< [P + 1] start of each pixel's weights
  std::vector<double> weight;           ///< [offset[P]] node weights (each pixel's sum to 1)

  int num_pixels() const { return static_cast<int>(first.size()); }
  /// out [P] = the map applied to f [node_wavelength.size()] (f_lambda in any units).
  void apply(const double* f, double* out) const;
};

class Spectrograph {
 public:
  /// ConfigError for 0 < lambda_min < lambda_max, resolution, pixels_per_fwhm, snr > 0 violated.
  explicit Spectrograph(const SpectrographSettings& settings);

  const SpectrographSettings& settings() const { return settings_; }
  /// Pixel centres [num_pixels()] observed-frame [A], uniform in ln(lambda).
  const std::vector<double>& wavelength() const { return wavelength_; }
  int num_pixels() const { return static_cast<int>(wavelength_.size()); }

  /// The model spectrum s (wavelength ascending [A], f_lambda) smoothed and sampled at the pixels:
  /// [num_pixels()] f_lambda in s's units. DataError when s does not cover the pixels and the
  /// line-spread function's +-4 sigma around them.
  std::vector<double> observe(const Spectrum& s) const;
  /// The map observe() applies to any spectrum on the nodes `node_wavelength` [n] (ascending,
  /// observed frame [A]); agrees with observe() to rounding (1e-12 relative). DataError as
  /// observe() when the nodes do not cover the pixels.
  ObservationMatrix observation_matrix(const std::vector<double>& node_wavelength) const;

  /// Divides f [num_pixels()] by its mean over the pixels (the noiseless flux normalisation of
  /// every spectrum the simulator writes and every model spectrum a likelihood compares with
  /// one). Returns false, leaving f unchanged, when the mean is <= 0 or not finite.
  bool normalise(std::vector<double>& f) const;

  /// normalise(f) (DataError for a mean <= 0 or not finite), then Gaussian noise of standard
  /// deviation 1 / snr added per pixel from `rng`.
  void normalise_and_add_noise(std::vector<double>& f, Rng& rng) const;

 private:
  /// DataError unless `lam` covers the pixels and the line-spread function's +-4 sigma.
  void check_coverage(const std::vector<double>& lam) const;

  SpectrographSettings settings_;
  std::vector<double> wavelength_;   ///< [P] pixel centres [A]
  std::vector<double> scales_;       ///< [K] node wavelength / pixel centre: exp(+-4 line-spread sigma in ln lambda)
  std::vector<double> weights_;      ///< [K] Gaussian weights of those nodes, summing to 1
};

}  // namespace sedpost::sps
