// Unit tests of the spectrum embedding (flow/spectrum_embedding.hpp) and of its joint training
// with the flow: serialization, initialisation, the gradient reaching the embedding (a toy
// problem whose parameter only the spectrum carries), data-parallel equivalence, resume.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "flow/embedding_model.hpp"
#include "flow/flow.hpp"
#include "flow/serial.hpp"
#include "flow/spectrum_embedding.hpp"
#include "flow/train.hpp"
#include "flow_test_util.hpp"
#include "thread_comm.hpp"

namespace sedpost::flow {
namespace {

using testing::small_config;
using testing::tmp_path;

constexpr int kPixels = 128;

/// A small embedding of kPixels-pixel spectra into `out_dim` numbers (attention pooling, observed frame).
EmbeddingConfig small_embedding(int out_dim = 2, std::uint64_t seed = 11) {
  EmbeddingConfig c;
  c.n_pixels = kPixels;
  c.out_dim = out_dim;
  c.channels = 4;
  c.n_conv = 2;
  c.input_stride = 4;
  c.heads = 2;
  c.pooling = Pooling::kAttention;
  c.hidden = 8;
  c.seed = seed;
  return c;
}

/// small_embedding() with its input moved to the rest frame for z in [0, 0.2] at a ln(lambda)
/// step of 2e-3 (a shift of up to 92 pixels), reduced by `pooling`.
EmbeddingConfig rest_embedding(Pooling pooling, int out_dim = 2) {
  EmbeddingConfig c = small_embedding(out_dim);
  c.pooling = pooling;
  c.ln_step = 2e-3;
  c.ln1pz_max = std::log1p(0.2);
  c.rest_shift = rest_frame_shift(c.ln_step, 0.0, 0.2);
  return c;
}

/// Rows whose parameter theta ~ N(0, 1) shows only in the spectrum:
///   spectrum_p = 1 + 0.1 theta sin(p / 6) + 0.05 noise,  x = one column of pure noise.
/// Given the spectrum theta is known to about 0.05 / (0.1 sqrt(64)) = 0.06; given x alone not at all.
struct SpectralProblem {
  std::vector<float> theta, x, spectra;
  std::int64_t n;
};

SpectralProblem spectral_problem(std::int64_t n, std::uint64_t index) {
  SpectralProblem p{{}, {}, {}, n};
  Rng rng(5, RngStream::kTest, index);
  for (std::int64_t i = 0; i < n; ++i) {
    const double t = rng.normal();
    p.theta.push_back(static_cast<float>(t));
    p.x.push_back(static_cast<float>(rng.normal()));
    for (int q = 0; q < kPixels; ++q)
      p.spectra.push_back(static_cast<float>(1.0 + 0.1 * t * std::sin(q / 6.0) + 0.05 * rng.normal()));
  }
  return p;
}

TrainSettings quiet(int epochs, std::int64_t batch = 50) {
  TrainSettings st;
  st.batch_size = batch;
  st.max_epochs = epochs;
  st.patience = 100;
  st.learning_rate = 3e-3;
  st.seed = 2;
  st.progress = false;
  return st;
}

std::vector<float> embed(const SpectrumEmbedding& e, const std::vector<float>& spectra) {
  const std::int64_t n = static_cast<std::int64_t>(spectra.size()) / e.n_pixels();
  std::vector<float> out(static_cast<std::size_t>(n * e.out_dim()));
  e.embed(spectra.data(), nullptr, n, out.data());
  return out;
}

TEST(SpectrumEmbedding, SameSeedSameWeightsOtherSeedOther) {
  const SpectrumEmbedding a(small_embedding(3, 1)), b(small_embedding(3, 1)), c(small_embedding(3, 2));
  EXPECT_EQ(a.parameters(), b.parameters());
  EXPECT_NE(a.parameters(), c.parameters());
  // 2 convolutions (2 -> 4 channels, kernel 8; 4 -> 4, kernel 7), scores (2 heads; a bias for
  // each of the 128 / 4 / 2 = 16 positions), head 8 -> 3.
  EXPECT_EQ(a.parameter_count(), (4 * 2 * 8 + 4) + (4 * 4 * 7 + 4) + (2 * 4 + 16 * 2) + (8 * 8 + 8) + (3 * 8 + 3));
}

TEST(SpectrumEmbedding, FlattenedHeadAndRestFrameShapes) {
  EXPECT_EQ(rest_frame_shift(2e-3, 0.0, 0.2), 92);  // ln(1.2) / 2e-3 = 91.2
  const SpectrumEmbedding flat(rest_embedding(Pooling::kFlatten, 3));
  // Rest frame: 3 input channels over 128 + 92 = 220 positions -> 55 after the first
  // convolution, 28 after the second; the flattened 28 x 4 features feed the head.
  EXPECT_EQ(flat.parameter_count(), (4 * 3 * 8 + 4) + (4 * 4 * 7 + 4) + (8 * 28 * 4 + 8) + (3 * 8 + 3));
  EXPECT_TRUE(flat.rest_frame());
  EXPECT_FALSE(SpectrumEmbedding(small_embedding()).rest_frame());
  EXPECT_EQ(pooling_from_string("flatten"), Pooling::kFlatten);
  EXPECT_EQ(to_string(Pooling::kAttention), "attention");
  EXPECT_THROW(pooling_from_string("max"), ConfigError);
  EmbeddingConfig bad = rest_embedding(Pooling::kAttention);
  bad.ln_step = 0.0;
  EXPECT_THROW(SpectrumEmbedding{bad}, ConfigError);
}

/// The same rest-frame spectrum seen at two redshifts k pixels apart gives the same network input
/// wherever both cover it, and the coverage mask marks exactly the P observed pixels.
TEST(SpectrumEmbedding, RestFrameInputAlignsRedshiftedSpectra) {
  const SpectrumEmbedding e(rest_embedding(Pooling::kAttention));
  const EmbeddingConfig& c = e.config();
  const int k = 37;
  const float za = 0.05f;
  const float zb = static_cast<float>(std::expm1(std::log1p(0.05) + k * c.ln_step));
  // Observed spectra: b is a moved k pixels redwards (b[i] = a[i - k]).
  std::vector<float> a = spectral_problem(1, 3).spectra, b(kPixels, 0.0f);
  for (int i = k; i < kPixels; ++i) b[i] = a[i - k];
  std::vector<float> both = a;
  both.insert(both.end(), b.begin(), b.end());
  const std::vector<float> z{za, zb};
  const torch::Tensor in = e.impl().input(torch::from_blob(both.data(), {2, kPixels}, torch::kFloat32),
                                          torch::from_blob(const_cast<float*>(z.data()), {2}, torch::kFloat32));
  ASSERT_EQ(in.sizes(), (std::vector<std::int64_t>{2, kPixels + c.rest_shift, 3}));
  const auto offset = [&](double zz) { return static_cast<int>(std::lround((c.ln1pz_max - std::log1p(zz)) / c.ln_step)); };
  const int oa = offset(za), ob = offset(zb);
  EXPECT_EQ(oa - ob, k);
  EXPECT_EQ(in.select(2, 1).sum(1).to(torch::kLong)[0].item<std::int64_t>(), kPixels);
  EXPECT_EQ(in.select(2, 1).sum(1).to(torch::kLong)[1].item<std::int64_t>(), kPixels);
  const auto v = in.accessor<float, 3>();
  for (int j = 0; j < kPixels + c.rest_shift; ++j) {
    EXPECT_EQ(v[0][j][1], j >= oa && j < oa + kPixels ? 1.0f : 0.0f) << j;
    if (j >= oa && j < oa + kPixels - k) {
      EXPECT_EQ(v[0][j][0], v[1][j][0]) << "rest pixel " << j;
      EXPECT_EQ(v[1][j][1], 1.0f);
    }
  }
  // Without redshifts a rest-frame embedding cannot run.
  std::vector<float> out(2 * 2);
  EXPECT_THROW(e.embed(both.data(), nullptr, 2, out.data()), ConfigError);
  e.embed(both.data(), z.data(), 2, out.data());
  for (float o : out) EXPECT_TRUE(std::isfinite(o));
}

/// A version-1 attachment (before pooling and the rest frame were stored) reads as attention
/// pooling in the observed frame with the same outputs.
TEST(SpectrumEmbedding, VersionOneBytesReadAsObservedFrameAttention) {
  const SpectrumEmbedding e(small_embedding(3));
  const EmbeddingConfig& c = e.config();
  Writer w;
  for (int v : {c.n_pixels, c.out_dim, c.channels, c.n_conv, c.input_stride, c.heads, c.hidden}) w.pod<std::int32_t>(v);
  w.pod<std::uint64_t>(c.seed);
  w.vec(std::vector<float>(kPixels, 0.0f));
  w.vec(std::vector<float>(kPixels, 1.0f));
  w.vec(e.parameters());
  const SpectrumEmbedding back = SpectrumEmbedding::from_bytes(w.finish(FileKind::kEmbedding, 1));
  EXPECT_EQ(back.config().pooling, Pooling::kAttention);
  EXPECT_FALSE(back.rest_frame());
  const std::vector<float> spectra = spectral_problem(4, 2).spectra;
  EXPECT_EQ(embed(back, spectra), embed(e, spectra));
}

TEST(SpectrumEmbedding, BytesRoundTripGiveIdenticalOutputs) {
  SpectrumEmbedding e(small_embedding(3));
  std::vector<float> mean(kPixels), sd(kPixels);
  for (int q = 0; q < kPixels; ++q) {
    mean[q] = 1.0f + 0.01f * static_cast<float>(q % 7);
    sd[q] = 0.05f + 0.001f * static_cast<float>(q % 5);
  }
  e.set_standardization(mean, sd);
  const std::vector<float> spectra = spectral_problem(5, 1).spectra;
  const SpectrumEmbedding back = SpectrumEmbedding::from_bytes(e.to_bytes());
  EXPECT_EQ(back.parameters(), e.parameters());
  const std::vector<float> y = embed(e, spectra);
  EXPECT_EQ(embed(back, spectra), y);
  // The standardisation is applied: other statistics, other outputs.
  SpectrumEmbedding plain(small_embedding(3));
  EXPECT_NE(embed(plain, spectra), y);
  // A flattened rest-frame embedding keeps its frame and head through the bytes.
  const SpectrumEmbedding rest(rest_embedding(Pooling::kFlatten, 3));
  const SpectrumEmbedding rest_back = SpectrumEmbedding::from_bytes(rest.to_bytes());
  EXPECT_EQ(rest_back.config().pooling, Pooling::kFlatten);
  EXPECT_EQ(rest_back.config().rest_shift, rest.config().rest_shift);
  EXPECT_EQ(rest_back.config().ln_step, rest.config().ln_step);
  EXPECT_EQ(rest_back.config().ln1pz_max, rest.config().ln1pz_max);
  const std::vector<float> z{0.0f, 0.05f, 0.1f, 0.15f, 0.2f};
  std::vector<float> y1(5 * 3), y2(5 * 3);
  rest.embed(spectra.data(), z.data(), 5, y1.data());
  rest_back.embed(spectra.data(), z.data(), 5, y2.data());
  EXPECT_EQ(y1, y2);
}

TEST(SpectrumEmbedding, MalformedBytesAndConfigsAreErrors) {
  const std::string good = SpectrumEmbedding(small_embedding()).to_bytes();
  std::string bad = good;
  bad[bad.size() / 2] ^= 0x5a;
  EXPECT_THROW(SpectrumEmbedding::from_bytes(bad), DataError);
  EXPECT_THROW(SpectrumEmbedding::from_bytes(good.substr(0, good.size() - 9)), DataError);
  EXPECT_THROW(SpectrumEmbedding::from_bytes(Flow(small_config(1, 1)).to_bytes()), DataError);
  EmbeddingConfig c = small_embedding();
  c.n_pixels = 10;  // fewer than 16 x the input stride
  EXPECT_THROW(SpectrumEmbedding{c}, ConfigError);
  SpectrumEmbedding e(small_embedding());
  EXPECT_THROW(e.set_standardization(std::vector<float>(kPixels, 1.0f), std::vector<float>(kPixels, 0.0f)),
               ConfigError);
  EXPECT_THROW(e.set_parameters(std::vector<float>(3, 0.0f)), ConfigError);
}

/// Autograd's gradient of a scalar of the outputs equals central finite differences, for weights
/// of every layer (the convolutions' included: a LibTorch convolution backward once gave wrong
/// weight gradients here).
/// Each configuration: attention pooling in the observed frame, flattened in the rest frame.
TEST(SpectrumEmbedding, GradientEqualsFiniteDifferences) {
  for (const EmbeddingConfig& cfg : {small_embedding(2), rest_embedding(Pooling::kFlatten)}) {
  SCOPED_TRACE(to_string(cfg.pooling));
  SpectrumEmbedding e(cfg);
  SpectrumEmbedding::Impl& m = e.impl();
  const std::vector<float> spectra = spectral_problem(8, 6).spectra;
  const torch::Tensor s = torch::from_blob(const_cast<float*>(spectra.data()), {8, kPixels}, torch::kFloat32);
  const torch::Tensor z = torch::linspace(0.0, 0.2, 8, torch::kFloat32);
  auto loss = [&] { return (m.forward(s, e.rest_frame() ? z : torch::Tensor()) * torch::tensor({1.0f, -0.7f})).sin().sum(); };
  loss().backward();
  std::vector<float> grad(static_cast<std::size_t>(m.n_params()));
  m.take_grad(grad.data());
  std::vector<float> p = e.parameters();
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (const torch::Tensor& w : m.weights) {
    for (std::int64_t j : {std::int64_t{0}, w.numel() / 2, w.numel() - 1}) {
      const std::size_t q = static_cast<std::size_t>(offset + j);
      const float h = 1e-2f, p0 = p[q];
      p[q] = p0 + h;
      e.set_parameters(p);
      const double up = loss().item<double>();
      p[q] = p0 - h;
      e.set_parameters(p);
      const double down = loss().item<double>();
      p[q] = p0;
      e.set_parameters(p);
      EXPECT_NEAR(grad[q], (up - down) / (2 * h), 2e-3 + 2e-2 * std::abs(grad[q])) << "parameter " << q;
    }
    offset += w.numel();
  }
  }
}

/// The flow's validation loss with and without the spectra, same flow, settings and data.
TEST(SpectrumEmbeddingTrain, JointTrainingLearnsWhatOnlyTheSpectrumCarries) {
  set_threads(1);
  const SpectralProblem p = spectral_problem(1200, 2);
  const TrainSettings st = quiet(40);
  SerialComm comm;

  Flow alone(small_config(1, 1, 2, 16, 3));
  const TrainResult ra = train(comm, alone, st, p.theta.data(), p.x.data(), p.n);

  const EmbeddingConfig ec = small_embedding(2);
  SpectrumEmbedding emb(ec);
  const std::vector<float> initial = emb.parameters();
  Flow joint(small_config(1, 1 + ec.out_dim, 2, 16, 3));
  const SpectrumInput in{&emb, p.spectra.data()};
  const TrainResult rj = train(comm, joint, st, p.theta.data(), p.x.data(), p.n, &in);

  // Without the spectrum the best is the prior, N(0, 1): loss 0.5 ln(2 pi e) = 1.42. With it the
  // posterior std is about 0.06, loss about -1.4; a loss below 0 needs information from the
  // spectrum that only a trained embedding passes on.
  EXPECT_GT(ra.best_val_loss, 1.2);
  EXPECT_LT(rj.best_val_loss, 0.0) << "the embedding did not learn (its gradients may not reach it)";
  EXPECT_NE(emb.parameters(), initial);
  // The photometry's x is z-scored; the embedding's outputs are not (its last layer is rescaled
  // instead).
  EXPECT_NE(joint.x_std()[0], 1.0);
  EXPECT_EQ(joint.x_mean()[1], 0.0);
  EXPECT_EQ(joint.x_std()[2], 1.0);
  set_threads(0);
}

/// Each configuration: attention pooling in the observed frame, flattened in the rest frame (each
/// rank's rows with their own redshifts).
TEST(SpectrumEmbeddingTrain, TwoThreadRanksMatchOneRank) {
  set_threads(1);
  const SpectralProblem p = spectral_problem(500, 3);
  const TrainSettings st = quiet(3, 64);
  std::vector<float> z(static_cast<std::size_t>(p.n));
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = 0.2f * static_cast<float>(i % 17) / 16.0f;
  for (const EmbeddingConfig& ec : {small_embedding(2), rest_embedding(Pooling::kFlatten)}) {
  SCOPED_TRACE(to_string(ec.pooling));
  const MafConfig fc = small_config(1, 1 + ec.out_dim, 2, 16, 4);

  SerialComm serial;
  Flow f1(fc);
  SpectrumEmbedding e1(ec);
  const SpectrumInput in1{&e1, p.spectra.data(), z.data()};
  const TrainResult r1 = train(serial, f1, st, p.theta.data(), p.x.data(), p.n, &in1);

  testing::ThreadGroup group(2);
  Flow fa(fc), fb(fc);
  SpectrumEmbedding ea(ec), eb(ec);
  TrainResult ra, rb;
  const std::int64_t split = 210;  // uneven shards on purpose
  std::exception_ptr err;
  std::thread t([&] {
    try {
      testing::ThreadComm c(group, 1);
      const SpectrumInput in{&eb, p.spectra.data() + split * kPixels, z.data() + split};
      rb = train(c, fb, st, p.theta.data() + split, p.x.data() + split, p.n - split, &in);
    } catch (...) {
      err = std::current_exception();
    }
  });
  {
    testing::ThreadComm c(group, 0);
    const SpectrumInput in{&ea, p.spectra.data(), z.data()};
    ra = train(c, fa, st, p.theta.data(), p.x.data(), split, &in);
  }
  t.join();
  if (err) std::rethrow_exception(err);

  EXPECT_EQ(fa.parameters(), fb.parameters()) << "flow weights diverged between ranks";
  EXPECT_EQ(ea.parameters(), eb.parameters()) << "embedding weights diverged between ranks";
  auto max_diff = [](const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
    return m;
  };
  EXPECT_LT(max_diff(f1.parameters(), fa.parameters()), 1e-4);
  EXPECT_LT(max_diff(e1.parameters(), ea.parameters()), 1e-4);
  ASSERT_EQ(r1.curve.size(), ra.curve.size());
  for (std::size_t i = 0; i < r1.curve.size(); ++i) EXPECT_NEAR(r1.curve[i].val_loss, ra.curve[i].val_loss, 1e-4);
  }
  set_threads(0);
}

TEST(SpectrumEmbeddingTrain, ResumeFromCheckpointContinuesExactly) {
  set_threads(1);
  const SpectralProblem p = spectral_problem(300, 4);
  const TrainSettings st = quiet(4);
  const EmbeddingConfig ec = small_embedding(2);
  const MafConfig fc = small_config(1, 1 + ec.out_dim, 2, 16, 5);
  SerialComm comm;

  Flow full(fc);
  SpectrumEmbedding ef(ec);
  const SpectrumInput inf{&ef, p.spectra.data()};
  const TrainResult rf = train(comm, full, st, p.theta.data(), p.x.data(), p.n, &inf);

  const std::string ck = tmp_path("spectral_resume.ckpt");
  std::remove(ck.c_str());
  {
    Flow part(fc);
    SpectrumEmbedding ep(ec);
    const SpectrumInput in{&ep, p.spectra.data()};
    TrainSettings first = st;
    first.max_epochs = 2;
    first.checkpoint_path = ck;
    train(comm, part, first, p.theta.data(), p.x.data(), p.n, &in);
  }
  Flow resumed(fc);
  SpectrumEmbedding er(small_embedding(2, 99));  // other weights: the checkpoint's must replace them
  const SpectrumInput inr{&er, p.spectra.data()};
  TrainSettings rest = st;
  rest.resume_from = ck;
  const TrainResult rr = train(comm, resumed, rest, p.theta.data(), p.x.data(), p.n, &inr);
  ASSERT_EQ(rr.curve.size(), 4u);
  EXPECT_NEAR(rr.curve[3].val_loss, rf.curve[3].val_loss, 1e-6);
  EXPECT_EQ(er.parameters(), ef.parameters());
  EXPECT_EQ(resumed.parameters(), full.parameters());

  // A checkpoint of a training without spectra cannot resume one with.
  Flow plain(fc);
  TrainSettings first = st;
  first.max_epochs = 1;
  first.checkpoint_path = ck;
  std::vector<float> x3(static_cast<std::size_t>(p.n) * 3, 0.5f);
  train(comm, plain, first, p.theta.data(), x3.data(), p.n);
  Flow again(fc);
  EXPECT_THROW(train(comm, again, rest, p.theta.data(), p.x.data(), p.n, &inr), DataError);
  std::remove(ck.c_str());
  set_threads(0);
}

}  // namespace
}  // namespace sedpost::flow
