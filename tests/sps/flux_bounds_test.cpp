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

using test::draw_theta;

const SedModel& model() {
  static const SedModel m([] {
    SedModelSettings s;
    s.data_dir = test::data_dir();
    s.z_max = 0.2;
    return s;
  }());
  return m;
}

const FluxBounds& bounds() {
  static const FluxBounds b(model(), 0.0, 0.2);
  return b;
}

// Draws over the prior (with dust-free, edge-of-table and burst-free cases) whose exact fluxes
// must lie inside the bounds in every band.
void expect_bounds_contain_fluxes(const SedModel& m, const FluxBounds& fb, int n_draws) {
  std::mt19937_64 g(7);
  std::uniform_real_distribution<double> uz(1e-5, 0.2);
  const int nb = m.num_bands();
  double worst = 0;  // smallest relative distance of a flux to a bound (inside = positive)
  for (int i = 0; i < n_draws; ++i) {
    auto t = draw_theta(g);
    if (i % 10 == 0) t[9] = t[10] = 0;   // no dust: the upper bound is tight
    if (i % 10 == 1) t[11] = 1.0;         // the edge of the n_dust tables
    if (i % 10 == 2) t[6] = 13.27;        // no burst
    const double z = uz(g);
    std::vector<double> lo(static_cast<size_t>(nb)), hi(static_cast<size_t>(nb));
    ASSERT_TRUE(fb.bounds(t.data(), z, lo.data(), hi.data())) << "z " << z;
    const auto f = m.evaluate(t.data(), z);
    for (int b = 0; b < nb; ++b) {
      EXPECT_LE(lo[static_cast<size_t>(b)], f[static_cast<size_t>(b)]) << "band " << b << " z " << z << " draw " << i;
      EXPECT_GE(hi[static_cast<size_t>(b)], f[static_cast<size_t>(b)]) << "band " << b << " z " << z << " draw " << i;
      worst = std::min(worst, std::min(f[static_cast<size_t>(b)] / lo[static_cast<size_t>(b)] - 1,
                                       1 - f[static_cast<size_t>(b)] / hi[static_cast<size_t>(b)]));
    }
  }
  EXPECT_GE(worst, 0.0);
}

TEST(SpsFluxBounds, ContainTheExactFluxesOverThePrior) { expect_bounds_contain_fluxes(model(), bounds(), 4000); }

