// Unit tests of the conditional MAF: density normalisation, autoregressive structure,
// inverses, serialization, data-parallel training equivalence, checkpoint/resume.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "flow/flow.hpp"
#include "flow/maf_model.hpp"
#include "flow/made_backprop.hpp"
#include "flow/train.hpp"
#include "flow_test_util.hpp"
#include "thread_comm.hpp"

namespace sedpost::flow {
namespace {

using testing::integrate_2d;
using testing::normals;
using testing::small_config;


using testing::linear_gaussian;
using testing::Problem;
using testing::tmp_path;

TEST(FlowModel, ParameterCountMatchesSedflow) {
  // sbi build_maf(hidden_features=500, num_transforms=15) on 11 theta / 11 x.
  Flow f(small_config(11, 11, 15, 500));
  // per block: W0 500x11 + b0 500 + Wc 500x11 + bc 500 + 2 x (500x500 + 500) + Wout 22x500 + 22
  EXPECT_EQ(f.parameter_count(), 15 * (5500 + 500 + 5500 + 500 + 2 * 250500 + 11000 + 22));
  EXPECT_LT(f.free_parameter_count(), f.parameter_count());
}

TEST(FlowModel, DegreesFollowNflows) {
  Flow f(small_config(4, 2, 1, 10));
  const auto& m = f.impl();
  // nflows: hidden degree (k mod (D-1)) + 1 -> multiset {1,2,3} with counts 4,3,3.
  std::vector<int> expect{1, 1, 1, 1, 2, 2, 2, 3, 3, 3};
  EXPECT_EQ(m.hidden_degree, expect);
  EXPECT_EQ(m.prefix_le[0], 0);
  EXPECT_EQ(m.prefix_le[1], 4);
  EXPECT_EQ(m.prefix_le[3], 10);
}

TEST(FlowModel, MadeJacobianIsTriangularInDegreeOrder) {
  const int D = 5, C = 3;
  Flow f(small_config(D, C, 2, 32));
  const auto& m = f.impl();
  torch::Tensor y = torch::from_blob(normals(7 * D, 1).data(), {7, D}).clone().requires_grad_(true);
  torch::Tensor e = torch::from_blob(normals(7 * C, 2).data(), {7, C}).clone();
  torch::Tensor out = m.made_dense(0, y, e);  // [7, 2D]: (a_i, b_i) pairs
  for (int o = 0; o < 2 * D; ++o) {
    const int dim = o / 2;
    torch::Tensor g = torch::autograd::grad({out.select(1, o).sum()}, {y}, {}, true, false, true)[0];
    if (!g.defined()) g = torch::zeros_like(y);
    for (int j = 0; j < D; ++j) {
      const double a = g.select(1, j).abs().max().item<double>();
      if (j >= dim)
        EXPECT_EQ(a, 0.0) << "output " << o << " depends on input " << j;
      else
        EXPECT_GT(a, 0.0) << "output " << o << " should depend on input " << j;
    }
  }
  // Transform Jacobian: lower triangular with diagonal s_i > 0.
  torch::Tensor o3 = out.view({7, D, 2});
  torch::Tensor s = torch::softplus(o3.select(2, 0)) + 1e-3;
  torch::Tensor yo = s * y + o3.select(2, 1);
  for (int i = 0; i < D; ++i) {
    torch::Tensor g = torch::autograd::grad({yo.select(1, i).sum()}, {y}, {}, true)[0];
    for (int j = i + 1; j < D; ++j) EXPECT_EQ(g.select(1, j).abs().max().item<double>(), 0.0);
    EXPECT_NEAR(g.select(1, i).sub(s.select(1, i)).abs().max().item<double>(), 0.0, 1e-6);
  }
}

TEST(FlowModel, FastForwardEqualsDenseAndInverseRoundTrips) {
  const int D = 6, C = 4, B = 300;
  Flow f(small_config(D, C, 5, 60));
  const auto& m = f.impl();
  c10::InferenceMode guard;
  auto yv = normals(B * D, 3, 1.5), ev = normals(B * C, 4);
  torch::Tensor y = torch::from_blob(yv.data(), {B, D});
  torch::Tensor e = torch::from_blob(ev.data(), {B, C});
  torch::Tensor z, ld;
  m.forward_fast(y, e, z, ld);
  torch::Tensor lq_dense = m.log_prob_train(y, e);
  torch::Tensor lq_fast = ld - 0.5 * z.pow(2).sum(1) - 0.5 * D * std::log(2 * M_PI);
  EXPECT_LT((lq_dense - lq_fast).abs().max().item<double>(), 1e-4);

  torch::Tensor y2, ld2, y3, ld3;
  m.inverse_fast(z, e, torch::arange(B, torch::kInt64), y2, ld2);
  EXPECT_LT((y2 - y).abs().max().item<double>(), 1e-5) << "inverse(forward(y)) != y";
  EXPECT_LT((ld2 - ld).abs().max().item<double>(), 1e-4);
  y3 = m.inverse_torch(z, e, ld3);
  EXPECT_LT((y3 - y2).abs().max().item<double>(), 1e-5) << "fast inverse != naive D-pass inverse";
  EXPECT_LT((ld3 - ld2).abs().max().item<double>(), 1e-4);
}

/// Hand-written back-propagation (made_backprop.hpp) against LibTorch autograd through the
/// dense masked layers: log q and every unmasked gradient entry agree to float rounding,
/// masked entries are never written, and accumulate = true adds.
void expect_backprop_equals_autograd(int D, int C, int blocks, int hidden, std::int64_t B, int threads) {
  SCOPED_TRACE(::testing::Message() << "D=" << D << " C=" << C << " blocks=" << blocks << " H=" << hidden
                                  << " B=" << B << " threads=" << threads);
  Flow f(small_config(D, C, blocks, hidden, 11));
  Flow::Impl& m = f.impl();
  auto yv = normals(B * D, 21, 1.3), ev = normals(B * C, 22);
  const double scale = 1.0 / 64.0;
  torch::Tensor lq = m.log_prob_train(torch::from_blob(yv.data(), {B, D}), torch::from_blob(ev.data(), {B, C}));
  (lq.sum() * -scale).backward();

  const float kSentinel = 12345.0f;  // masked entries must keep it
  std::vector<float> grad(m.n_params, kSentinel);
  kern::BackpropWorkspace ws;
  const double lq_sum = kern::loss_and_grad(m.kernel_view(), m.grad_view(grad.data()), yv.data(), ev.data(), B,
                                            scale, false, threads, ws);
  EXPECT_NEAR(lq_sum, lq.sum().item<double>(), 1e-5 * std::abs(lq_sum) + 1e-3);
  for (std::size_t p = 0; p < m.params.size(); ++p) {
    const ParamInfo& info = m.params[p];
    const torch::Tensor ref = m.host.leaves[p].grad().contiguous();
    const float* r = ref.data_ptr<float>();
    const float* g = grad.data() + info.offset;
    double max_ref = 0, max_diff = 0;
    bool masked_ok = true;
    for (std::int64_t row = 0; row < info.rows; ++row)
      for (std::int64_t col = 0; col < info.cols; ++col) {
        const std::int64_t i = row * info.cols + col;
        if (info.live_cols.empty() || col < info.live_cols[row]) {
          max_ref = std::max(max_ref, std::abs(double(r[i])));
          max_diff = std::max(max_diff, std::abs(double(r[i]) - g[i]));
        } else {
          masked_ok = masked_ok && g[i] == kSentinel;
        }
      }
    EXPECT_LE(max_diff, 1e-4 * max_ref + 1e-7) << "parameter tensor " << p;
    EXPECT_TRUE(masked_ok) << "masked entry written in parameter tensor " << p;
  }
  // accumulate = true adds a second copy of the gradient.
  std::vector<float> twice = grad;
  kern::loss_and_grad(m.kernel_view(), m.grad_view(twice.data()), yv.data(), ev.data(), B, scale, true, threads, ws);
  for (std::size_t p = 0; p < m.params.size(); ++p)
    for (std::int64_t i = 0; i < (m.params[p].is_bias ? m.params[p].rows : 0); ++i) {
      const std::int64_t k = m.params[p].offset + i;
      EXPECT_NEAR(twice[k], 2.0f * grad[k], 1e-6f + 1e-5f * std::abs(grad[k]));
    }
  for (torch::Tensor& leaf : m.host.leaves) leaf.mutable_grad() = torch::Tensor();
}

TEST(FlowBackprop, GradientEqualsAutograd) {
  if (!kern::backprop_available()) GTEST_SKIP() << "scalar ISA: training uses autograd";
  SCOPED_TRACE(::testing::Message() << "kernels: " << kern::isa_name());
  expect_backprop_equals_autograd(6, 4, 5, 60, 37, 1);    // one partial tile
  expect_backprop_equals_autograd(6, 4, 5, 60, 300, 2);   // two micro-batches, two threads
  expect_backprop_equals_autograd(1, 2, 3, 8, 20, 2);     // D = 1: degree-0 hidden units
  expect_backprop_equals_autograd(11, 11, 2, 500, 50, 2); // SEDflow layer sizes, batch 50
}

/// The back-propagation kernels exist for AVX-512 and AVX2; only the scalar ISA trains with
/// autograd. Under SEDPOST_FLOW_ISA=avx2 (the ctest run flow_test_avx2) on a CPU with AVX2 and
/// FMA the AVX2 set must be the one in use, so that the tests of that run exercise it.
TEST(FlowBackprop, AvailableForAvx512AndAvx2) {
  const std::string isa = kern::isa_name();
  EXPECT_EQ(kern::backprop_available(), isa == "avx512" || isa == "avx2") << isa;
  const char* cap = std::getenv("SEDPOST_FLOW_ISA");
  __builtin_cpu_init();
  if (cap && std::string(cap) == "avx2" && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    EXPECT_EQ(isa, "avx2");
    EXPECT_TRUE(kern::backprop_available());
  }
}

/// adam_update gives the bits of the scalar formula (made_backprop.hpp) and sum_squares the
/// double sum of squares, for the kernel set in use; n leaves a partial vector at the end.
TEST(FlowBackprop, AdamAndSumSquaresMatchScalar) {
  SCOPED_TRACE(::testing::Message() << "kernels: " << kern::isa_name());
  const std::int64_t n = 1003;
  const auto g = normals(n, 31, 0.1);
  auto p = normals(n, 32), m = normals(n, 33, 0.01), v = normals(n, 34, 0.01);
  for (float& x : v) x *= x;
  const kern::AdamStep a{0.9f, 0.999f, 0.1f, 0.001f, 2e-3f, 1.3f, 1e-8f, 0.7f};
  std::vector<float> p_ref = p, m_ref = m, v_ref = v;
  double ss_ref = 0.0;
  for (std::int64_t k = 0; k < n; ++k) {
    const float gk = g[k] * a.clip;
    m_ref[k] = a.b1 * m_ref[k] + a.c1 * gk;
    v_ref[k] = a.b2 * v_ref[k] + a.c2 * gk * gk;
    p_ref[k] -= a.step_size * m_ref[k] / (std::sqrt(v_ref[k]) * a.inv_sqrt_bc2 + a.eps);
    ss_ref += static_cast<double>(g[k]) * g[k];
  }
  kern::adam_update(p.data(), m.data(), v.data(), g.data(), n, a);
  EXPECT_EQ(p, p_ref);
  EXPECT_EQ(m, m_ref);
  EXPECT_EQ(v, v_ref);
  EXPECT_NEAR(kern::sum_squares(g.data(), n), ss_ref, 1e-12 * ss_ref);
}

TEST(FlowModel, InverseWorksForOneDimension) {
  Flow f(small_config(1, 2, 3, 8));
  const auto& m = f.impl();
  c10::InferenceMode guard;
  auto yv = normals(50, 5), ev = normals(100, 6);
  torch::Tensor y = torch::from_blob(yv.data(), {50, 1}), e = torch::from_blob(ev.data(), {50, 2});
  torch::Tensor z, ld, y2, ld2;
  m.forward_fast(y, e, z, ld);
  m.inverse_fast(z, e, torch::arange(50, torch::kInt64), y2, ld2);
  EXPECT_LT((y2 - y).abs().max().item<double>(), 1e-5);
}


TEST(FlowDensity, LogProbIntegratesToOneUnbounded) {
  Flow f(small_config(2, 1, 3, 16));
  f.set_standardization({0.5, -1.0}, {2.0, 0.7}, {0.0}, {1.0});
  const double I = integrate_2d(f, {0.3f}, -20, 20, -12, 10, 800);
  EXPECT_NEAR(I, 1.0, 2e-3);
}

TEST(FlowDensity, LogProbIntegratesToOneInPriorBox) {
  FlowMetadata meta;
  meta.theta_lower = {0.0, -1.0};
  meta.theta_upper = {1.0, 2.0};
  Flow f(small_config(2, 1, 3, 16), meta);
  // Narrow logit scale so the density has no integrable spikes at the box edges.
  f.set_standardization({0.0, 0.0}, {0.3, 0.3}, {0.0}, {1.0});
  const double I = integrate_2d(f, {-0.4f}, 0.0, 1.0, -1.0, 2.0, 800);
  EXPECT_NEAR(I, 1.0, 2e-3);
  // Outside the open box: -inf.
  const auto lp = f.log_prob({1.0f, 0.0f, 0.5f, 2.5f, 0.5f, 0.5f}, {0.f, 0.f, 0.f});
  EXPECT_TRUE(std::isinf(lp[0]) && lp[0] < 0);
  EXPECT_TRUE(std::isinf(lp[1]) && lp[1] < 0);
  EXPECT_TRUE(std::isfinite(lp[2]));
}

TEST(FlowSample, LogQMatchesLogProbAndStaysInBox) {
  FlowMetadata meta;
  meta.theta_lower = {7.0, 0.0, -2.0};
  meta.theta_upper = {12.5, 1.0, 1.0};
  Flow f(small_config(3, 2, 4, 30), meta);
  f.set_standardization({0.0, 0.0, 0.0}, {3.0, 3.0, 3.0}, {1.0, 0.0}, {2.0, 1.0});  // wide: mass near edges
  const std::vector<float> x{0.5f, -1.f, 2.0f, 0.3f};
  std::vector<float> lq;
  const auto s = f.sample(x, 4000, 99, &lq);
  ASSERT_EQ(s.size(), 2u * 4000 * 3);
  std::vector<float> xx;
  for (int g = 0; g < 2; ++g)
    for (int k = 0; k < 4000; ++k) xx.insert(xx.end(), x.begin() + g * 2, x.begin() + g * 2 + 2);
  const auto lp = f.log_prob(s, xx);
  double maxdiff = 0;
  for (std::size_t i = 0; i < s.size() / 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      ASSERT_GT(s[i * 3 + j], meta.theta_lower[j]);
      ASSERT_LT(s[i * 3 + j], meta.theta_upper[j]);
    }
    // float32 theta cannot resolve logit coordinates near the edges: compare the interior.
    bool interior = true;
    for (int j = 0; j < 3; ++j) {
      const double q = (s[i * 3 + j] - meta.theta_lower[j]) / (meta.theta_upper[j] - meta.theta_lower[j]);
      interior = interior && q > 1e-3 && q < 1 - 1e-3;
    }
    if (interior) maxdiff = std::max(maxdiff, double(std::abs(lp[i] - lq[i])));
  }
  EXPECT_LT(maxdiff, 2e-3);
  // The same densities with each observation's x given once for its 4000 draws.
  std::vector<float> shared(lp.size());
  f.log_prob(s.data(), x.data(), 2, 4000, shared.data());
  for (std::size_t i = 0; i < lp.size(); ++i) ASSERT_EQ(shared[i], lp[i]) << "draw " << i;
}

TEST(FlowSample, KeyedByObservationIndex) {
  Flow f(small_config(3, 2, 2, 16));
  const std::vector<float> x{0.5f, -1.f, 2.0f, 0.3f, 1.f, 1.f};
  const auto all = f.sample(x, 50, 5);
  const auto one = f.sample(std::vector<float>(x.begin() + 2, x.begin() + 4), 50, 5, nullptr, 1);
  for (int i = 0; i < 150; ++i) EXPECT_EQ(all[150 + i], one[i]);
}

TEST(FlowFile, SaveLoadRoundTripGivesIdenticalSamples) {
  FlowMetadata meta;
  meta.theta_lower = {0.0, 0.0};
  meta.theta_upper = {1.0, 5.0};
  meta.theta_names = {"a", "b"};
  meta.x_names = {"m_u", "m_g", "z"};
  meta.band_names = {"u", "g"};
  meta.config_text = "[train]\nbatch_size = 50\n";
  Flow f(small_config(2, 3, 3, 20), meta);
  f.set_standardization({0.1, -0.2}, {1.5, 0.5}, {1, 2, 3}, {0.5, 0.25, 2});
  const std::string path = tmp_path("roundtrip.flow");
  f.save(path);
  Flow g = Flow::load(path);
  EXPECT_EQ(g.metadata().theta_names, meta.theta_names);
  EXPECT_EQ(g.metadata().x_names, meta.x_names);
  EXPECT_EQ(g.metadata().band_names, meta.band_names);
  EXPECT_EQ(g.metadata().config_text, meta.config_text);
  EXPECT_EQ(g.metadata().theta_upper, meta.theta_upper);
  EXPECT_EQ(g.x_std(), f.x_std());
  EXPECT_EQ(g.parameters(), f.parameters());
  const std::vector<float> x{0.3f, 1.0f, -2.0f};
  EXPECT_EQ(f.sample(x, 500, 11), g.sample(x, 500, 11));
  std::remove(path.c_str());
}

TEST(FlowFile, CorruptedOrForeignFilesGiveDataError) {
  Flow f(small_config(2, 2, 2, 8));
  const std::string good = f.to_bytes();
  std::string bad = good;
  bad[bad.size() / 2] ^= 0x5a;
  EXPECT_THROW(Flow::from_bytes(bad), DataError);
  EXPECT_THROW(Flow::from_bytes(good.substr(0, good.size() - 9)), DataError);
  bad = good;
  bad[0] = 'X';
  EXPECT_THROW(Flow::from_bytes(bad), DataError);
  bad = good;
  bad[16] = 99;  // format version
  try {
    Flow::from_bytes(bad);
    FAIL() << "no exception";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("version 99"), std::string::npos) << e.what();
  }
  const std::string path = tmp_path("corrupt.flow");
  {
    std::ofstream out(path, std::ios::binary);
    bad = good;
    bad[bad.size() - 100] ^= 1;
    out << bad;
  }
  try {
    Flow::load(path);
    FAIL() << "no exception";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
  EXPECT_THROW(Flow::load(tmp_path("does_not_exist.flow")), IoError);
}

// ---------------------------------------------------------------- training

/// Data-parallel training over two thread "ranks" with uneven shards equals one rank.
/// torch_path_ranks: the two ranks run the LibTorch (device) path on the host, the one rank
/// the CPU kernels: the device path's gradients, allreduce and Adam give the same training.
void expect_two_ranks_match_one(const MafConfig& cfg, bool torch_path_ranks = false) {
  set_threads(1);
  const Problem p = linear_gaussian(600, 1);
  TrainSettings st;
  st.batch_size = 64;
  st.max_epochs = 3;
  st.patience = 100;
  st.seed = 5;
  st.progress = false;

  Flow f1(cfg);
  SerialComm serial;
  const TrainResult r1 = train(serial, f1, st, p.theta.data(), p.x.data(), p.n);

  testing::ThreadGroup group(2);
  Flow fa(cfg), fb(cfg);
  if (torch_path_ranks) {
    fa.impl().set_torch_device(torch::Device(torch::kCPU));
    fb.impl().set_torch_device(torch::Device(torch::kCPU));
  }
  TrainResult ra, rb;
  const std::int64_t split = 250;  // uneven shards on purpose
  std::exception_ptr err;
  std::thread t([&] {
    try {
      testing::ThreadComm c(group, 1);
      rb = train(c, fb, st, p.theta.data() + split * 2, p.x.data() + split * 3, p.n - split);
    } catch (...) {
      err = std::current_exception();
    }
  });
  {
    testing::ThreadComm c(group, 0);
    ra = train(c, fa, st, p.theta.data(), p.x.data(), split);
  }
  t.join();
  if (err) std::rethrow_exception(err);

  EXPECT_EQ(fa.parameters(), fb.parameters()) << "ranks diverged";
  const auto w1 = f1.parameters(), w2 = fa.parameters();
  double maxdiff = 0;
  for (std::size_t i = 0; i < w1.size(); ++i) maxdiff = std::max(maxdiff, double(std::abs(w1[i] - w2[i])));
  EXPECT_LT(maxdiff, 1e-4);
  ASSERT_EQ(r1.curve.size(), ra.curve.size());
  for (std::size_t i = 0; i < r1.curve.size(); ++i) {
    EXPECT_NEAR(r1.curve[i].train_loss, ra.curve[i].train_loss, 1e-4);
    EXPECT_NEAR(r1.curve[i].val_loss, ra.curve[i].val_loss, 1e-4);
  }
  EXPECT_EQ(r1.n_train, ra.n_train);
  EXPECT_EQ(f1.theta_mean(), fa.theta_mean());
  set_threads(0);
}

TEST(FlowTrain, TwoThreadRanksMatchOneRank) { expect_two_ranks_match_one(small_config(2, 3, 2, 16, 9)); }

TEST(FlowTrain, TwoThreadRanksOnTheDevicePathMatchOneKernelRank) {
  expect_two_ranks_match_one(small_config(2, 3, 2, 16, 9), /*torch_path_ranks=*/true);
}

TEST(FlowTrain, TwoThreadRanksMatchOneRankWithSplines) {
  MafConfig cfg = small_config(2, 3, 2, 16, 9);
  cfg.transform = Transform::kSpline;
  cfg.spline_bins = 5;
  expect_two_ranks_match_one(cfg);
}

/// Trains a fresh flow `stop_after` epochs with checkpoints to `ck` (an interrupted run), then
/// resumes `resumed` (freshly built from cfg) from that checkpoint with the full settings `st`.
TrainResult train_interrupted(SerialComm& comm, const MafConfig& cfg, const TrainSettings& st, const Problem& p,
                              const std::string& ck, int stop_after, Flow& resumed) {
  Flow part(cfg);
  TrainSettings first = st;
  first.max_epochs = stop_after;
  first.checkpoint_path = ck;
  train(comm, part, first, p.theta.data(), p.x.data(), p.n);
  TrainSettings rest = st;
  rest.resume_from = ck;
  return train(comm, resumed, rest, p.theta.data(), p.x.data(), p.n);
}

TEST(FlowTrain, ResumeFromCheckpointContinuesExactly) {
  set_threads(1);
  const Problem p = linear_gaussian(400, 2);
  TrainSettings st;
  st.batch_size = 50;
  st.max_epochs = 4;
  st.patience = 100;
  st.progress = false;
  const MafConfig cfg = small_config(2, 3, 2, 16, 3);
  SerialComm comm;
  Flow full(cfg);
  const TrainResult rf = train(comm, full, st, p.theta.data(), p.x.data(), p.n);

  const std::string ck = tmp_path("resume.ckpt");
  std::remove(ck.c_str());
  Flow resumed(cfg);
  const TrainResult rr = train_interrupted(comm, cfg, st, p, ck, 2, resumed);
  ASSERT_EQ(rr.curve.size(), 4u);
  EXPECT_NEAR(rr.curve[3].val_loss, rf.curve[3].val_loss, 1e-6);
  const auto a = full.parameters(), b = resumed.parameters();
  double maxdiff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) maxdiff = std::max(maxdiff, double(std::abs(a[i] - b[i])));
  EXPECT_LT(maxdiff, 1e-6);
  std::remove(ck.c_str());
  set_threads(0);
}

