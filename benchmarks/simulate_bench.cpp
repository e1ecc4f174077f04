// Training-set simulation throughput (issue #8): kept rows per second on one core, without the
// HDF5 writing (`sedpost simulate` adds that), and its parts.
//   SimulateRows/N     TrainingSimulator::simulate of N rows (prior draws, flux-bound
//                      pre-check, SED at a new z, noise, conditioning vector)
//   FluxBoundsPerDraw  sps::FluxBounds::bounds for one prior draw
//   SedNewZPerDraw     SedModel::evaluate at a new z (what a draw costs without the pre-check)
// Counters: rows_per_s (kept rows), draws_per_row, evals_per_row (SED evaluations per kept row).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/rng.hpp"
#include "prior/prior.hpp"
#include "simulate/model_config.hpp"
#include "simulate/noise_file.hpp"
#include "simulate/training_simulator.hpp"
#include "sps/flux_bounds.hpp"
#include "sps/sed_model.hpp"

namespace {

using namespace sedpost;

std::string data_dir() {
  if (const char* d = std::getenv("SEDPOST_DATA_DIR"); d && *d) return d;
  if (const char* s = std::getenv("SEDPOST_SOURCE_DIR"); s && *s) return std::string(s) + "/../shared/data";
  return "../shared/data";
}

/// configs/demo.toml's model, prior, redshift range and noise catalog.
struct Setup {
  Config config = Config::from_text(
      "[model]\nssp = \"bc03\"\nbands = [\"speclite:sdss2010-u\", \"speclite:sdss2010-g\", "
      "\"speclite:sdss2010-r\", \"speclite:sdss2010-i\", \"speclite:sdss2010-z\"]\nz_min = 0.0\nz_max = 0.2\n"
      "[noise]\ncatalog = \"catalogs/nsa/A1367_NSAmastertable.fits\"\n",
      "simulate_bench");
  sps::SedModel model{simulate::sed_settings_from_config(config, data_dir())};
  prior::Prior prior{prior::PriorSettings::from_config(config)};
  noise::NoiseModel noise = simulate::load_or_fit_noise(config, data_dir(), "");
  simulate::TrainingSimulator sim{model, prior, noise, simulate::redshift_range_from_config(config), 20221};
};

Setup& setup() {
  static Setup s;
  return s;
}

void BM_SimulateRows(benchmark::State& state) {
  auto& s = setup();
  const auto n = static_cast<std::uint64_t>(state.range(0));
  simulate::SimulatedRows rows;
  simulate::SimulationCounters c;
  std::uint64_t first = 0;
  for (auto _ : state) {
    s.sim.simulate(first, n, rows, c);
    benchmark::DoNotOptimize(rows.x.data());
    first += n;
  }
  state.counters["rows_per_s"] = benchmark::Counter(static_cast<double>(c.rows), benchmark::Counter::kIsRate);
  state.counters["draws_per_row"] = static_cast<double>(c.rows + c.rejected_draws) / static_cast<double>(c.rows);
  state.counters["evals_per_row"] = static_cast<double>(c.sed_evaluations) / static_cast<double>(c.rows);
}
BENCHMARK(BM_SimulateRows)->Arg(2000)->Unit(benchmark::kMillisecond);

std::vector<double> draws(int n, std::vector<double>& z) {
  auto& s = setup();
  std::vector<double> th;
  for (int i = 0; i < n; ++i) {
    Rng r(1, RngStream::kPrior, static_cast<std::uint64_t>(i)), rz(1, RngStream::kRedshift, static_cast<std::uint64_t>(i));
    const auto t = s.prior.to_physical(s.prior.sample_flow(r));
    th.insert(th.end(), t.begin(), t.end());
    z.push_back(rz.uniform(1e-4, 0.2));
  }
  return th;
}

void BM_FluxBoundsPerDraw(benchmark::State& state) {
  auto& s = setup();
  static const sps::FluxBounds fb(s.model, 0.0, 0.2);
  std::vector<double> z;
  const auto th = draws(4096, z);
  double lo[5], hi[5];
  size_t i = 0;
  for (auto _ : state) {
    fb.bounds(th.data() + 12 * i, z[i], lo, hi);
    benchmark::DoNotOptimize(lo);
    i = (i + 1) % z.size();
  }
  state.counters["draws_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FluxBoundsPerDraw)->Unit(benchmark::kMicrosecond);

void BM_SedNewZPerDraw(benchmark::State& state) {
  auto& s = setup();
  std::vector<double> z;
  const auto th = draws(4096, z);
  double f[5];
  size_t i = 0;
  for (auto _ : state) {
    s.model.evaluate(th.data() + 12 * i, z[i], f);
    benchmark::DoNotOptimize(f);
    i = (i + 1) % z.size();
  }
  state.counters["evals_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SedNewZPerDraw)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
