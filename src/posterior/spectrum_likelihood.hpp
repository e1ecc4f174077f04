#pragma once
/// The likelihood of one galaxy's observed, flux-normalised spectrum (docs/spectra.md, "Spectral
/// likelihood"): for physical theta [12] at redshift z the model spectrum is the simulator's
/// noiseless one, SedModel::spectrum -> Spectrograph::observe -> Spectrograph::normalise (divided
/// by its mean over the pixels), and
///   chi^2_spec = sum_p (obs_p - model_p)^2 snr^2,
/// the noise the simulator adds being Gaussian with sigma = 1 / snr per pixel (dimensionless,
/// in units of the mean flux). The normalisation removes the amplitude, so chi^2_spec does not
/// depend on log M* (theta[0]): the mass comes from the photometry.
#include <optional>
#include <vector>

#include "sps/sed_model.hpp"
#include "sps/spectrograph.hpp"

namespace sedpost::posterior {

class SpectrumLikelihood {
 public:
  /// `observed` [spectrograph.num_pixels()] the galaxy's normalised spectrum on the
  /// spectrograph's pixels (copied; DataError naming the first non-finite pixel). With
  /// `fixed_z` (the galaxy's known redshift) the spectrograph's map from the model's nodes to
  /// the pixels is built once for that z (sps::ObservationMatrix), so that chi2() at that z
  /// costs the SED plus a banded product instead of Spectrograph::observe; other redshifts (z
  /// free) take observe(). DataError when the model does not cover the spectrograph's range.
  /// The model and spectrograph must outlive the likelihood.
  SpectrumLikelihood(const sps::SedModel& model, const sps::Spectrograph& spectrograph, const float* observed,
                     std::optional<double> fixed_z = std::nullopt);

  /// chi^2_spec (dimensionless) of physical theta [12] (log M* first; its value is irrelevant)
  /// at redshift z (0 < z <= the model's z_max, else DataError). +inf when the model spectrum
  /// cannot be normalised (mean flux <= 0). Thread-safe: const, no shared scratch.
  double chi2(const double* theta_physical, double z) const;

  /// The noiseless normalised model spectrum [P] chi2() compares with (empty when it cannot be
  /// normalised).
  std::vector<double> model_spectrum(const double* theta_physical, double z) const;

  int num_pixels() const { return static_cast<int>(observed_.size()); }
  /// 1 / sigma per pixel (the spectrograph's snr).
  double snr() const { return snr_; }

 private:
  const sps::SedModel& model_;
  const sps::Spectrograph& spectrograph_;
  std::vector<double> observed_;  ///< [P] normalised flux
  double snr_;
  std::optional<double> fixed_z_;          ///< the redshift matrix_ was built for
  sps::ObservationMatrix matrix_;          ///< observe()'s map at fixed_z_ (empty without)
};

}  // namespace sedpost::posterior
