// Flow benchmarks at SEDflow size (15 MADE blocks x 500 hidden units, D = 11 theta, C = 11 x).
//   train/<batch>: one training epoch (Adam steps + validation pass), samples/s job-wide
//                  (50 steps; 12 at batch 4,096);
//   sample_10k:    10,000 posterior samples for one galaxy (log q included);
//   sample_1k/G:   1,000 samples for each of G galaxies in ONE call (catalog inference);
//                  per_galaxy_ms is the time per galaxy;
//   log_prob_10k:  log q of 10,000 (theta, x) pairs.
// GFLOPs counters: 2 flops per live (unmasked) multiply-add of the MADE layers, the count
// the inference kernels execute (src/flow/made_kernels.cpp); compare with the machine's sgemm
// (BUILD-NOTES: 80 / 168 GFLOP/s on 1 / 2 threads with OPENBLAS_CORETYPE=Haswell).
// Peers (sbi/nflows, same machine kind): train 798 / 1698 / 2017 samples/s at batch
// 50 / 256 / 1024; 10k samples 17 s; 10k log_prob 1.45 s.
// Device: SEDPOST_BENCH_DEVICE = cpu (default: the CPU kernels) or cuda (the LibTorch path on
// GPU 0 of a CUDA build, docs/gpu.md); the context names the GPU.
// Threads: SEDPOST_BENCH_THREADS (default 2). OPENBLAS_CORETYPE and SEDPOST_FLOW_ISA (caps the
// flow's own kernels: avx2 | scalar; default the best the CPU has) are reported in the context.
// Run: build-flow/benchmarks/flow_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <vector>

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
    const char* device = std::getenv("SEDPOST_BENCH_DEVICE");
    f->set_device(sedpost::flow::select_device(device ? device : "cpu", 0));
  }
  return *f;
}

/// Live multiply-adds per row of one forward / inverse pass (as kern::macs_per_row): hidden
/// unit k has degree k mod (D-1) + 1 and sees inputs of degree <= its own; outputs of
/// dimension i see hidden units of degree <= i; the context layer is dense.
double flops_per_row() {
  const auto c = sedflow_config();
  const int D = c.n_theta, H = c.hidden;
  std::vector<int> count(D + 1, 0);
  for (int k = 0; k < H; ++k) ++count[k % std::max(1, D - 1) + std::min(1, D - 1)];
  double macs = 0, below = 0;  // below: units of degree <= d
  for (int d = 0; d <= D; ++d) {
    below += count[d];
    macs += count[d] * (std::min(d, D) + c.n_x + c.n_hidden_blocks * below);
    if (d < D) macs += 2 * below;  // output pair of dimension d
  }
  return 2.0 * macs * c.n_blocks;
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
  // About 50 optimizer steps per epoch (>= 2,500 rows); 12 at batch >= 4,096 (55,000 rows).
  const std::int64_t steps = batch >= 4096 ? 12 : 50;
  const std::int64_t n = std::max<std::int64_t>(2500, batch * steps * 10 / 9);
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
  state.counters["GFLOPs"] = benchmark::Counter(1e-9 * flops_per_row() * 10000.0 * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

void BM_Sample1kPerGalaxy(benchmark::State& state) {
  const std::int64_t n_gal = state.range(0), n = 1000;
  Flow& flow = shared_flow();
  std::vector<float> x(n_gal * kC), out(n_gal * n * kD), lq(n_gal * n);
  for (std::int64_t g = 0; g < n_gal; ++g)
    for (int j = 0; j < kC; ++j) x[g * kC + j] = static_cast<float>(0.1 * j + 0.05 * g);
  std::uint64_t seed = 1;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    flow.sample(x.data(), n_gal, n, seed++, out.data(), lq.data());
    state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["per_galaxy_ms"] = benchmark::Counter(1e-3 * static_cast<double>(n_gal),
                                                       benchmark::Counter::kIsIterationInvariantRate |
                                                           benchmark::Counter::kInvert);
  state.counters["GFLOPs"] = benchmark::Counter(1e-9 * flops_per_row() * static_cast<double>(n * n_gal) *
                                                    state.iterations(),
                                                benchmark::Counter::kIsRate);
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
  state.counters["GFLOPs"] = benchmark::Counter(1e-9 * flops_per_row() * 10000.0 * state.iterations(),
                                                benchmark::Counter::kIsRate);
}

BENCHMARK(BM_TrainEpoch)->Arg(50)->Arg(256)->Arg(1024)->Arg(4096)->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_Sample10k)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sample1kPerGalaxy)->Arg(1)->Arg(16)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LogProb10k)->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  const char* th = std::getenv("SEDPOST_BENCH_THREADS");
  const int threads = th ? std::atoi(th) : 2;
  sedpost::flow::set_threads(threads);
  sedpost::logger().set_level(sedpost::LogLevel::kWarn);
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  benchmark::AddCustomContext("OPENBLAS_CORETYPE", core ? core : "(unset)");
  const char* isa = std::getenv("SEDPOST_FLOW_ISA");
  benchmark::AddCustomContext("SEDPOST_FLOW_ISA", isa ? isa : "(unset: best of the CPU)");
  benchmark::AddCustomContext("torch_threads", std::to_string(sedpost::flow::get_threads()));
  const sedpost::flow::Device device = shared_flow().device();
  benchmark::AddCustomContext("device", device.is_cuda() ? device.name() + " (" +
                                                               sedpost::flow::cuda_device_name(device.index) + ")"
                                                         : std::string("cpu (the CPU kernels)"));
  benchmark::AddCustomContext("flow", "15 blocks x 500 hidden, D=11, C=11, " +
                                          std::to_string(shared_flow().parameter_count()) + " parameters");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
