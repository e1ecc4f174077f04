// TrainingSimulator: the flux-bound pre-check keeps exactly the rows that evaluating every
// prior draw keeps (MODEL.md 5), and rows depend on (seed, row index) only.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <cstdlib>
#include <random>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "noise/noise_model.hpp"
#include "prior/prior.hpp"
#include "simulate/training_simulator.hpp"
#include "sps/sed_model.hpp"

namespace sedpost::simulate {
namespace {

std::string data_dir() {
  if (const char* d = std::getenv("SEDPOST_DATA_DIR"); d && *d) return d;
  if (const char* s = std::getenv("SEDPOST_SOURCE_DIR"); s && *s) return std::string(s) + "/../shared/data";
  return "../shared/data";
}

const sps::SedModel& model() {
  static const sps::SedModel m([] {
    sps::SedModelSettings s;
    s.data_dir = data_dir();
    s.z_max = 0.2;
    return s;
  }());
  return m;
}

/// A noise model with about the NSA A1367 flux ranges (u 7-2700 ... z 30-47000 nmgy), fitted
/// to synthetic log-uniform fluxes so the test needs no catalog.
const noise::NoiseModel& noise_model() {
  static const noise::NoiseModel nm = [] {
    const double lo[5] = {7, 18, 25, 37, 30}, hi[5] = {2700, 11500, 24000, 35000, 47000};
    std::mt19937_64 g(3);
    std::uniform_real_distribution<double> u(0, 1);
    const int n = 4000;
    std::vector<double> flux(n * 5), sigma(n * 5);
    for (int i = 0; i < n; ++i)
      for (int b = 0; b < 5; ++b) {
        const double f = lo[b] * std::pow(hi[b] / lo[b], u(g));
        flux[static_cast<size_t>(i * 5 + b)] = f;
        sigma[static_cast<size_t>(i * 5 + b)] = f * (0.01 + 0.05 * u(g)) * (1 + 30 / f);
      }
    return noise::NoiseModel::fit(flux, sigma, {"u", "g", "r", "i", "z"});
  }();
  return nm;
}

const prior::Prior& prior() {
  static const prior::Prior p;
  return p;
}

TEST(SimulateTrainingSimulator, KeepsExactlyTheRowsOfEvaluatingEveryDraw) {
  const std::uint64_t seed = 17;
  const TrainingSimulator sim(model(), prior(), noise_model(), RedshiftRange{0.0, 0.2, false, {}}, seed);
  SimulatedRows rows;
  SimulationCounters c;
  const std::uint64_t first = 1000, n = 300;
  sim.simulate(first, n, rows, c);
  EXPECT_EQ(c.rows, static_cast<std::int64_t>(n));
  EXPECT_EQ(c.failed_rows, 0);
  EXPECT_GT(c.prechecked_draws, c.rejected_draws / 2) << "the bounds should reject most dropped draws";
  const auto& nm = noise_model();
  std::int64_t draws = 0;
  for (std::uint64_t r = 0; r < n; ++r) {
    // Reference: MODEL.md 5 literally, every draw evaluated.
    Rng prior_rng(seed, RngStream::kPrior, first + r), z_rng(seed, RngStream::kRedshift, first + r);
    int attempt = 0;
    prior::Physical theta{};
    double z = 0;
    std::vector<double> f;
    for (;;) {
      ++attempt;
      theta = prior().to_physical(prior().sample_flow(prior_rng));
      z = z_rng.uniform(0.0, 0.2);
      f = model().evaluate(theta.data(), z);
      bool in = true;
      for (size_t b = 0; b < 5; ++b) in = in && f[b] >= nm.band(b).flux_min && f[b] <= nm.band(b).flux_max;
      if (in) break;
    }
    draws += attempt;
    ASSERT_EQ(rows.attempts[r], static_cast<std::uint32_t>(attempt)) << "row " << r;
    EXPECT_EQ(rows.z[r], z);
    for (size_t k = 0; k < 12; ++k) EXPECT_EQ(rows.theta_physical[r * 12 + k], theta[k]);
    for (size_t b = 0; b < 5; ++b) EXPECT_EQ(rows.flux_true[r * 5 + b], f[b]);
    // The kept draw's noise comes from the row's noise stream.
    Rng noise_rng(seed, RngStream::kNoise, first + r);
    const auto d = nm.sample(f.data(), noise_rng);
    ASSERT_TRUE(d.ok());
    for (size_t b = 0; b < 5; ++b) {
      EXPECT_EQ(rows.sigma[r * 5 + b], d.sigma_nmgy[b]);
      EXPECT_EQ(rows.flux_obs[r * 5 + b], d.flux_nmgy[b]);
    }
  }
  EXPECT_EQ(c.rejected_draws, draws - static_cast<std::int64_t>(n));
  EXPECT_EQ(c.sed_evaluations + c.prechecked_draws, draws);
}

TEST(SimulateTrainingSimulator, RowsDependOnTheirIndexOnly) {
  const TrainingSimulator sim(model(), prior(), noise_model(), RedshiftRange{0.0, 0.2, false, {}}, 5);
  SimulatedRows all, a, b;
  SimulationCounters c;
  sim.simulate(0, 200, all, c);
  sim.simulate(0, 77, a, c);
  sim.simulate(77, 123, b, c);
  auto cat = [](std::vector<double> x, const std::vector<double>& y) {
    x.insert(x.end(), y.begin(), y.end());
    return x;
  };
  EXPECT_EQ(all.theta_physical, cat(a.theta_physical, b.theta_physical));
  EXPECT_EQ(all.theta_flow, cat(a.theta_flow, b.theta_flow));
  EXPECT_EQ(all.z, cat(a.z, b.z));
  EXPECT_EQ(all.flux_true, cat(a.flux_true, b.flux_true));
  EXPECT_EQ(all.flux_obs, cat(a.flux_obs, b.flux_obs));
  EXPECT_EQ(all.sigma, cat(a.sigma, b.sigma));
  EXPECT_EQ(all.x, cat(a.x, b.x));
}

// Photo-z mode: the same rows as with z given; z moves from x's last entry to theta's last column.
TEST(SimulateTrainingSimulator, InferredRedshiftMovesZFromXToTheta) {
  const TrainingSimulator given(model(), prior(), noise_model(), RedshiftRange{0.0, 0.2, false, {}}, 6);
  const TrainingSimulator inferred(model(), prior(), noise_model(), RedshiftRange{0.0, 0.2, true, {}}, 6);
  EXPECT_EQ(inferred.layout().dim(), 12u);
  EXPECT_EQ(inferred.conditioning().dim(), given.conditioning().dim() - 1);
  SimulatedRows g, z;
  SimulationCounters c;
  given.simulate(0, 50, g, c);
  inferred.simulate(0, 50, z, c);
  EXPECT_EQ(g.theta_physical, z.theta_physical);
  EXPECT_EQ(g.flux_obs, z.flux_obs);
  EXPECT_EQ(g.z, z.z);
  const std::size_t gx = given.conditioning().dim(), zx = inferred.conditioning().dim();
  for (std::size_t r = 0; r < 50; ++r) {
    for (std::size_t k = 0; k < 11; ++k) EXPECT_EQ(z.theta_flow[r * 12 + k], g.theta_flow[r * 11 + k]);
    EXPECT_EQ(z.theta_flow[r * 12 + 11], g.z[r]);
    EXPECT_GT(g.z[r], 0.0);
    EXPECT_LT(g.z[r], 0.2);
    for (std::size_t k = 0; k < zx; ++k) EXPECT_EQ(z.x[r * zx + k], g.x[r * gx + k]);
    EXPECT_EQ(g.x[r * gx + gx - 1], g.z[r]);
  }
}

// A histogram z prior: every simulated z lies in a bin with weight (here the upper three
// quarters of [0, 0.2]), and theta's z column is that z.
TEST(SimulateTrainingSimulator, HistogramRedshiftPriorDrawsFromItsBins) {
  const TrainingSimulator sim(model(), prior(), noise_model(), RedshiftRange{0.0, 0.2, true, {0.0, 1.0, 1.0, 1.0}}, 7);
  SimulatedRows rows;
  SimulationCounters c;
  sim.simulate(0, 200, rows, c);
  int upper_half = 0;
  for (std::size_t r = 0; r < 200; ++r) {
    if (std::isnan(rows.theta_flow[r * 12 + 11])) continue;  // a failed row
    EXPECT_GE(rows.z[r], 0.05) << "row " << r;
    EXPECT_EQ(rows.theta_flow[r * 12 + 11], rows.z[r]);
    upper_half += rows.z[r] > 0.1;
  }
  EXPECT_GT(upper_half, 100);  // 2/3 of the prior mass, before the flux-range cut
}

// Spectra (docs/spectra.md): rows get a normalised noisy spectrum without changing anything
// else; a row's spectrum depends on (seed, row) only.
TEST(SimulateTrainingSimulator, SpectraNextToThePhotometry) {
  sps::SpectrographSettings st;
  st.resolution = 500;  // 1,002 pixels: a quick test
  const sps::Spectrograph sg(st);
  const TrainingSimulator plain(model(), prior(), noise_model(), RedshiftRange{0.0, 0.2, false, {}}, 8);
  TrainingSimulator with(model(), prior(), noise_model(), RedshiftRange{0.0, 0.2, false, {}}, 8);
  with.set_spectrograph(&sg);
  SimulatedRows a, b, c;
  SimulationCounters counters;
  plain.simulate(0, 20, a, counters);
  with.simulate(0, 20, b, counters);
  with.simulate(10, 5, c, counters);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.theta_physical, b.theta_physical);
  EXPECT_TRUE(a.spectrum.empty());
  const auto np = static_cast<std::size_t>(sg.num_pixels());
  ASSERT_EQ(b.spectrum.size(), 20 * np);
  for (std::size_t r = 0; r < 20; ++r) {
    if (std::isnan(b.z[r])) continue;
    double mean = 0;
    for (std::size_t k = 0; k < np; ++k) mean += b.spectrum[r * np + k] / static_cast<double>(np);
    EXPECT_NEAR(mean, 1.0, 5.0 / st.snr / std::sqrt(static_cast<double>(np))) << "row " << r;
  }
  for (std::size_t k = 0; k < 5 * np; ++k) ASSERT_EQ(c.spectrum[k], b.spectrum[10 * np + k]);
}

// A redshift range the universe is too young for: the universe at z = 1000 is ~0.4 Myr old,
// younger than the youngest burst the prior allows (10 Myr).
TEST(SimulateTrainingSimulator, RedshiftBeyondTheModelIsAConfigError) {
  EXPECT_NO_THROW(check_redshift_range(model(), prior(), RedshiftRange{0.0, 0.2, true, {}}, "x.toml"));
  EXPECT_THROW(check_redshift_range(model(), prior(), RedshiftRange{0.0, 1000.0, true, {}}, "x.toml"), ConfigError);
}

// Band masks: rates = catalog missing fraction + floor; rows lose bands at those rates, never all
// of them; a masked band is written as not measured and flagged 0 in x; the kept bands and the
// physics are those of the unmasked simulation.
TEST(SimulateBandMasks, RatesAndMaskedRows) {
  // A noise catalog where band g is missing (flux 0, ivar 0) for a quarter of the rows.
  const noise::NoiseModel& full = noise_model();
  std::vector<double> flux, sigma;
  std::mt19937_64 g(5);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 2000; ++i)
    for (int b = 0; b < 5; ++b) {
      const double f = 30.0 * std::pow(100.0, u(g));
      const bool missing = b == 1 && i % 4 == 0;
      flux.push_back(missing ? 0.0 : f);
      sigma.push_back(missing ? std::numeric_limits<double>::infinity() : 0.05 * f);
    }
  const noise::NoiseModel with_gaps = noise::NoiseModel::fit(flux, sigma, {"u", "g", "r", "i", "z"});
  EXPECT_NEAR(missing_fraction(with_gaps.band(1)), 0.25, 1e-12);
  EXPECT_EQ(missing_fraction(with_gaps.band(0)), 0.0);
  BandMaskSettings st;
  st.enabled = true;
  st.floor = 0.1;
  const BandMasks learned(st, with_gaps);
  EXPECT_NEAR(learned.rates()[1], 0.35, 1e-12);
  EXPECT_NEAR(learned.rates()[0], 0.1, 1e-12);
  st.max_rate = 0.3;
  EXPECT_NEAR(BandMasks(st, with_gaps).rates()[1], 0.3, 1e-12);
  EXPECT_THROW(BandMasks(BandMaskSettings{}, full, {"r"}), ConfigError);  // drop without masks
  EXPECT_THROW(BandMasks(st, full, {"w1"}), ConfigError);
  EXPECT_THROW(BandMasks(st, full, {"u", "g", "r", "i", "z"}), ConfigError);

