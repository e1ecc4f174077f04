// The spectral likelihood (src/posterior/spectrum_likelihood.hpp) and its term in SedTarget.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "posterior/sed_target.hpp"
#include "posterior/spectrum_likelihood.hpp"
#include "posterior_test_util.hpp"
#include "prior/prior.hpp"
#include "sps/fixed_z_model.hpp"

namespace sedpost::posterior {
namespace {

constexpr int D = static_cast<int>(prior::kNumFlow);
constexpr double kZ = 0.06;

using test::observed_spectrum;
using test::sed_model;
using test::spectrograph;
using test::Galaxy;

/// chi^2_spec computed here: SedModel::spectrum -> Spectrograph::observe -> / mean -> residuals.
double direct_chi2(const std::vector<float>& obs, const double* theta, double z) {
  const std::vector<double> f = spectrograph().observe(sed_model().spectrum(theta, z));
  double mean = 0;
  for (double v : f) mean += v / static_cast<double>(f.size());
  const double snr = spectrograph().settings().snr;
  double chi2 = 0;
  for (std::size_t p = 0; p < f.size(); ++p) chi2 += std::pow((obs[p] - f[p] / mean) * snr, 2);
  return chi2;
}

prior::Physical truth_of(const prior::Prior& prior, std::uint64_t index) {
  Rng rng(31, RngStream::kTest, index);
  prior::FlowCoords x = prior.sample_flow(rng);
  x[0] = 10.0;
  return prior.to_physical(x);
}

TEST(PosteriorSpectrumLikelihood, ZeroAtTheNoiselessTruthGrowingAwayAndMassFree) {
  const prior::Prior prior;
  const prior::Physical truth = truth_of(prior, 0);
  const std::vector<float> obs = observed_spectrum(truth.data(), kZ);
  for (const bool fixed : {false, true}) {
    SCOPED_TRACE(fixed ? "matrix at the fixed z" : "observe()");
    const SpectrumLikelihood like(sed_model(), spectrograph(), obs.data(),
                                  fixed ? std::optional<double>(kZ) : std::nullopt);
    ASSERT_EQ(like.num_pixels(), spectrograph().num_pixels());
    // Only the float32 rounding of the observed spectrum remains: ~P (1e-8 snr)^2.
    EXPECT_LT(like.chi2(truth.data(), kZ), 1e-8);
    prior::Physical other = truth;
    other[0] = 7.0;  // the normalised spectrum ignores the mass, to the SED's float rounding
    EXPECT_LT(like.chi2(other.data(), kZ), 1e-6);
    double last = 0;
    for (const double d : {0.05, 0.2, 0.6}) {  // more ISM dust: redder, worse
      other = truth;
      other[10] += d;
      const double c = like.chi2(other.data(), kZ);
      EXPECT_GT(c, last) << d;
      last = c;
    }
    EXPECT_GT(last, 100.0);
  }
}

TEST(PosteriorSpectrumLikelihood, EqualsTheDirectComputation) {
  const prior::Prior prior;
  const prior::Physical truth = truth_of(prior, 1);
  const std::vector<float> obs = observed_spectrum(truth.data(), kZ, 5);  // with noise
  const SpectrumLikelihood slow(sed_model(), spectrograph(), obs.data());
  const SpectrumLikelihood fast(sed_model(), spectrograph(), obs.data(), kZ);
  for (std::uint64_t i = 0; i < 4; ++i) {
    const prior::Physical theta = i == 0 ? truth : truth_of(prior, 10 + i);
    const double expected = direct_chi2(obs, theta.data(), kZ);
    EXPECT_NEAR(slow.chi2(theta.data(), kZ), expected, 1e-10 * expected) << i;
    EXPECT_NEAR(fast.chi2(theta.data(), kZ), expected, 1e-6 * expected) << i;
    // At another z the fixed-z likelihood falls back to observe().
    EXPECT_NEAR(fast.chi2(theta.data(), 0.07), direct_chi2(obs, theta.data(), 0.07), 1e-10 * expected) << i;
  }
  // At the truth with noise: chi^2 ~ P +- sqrt(2P).
  const double p = spectrograph().num_pixels();
  EXPECT_NEAR(slow.chi2(truth.data(), kZ), p, 6 * std::sqrt(2 * p));
}

TEST(PosteriorSpectrumLikelihood, NonFiniteObservedPixelIsADataError) {
  std::vector<float> obs(static_cast<std::size_t>(spectrograph().num_pixels()), 1.0f);
  obs[17] = std::numeric_limits<float>::quiet_NaN();
  try {
    SpectrumLikelihood like(sed_model(), spectrograph(), obs.data());
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("spectrum pixel 17 is NaN"), std::string::npos) << e.what();
  }
}

// SedTarget with a spectrum: log_target differs from the photometric one by exactly
// -0.5 chi^2_spec of the draw's theta, in flow and amplitude coordinates; chi2 stays photometric.
TEST(PosteriorSpectrumLikelihood, SedTargetAddsMinusHalfChi2Spec) {
  const prior::Prior prior;
  const sps::FixedZModel at_z(sed_model(), kZ);
  const Galaxy g = test::make_galaxy(prior, at_z, 37, 0);
  const int B = at_z.num_bands();
  const prior::Physical truth = prior.to_physical(g.x);
  const std::vector<float> obs = observed_spectrum(truth.data(), kZ, 1);
  const SpectrumLikelihood like(sed_model(), spectrograph(), obs.data(), kZ);
  const SedTarget photo(at_z, prior, g.flux.data(), g.sigma.data(), B, 0.02);
  const SedTarget spec(at_z, prior, g.flux.data(), g.sigma.data(), B, 0.02, nullptr, &like);
  constexpr int n = 4;
  std::vector<double> x(n * D);
  Rng rng(41, RngStream::kTest, 0);
  for (int i = 0; i < n; ++i) {
    prior::FlowCoords xi = i == 0 ? g.x : prior.sample_flow(rng);
    if (i > 0) xi[0] = 9.5 + rng.uniform();
    std::copy(xi.begin(), xi.end(), x.begin() + i * D);
  }
  x[(n - 1) * D + 9] = -1.0;  // outside the box: -inf in both
  auto spec_term = [&](const double* xi) {
    prior::FlowCoords c{};
    std::copy(xi, xi + D, c.begin());
    c[0] = 0.0;
    const prior::Physical p = prior.to_physical(c);
    return -0.5 * like.chi2(p.data(), kZ);
  };
  std::vector<double> lt0(n), lt1(n), c0(n), c1(n), u0(n * B), u1(n * B);
  photo.evaluate_flow(x.data(), n, lt0.data(), c0.data(), u0.data());
  spec.evaluate_flow(x.data(), n, lt1.data(), c1.data(), u1.data());
  for (int i = 0; i < n - 1; ++i) {
    EXPECT_EQ(c1[i], c0[i]) << i;
    const double term = spec_term(x.data() + i * D);
    EXPECT_LT(term, 0.0);
    EXPECT_NEAR(lt1[i] - lt0[i], term, 1e-12 * std::abs(lt1[i])) << i;
  }
  EXPECT_EQ(lt1[n - 1], -std::numeric_limits<double>::infinity());
  // Amplitude coordinates of the same draws.
  std::vector<double> w(n * D), xa(n * D), ld(n);
  for (int i = 0; i < n - 1; ++i) photo.to_amplitude(x.data() + i * D, u0.data() + i * B, w.data() + i * D);
  photo.evaluate_amplitude(w.data(), n - 1, xa.data(), lt0.data(), c0.data(), u0.data(), ld.data());
  spec.evaluate_amplitude(w.data(), n - 1, xa.data(), lt1.data(), c1.data(), u1.data(), ld.data());
  for (int i = 0; i < n - 1; ++i) {
    EXPECT_EQ(c1[i], c0[i]) << i;
    EXPECT_NEAR(lt1[i] - lt0[i], spec_term(xa.data() + i * D), 1e-12 * std::abs(lt1[i])) << i;
  }
}

}  // namespace
}  // namespace sedpost::posterior
