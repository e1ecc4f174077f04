// Parallel-HDF5 writer throughput: every rank writes its block of rows of one shared
// [N, 32] float32 dataset (a training set's size per row), collectively, then commits.
// Run: mpirun -n 1 build/benchmarks/io_bench ; mpirun -n 2 build/benchmarks/io_bench
// Counter MB_per_s = total bytes written by all ranks / wall time of the slowest rank.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>

#include "io/output_file.hpp"
#include "mpi/parallel_h5.hpp"

namespace {

/// range(0) = rows; range(1) = 1: MPI-IO driver (what the pipeline uses at any rank count),
/// 0: HDF5's serial driver (possible on one rank only; the baseline).
void BM_ParallelRowWrite(benchmark::State& state) {
  sedpost::mpi::MpiComm comm;
  const bool force_mpio = state.range(1) == 1;
  const std::uint64_t n = static_cast<std::uint64_t>(state.range(0)), cols = 32;
  std::string path = comm.is_root() ? (std::filesystem::temp_directory_path() / "sedpost_io_bench.h5").string() : "";
  comm.broadcast(path, 0);
  const sedpost::RowRange mine = sedpost::block_range(n, comm.rank(), comm.size());
  std::vector<float> rows(mine.count() * cols, 1.5f);
  double total_s = 0;
  for (auto _ : state) {
    comm.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    {
      sedpost::io::FileAccess access =
          force_mpio || comm.size() > 1 ? sedpost::mpi::parallel_access(comm) : sedpost::io::FileAccess::serial();
      sedpost::io::OutputFile out(path, comm, access);
      out.file().create_dataset("x", sedpost::io::DType::kFloat32, {n, cols});
      out.file().write_rows("x", mine.begin, mine.count(), rows.data());
      out.commit();
    }
    const double dt = comm.max(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    state.SetIterationTime(dt);
    total_s += dt;
  }
  const double bytes = static_cast<double>(n * cols * sizeof(float)) * static_cast<double>(state.iterations());
  state.counters["MB_per_s"] = bytes / total_s / 1e6;
  state.counters["ranks"] = comm.size();
  if (comm.is_root()) std::filesystem::remove(path);
}
BENCHMARK(BM_ParallelRowWrite)
    ->ArgNames({"rows", "mpio"})
    ->ArgsProduct({{1 << 16, 1 << 20}, {0, 1}})
    ->Iterations(5)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