  st.max_rate = 0.5;
  st.rates = {0.2, 0.2, 0.3, 0.2, 0.2};
  const BandMasks masks(st, full);
  const std::uint64_t seed = 9, n = 400;
  const TrainingSimulator plain(model(), prior(), full, RedshiftRange{0.0, 0.2, false, {}}, seed);
  const TrainingSimulator sim(model(), prior(), full, RedshiftRange{0.0, 0.2, false, {}}, seed, 1000, masks);
  ASSERT_EQ(sim.conditioning().dim(), 16u);
  SimulatedRows a, m;
  SimulationCounters c;
  plain.simulate(0, n, a, c);
  sim.simulate(0, n, m, c);
  EXPECT_EQ(a.theta_physical, m.theta_physical);
  EXPECT_EQ(a.flux_true, m.flux_true);
  std::vector<int> dropped(5, 0);
  for (std::uint64_t r = 0; r < n; ++r) {
    ASSERT_NE(m.bands_used[r], 0u) << "row " << r << " lost every band";
    EXPECT_EQ(a.bands_used[r], 0b11111u);
    for (std::size_t b = 0; b < 5; ++b) {
      const bool kept = m.bands_used[r] >> b & 1u;
      dropped[b] += !kept;
      EXPECT_EQ(m.x[r * 16 + 10 + b], kept ? 1.0 : 0.0);
      if (kept) {
        EXPECT_EQ(m.flux_obs[r * 5 + b], a.flux_obs[r * 5 + b]);
        EXPECT_EQ(m.x[r * 16 + b], a.x[r * 11 + b]);
      } else {
        EXPECT_TRUE(std::isnan(m.flux_obs[r * 5 + b]));
        EXPECT_TRUE(std::isinf(m.sigma[r * 5 + b]));
        EXPECT_EQ(m.x[r * 16 + b], noise::kMissingMag);
      }
    }
  }
  // Binomial(400, p): the observed rate within 4 standard deviations of p.
  for (std::size_t b = 0; b < 5; ++b) {
    const double p = st.rates[b], sd = std::sqrt(p * (1 - p) / n);
    EXPECT_NEAR(dropped[b] / static_cast<double>(n), p, 4 * sd) << "band " << b;
  }
  // A fixed drop list removes exactly that band from every row.
  const TrainingSimulator drop_r(model(), prior(), full, RedshiftRange{0.0, 0.2, false, {}}, seed, 1000,
                                 BandMasks(st, full, {"r"}));
  SimulatedRows d;
  drop_r.simulate(0, 50, d, c);
  for (std::uint64_t r = 0; r < 50; ++r) EXPECT_EQ(d.bands_used[r], 0b11011u);
}

}  // namespace
}  // namespace sedpost::simulate