/// Settings whose validation loss plateaus within a few epochs: a large learning rate on
/// small batches (linear_gaussian(300, 3) problems), no progress output.
TrainSettings noisy_settings(int max_epochs, int patience) {
  TrainSettings st;
  st.batch_size = 20;
  st.learning_rate = 2e-2;
  st.max_epochs = max_epochs;
  st.patience = patience;
  st.progress = false;
  return st;
}

TEST(FlowTrain, EarlyStoppingRestoresBestWeights) {
  const Problem p = linear_gaussian(300, 3);
  TrainSettings st = noisy_settings(40, 2);
  Flow f(small_config(2, 3, 2, 16, 4));
  std::vector<float> best;
  st.on_epoch = [&](const EpochRecord& r) {
    if (r.improved) best = f.parameters();
  };
  SerialComm comm;
  const TrainResult r = train(comm, f, st, p.theta.data(), p.x.data(), p.n);
  ASSERT_FALSE(best.empty());
  EXPECT_EQ(f.parameters(), best);
  if (r.early_stopped) {
    EXPECT_EQ(static_cast<int>(r.curve.size()), r.best_epoch + st.patience);
  }
  EXPECT_LT(r.curve.back().train_loss, r.curve.front().train_loss + 1.0);
}

TEST(FlowTrain, ResumeFromAFinishedCheckpointReturnsItsResult) {
  // What `train --flow auto --resume` relies on for a candidate that had finished.
  const Problem p = linear_gaussian(300, 3);
  TrainSettings st = noisy_settings(40, 2);
  const std::string ck = tmp_path("finished.ckpt");
  std::remove(ck.c_str());
  st.checkpoint_path = ck;
  SerialComm comm;
  Flow done(small_config(2, 3, 2, 16, 4));
  const TrainResult first = train(comm, done, st, p.theta.data(), p.x.data(), p.n);
  ASSERT_TRUE(first.early_stopped) << "the test needs a run that stops early";
  Flow again(small_config(2, 3, 2, 16, 4));
  st.resume_from = ck;
  const TrainResult second = train(comm, again, st, p.theta.data(), p.x.data(), p.n);
  EXPECT_TRUE(second.early_stopped);
  EXPECT_EQ(second.curve.size(), first.curve.size()) << "no epoch after the early stop";
  EXPECT_EQ(second.best_val_loss, first.best_val_loss);
  EXPECT_EQ(again.parameters(), done.parameters());
  std::remove(ck.c_str());
}

