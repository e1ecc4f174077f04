#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.hpp"
#include "sps/dust.hpp"
#include "sps/filters.hpp"
#include "sps/fixed_z_model.hpp"
#include "sps/nmf_history.hpp"
#include "sps/sed_model.hpp"
#include "sps_test_util.hpp"

namespace sedpost::sps {
namespace {

using test::draw_theta;

const SedModel& model() {
  static const SedModel m([] {
    SedModelSettings s;
    s.data_dir = test::data_dir();
    return s;
  }());
  return m;
}

const std::array<double, kNumTheta> kTheta{10.5, 0.3, 0.2, 0.4, 0.1, 0.2, 2.0, 1e-3, 5e-3, 0.5, 0.4, -0.3};

TEST(SpsDust, AttenuationIsOneAtZeroTau) {
  std::vector<double> lam;
  for (double l = 900; l < 30000; l *= 1.05) lam.push_back(l);
  DustCurves d(lam, -1.0);
  std::vector<double> a(lam.size()), b(lam.size());
  for (double n : {-2.0, -0.5, 0.0, 1.0}) {
    d.ism(0.0, n, 0, static_cast<int>(lam.size()), a.data());
    for (double x : a) EXPECT_EQ(x, 1.0);
  }
  d.birth_cloud(0.0, 0, static_cast<int>(lam.size()), b.data());
  for (double x : b) EXPECT_EQ(x, 1.0);
  // the single-precision path the model runs
  std::vector<float> af(lam.size()), bf(lam.size());
  d.ism_f(0.0f, -0.7f, 0, static_cast<int>(lam.size()), af.data());
  d.birth_cloud_f(0.0f, 0, static_cast<int>(lam.size()), bf.data());
  for (size_t j = 0; j < lam.size(); ++j) {
    EXPECT_EQ(af[j], 1.0f);
    EXPECT_EQ(bf[j], 1.0f);
  }
}

TEST(SpsDust, SinglePrecisionPathMatchesDouble) {
  std::vector<double> lam;
  for (double l = 1400; l < 12000; l *= 1.01) lam.push_back(l);
  DustCurves d(lam, -1.0);
  const int n = static_cast<int>(lam.size());
  std::vector<double> a(lam.size()), b(lam.size());
  std::vector<float> af(lam.size()), bf(lam.size());
  for (double tau : {0.1, 1.0, 3.0})
    for (double nd : {-2.0, -0.3, 1.0}) {
      d.ism(tau, nd, 0, n, a.data());
      d.ism_f(static_cast<float>(tau), static_cast<float>(nd), 0, n, af.data());
      d.birth_cloud(tau, 0, n, b.data());
      d.birth_cloud_f(static_cast<float>(tau), 0, n, bf.data());
      for (int j = 0; j < n; ++j) {
        // float transmissions: relative 1e-5 (float inputs + exponent up to ~30) or absolute 1e-30
        EXPECT_NEAR(af[static_cast<size_t>(j)], a[static_cast<size_t>(j)], 1e-5 * a[static_cast<size_t>(j)] + 1e-30);
        EXPECT_NEAR(bf[static_cast<size_t>(j)], b[static_cast<size_t>(j)], 2e-6 * b[static_cast<size_t>(j)]);
      }
    }
}

TEST(SpsDust, TransmissionDecreasesWithTau) {
  std::vector<double> lam;
  for (double l = 1000; l < 25000; l *= 1.1) lam.push_back(l);
  DustCurves d(lam, -1.0);
  const int n = static_cast<int>(lam.size());
  std::vector<double> prev_i(lam.size(), 1.0), prev_b(lam.size(), 1.0), a(lam.size()), b(lam.size());
  for (double tau = 0.25; tau <= 3.0; tau += 0.25) {
    d.ism(tau, -0.7, 0, n, a.data());
    d.birth_cloud(tau, 0, n, b.data());
    for (int j = 0; j < n; ++j) {
      EXPECT_LE(a[j], prev_i[j]);
      EXPECT_LT(b[j], prev_b[j]);
      EXPECT_GT(a[j], 0.0);
    }
    prev_i = a;
    prev_b = b;
  }
  // Calzetti k'(V) ~ 4.05 (R_V): A_V = tau_ISM 1.086 at 5500 A with n = 0 and no bump there.
  EXPECT_NEAR(calzetti_kprime(5500.0), 4.05, 0.05);
}

TEST(SpsSfh, TimeBinsFollowSection11) {
  const auto e = time_bin_edges_yr(model().age_gyr(0.1) * 1e9);
  EXPECT_EQ(e.size(), 43u);  // 42 bins for 0 < z <= 0.2
  EXPECT_EQ(e.front(), 0.0);
  EXPECT_NEAR(e[1], std::pow(10.0, 6.05), 1e-6);
  EXPECT_NEAR(e.back(), model().age_gyr(0.1) * 1e9, 1.0);
  EXPECT_EQ(time_bin_edges_yr(model().age_gyr(0.2) * 1e9).size(), 43u);
}

TEST(SpsSfh, IntegratesToStatedMass) {
  std::mt19937_64 g(1);
  for (int i = 0; i < 50; ++i) {
    auto t = draw_theta(g);
    const double z = 0.01 + 0.19 * (i / 49.0);
    const auto h = model().sfh(t.data(), z);
    double m = h.burst_mass;
    for (double x : h.mass) {
      EXPECT_GE(x, 0.0);
      m += x;
    }
    EXPECT_NEAR(m / std::pow(10.0, t[0]), 1.0, 1e-12);
    const bool burst = t[6] < model().age_gyr(z);
    EXPECT_NEAR(h.burst_mass, burst ? t[5] * std::pow(10.0, t[0]) : 0.0, 1e-9 * std::pow(10.0, t[0]));
    EXPECT_LT(h.surviving_mass, m);
    EXPECT_GT(h.surviving_mass, 0.4 * m);
    for (double zz : h.metallicity) {
      EXPECT_GE(zz, kZhMin);
      EXPECT_LE(zz, kZhMax);
    }
  }
}

TEST(SpsSedModel, FluxScalesWithMass) {
  auto t = kTheta;
  const auto f1 = model().evaluate(t.data(), 0.05);
  t[0] += 1;
  const auto f2 = model().evaluate(t.data(), 0.05);
  // the per-evaluation sums run in float (model_data.hpp): ~1e-6 relative rounding
  for (size_t b = 0; b < f1.size(); ++b) EXPECT_NEAR(f2[b] / f1[b], 10.0, 10.0 * 1e-5);
}

TEST(SpsSedModel, BurstOlderThanUniverseContributesNothing) {
  auto t = kTheta;
  const double z = 0.15;
  t[6] = model().age_gyr(z) + 0.01;  // t_burst >= t_age: no burst
  t[5] = 0.7;
  const auto with = model().evaluate(t.data(), z);
  t[5] = 0.0;
  const auto without = model().evaluate(t.data(), z);
  for (size_t b = 0; b < with.size(); ++b) EXPECT_EQ(with[b], without[b]);
  // a burst inside the universe's age does change the fluxes
  t[6] = 0.5;
  t[5] = 0.7;
  const auto young = model().evaluate(t.data(), z);
  EXPECT_GT(young[0], 1.5 * without[0]);
}

TEST(SpsSedModel, DustDimsEveryBand) {
  auto t = kTheta;
  t[9] = t[10] = 0;
  const auto f0 = model().evaluate(t.data(), 0.05);
  t[10] = 1.0;
  const auto f1 = model().evaluate(t.data(), 0.05);
  for (size_t b = 0; b < f0.size(); ++b) EXPECT_LT(f1[b], f0[b]);
  EXPECT_LT(f1[0] / f0[0], f1[4] / f0[4]);  // redder
}

TEST(SpsSedModel, SpectrumIntegratesToBandFluxes) {
  // The spectrum's band integral (trapezoid on the union grid) equals evaluate().
  const double z = 0.07;
  const auto sp = model().spectrum(kTheta.data(), z);
  const auto f = model().evaluate(kTheta.data(), z);
  for (int b = 0; b < model().num_bands(); ++b) {
    const auto filt = load_filter(test::data_dir(), model().band_names()[static_cast<size_t>(b)]);
    const auto bw = band_weights(filt, sp.wavelength.data(), static_cast<int>(sp.wavelength.size()));
    double num = 0;
    for (size_t j = 0; j < bw.weights.size(); ++j) num += bw.weights[j] * sp.flambda[static_cast<size_t>(bw.first) + j];
    // float sums in the model (band matrix in float): ~1e-6 relative
    EXPECT_NEAR(num / bw.denominator / kAbZeroPoint * 1e9 / f[static_cast<size_t>(b)], 1.0, 1e-5);
  }
}

TEST(SpsFixedZModel, AgreesWithSedModel) {
  std::mt19937_64 g(7);
  for (double z : {0.003, 0.05, 0.1, 0.2, 0.5}) {
    const FixedZModel fm(model(), z);
    EXPECT_EQ(fm.num_bands(), 5);
    constexpr int kN = 40;
    std::vector<double> th(kN * kNumTheta), out(kN * 5);
    for (int i = 0; i < kN; ++i) {
      const auto t = draw_theta(g);
      std::copy(t.begin(), t.end(), th.begin() + i * kNumTheta);
    }
    fm.evaluate_batch(th.data(), kN, out.data());
    for (int i = 0; i < kN; ++i) {
      const auto ref = model().evaluate(th.data() + i * kNumTheta, z);
      for (int b = 0; b < 5; ++b) EXPECT_NEAR(out[static_cast<size_t>(i * 5 + b)] / ref[static_cast<size_t>(b)], 1.0, 1e-6);
    }
  }
}

// The seven NSA bands (configs/nsa7.toml): GALEX FUV and NUV reach rest-frame 1100 A at z = 0.2.
TEST(SpsFixedZModel, AgreesWithSedModelForGalexBands) {
  SedModelSettings s;
  s.data_dir = test::data_dir();
  s.bands = {"sedpy:galex_FUV", "sedpy:galex_NUV", "speclite:sdss2010-u", "speclite:sdss2010-r"};
  const SedModel galex(s);
  std::mt19937_64 g(8);
  for (double z : {0.01, 0.1, 0.2}) {
    const FixedZModel fm(galex, z);
    for (int i = 0; i < 40; ++i) {
      const auto t = draw_theta(g);
      std::vector<double> out(4);
      fm.evaluate(t.data(), out.data());
      const auto ref = galex.evaluate(t.data(), z);
      for (int b = 0; b < 4; ++b) EXPECT_NEAR(out[static_cast<size_t>(b)] / ref[static_cast<size_t>(b)], 1.0, 1e-6) << z << " " << b;
    }
  }
}

TEST(SpsSedModel, BatchWithOwnRedshiftsMatchesSingleCalls) {
  std::mt19937_64 g(11);
  constexpr int kN = 8;
  std::vector<double> th, zs, out(kN * 5);
  for (int i = 0; i < kN; ++i) {
    const auto t = draw_theta(g);
    th.insert(th.end(), t.begin(), t.end());
    zs.push_back(0.01 + 0.02 * i);
  }
  model().evaluate_batch(th.data(), zs.data(), kN, out.data());
  for (int i = 0; i < kN; ++i) {
    const auto ref = model().evaluate(th.data() + i * kNumTheta, zs[static_cast<size_t>(i)]);
    for (int b = 0; b < 5; ++b) EXPECT_EQ(out[static_cast<size_t>(i * 5 + b)], ref[static_cast<size_t>(b)]);
  }
}

TEST(SpsSedModel, DerivedQuantitiesAreSane) {
  const auto q = model().derived(kTheta.data(), 0.05);
  const auto h = model().sfh(kTheta.data(), 0.05);
  EXPECT_NEAR(q.log_mstar_surviving, std::log10(h.surviving_mass), 1e-12);
  EXPECT_LT(q.log_mstar_surviving, kTheta[0]);
  EXPECT_GT(q.t50_gyr, 0.0);
  EXPECT_LT(q.t50_gyr, model().age_gyr(0.05));
  EXPECT_GT(q.log_z_mw, std::log10(kZhMin) - 1e-12);
  EXPECT_LT(q.log_z_mw, std::log10(kZhMax) + 1e-12);
  EXPECT_LT(std::pow(10.0, q.log_age_mw), model().age_gyr(0.05));
  // SFR over 1 Gyr: mass formed in the last Gyr / 1e9 yr
  double m = 0;
  for (size_t k = 0; k < h.mass.size(); ++k) {
    const double a = h.edges_yr[k], b = h.edges_yr[k + 1];
    m += h.mass[k] * std::max(0.0, std::min(b, 1e9) - a) / (b - a);
  }
  if (kTheta[6] < 1.0) m += h.burst_mass;
  EXPECT_NEAR(q.log_sfr_1gyr, std::log10(m / 1e9), 1e-10);
  // all mass in a burst: t50 = t_burst
  auto t = kTheta;
  t[5] = 0.999999;
  EXPECT_NEAR(model().derived(t.data(), 0.05).t50_gyr, t[6], 1e-9);
}

// SFH percentiles against an independent bisection of the cumulative formed mass of sfh():
// t_X is where the mass formed at lookback > t equals X % of the total (constant SFR within a
// bin, the burst a step at its age), for a smooth history and for one with a burst.
TEST(SpsSedModel, SfhPercentilesInvertTheFormedMass) {
  auto smooth = kTheta, big_burst = kTheta;
  smooth[5] = 0.0;     // f_burst
  big_burst[5] = 0.4;  // (t_burst 2 Gyr)
  for (const auto& theta : {smooth, kTheta, big_burst}) {
    for (double z : {0.05, 0.6}) {
      const auto q = model().derived(theta.data(), z);
      const auto h = model().sfh(theta.data(), z);
      double total = h.burst_mass;
      for (double m : h.mass) total += m;
      const auto formed_before = [&](double t_yr) {  // mass formed at lookback > t_yr
        double m = h.burst_mass > 0 && h.burst_age_gyr * 1e9 > t_yr ? h.burst_mass : 0.0;
        for (std::size_t k = 0; k < h.mass.size(); ++k) {
          const double a = h.edges_yr[k], b = h.edges_yr[k + 1];
          m += h.mass[k] * std::clamp((b - t_yr) / (b - a), 0.0, 1.0);
        }
        return m;
      };
      const double got[] = {q.t10_gyr, q.t25_gyr, q.t50_gyr, q.t75_gyr, q.t90_gyr};
      const double fraction[] = {0.10, 0.25, 0.50, 0.75, 0.90};
      for (int i = 0; i < 5; ++i) {
        double lo = 0, hi = h.edges_yr.back();
        for (int it = 0; it < 200; ++it) {
          const double mid = 0.5 * (lo + hi);
          (formed_before(mid) > fraction[i] * total ? lo : hi) = mid;
        }
        // At a burst the formed mass jumps: any t with the burst straddling X % is its age.
        EXPECT_NEAR(got[i], 0.5 * (lo + hi) * 1e-9, 1e-6) << "t" << fraction[i] * 100 << " z " << z;
        if (i > 0) {
          EXPECT_LE(got[i], got[i - 1]);
        }
      }
    }
  }
}

TEST(SpsSedModel, BadRedshiftThrowsDataError) {
  const double z_bad[] = {0.0, -0.1, std::nan(""), 1.5};
  for (double z : z_bad) {
    EXPECT_THROW(model().evaluate(kTheta.data(), z), DataError) << z;
    EXPECT_THROW(FixedZModel(model(), z), DataError) << z;
  }
  try {
    model().evaluate(kTheta.data(), -0.25);
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("-0.25"), std::string::npos) << e.what();
  }
}

TEST(SpsSedModel, BadSettingsThrow) {
  SedModelSettings s;
  s.data_dir = test::data_dir();
  s.bands = {"sdss2010-u", "nonexistent-band"};
  EXPECT_THROW(SedModel{s}, DataError);
  s.bands = {"sdss2010-r"};
  s.ssp_kind = "nope";
  EXPECT_THROW(SedModel{s}, ConfigError);
  s.ssp_kind = "bc03";
  s.data_dir = "/nonexistent";
  EXPECT_THROW(SedModel{s}, DataError);
  s.data_dir = test::data_dir();
  s.z_max = 100;  // bluest band below the library's 91 A
  EXPECT_THROW(SedModel{s}, ConfigError);
}

}  // namespace
}  // namespace sedpost::sps
