#pragma once
/// Shared by the posterior and mcmc tests: the SED model of the demo config (BC03, SDSS ugriz,
/// z <= 0.2) from $SEDPOST_DATA_DIR (else ../shared/data), and galaxies of known parameters.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "prior/prior.hpp"
#include "sps/fixed_z_model.hpp"
#include "sps/free_z_model.hpp"
#include "sps/sed_model.hpp"
#include "sps/spectrograph.hpp"

namespace sedpost::posterior::test {

inline const sps::SedModel& sed_model() {
  static const sps::SedModel m([] {
    sps::SedModelSettings s;
    const char* d = std::getenv("SEDPOST_DATA_DIR");
    s.data_dir = d && *d ? d : "../shared/data";
    s.z_max = 0.2;
    return s;
  }());
  return m;
}

/// sed_model() with z free (band weights tabulated in ln(1 + z): fluxes within
/// kFreeZFluxTolerance of the exact model, tests/sps/free_z_model_test.cpp).
inline const sps::FreeZModel& free_z_model() {
  static const sps::FreeZModel m(sed_model());
  return m;
}

/// Relative flux accuracy the free-z tests allow the table (it measures ~3e-5 at the default
/// spacing on SDSS and LSST bands).
inline constexpr double kFreeZFluxTolerance = 1e-4;

/// The largest chi^2 change a relative flux error eps can make for a galaxy of chi^2 `chi2`
/// over B bands with S/N at most `snr`: each residual moves by at most d = snr eps, so
/// |delta chi^2| <= 2 d sqrt(B chi2) + B d^2.
inline double chi2_change_bound(double chi2, int B, double snr, double eps = kFreeZFluxTolerance) {
  const double d = snr * eps;
  return 2 * d * std::sqrt(B * chi2) + B * d * d;
}

/// A galaxy with known flow coordinates (a prior draw with log M* = 10) and its noiseless fluxes
/// [nanomaggies] at the redshift of `at_z`, with 5 % errors.
struct Galaxy {
  prior::FlowCoords x{};
  std::vector<double> flux, sigma;
};

/// Galaxy `index` of the test stream `seed` (the same pair gives the same galaxy).
inline Galaxy make_galaxy(const prior::Prior& prior, const sps::FixedZModel& at_z, std::uint64_t seed,
                          std::uint64_t index) {
  Rng rng(seed, RngStream::kTest, index);
  Galaxy g;
  g.x = prior.sample_flow(rng);
  g.x[0] = 10.0;
  const prior::Physical p = prior.to_physical(g.x);
  g.flux.resize(static_cast<std::size_t>(at_z.num_bands()));
  at_z.evaluate(p.data(), g.flux.data());
  for (double f : g.flux) g.sigma.push_back(0.05 * std::abs(f));
  return g;
}

/// The default spectrograph ([spectrum] defaults: 3,600-9,800 A, R = 2,000, 4,006 pixels).
inline const sps::Spectrograph& spectrograph() {
  static const sps::Spectrograph s{sps::SpectrographSettings{}};
  return s;
}

/// The simulator's noiseless normalised spectrum [P] of physical theta [12] at z, as float32
/// (the catalog's type), plus Gaussian noise 1 / snr per pixel from stream `noise_index` when
/// noise_index >= 0.
inline std::vector<float> observed_spectrum(const double* theta, double z, std::int64_t noise_index = -1) {
  std::vector<double> f = spectrograph().observe(sed_model().spectrum(theta, z));
  spectrograph().normalise(f);
  Rng rng(29, RngStream::kTest, static_cast<std::uint64_t>(noise_index < 0 ? 0 : noise_index));
  std::vector<float> out;
  for (double v : f)
    out.push_back(static_cast<float>(v + (noise_index < 0 ? 0.0 : rng.normal() / spectrograph().settings().snr)));
  return out;
}

}  // namespace sedpost::posterior::test