TEST(FlowTrain, LearningRateDecaysRestartFromTheBestWeights) {
  // With decays, training runs as without them up to the first plateau; each plateau then
  // sends it back to the best weights at lr x factor, and it stops at the plateau after the
  // last decay. Its best validation loss can only be lower.
  const Problem p = linear_gaussian(300, 3);
  const TrainSettings st = noisy_settings(60, 3);
  SerialComm comm;
  Flow plain(small_config(2, 3, 2, 16, 4));
  const TrainResult r0 = train(comm, plain, st, p.theta.data(), p.x.data(), p.n);
  ASSERT_TRUE(r0.early_stopped) << "the test needs a plateau";

  TrainSettings sd = st;
  sd.lr_decays = 2;
  sd.lr_decay_factor = 0.1;
  Flow decayed(small_config(2, 3, 2, 16, 4));
  std::vector<std::vector<float>> weights;  // after every epoch
  sd.on_epoch = [&](const EpochRecord&) { weights.push_back(decayed.parameters()); };
  const TrainResult r2 = train(comm, decayed, sd, p.theta.data(), p.x.data(), p.n);
  ASSERT_GT(r2.curve.size(), r0.curve.size());
  for (std::size_t i = 0; i < r0.curve.size(); ++i) {
    EXPECT_EQ(r2.curve[i].val_loss, r0.curve[i].val_loss) << "epoch " << i + 1;
    EXPECT_DOUBLE_EQ(r2.curve[i].learning_rate, st.learning_rate);
  }
  EXPECT_LE(r2.best_val_loss, r0.best_val_loss);
  // Replay the rule on the curve: lr per epoch, where the weights were reset, where it stopped.
  double lr = st.learning_rate;
  int since = 0, decays = 0, best_epoch = 0;
  std::vector<float> best;
  for (std::size_t i = 0; i < r2.curve.size(); ++i) {
    const EpochRecord& e = r2.curve[i];
    EXPECT_DOUBLE_EQ(e.learning_rate, lr) << "epoch " << e.epoch;
    since = e.improved ? 0 : since + 1;
    if (e.improved) {
      best = weights[i];
      best_epoch = e.epoch;
    }
    if (since == st.patience && decays < sd.lr_decays) {
      EXPECT_EQ(weights[i], best) << "epoch " << e.epoch << " should end on the best weights (epoch " << best_epoch << ")";
      lr *= sd.lr_decay_factor;
      since = 0;
      ++decays;
    } else if (since == st.patience) {
      EXPECT_EQ(i + 1, r2.curve.size()) << "stops at the plateau after the last decay";
    }
  }
  EXPECT_EQ(decays, 2);
  EXPECT_TRUE(r2.early_stopped);
  EXPECT_EQ(decayed.parameters(), best);
  EXPECT_EQ(r2.best_epoch, best_epoch);

  sd.lr_decay_factor = 1.0;
  EXPECT_THROW(train(comm, decayed, sd, p.theta.data(), p.x.data(), p.n), ConfigError);
}

