// Unit tests of the rational-quadratic spline transform and of the MAF with spline
// transforms (MafConfig::transform = kSpline): inverse, log-determinant, density
// normalisation, sampling, file round trip (and version-2 files still loading), training.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "flow/flow.hpp"
#include "flow/maf_model.hpp"
#include "flow/rq_spline.hpp"
#include "flow/train.hpp"
#include "flow_test_util.hpp"

namespace sedpost::flow {
namespace {

using testing::integrate_2d;
using testing::normals;


torch::Tensor tensor(std::vector<float> v, std::vector<std::int64_t> shape) {
  return torch::from_blob(v.data(), shape, torch::kFloat32).clone();
}

TEST(RqSpline, InverseUndoesForwardAndTailsAreIdentity) {
  SplineShape s;
  s.bins = 8;
  s.tail_bound = 3.0;
  const std::int64_t N = 400, D = 3;
  const torch::Tensor params = tensor(normals(N * D * s.params_per_value(), 1, 1.0), {N, D, s.params_per_value()});
  const torch::Tensor x = tensor(normals(N * D, 2, 2.5), {N, D});  // ~23 % in the tails
  torch::Tensor ld_f, ld_i, ld_back;
  const torch::Tensor y = rq_spline(x, params, s, false, &ld_f);
  const torch::Tensor back = rq_spline(y, params, s, true, &ld_i);
  // float32 y resolves x only to (rounding of y) / slope: compare in y units.
  EXPECT_LT(((back - x).abs() * ld_f.exp()).max().item<double>(), 1e-5);
  EXPECT_LT((rq_spline(back, params, s, false, &ld_back) - y).abs().max().item<double>(), 1e-5);
  EXPECT_LT((ld_i - ld_back).abs().max().item<double>(), 1e-4) << "inverse reports the forward log-det";
  const torch::Tensor tail = x.abs() > 3.0;
  ASSERT_GT(tail.sum().item<int>(), 50);
  EXPECT_EQ((y - x).masked_select(tail).abs().max().item<double>(), 0.0);
  EXPECT_EQ(ld_f.masked_select(tail).abs().max().item<double>(), 0.0);
  // The interval maps onto itself: values stay inside [-B, B].
  EXPECT_LE(y.masked_select(~tail).abs().max().item<double>(), 3.0 + 1e-6);
}

TEST(RqSpline, LogDetIsTheDerivativeAndTheMapIsMonotone) {
  SplineShape s;
  s.bins = 5;
  const std::int64_t N = 2001;
  const torch::Tensor p1 = tensor(normals(s.params_per_value(), 3, 1.5), {1, 1, s.params_per_value()});
  const torch::Tensor params = p1.expand({N, 1, s.params_per_value()}).contiguous();
  torch::Tensor x = torch::linspace(-3.5, 3.5, N, torch::kFloat64).to(torch::kFloat32).view({N, 1});
  x.requires_grad_(true);
  torch::Tensor ld;
  const torch::Tensor y = rq_spline(x, params, s, false, &ld);
  const torch::Tensor dydx = torch::autograd::grad({y.sum()}, {x})[0];
  EXPECT_LT((torch::log(dydx) - ld).abs().max().item<double>(), 1e-4);
  EXPECT_GT(dydx.min().item<double>(), 0.0);
  const torch::Tensor yd = y.detach().view({N});
  EXPECT_TRUE((yd.slice(0, 1) > yd.slice(0, 0, N - 1)).all().item<bool>()) << "not increasing";
  // Continuous at the tail bounds: inside them the slope tends to 1, linearly in the distance.
  auto edge_slope_error = [&](float delta) {
    torch::Tensor edge = torch::tensor({-3.0f + delta, 3.0f - delta}).view({2, 1}).requires_grad_(true);
    const torch::Tensor ye = rq_spline(edge, params.slice(0, 0, 2), s, false, nullptr);
    return (torch::autograd::grad({ye.sum()}, {edge})[0] - 1.0).abs().max().item<double>();
  };
  const double far = edge_slope_error(1e-3f), near = edge_slope_error(1e-5f);
  EXPECT_GT(far, 1e-3) << "the test spline should bend near its ends";
  EXPECT_LT(near, 0.05 * far + 1e-3);
}

MafConfig spline_config(int D, int C, int blocks, int hidden, std::uint64_t seed = 5) {
  MafConfig c = testing::small_config(D, C, blocks, hidden, seed);
  c.transform = Transform::kSpline;
  c.spline_bins = 6;
  return c;
}

/// Scales every weight so the splines are far from the identity the initialisation gives.
void roughen(Flow& f, double factor) {
  std::vector<float> p = f.parameters();
  for (float& v : p) v = static_cast<float>(v * factor);
  f.set_parameters(p);
}

TEST(SplineFlow, ForwardAndInverseAgreeAndMatchTheTrainingDensity) {
  const int D = 5, C = 3, B = 300;
  Flow f(spline_config(D, C, 3, 30));
  roughen(f, 3.0);
  const auto& m = f.impl();
  EXPECT_EQ(m.P, 2 + 3 * 6 - 1);  // scale, shift, spline
  c10::InferenceMode guard;
  const torch::Tensor z0 = tensor(normals(B * D, 4), {B, D});
  const torch::Tensor e = tensor(normals(B * C, 5), {B, C});
  torch::Tensor y, ld_inv, z, ld;
  m.inverse_fast(z0, e, torch::arange(B, torch::kInt64), y, ld_inv);
  m.forward_fast(y, e, z, ld);
  EXPECT_LT((z - z0).abs().max().item<double>(), 1e-4) << "forward(inverse(z)) != z";
  EXPECT_LT((ld_inv - ld).abs().max().item<double>(), 1e-3);
  EXPECT_GT(ld.abs().max().item<double>(), 0.5) << "roughened splines should not be near the identity";
  const torch::Tensor lq = m.log_prob_train(y, e);
  EXPECT_LT((lq - (ld - 0.5 * z.pow(2).sum(1) - 0.5 * D * std::log(2 * M_PI))).abs().max().item<double>(), 1e-4);
}


TEST(SplineFlow, LogProbIntegratesToOne) {
  Flow f(spline_config(2, 1, 3, 16));
  roughen(f, 2.5);
  f.set_standardization({0.5, -1.0}, {2.0, 0.7}, {0.0}, {1.0});
  EXPECT_NEAR(integrate_2d(f, {0.3f}, -20, 20, -12, 10, 400), 1.0, 2e-3);
  FlowMetadata meta;
  meta.theta_lower = {-1.0, -1.0};
  meta.theta_upper = {1.0, 1.0};
  Flow g(spline_config(2, 1, 3, 16), meta);
  roughen(g, 2.5);
  g.set_standardization({0.0, 0.0}, {0.3, 0.3}, {0.0}, {1.0});
  EXPECT_NEAR(integrate_2d(g, {-0.4f}, -1.0, 1.0, -1.0, 1.0, 400), 1.0, 2e-3);
}

TEST(SplineFlow, SampleLogQMatchesLogProb) {
  Flow f(spline_config(3, 2, 4, 24));
  roughen(f, 5.0);
  const std::vector<float> x{0.5f, -1.f, 2.0f, 0.3f};
  std::vector<float> lq;
  const auto s = f.sample(x, 3000, 99, &lq);
  std::vector<float> lp(lq.size());
  f.log_prob(s.data(), x.data(), 2, 3000, lp.data());
  double maxdiff = 0;
  for (std::size_t i = 0; i < lp.size(); ++i) maxdiff = std::max(maxdiff, double(std::abs(lp[i] - lq[i])));
  EXPECT_LT(maxdiff, 2e-3);
}

TEST(SplineFlow, FileRoundTripKeepsTheTransform) {
  Flow f(spline_config(2, 3, 2, 12));
  roughen(f, 3.0);
  const Flow g = Flow::from_bytes(f.to_bytes());
  EXPECT_EQ(g.config().transform, Transform::kSpline);
  EXPECT_EQ(g.config().spline_bins, 6);
  EXPECT_EQ(g.config().tail_bound, 3.0);
  const std::vector<float> x{0.3f, 1.0f, -2.0f};
  EXPECT_EQ(f.sample(x, 200, 11), g.sample(x, 200, 11));
}

TEST(SplineFlow, VersionTwoFilesLoadAsAffine) {
  MafConfig c = spline_config(2, 3, 2, 12);
  c.transform = Transform::kAffine;
  Flow f(c);
  // Rewrite the version-3 file as version 2: drop the transform fields (u8 kind, i32 bins,
  // f64 tail bound after the 29 bytes of sizes and seed), fix the size and checksum.
  std::string b = f.to_bytes();
  const std::size_t head = 32, fields = 29, added = 13;
  std::uint64_t size = 0;
  std::memcpy(&size, b.data() + 24, 8);
  std::string payload = b.substr(head, size);
  payload.erase(fields, added);
  std::string v2 = b.substr(0, head) + payload;
  const std::uint32_t version = 2;
  const std::uint64_t new_size = payload.size();
  std::memcpy(v2.data() + 16, &version, 4);
  std::memcpy(v2.data() + 24, &new_size, 8);
  const std::uint64_t sum = fnv1a64(payload.data(), payload.size());
  v2.append(reinterpret_cast<const char*>(&sum), 8);
  const Flow g = Flow::from_bytes(v2);
  EXPECT_EQ(g.config().transform, Transform::kAffine);
  EXPECT_EQ(g.parameters(), f.parameters());
}

TEST(SplineFlow, TrainingLowersTheValidationLoss) {
  // theta ~ N(0, I_2); x = (theta_0 + theta_1^2, theta_1) + 0.2 noise: a curved posterior.
  const std::int64_t n = 2000;
  std::vector<float> theta, x;
  Rng rng(3, RngStream::kTest, 77);
  for (std::int64_t i = 0; i < n; ++i) {
    const double t0 = rng.normal(), t1 = rng.normal();
    theta.push_back(static_cast<float>(t0));
    theta.push_back(static_cast<float>(t1));
    x.push_back(static_cast<float>(t0 + t1 * t1 + 0.2 * rng.normal()));
    x.push_back(static_cast<float>(t1 + 0.2 * rng.normal()));
  }
  TrainSettings st;
  st.batch_size = 100;
  st.max_epochs = 15;
  st.patience = 100;
  st.learning_rate = 3e-3;
  st.progress = false;
  Flow f(spline_config(2, 2, 3, 32));
  SerialComm comm;
  const TrainResult r = train(comm, f, st, theta.data(), x.data(), n);
  ASSERT_EQ(r.curve.size(), 15u);
  // A flow that learned nothing stays near the prior's entropy, 2.84 nats; the exact posterior
  // gives about 0.2 (theta_1 to 0.2 from x_1, theta_0 to ~0.3-0.5 from x_0 - theta_1^2).
  EXPECT_GT(r.curve.front().val_loss, 1.5);
  EXPECT_LT(r.best_val_loss, 1.2);
}

}  // namespace
}  // namespace sedpost::flow
