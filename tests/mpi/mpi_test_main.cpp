// main() for GoogleTest executables run under mpirun: initialises MPI, prints results from
// rank 0 only, and fails on every rank when a test failed on any rank.
#include <gtest/gtest.h>

#include "mpi/mpi_comm.hpp"

int main(int argc, char** argv) {
  sedpost::mpi::MpiSession session(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  sedpost::mpi::MpiComm comm;
  if (comm.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  std::int64_t failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  comm.allreduce_sum(&failed, 1);
  return failed == 0 ? 0 : 1;
}
