#include <gtest/gtest.h>

#include <map>
#include <string>

#include "mpi/mpi_comm.hpp"

namespace sedpost::mpi {
namespace {

TEST(MpiComm, CollectivesAgreeWithTheirSerialMeaning) {
  MpiComm comm;
  const int p = comm.size();
  std::vector<float> f{1.0f, static_cast<float>(comm.rank())};
  comm.allreduce_sum(f.data(), f.size());
  EXPECT_FLOAT_EQ(f[0], static_cast<float>(p));
  EXPECT_FLOAT_EQ(f[1], static_cast<float>(p * (p - 1) / 2));
  EXPECT_DOUBLE_EQ(comm.max(static_cast<double>(comm.rank())), p - 1.0);
  EXPECT_EQ(comm.sum(std::int64_t{2}), 2 * p);

  std::string s = comm.is_root() ? std::string(100000, 'x') + "end" : "";
  comm.broadcast(s, 0);
  EXPECT_EQ(s.size(), 100003u);
  EXPECT_EQ(s.substr(s.size() - 3), "end");

  const auto all = comm.gather("rank" + std::to_string(comm.rank()), 0);
  if (comm.is_root()) {
    ASSERT_EQ(all.size(), static_cast<std::size_t>(p));
    for (int r = 0; r < p; ++r) EXPECT_EQ(all[r], "rank" + std::to_string(r));
  } else {
    EXPECT_TRUE(all.empty());
  }
}

TEST(MpiComm, NodeRanksNumberTheRanksOfEachNode) {
  MpiComm comm;
  // Each node's ranks are numbered 0..n-1 in rank order (their GPUs, docs/gpu.md): gathered
  // with the host names, every host's node ranks must be exactly 0, 1, ...
  char host[256] = {};
  int len = 0;
  MPI_Get_processor_name(host, &len);
  const auto all = comm.gather(std::string(host, static_cast<std::size_t>(len)) + "\n" +
                                   std::to_string(comm.node_rank()), 0);
  EXPECT_GE(comm.node_rank(), 0);
  EXPECT_LE(comm.node_rank(), comm.rank());
  if (comm.is_root()) {
    std::map<std::string, int> next;  // host -> the node rank its next rank must have
    for (const std::string& entry : all) {
      const auto cut = entry.find('\n');
      EXPECT_EQ(std::stoi(entry.substr(cut + 1)), next[entry.substr(0, cut)]++) << entry;
    }
  }
}

TEST(MpiComm, WorkCounterHandsOutEveryChunkOnce) {
  MpiComm comm;
  std::int64_t claimed_sum = 0, claimed_count = 0;
  {
    WorkCounter counter(comm);
    for (std::int64_t c; (c = counter.next()) < 100;) {
      claimed_sum += c;
      ++claimed_count;
    }
    comm.barrier();  // keep the window alive until every rank is done
  }
  EXPECT_EQ(comm.sum(claimed_count), 100);
  EXPECT_EQ(comm.sum(claimed_sum), 99 * 100 / 2);
}

}  // namespace
}  // namespace sedpost::mpi
