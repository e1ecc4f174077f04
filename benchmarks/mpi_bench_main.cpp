// main() for benchmarks that run under mpirun: MPI session, results printed by rank 0 only.
// Benchmarks in such executables must use ->Iterations(k) so all ranks run the same calls.
#include <benchmark/benchmark.h>

#include "mpi/mpi_comm.hpp"

namespace {
class NullReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};
}  // namespace

int main(int argc, char** argv) {
  sedpost::mpi::MpiSession session(&argc, &argv);
  sedpost::mpi::MpiComm comm;
  benchmark::Initialize(&argc, argv);
  if (comm.is_root()) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    NullReporter null_reporter;
    benchmark::RunSpecifiedBenchmarks(&null_reporter);
  }
  benchmark::Shutdown();
  return 0;
}
