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
#include "flow/spectrum_embedding.hpp"
#include "flow/train.hpp"
#include "flow_test_util.hpp"
#include "thread_comm.hpp"

namespace sedpost::flow {
namespace {

using testing::small_config;
using testing::tmp_path;

constexpr int kPixels = 128;

/// A small embedding of kPixels-pixel spectra into `out_dim` numbers.
EmbeddingConfig small_embedding(int out_dim = 2, std::uint64_t seed = 11) {
  EmbeddingConfig c;
  c.n_pixels = kPixels;
  c.out_dim = out_dim;
  c.channels = 4;
  c.n_conv = 2;
  c.input_stride = 4;
  c.heads = 2;
  c.hidden = 8;
  c.seed = seed;
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
  e.embed(spectra.data(), n, out.data());
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
TEST(SpectrumEmbedding, GradientEqualsFiniteDifferences) {
  SpectrumEmbedding e(small_embedding(2));
  SpectrumEmbedding::Impl& m = e.impl();
  const std::vector<float> spectra = spectral_problem(8, 6).spectra;
  const torch::Tensor s = torch::from_blob(const_cast<float*>(spectra.data()), {8, kPixels}, torch::kFloat32);
  auto loss = [&] { return (m.forward(s) * torch::tensor({1.0f, -0.7f})).sin().sum(); };
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

TEST(SpectrumEmbeddingTrain, TwoThreadRanksMatchOneRank) {
  set_threads(1);
  const SpectralProblem p = spectral_problem(500, 3);
  const TrainSettings st = quiet(3, 64);
  const EmbeddingConfig ec = small_embedding(2);
  const MafConfig fc = small_config(1, 1 + ec.out_dim, 2, 16, 4);

  SerialComm serial;
  Flow f1(fc);
  SpectrumEmbedding e1(ec);
  const SpectrumInput in1{&e1, p.spectra.data()};
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
      const SpectrumInput in{&eb, p.spectra.data() + split * kPixels};
      rb = train(c, fb, st, p.theta.data() + split, p.x.data() + split, p.n - split, &in);
    } catch (...) {
      err = std::current_exception();
    }
  });
  {
    testing::ThreadComm c(group, 0);
    const SpectrumInput in{&ea, p.spectra.data()};
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
