#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.hpp"
#include "flow/flow.hpp"
#include "flow/train.hpp"
#include "mpi/mpi_comm.hpp"

namespace sedpost::mpi {
namespace {

/// Row i of a linear-Gaussian problem, a function of the global row index only:
/// theta ~ N(0, I_2), x = (theta_0 + theta_1 + 0.3 e_0, theta_0 - theta_1 + 0.3 e_1).
void make_row(std::uint64_t i, float* theta, float* x) {
  Rng rng(77, RngStream::kTest, i);
  const double t0 = rng.normal(), t1 = rng.normal();
  theta[0] = static_cast<float>(t0);
  theta[1] = static_cast<float>(t1);
  x[0] = static_cast<float>(t0 + t1 + 0.3 * rng.normal());
  x[1] = static_cast<float>(t0 - t1 + 0.3 * rng.normal());
}

TEST(MpiFlowTrain, RanksTrainTheSameWeightsAsOneProcess) {
  MpiComm comm;
  flow::set_threads(1);
  const std::uint64_t n = 1500;
  flow::MafConfig cfg;
  cfg.n_theta = 2;
  cfg.n_x = 2;
  cfg.n_blocks = 2;
  cfg.hidden = 16;
  cfg.n_hidden_blocks = 2;
  cfg.seed = 4;
  flow::TrainSettings st;
  st.batch_size = 100;  // global batch: each rank back-propagates its part of it
  st.max_epochs = 3;
  st.patience = 100;
  st.seed = 6;
  st.progress = false;

  // Reference: one process, all rows.
  std::vector<float> theta_all(n * 2), x_all(n * 2);
  for (std::uint64_t i = 0; i < n; ++i) make_row(i, &theta_all[i * 2], &x_all[i * 2]);
  flow::Flow reference(cfg);
  SerialComm serial;
  const flow::TrainResult r1 =
      flow::train(serial, reference, st, theta_all.data(), x_all.data(), static_cast<std::int64_t>(n));

  // Data-parallel: this rank's block of rows only, gradients averaged by MPI allreduce.
  const RowRange mine = block_range(n, comm.rank(), comm.size());
  flow::Flow parallel(cfg);
  const flow::TrainResult rp = flow::train(comm, parallel, st, theta_all.data() + mine.begin * 2,
                                           x_all.data() + mine.begin * 2, static_cast<std::int64_t>(mine.count()));

  const auto w1 = reference.parameters(), wp = parallel.parameters();
  ASSERT_EQ(w1.size(), wp.size());
  double max_diff = 0;
  for (std::size_t i = 0; i < w1.size(); ++i) max_diff = std::max(max_diff, double(std::abs(w1[i] - wp[i])));
  // Only the float summation order of the gradient differs between 1 and P ranks.
  EXPECT_LT(max_diff, 1e-4) << "on " << comm.size() << " ranks";
  ASSERT_EQ(r1.curve.size(), rp.curve.size());
  for (std::size_t e = 0; e < r1.curve.size(); ++e) {
    EXPECT_NEAR(r1.curve[e].val_loss, rp.curve[e].val_loss, 1e-4);
  }
  // Every rank ends with identical weights.
  double w_sum = 0;
  for (float w : wp) w_sum += w;
  EXPECT_DOUBLE_EQ(comm.max(w_sum), -comm.max(-w_sum));
}

}  // namespace
}  // namespace sedpost::mpi
