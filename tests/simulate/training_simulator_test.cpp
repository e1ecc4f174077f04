// TrainingSimulator: the flux-bound pre-check keeps exactly the rows that evaluating every
// prior draw keeps (MODEL.md 5), and rows depend on (seed, row index) only.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

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
  const TrainingSimulator sim(model(), prior(), noise_model(), RedshiftRange{0.0, 0.2}, seed);
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
  const TrainingSimulator sim(model(), prior(), noise_model(), RedshiftRange{0.0, 0.2}, 5);
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

}  // namespace
}  // namespace sedpost::simulate
