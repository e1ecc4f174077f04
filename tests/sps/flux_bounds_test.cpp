// sps::FluxBounds (the simulator's pre-check) and the new-redshift fast paths of the model:
// the closed-form last bin, the reused ZSetup and RedshiftedBand band weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "sps/filters.hpp"
#include "sps/fixed_z_model.hpp"
#include "sps/flux_bounds.hpp"
#include "sps/model_data.hpp"
#include "sps/sed_model.hpp"
#include "sps_test_util.hpp"

namespace sedpost::sps {
namespace {

const SedModel& model() {
  static const SedModel m([] {
    SedModelSettings s;
    s.data_dir = test::data_dir();
    s.z_max = 0.2;
    return s;
  }());
  return m;
}

std::array<double, kNumTheta> draw_theta(std::mt19937_64& g) {
  std::uniform_real_distribution<double> u(0, 1);
  std::array<double, kNumTheta> t{};
  t[0] = 7 + 5.5 * u(g);
  double s = 0;
  for (int k = 0; k < 4; ++k) s += (t[1 + k] = -std::log(u(g)));
  for (int k = 0; k < 4; ++k) t[1 + k] /= s;
  t[5] = u(g);
  t[6] = 0.01 + 13.26 * u(g);
  const double l0 = std::log10(4.5e-5), l1 = std::log10(1.5e-2);
  t[7] = std::pow(10.0, l0 + u(g) * (l1 - l0));
  t[8] = std::pow(10.0, l0 + u(g) * (l1 - l0));
  t[9] = 3 * u(g);
  t[10] = 3 * u(g);
  t[11] = -2 + 3 * u(g);
  return t;
}

const FluxBounds& bounds() {
  static const FluxBounds b(model(), 0.0, 0.2);
  return b;
}

TEST(SpsFluxBounds, ContainTheExactFluxesOverThePrior) {
  std::mt19937_64 g(7);
  std::uniform_real_distribution<double> uz(1e-5, 0.2);
  const int nb = model().num_bands();
  double worst = 0;  // smallest relative distance of a flux to a bound (inside = positive)
  for (int i = 0; i < 4000; ++i) {
    auto t = draw_theta(g);
    if (i % 10 == 0) t[9] = t[10] = 0;   // no dust: the upper bound is tight
    if (i % 10 == 1) t[11] = 1.0;         // the edge of the n_dust tables
    if (i % 10 == 2) t[6] = 13.27;        // no burst
    const double z = uz(g);
    std::vector<double> lo(static_cast<size_t>(nb)), hi(static_cast<size_t>(nb));
    ASSERT_TRUE(bounds().bounds(t.data(), z, lo.data(), hi.data())) << "z " << z;
    const auto f = model().evaluate(t.data(), z);
    for (int b = 0; b < nb; ++b) {
      EXPECT_LE(lo[static_cast<size_t>(b)], f[static_cast<size_t>(b)]) << "band " << b << " z " << z << " draw " << i;
      EXPECT_GE(hi[static_cast<size_t>(b)], f[static_cast<size_t>(b)]) << "band " << b << " z " << z << " draw " << i;
      worst = std::min(worst, std::min(f[static_cast<size_t>(b)] / lo[static_cast<size_t>(b)] - 1,
                                       1 - f[static_cast<size_t>(b)] / hi[static_cast<size_t>(b)]));
    }
  }
  EXPECT_GE(worst, 0.0);
}

// The margin must dwarf the one approximation in the bounds: the z interpolation of the
// band-projected spectra (and the float rounding of the model).
TEST(SpsFluxBounds, InterpolationErrorIsFarBelowTheMargin) {
  std::mt19937_64 g(8);
  std::uniform_real_distribution<double> uz(1e-5, 0.2);
  const int nb = model().num_bands();
  double worst = 0;
  for (int i = 0; i < 4000; ++i) {
    auto t = draw_theta(g);
    t[9] = t[10] = 0;
    const double z = i < 200 ? 1e-4 * (i + 1) * 0.01 + 1e-6 : uz(g);  // include very small z
    std::vector<double> u(static_cast<size_t>(nb));
    ASSERT_TRUE(bounds().undusted(t.data(), z, u.data()));
    const auto f = model().evaluate(t.data(), z);
    for (int b = 0; b < nb; ++b)
      worst = std::max(worst, std::fabs(u[static_cast<size_t>(b)] / f[static_cast<size_t>(b)] - 1));
  }
  EXPECT_LT(worst, bounds().settings().margin / 100) << "max relative interpolation error " << worst;
}

TEST(SpsFluxBounds, NoBoundOutsideTheTables) {
  std::mt19937_64 g(9);
  auto t = draw_theta(g);
  std::vector<double> lo(5), hi(5);
  const FluxBounds narrow(model(), 0.05, 0.1);
  EXPECT_FALSE(narrow.bounds(t.data(), 0.04, lo.data(), hi.data()));
  EXPECT_FALSE(narrow.bounds(t.data(), 0.11, lo.data(), hi.data()));
  EXPECT_TRUE(narrow.bounds(t.data(), 0.07, lo.data(), hi.data()));
  t[11] = 1.5;  // n_dust beyond the dust tables
  EXPECT_FALSE(narrow.bounds(t.data(), 0.07, lo.data(), hi.data()));
  EXPECT_EQ(bounds().num_channels(), 6);  // ugriz + the speclite u band's red leak
}

// The last bin's closed form (LastBinTable) equals integrating the SSP over the bin.
TEST(SpsNewZ, ClosedFormLastBinMatchesIntegration) {
  const ModelData& d = *model().data();
  ZSetup s;
  std::vector<Real> ref(static_cast<size_t>(d.nwin));
  double worst = 0;
  for (int i = 0; i < 60; ++i) {
    const double z = 0.2 * (i + 0.5) / 60;
    update_zsetup(d, z, false, s);
    const auto& bi = s.bins.back();
    ASSERT_FALSE(bi.has_young);
    for (int zi = 0; zi < d.nz; ++zi) {
      const double sv = integrate_slice(d, zi, bi.a, bi.b, ref.data(), 0, d.nwin);
      for (int j = 0; j < d.nwin; ++j) {
        const double r = ref[static_cast<size_t>(j)];
        if (r > 0) worst = std::max(worst, std::fabs(s.last_old(zi, j) / r - 1));
      }
      EXPECT_NEAR(s.surv_int[static_cast<size_t>((s.bins.size() - 1) * d.nz + zi)], sv, 1e-9 * sv);
    }
  }
  EXPECT_LT(worst, 1e-5);
}

// Reusing one setup across redshifts gives what a fresh setup gives, and SedModel::evaluate
// (the reused path) equals FixedZModel (a fresh setup) to rounding.
TEST(SpsNewZ, ReusedSetupEqualsFreshSetup) {
  std::mt19937_64 g(10);
  std::uniform_real_distribution<double> uz(1e-4, 0.2);
  for (int i = 0; i < 50; ++i) {
    const auto t = draw_theta(g);
    const double z = uz(g);
    const auto a = model().evaluate(t.data(), z);
    const FixedZModel fz(model(), z);
    std::vector<double> b(a.size());
    fz.evaluate(t.data(), b.data());
    for (size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 1e-6 * std::fabs(b[k])) << "z " << z;
  }
}

TEST(SpsNewZ, RedshiftedBandEqualsBandWeightsInto) {
  const ModelData& d = *model().data();
  std::vector<double> obs(static_cast<size_t>(d.nwin));
  BandWeights a, b;
  for (int i = 0; i <= 400; ++i) {
    const double z = 0.2 * i / 400;
    for (int j = 0; j < d.nwin; ++j) obs[static_cast<size_t>(j)] = d.rest_wave[static_cast<size_t>(j)] * (1 + z);
    for (size_t f = 0; f < d.filters.size(); ++f) {
      d.zbands[f].weights(z, a);
      band_weights_into(d.filters[f], d.inv_filter_spacing[f].data(), obs.data(), d.inv_rest_spacing.data(),
                        1.0 / (1 + z), d.nwin, b);
      ASSERT_EQ(a.first, b.first);
      ASSERT_EQ(a.weights.size(), b.weights.size());
      const double wmax = *std::max_element(b.weights.begin(), b.weights.end());
      for (size_t k = 0; k < a.weights.size(); ++k) EXPECT_NEAR(a.weights[k], b.weights[k], 1e-13 * wmax);
      EXPECT_NEAR(a.denominator, b.denominator, 1e-13 * b.denominator);
    }
  }
}

}  // namespace
}  // namespace sedpost::sps