TEST(FlowTrain, ResumeAfterALearningRateDecayContinuesExactly) {
  set_threads(1);
  const Problem p = linear_gaussian(300, 3);
  TrainSettings st = noisy_settings(60, 3);
  st.lr_decays = 3;
  const MafConfig cfg = small_config(2, 3, 2, 16, 4);
  SerialComm comm;
  Flow full(cfg);
  const TrainResult rf = train(comm, full, st, p.theta.data(), p.x.data(), p.n);
  // Interrupt one epoch after the first decay.
  std::size_t cut = 0;
  while (cut < rf.curve.size() && rf.curve[cut].learning_rate == st.learning_rate) ++cut;
  ASSERT_LT(cut + 1, rf.curve.size()) << "the test needs a decay before the end";
  const std::string ck = tmp_path("decay.ckpt");
  std::remove(ck.c_str());
  Flow resumed(cfg);
  const TrainResult rr = train_interrupted(comm, cfg, st, p, ck, static_cast<int>(cut) + 1, resumed);
  ASSERT_EQ(rr.curve.size(), rf.curve.size());
  for (std::size_t i = 0; i < rf.curve.size(); ++i) {
    EXPECT_DOUBLE_EQ(rr.curve[i].learning_rate, rf.curve[i].learning_rate) << "epoch " << i + 1;
    EXPECT_NEAR(rr.curve[i].val_loss, rf.curve[i].val_loss, 1e-6) << "epoch " << i + 1;
  }
  EXPECT_EQ(resumed.parameters(), full.parameters());
  std::remove(ck.c_str());
  set_threads(0);
}

TEST(FlowTrain, RejectsThetaOutsideBox) {
  FlowMetadata meta;
  meta.theta_lower = {-1.0, -1.0};
  meta.theta_upper = {1.0, 1.0};
  Flow f(small_config(2, 3, 1, 8), meta);
  Problem p = linear_gaussian(50, 4);
  for (auto& t : p.theta) t *= 0.1f;
  p.theta[17] = 1.0f;  // on the boundary
  TrainSettings st;
  st.progress = false;
  SerialComm comm;
  EXPECT_THROW(train(comm, f, st, p.theta.data(), p.x.data(), p.n), DataError);
}

}  // namespace
}  // namespace sedpost::flow
