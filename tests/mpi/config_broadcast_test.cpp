#include <gtest/gtest.h>

#include "core/config.hpp"
#include "mpi/mpi_comm.hpp"

namespace sedpost::mpi {
namespace {

TEST(MpiConfig, BroadcastConfigRoundTrip) {
  MpiComm comm;
  // Only rank 0 has the text (as when rank 0 reads the file).
  std::string text = comm.is_root() ? "seed = 9\n[train]\nbatch_size = 50\nbands = [\"u\", \"g\"]\n" : "";
  comm.broadcast(text, 0);
  Config cfg = Config::from_text(text, "broadcast.toml");
  EXPECT_EQ(cfg.get_int("train.batch_size", 0), 50);
  EXPECT_EQ(cfg.get_strings("train.bands", {}).size(), 2u);
  const auto all = comm.gather(cfg.to_toml(), 0);
  if (comm.is_root()) {
    for (const auto& t : all) EXPECT_EQ(t, all.front());
  }
}

}  // namespace
}  // namespace sedpost::mpi
