// Forward-model throughput (MODEL.md / ARCHITECTURE.md "Where the time goes").
//   FixedZ/batch:N  likelihood-style evaluations at one z (5 SDSS bands, all 12 params varied)
//   SedModelNewZ/M  the simulator's path: a new z for every galaxy (exact band integrals)
//   FreeZModelNewZ/M the photo-z likelihood's path: a new z per evaluation, band weights read
//                   from the ln(1 + z) table (sps::FreeZModel)
//   M = 0: the demo model (SDSS ugriz, z <= 0.2); M = 1: LSST ugrizy (speclite lsst2023,
//   ~7,800 filter nodes each), Inoue 2014 IGM, z <= 3 (configs/rubin.toml)
// Counters: evals_per_s (per core, single thread), madds_per_eval, gflops (2 flops per madd).
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "sps/fixed_z_model.hpp"
#include "sps/free_z_model.hpp"
#include "sps/sed_model.hpp"

namespace {

using sedpost::sps::kNumTheta;

std::string data_dir() {
  if (const char* d = std::getenv("SEDPOST_DATA_DIR"); d && *d) return d;
  if (const char* s = std::getenv("SEDPOST_SOURCE_DIR"); s && *s) return std::string(s) + "/../shared/data";
  return "../shared/data";
}

const sedpost::sps::SedModel& model() {
  static const sedpost::sps::SedModel m([] {
    sedpost::sps::SedModelSettings s;
    s.data_dir = data_dir();
    return s;
  }());
  return m;
}

const sedpost::sps::SedModel& lsst_model() {
  static const sedpost::sps::SedModel m([] {
    sedpost::sps::SedModelSettings s;
    s.data_dir = data_dir();
    s.bands = {"speclite:lsst2023-u", "speclite:lsst2023-g", "speclite:lsst2023-r",
               "speclite:lsst2023-i", "speclite:lsst2023-z", "speclite:lsst2023-y"};
    s.z_max = 3.0;
    s.igm = "inoue2014";
    return s;
  }());
  return m;
}

/// Benchmark argument M: 0 the demo model, 1 the LSST model.
const sedpost::sps::SedModel& model_of(int m) { return m == 0 ? model() : lsst_model(); }

std::vector<double> prior_draws(int n, unsigned seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> th(static_cast<size_t>(n) * kNumTheta);
  const double lg0 = std::log10(4.5e-5), lg1 = std::log10(1.5e-2);
  for (int i = 0; i < n; ++i) {
    double* t = th.data() + static_cast<size_t>(i) * kNumTheta;
    t[0] = 7 + 5.5 * u(g);
    double s = 0;
    for (int k = 0; k < 4; ++k) s += (t[1 + k] = -std::log(u(g)));
    for (int k = 0; k < 4; ++k) t[1 + k] /= s;
    t[5] = u(g);
    t[6] = 0.01 + 13.26 * u(g);
    t[7] = std::pow(10.0, lg0 + u(g) * (lg1 - lg0));
    t[8] = std::pow(10.0, lg0 + u(g) * (lg1 - lg0));
    t[9] = 3 * u(g);
    t[10] = 3 * u(g);
    t[11] = -2 + 3 * u(g);
  }
  return th;
}

void BM_FixedZ(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const sedpost::sps::FixedZModel fm(model(), 0.1);
  constexpr int kPool = 4096;
  const auto th = prior_draws(kPool, 1);
  std::vector<double> out(static_cast<size_t>(batch) * 5);
  int pos = 0;
  for (auto _ : state) {
    if (pos + batch > kPool) pos = 0;
    fm.evaluate_batch(th.data() + static_cast<size_t>(pos) * kNumTheta, batch, out.data());
    benchmark::DoNotOptimize(out.data());
    pos += batch;
  }
  const double evals = static_cast<double>(state.iterations()) * batch;
  state.counters["evals_per_s"] = benchmark::Counter(evals, benchmark::Counter::kIsRate);
  state.counters["madds_per_eval"] = static_cast<double>(fm.multiply_adds_per_eval());
  state.counters["gflops"] = benchmark::Counter(evals * 2.0 * fm.multiply_adds_per_eval() * 1e-9,
                                                benchmark::Counter::kIsRate);
  state.counters["nodes"] = fm.num_nodes();
  state.counters["bins"] = fm.num_bins();
}
BENCHMARK(BM_FixedZ)->Arg(1)->Arg(16)->Arg(256)->Unit(benchmark::kMicrosecond);

/// A new z for every evaluation through `eval(theta, z, flux)`: z uniform on (1e-4, z_max].
template <class Eval>
void new_z_loop(benchmark::State& state, const sedpost::sps::SedModel& m, const Eval& eval) {
  constexpr int kPool = 4096;
  const auto th = prior_draws(kPool, 2);
  std::mt19937_64 g(3);
  std::uniform_real_distribution<double> u(1e-4, m.settings().z_max);
  std::vector<double> zs(kPool);
  for (double& z : zs) z = u(g);
  std::vector<double> out(static_cast<size_t>(m.num_bands()));
  int pos = 0;
  for (auto _ : state) {
    if (pos == kPool) pos = 0;
    eval(th.data() + static_cast<size_t>(pos) * kNumTheta, zs[static_cast<size_t>(pos)], out.data());
    benchmark::DoNotOptimize(out.data());
    ++pos;
  }
  state.counters["galaxies_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_SedModelNewZ(benchmark::State& state) {
  const auto& m = model_of(static_cast<int>(state.range(0)));
  new_z_loop(state, m, [&](const double* t, double z, double* f) { m.evaluate(t, z, f); });
}
BENCHMARK(BM_SedModelNewZ)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_FreeZModelNewZ(benchmark::State& state) {
  const auto& m = model_of(static_cast<int>(state.range(0)));
  const sedpost::sps::FreeZModel free_z(m);
  new_z_loop(state, m, [&](const double* t, double z, double* f) { free_z.evaluate(t, z, f); });
}
BENCHMARK(BM_FreeZModelNewZ)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_FixedZSetup(benchmark::State& state) {
  double z = 0.01;
  for (auto _ : state) {
    sedpost::sps::FixedZModel fm(model(), z);
    benchmark::DoNotOptimize(&fm);
    z = z > 0.19 ? 0.01 : z + 0.001;
  }
}
BENCHMARK(BM_FixedZSetup)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
