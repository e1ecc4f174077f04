#include "core/comm.hpp"

#include <gtest/gtest.h>

namespace sedpost {
namespace {

TEST(CoreComm, BlockRangesTileTheRowsInOrder) {
  for (std::uint64_t n : {0ull, 1ull, 7ull, 100ull, 101ull}) {
    for (int size : {1, 2, 3, 8}) {
      std::uint64_t next = 0;
      for (int r = 0; r < size; ++r) {
        const RowRange range = block_range(n, r, size);
        EXPECT_EQ(range.begin, next);
        EXPECT_LE(range.count(), n / size + 1);
        EXPECT_GE(range.count(), n / size);
        next = range.end;
      }
      EXPECT_EQ(next, n);
    }
  }
}

TEST(CoreComm, SerialCommIsRankZeroOfOne) {
  SerialComm comm;
  EXPECT_EQ(comm.rank(), 0);
  EXPECT_EQ(comm.size(), 1);
  EXPECT_TRUE(comm.is_root());
  std::string s = "unchanged";
  comm.broadcast(s, 0);
  EXPECT_EQ(s, "unchanged");
  EXPECT_DOUBLE_EQ(comm.sum(2.5), 2.5);
  EXPECT_EQ(comm.gather("x", 0), std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace sedpost
