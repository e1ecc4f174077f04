// Ensemble slice sampler on the 12-D correlated Gaussian (condition number 1e3, random
// rotation) with 32 walkers: 1,000 burn-in steps (mu tuning) then 10,000 sampling steps.
// Counters: ess_per_1k_evals = min over parameters of ESS (tau emcee-style, c = 5) per 1,000
// log-density evaluations of the sampling phase; ess_per_s = min ESS per second of the whole
// run (burn-in included). Reference, original zeus (Python): 8.0 per 1k evals, 677 ESS/s.
#include "../tests/mcmc/targets.hpp"
#include "mcmc/diagnostics.hpp"
#include "mcmc/ensemble_slice_sampler.hpp"
#include "mcmc/optimize.hpp"

#include <benchmark/benchmark.h>

#include <chrono>

namespace {

using namespace sedpost;
using namespace sedpost::mcmc;

void run_gaussian(benchmark::State& state, MoveType move) {
  const testing::CorrelatedGaussian target(12, 1e3, 42);
  const BatchLogDensity f = target.log_density();
  SamplerSettings s;
  s.n_walkers = 32;
  s.n_burn = 1000;
  s.n_steps = 10000;
  s.move = move;
  s.seed = 7;
  Rng rng(s.seed, RngStream::kTest, 1);
  const Eigen::MatrixXd init =
      init_walkers_around(f, target.mean, target.eigvals.cwiseSqrt() * 0.01, s.n_walkers, rng);
  const EnsembleSliceSampler sampler(f, 12, s);
  ChainDiagnostics diag;
  SamplerResult result;
  double seconds = 0.0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    result = sampler.run(init);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.PauseTiming();
    diag = diagnose(result);
    state.ResumeTiming();
  }
  state.counters["ess_per_1k_evals"] = diag.ess_per_1k_evals;
  state.counters["ess_per_1k_evals_incl_burn"] = diag.ess.minCoeff() / result.total_evals * 1000.0;
  state.counters["ess_per_s"] = diag.ess.minCoeff() / seconds;
  state.counters["min_ess"] = diag.ess.minCoeff();
  state.counters["max_tau"] = diag.tau.maxCoeff();
  state.counters["evals_per_step"] = diag.evals_per_step;
  state.counters["max_rhat"] = diag.rhat.maxCoeff();
  state.counters["final_mu"] = result.final_mu;
  state.counters["sampling_evals"] = static_cast<double>(result.sampling_evals);
}

void BM_Gaussian12D_Differential(benchmark::State& state) { run_gaussian(state, MoveType::kDifferential); }
void BM_Gaussian12D_Gaussian(benchmark::State& state) { run_gaussian(state, MoveType::kGaussian); }

BENCHMARK(BM_Gaussian12D_Differential)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gaussian12D_Gaussian)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
