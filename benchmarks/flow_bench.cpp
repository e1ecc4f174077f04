// Flow benchmarks at SEDflow size (15 MADE blocks x 500 hidden units, D = 11 theta, C = 11 x).
//   train/<batch>: one training epoch (Adam steps + validation pass), samples/s job-wide;
//   sample_10k:    10,000 posterior samples for one galaxy (log q included);
//   log_prob_10k:  log q of 10,000 (theta, x) pairs.
// Peers (sbi/nflows, same machine kind): train 798 / 1698 / 2017 samples/s at batch
// 50 / 256 / 1024; 10k samples 17 s; 10k log_prob 1.45 s.
// Threads: SEDPOST_BENCH_THREADS (default 2). OPENBLAS_CORETYPE is reported in the context.
// Run: build-flow/benchmarks/flow_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "core/comm.hpp"
#include "core/logger.hpp"
#include "core/rng.hpp"
#include "flow/flow.hpp"
#include "flow/train.hpp"

namespace {

using sedpost::flow::Flow;

constexpr int kD = 11, kC = 11;

sedpost::flow::MafConfig sedflow_config() {
  sedpost::flow::MafConfig c;
  c.n_theta = kD;
  c.n_x = kC;
  c.n_blocks = 15;
  c.hidden = 500;
  c.seed = 1;
  return c;
}

Flow& shared_flow() {
  static std::unique_ptr<Flow> f;
  if (!f) {
    sedpost::flow::FlowMetadata meta;
    meta.theta_lower.assign(kD, 0.0);
    meta.theta_upper.assign(kD, 1.0);
    f = std::make_unique<Flow>(sedflow_config(), meta);
  }
  return *f;
}

/// Synthetic training rows: theta uniform in the unit box, x a noisy nonlinear function.
void make_data(std::int64_t n, std::vector<float>& theta, std::vector<float>& x) {
  theta.resize(n * kD);
  x.resize(n * kC);
  for (std::int64_t i = 0; i < n; ++i) {
    sedpost::Rng rng(3, sedpost::RngStream::kTest, static_cast<std::uint64_t>(i));
    for (int j = 0; j < kD; ++j) theta[i * kD + j] = static_cast<float>(rng.uniform());
    for (int j = 0; j < kC; ++j)
      x[i * kC + j] = static_cast<float>(std::sin(3.0 * theta[i * kD + j]) + theta[i * kD + (j + 1) % kD] +
                                         0.1 * rng.normal());
  }
}

void BM_TrainEpoch(benchmark::State& state) {
  const std::int64_t batch = state.range(0);
  // About 50 optimizer steps per epoch (>= 2,500 rows).
  const std::int64_t n = std::max<std::int64_t>(2500, batch * 50 * 10 / 9);
  std::vector<float> theta, x;
  make_data(n, theta, x);
  Flow& flow = shared_flow();
  sedpost::SerialComm comm;
  sedpost::flow::TrainSettings st;
  st.batch_size = batch;
  st.max_epochs = 1;
  st.progress = false;
  double rows = 0;
  for (auto _ : state) {
    const auto r = sedpost::flow::train(comm, flow, st, theta.data(), x.data(), n);
    state.SetIterationTime(r.curve.back().seconds);
    rows = static_cast<double>(r.n_train);
    state.counters["samples_per_s"] = rows / r.curve.back().seconds;
  }
  state.counters["train_rows"] = rows;
}

void BM_Sample10k(benchmark::State& state) {
  Flow& flow = shared_flow();
  std::vector<float> x(kC, 0.3f), out(10000 * kD), lq(10000);
  std::uint64_t seed = 1;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    flow.sample(x.data(), 1, 10000, seed++, out.data(), lq.data());
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["samples_per_s"] = benchmark::Counter(10000.0 * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_LogProb10k(benchmark::State& state) {
  Flow& flow = shared_flow();
  std::vector<float> theta, x, out(10000);
  make_data(10000, theta, x);
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    flow.log_prob(theta.data(), x.data(), 10000, out.data());
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    benchmark::DoNotOptimize(out.data());
  }
}

BENCHMARK(BM_TrainEpoch)->Arg(50)->Arg(256)->Arg(1024)->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_Sample10k)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LogProb10k)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  const char* th = std::getenv("SEDPOST_BENCH_THREADS");
  const int threads = th ? std::atoi(th) : 2;
  sedpost::flow::set_threads(threads);
  sedpost::logger().set_level(sedpost::LogLevel::kWarn);
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  benchmark::AddCustomContext("OPENBLAS_CORETYPE", core ? core : "(unset)");
  benchmark::AddCustomContext("torch_threads", std::to_string(sedpost::flow::get_threads()));
  benchmark::AddCustomContext("flow", "15 blocks x 500 hidden, D=11, C=11, " +
                                          std::to_string(shared_flow().parameter_count()) + " parameters");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
