#include <gtest/gtest.h>

#include <cstring>

#include "core/rng.hpp"
#include "mpi/mpi_comm.hpp"

namespace sedpost::mpi {
namespace {

/// The draws a rank makes for global object `i`: a few normals from Rng(seed, kPrior, i).
std::string draws_for(std::uint64_t i) {
  Rng rng(2024, RngStream::kPrior, i);
  double v[3] = {rng.normal(), rng.uniform(), rng.normal()};
  return std::string(reinterpret_cast<const char*>(v), sizeof v);
}

TEST(MpiRng, DrawsPerObjectDoNotDependOnRankCount) {
  MpiComm comm;
  const std::uint64_t n = 257;
  const RowRange mine = block_range(n, comm.rank(), comm.size());
  std::string local;
  for (std::uint64_t i = mine.begin; i < mine.end; ++i) local += draws_for(i);
  const auto parts = comm.gather(local, 0);
  if (comm.is_root()) {
    std::string all;
    for (const auto& p : parts) all += p;
    std::string serial;
    for (std::uint64_t i = 0; i < n; ++i) serial += draws_for(i);
    EXPECT_EQ(all.size(), serial.size());
    EXPECT_TRUE(all == serial) << "per-object draws changed with " << comm.size() << " ranks";
  }
}

}  // namespace
}  // namespace sedpost::mpi