// The GALEX bands of configs/nsa7.toml see rest-frame 1100-2800 A, the UV bump of the dust law.
TEST(SpsFluxBounds, ContainTheExactFluxesInTheGalexBands) {
  SedModelSettings s;
  s.data_dir = test::data_dir();
  s.z_max = 0.2;
  s.bands = {"sedpy:galex_FUV", "sedpy:galex_NUV"};
  const SedModel galex(s);
  const FluxBounds fb(galex, 0.0, 0.2);
  expect_bounds_contain_fluxes(galex, fb, 4000);
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

/// Reference for the band weights: the straightforward merge of the filter's nodes and the
/// spectrum nodes inside the filter into one sorted union grid, trapezoid weights point by point
/// (the library's implementation before RedshiftedBand found each union point's neighbours
/// without merging). Returns the weights by spectrum node [n] and the denominator.
std::vector<double> reference_band_weights(const Filter& filter, const std::vector<double>& x, double& den) {
  const auto& fw = filter.wavelength;
  const auto& fr = filter.response;
  const int nf = static_cast<int>(fw.size()), n = static_cast<int>(x.size());
  const double lo = fw.front(), hi = fw.back();
  std::vector<double> w(static_cast<size_t>(n), 0.0);
  // union points: (wavelength, value of R there, spectrum segment, position in it)
  struct P {
    double x, r;
    int sj;
    double ts;
  };
  std::vector<P> pts;
  auto seg_of = [&](double v) {  // last node <= v, at most n - 2
    int j = static_cast<int>(std::upper_bound(x.begin(), x.end(), v) - x.begin()) - 1;
    return std::clamp(j, 0, n - 2);
  };
  int i = 0, j = static_cast<int>(std::upper_bound(x.begin(), x.end(), lo) - x.begin());
  while (i < nf || (j < n && x[static_cast<size_t>(j)] < hi)) {
    const bool take_filter = !(j < n && x[static_cast<size_t>(j)] < hi) ||
                             (i < nf && fw[static_cast<size_t>(i)] <= x[static_cast<size_t>(j)]);
    if (take_filter) {
      const double v = fw[static_cast<size_t>(i)];
      if (j < n && x[static_cast<size_t>(j)] == v) ++j;  // coincident nodes: one union point
      const int sj = seg_of(v);
      const double ts = std::clamp((v - x[static_cast<size_t>(sj)]) /
                                       (x[static_cast<size_t>(sj + 1)] - x[static_cast<size_t>(sj)]), 0.0, 1.0);
      pts.push_back({v, fr[static_cast<size_t>(i)], sj, ts});
      ++i;
    } else {
      const double v = x[static_cast<size_t>(j)];
      const int fi = std::clamp(static_cast<int>(std::upper_bound(fw.begin(), fw.end(), v) - fw.begin()) - 1, 0, nf - 2);
      const double tf = (v - fw[static_cast<size_t>(fi)]) / (fw[static_cast<size_t>(fi + 1)] - fw[static_cast<size_t>(fi)]);
      const double r = fr[static_cast<size_t>(fi)] + (fr[static_cast<size_t>(fi + 1)] - fr[static_cast<size_t>(fi)]) * tf;
      pts.push_back({v, r, std::min(j, n - 2), j < n - 1 ? 0.0 : 1.0});
      ++j;
    }
  }
  den = 0;
  for (size_t k = 0; k < pts.size(); ++k) {
    const double c = 0.5 * ((k + 1 < pts.size() ? pts[k + 1].x : pts[k].x) - (k > 0 ? pts[k - 1].x : pts[k].x));
    const P& p = pts[k];
    w[static_cast<size_t>(p.sj)] += c * p.r * p.x * (1 - p.ts);
    w[static_cast<size_t>(p.sj + 1)] += c * p.r * p.x * p.ts;
    den += c * p.r * kSpeedOfLightAngstrom / p.x;
  }
  return w;
}

/// max |a - ref| over all nodes relative to max |ref|; a's nodes outside the range are 0.
double max_weight_error(const BandWeights& a, const std::vector<double>& ref) {
  double wmax = 0, err = 0;
  for (double v : ref) wmax = std::max(wmax, std::fabs(v));
  for (size_t j = 0; j < ref.size(); ++j) {
    const long k = static_cast<long>(j) - a.first;
    const double v = (k >= 0 && k < static_cast<long>(a.weights.size())) ? a.weights[static_cast<size_t>(k)] : 0.0;
    err = std::max(err, std::fabs(v - ref[j]));
  }
  return err / wmax;
}

// RedshiftedBand (rest grid times 1 + z) equals the plain union-grid merge on the observed grid,
// over a sweep of redshifts, and band_weights() on the observed grid equals it too.
TEST(SpsNewZ, RedshiftedBandEqualsUnionGridTrapezoid) {
  const ModelData& d = *model().data();
  std::vector<double> obs(static_cast<size_t>(d.nwin));
  BandWeights a;
  for (int i = 0; i <= 400; ++i) {
    const double z = 0.2 * i / 400;
    for (int j = 0; j < d.nwin; ++j) obs[static_cast<size_t>(j)] = d.rest_wave[static_cast<size_t>(j)] * (1 + z);
    for (size_t f = 0; f < d.filters.size(); ++f) {
      double den = 0;
      const auto ref = reference_band_weights(d.filters[f], obs, den);
      d.zbands[f].weights(z, a);
      EXPECT_LT(max_weight_error(a, ref), 1e-13) << "band " << f << " z " << z;
      EXPECT_NEAR(a.denominator, den, 1e-13 * den) << "band " << f << " z " << z;
      const BandWeights b = band_weights(d.filters[f], obs.data(), d.nwin);
      EXPECT_LT(max_weight_error(b, ref), 1e-13) << "band " << f << " z " << z;
      EXPECT_NEAR(b.denominator, den, 1e-13 * den) << "band " << f << " z " << z;
    }
  }
}

// Spectrum nodes that coincide with filter nodes (including both ends of the filter), and a
// spectrum grid coarser and finer than the filter's: one union point per coincidence. Also the
// slow paths of locating filter nodes on the grid: a capped bucket table, and z < 0.
TEST(SpsNewZ, BandWeightsWithCoincidentNodes) {
  const ModelData& d = *model().data();
  for (const Filter& f : d.filters) {
    for (double step : {1.0, 7.0, 40.0}) {
      std::vector<double> grid;
      for (double v = std::floor(f.min_wavelength()) - 50; v < f.max_wavelength() + 50; v += step) grid.push_back(v);
      // every third filter node, and both ends, as spectrum nodes too
      for (size_t i = 0; i < f.wavelength.size(); i += 3) grid.push_back(f.wavelength[i]);
      grid.push_back(f.wavelength.back());
      std::sort(grid.begin(), grid.end());
      grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
      double den = 0;
      const auto ref = reference_band_weights(f, grid, den);
      const BandWeights b = band_weights(f, grid.data(), static_cast<int>(grid.size()));
      EXPECT_LT(max_weight_error(b, ref), 1e-13) << f.name << " step " << step;
      EXPECT_NEAR(b.denominator, den, 1e-13 * den) << f.name << " step " << step;
      // the filter's own ends on the grid's ends
      std::vector<double> tight;
      for (double v : grid)
        if (v >= f.min_wavelength() && v <= f.max_wavelength()) tight.push_back(v);
      const auto ref2 = reference_band_weights(f, tight, den);
      const BandWeights c = band_weights(f, tight.data(), static_cast<int>(tight.size()));
      EXPECT_LT(max_weight_error(c, ref2), 1e-13) << f.name << " step " << step << " (tight)";
      EXPECT_NEAR(c.denominator, den, 1e-13 * den) << f.name << " step " << step << " (tight)";
    }
    // A spacing so small that the bucket table is capped (the located nodes are then walked).
    std::vector<double> grid;
    for (double v = std::floor(f.min_wavelength()) - 50; v < f.max_wavelength() + 50; v += 3.0) grid.push_back(v);
    grid.insert(grid.begin() + static_cast<long>(grid.size() / 2), grid[grid.size() / 2] - 1e-5);
    double den = 0;
    const auto ref = reference_band_weights(f, grid, den);
    const BandWeights b = band_weights(f, grid.data(), static_cast<int>(grid.size()));
    EXPECT_LT(max_weight_error(b, ref), 1e-13) << f.name << " (capped table)";
    EXPECT_NEAR(b.denominator, den, 1e-13 * den) << f.name << " (capped table)";
    // z < 0 (observed bluer than rest): beyond the bucket table, the located nodes are walked.
    std::vector<double> rest, obs;
    for (double v = std::floor(f.min_wavelength()) - 50; v < f.max_wavelength() / 0.9 + 50; v += 10.0) rest.push_back(v);
    const RedshiftedBand rb(f, rest);
    for (double z : {-0.1, -0.03}) {
      obs.clear();
      for (double v : rest) obs.push_back(v * (1 + z));
      const auto ref3 = reference_band_weights(f, obs, den);
      BandWeights a;
      rb.weights(z, a);
      EXPECT_LT(max_weight_error(a, ref3), 1e-13) << f.name << " z " << z;
      EXPECT_NEAR(a.denominator, den, 1e-13 * den) << f.name << " z " << z;
    }
  }
}

}  // namespace
}  // namespace sedpost::sps
