// sps::Spectrograph: pixels uniform in ln(lambda), the line-spread function's width, the
// normalisation and noise, and clear errors (docs/spectra.md).
#include "sps/spectrograph.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

namespace sedpost::sps {
namespace {

// A flat continuum with one narrow Gaussian emission line at lambda_0 [A] of sigma s0 [A], on
// a 0.05 A grid.
Spectrum line_spectrum(double lambda_0, double s0) {
  Spectrum s;
  for (double l = 3000; l <= 11000; l += 0.05) {
    s.wavelength.push_back(l);
    s.flambda.push_back(1.0 + 50.0 * std::exp(-0.5 * (l - lambda_0) * (l - lambda_0) / (s0 * s0)));
  }
  return s;
}

TEST(SpsSpectrograph, PixelsAreUniformInLogWavelength) {
  const Spectrograph sg(SpectrographSettings{});
  const auto& w = sg.wavelength();
  // ln(9800 / 3600) x R x 2 pixels per FWHM = 4006 pixels.
  EXPECT_EQ(sg.num_pixels(), static_cast<int>(std::ceil(std::log(9800.0 / 3600.0) * 2000 * 2)));
  EXPECT_GT(w.front(), 3600.0);
  EXPECT_LT(w.back(), 9800.0 * (1 + 1.0 / 4000));
  for (std::size_t i = 1; i < w.size(); ++i) EXPECT_NEAR(std::log(w[i] / w[i - 1]), 1.0 / 4000, 1e-12);
}

// The observed line is the model line convolved with the line-spread function: its second
// moment is s0^2 + (lambda_0 / (2.3548 R))^2, and its flux is kept.
TEST(SpsSpectrograph, LineWidthsAddInQuadrature) {
  SpectrographSettings st;
  st.resolution = 1000;
  st.pixels_per_fwhm = 4;
  const Spectrograph sg(st);
  const double lambda_0 = 6000, s0 = 1.0;
  const std::vector<double> f = sg.observe(line_spectrum(lambda_0, s0));
  const auto& w = sg.wavelength();
  double m0 = 0, m1 = 0, m2 = 0;
  for (std::size_t i = 0; i + 1 < w.size(); ++i) {
    const double dl = w[i + 1] - w[i], excess = f[i] - 1.0;
    m0 += excess * dl;
    m1 += excess * w[i] * dl;
  }
  const double centre = m1 / m0;
  for (std::size_t i = 0; i + 1 < w.size(); ++i) m2 += (f[i] - 1.0) * (w[i] - centre) * (w[i] - centre) * (w[i + 1] - w[i]);
  const double sigma_lsf = lambda_0 / (2.354820045030949 * st.resolution);
  EXPECT_NEAR(centre, lambda_0, 0.05);
  EXPECT_NEAR(m0, 50.0 * s0 * std::sqrt(2 * M_PI), 0.01 * m0);  // line flux [A]
  EXPECT_NEAR(std::sqrt(m2 / m0), std::hypot(s0, sigma_lsf), 0.02 * std::hypot(s0, sigma_lsf));
}

TEST(SpsSpectrograph, NormalisedNoiseHasTheConfiguredSnr) {
  const Spectrograph sg(SpectrographSettings{});
  Spectrum flat;
  flat.wavelength = {3000.0, 11000.0};
  flat.flambda = {3e-17, 3e-17};
  std::vector<double> f = sg.observe(flat);
  for (double v : f) ASSERT_NEAR(v, 3e-17, 1e-25);
  Rng rng(7, RngStream::kTest, 0);
  sg.normalise_and_add_noise(f, rng);
  double mean = 0, var = 0;
  for (double v : f) mean += v / static_cast<double>(f.size());
  for (double v : f) var += (v - mean) * (v - mean) / static_cast<double>(f.size() - 1);
  const double n = static_cast<double>(f.size());
  EXPECT_NEAR(mean, 1.0, 5 * 0.05 / std::sqrt(n));                 // 5 sigma of the mean
  EXPECT_NEAR(std::sqrt(var), 0.05, 5 * 0.05 / std::sqrt(2 * n));  // S/N 20
}

// The banded map equals observe() on an irregular node grid (like a model's: coarse, uneven),
// to 1e-6 relative (it differs only in the order of the sums), and normalise() divides by the
// mean.
TEST(SpsSpectrograph, ObservationMatrixEqualsObserve) {
  SpectrographSettings settings;
  settings.lambda_min = 4000;
  settings.lambda_max = 6000;
  const Spectrograph sg(settings);
  Spectrum s;
  Rng rng(3, RngStream::kTest, 2);
  for (double l = 3500; l < 6600; l += 0.5 + 12.0 * rng.uniform()) {
    s.wavelength.push_back(l);
    s.flambda.push_back(1e-17 * (1.0 + 0.5 * std::sin(l / 37.0) + rng.uniform()));
  }
  const std::vector<double> direct = sg.observe(s);
  const ObservationMatrix m = sg.observation_matrix(s.wavelength);
  ASSERT_EQ(m.num_pixels(), sg.num_pixels());
  std::vector<double> banded(direct.size());
  m.apply(s.flambda.data(), banded.data());
  for (std::size_t i = 0; i < direct.size(); ++i) ASSERT_NEAR(banded[i], direct[i], 1e-6 * std::abs(direct[i])) << i;
  for (int i = 0; i < m.num_pixels(); ++i) {  // a partition of unity per pixel
    double sum = 0;
    for (int k = m.offset[i]; k < m.offset[i + 1]; ++k) sum += m.weight[static_cast<std::size_t>(k)];
    ASSERT_NEAR(sum, 1.0, 1e-12) << i;
  }
  std::vector<double> f = direct;
  ASSERT_TRUE(sg.normalise(f));
  double mean = 0;
  for (double v : f) mean += v / static_cast<double>(f.size());
  EXPECT_NEAR(mean, 1.0, 1e-12);
  std::vector<double> zero(f.size(), 0.0);
  EXPECT_FALSE(sg.normalise(zero));
  Spectrum red;
  red.wavelength = {5000.0, 11000.0};
  red.flambda = {1.0, 1.0};
  EXPECT_THROW(sg.observation_matrix(red.wavelength), DataError);
}

TEST(SpsSpectrograph, BadSettingsAndShortModelsAreNamed) {
  SpectrographSettings bad;
  bad.lambda_max = 3000;
  EXPECT_THROW(Spectrograph{bad}, ConfigError);
  try {
    SpectrographSettings::from_config(Config::from_text("[spectrum]\nsnr = -1\n", "s.toml"));
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("s.toml: spectrum.resolution"), std::string::npos) << e.what();
  }
  const Spectrograph sg(SpectrographSettings{});
  Spectrum red;
  red.wavelength = {5000.0, 11000.0};
  red.flambda = {1.0, 1.0};
  EXPECT_THROW(sg.observe(red), DataError);
  std::vector<double> zero(static_cast<std::size_t>(sg.num_pixels()), 0.0);
  Rng rng(7, RngStream::kTest, 1);
  EXPECT_THROW(sg.normalise_and_add_noise(zero, rng), DataError);
}

}  // namespace
}  // namespace sedpost::sps
