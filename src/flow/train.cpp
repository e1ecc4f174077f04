#include "flow/train.hpp"

#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <optional>

#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "flow/embedding_model.hpp"
#include "flow/maf_model.hpp"
#include "flow/serial.hpp"

namespace sedpost::flow {

namespace {

constexpr std::uint32_t kCheckpointVersion = 3;  // 2: + lr_scale, lr_decays_done, per-epoch lr; 3: + embedding
constexpr double kAdamBeta1 = 0.9, kAdamBeta2 = 0.999, kAdamEps = 1e-8;  // torch.optim.Adam
constexpr double kLog2Pi = 1.8378770664093453;

using Clock = std::chrono::steady_clock;

bool is_validation_row(std::uint64_t seed, std::uint64_t global_row, double fraction) {
  Rng rng(seed, RngStream::kSplit, global_row);
  return rng.uniform() < fraction;
}

/// Optimizer state: Adam moments over the dense flat layout (masked entries stay 0).
struct TrainState {
  std::vector<float> m, v, best;
  std::uint64_t step = 0;
  int epoch = 0;  ///< epochs completed
  double best_val = std::numeric_limits<double>::infinity();
  int best_epoch = 0;
  int since_improve = 0;
  double lr_scale = 1.0;  ///< current lr / settings' lr
  int lr_decays_done = 0; ///< restarts from the best weights at a lower lr so far
  std::vector<EpochRecord> curve;
  /// Spectral training only (else empty): the embedding (SpectrumEmbedding::to_bytes, written
  /// into checkpoints) and its Adam moments and best weights, laid out as its parameters().
  std::string embedding;
  std::vector<float> emb_m, emb_v, emb_best;
};

std::string checkpoint_bytes(const Flow& flow, const TrainState& s) {
  Writer w;
  w.str(flow.to_bytes());
  w.pod<std::uint64_t>(s.step);
  w.pod<std::int32_t>(s.epoch);
  w.pod<double>(s.best_val);
  w.pod<std::int32_t>(s.best_epoch);
  w.pod<std::int32_t>(s.since_improve);
  w.pod<double>(s.lr_scale);
  w.pod<std::int32_t>(s.lr_decays_done);
  w.vec(s.m);
  w.vec(s.v);
  w.vec(s.best);
  w.pod<std::uint64_t>(s.curve.size());
  for (const EpochRecord& r : s.curve) {
    w.pod<std::int32_t>(r.epoch);
    w.pod<double>(r.train_loss);
    w.pod<double>(r.val_loss);
    w.pod<double>(r.seconds);
    w.pod<double>(r.samples_per_s);
    w.pod<std::uint8_t>(r.improved ? 1 : 0);
    w.pod<double>(r.learning_rate);
  }
  w.str(s.embedding);
  w.vec(s.emb_m);
  w.vec(s.emb_v);
  w.vec(s.emb_best);
  return w.finish(FileKind::kCheckpoint, kCheckpointVersion);
}

void read_checkpoint(const std::string& bytes, const std::string& path, Flow& flow, TrainState& s) {
  Reader r(bytes, FileKind::kCheckpoint, kCheckpointVersion, "checkpoint '" + path + "'", 1);
  Flow loaded = Flow::from_bytes(r.str());
  const MafConfig& a = loaded.config();
  const MafConfig& b = flow.config();
  if (a.n_theta != b.n_theta || a.n_x != b.n_x || a.n_blocks != b.n_blocks || a.hidden != b.hidden ||
      a.n_hidden_blocks != b.n_hidden_blocks || a.transform != b.transform || a.spline_bins != b.spline_bins ||
      a.tail_bound != b.tail_bound)
    throw DataError("checkpoint '" + path + "': architecture differs from the configured flow");
  s.step = r.pod<std::uint64_t>();
  s.epoch = r.pod<std::int32_t>();
  s.best_val = r.pod<double>();
  s.best_epoch = r.pod<std::int32_t>();
  s.since_improve = r.pod<std::int32_t>();
  if (r.version() >= 2) {
    s.lr_scale = r.pod<double>();
    s.lr_decays_done = r.pod<std::int32_t>();
    if (!(s.lr_scale > 0 && s.lr_scale <= 1) || s.lr_decays_done < 0) r.fail();
  }
  s.m = r.vec<float>();
  s.v = r.vec<float>();
  s.best = r.vec<float>();
  const auto n = static_cast<std::size_t>(loaded.parameter_count());
  if (s.m.size() != n || s.v.size() != n || (s.best.size() != n && !s.best.empty())) r.fail();
  const auto nc = r.pod<std::uint64_t>();
  if (nc > 100000000) r.fail();
  s.curve.resize(nc);
  for (EpochRecord& e : s.curve) {
    e.epoch = r.pod<std::int32_t>();
    e.train_loss = r.pod<double>();
    e.val_loss = r.pod<double>();
    e.seconds = r.pod<double>();
    e.samples_per_s = r.pod<double>();
    e.improved = r.pod<std::uint8_t>() != 0;
    e.learning_rate = r.version() >= 2 ? r.pod<double>() : std::numeric_limits<double>::quiet_NaN();
  }
  if (r.version() >= 3) {
    s.embedding = r.str();
    s.emb_m = r.vec<float>();
    s.emb_v = r.vec<float>();
    s.emb_best = r.vec<float>();
  }
  if (!r.at_end()) r.fail();
  flow = std::move(loaded);
}

/// Unbiased std from a sum of squared deviations over n rows, as torch.std; a constant column
/// gets 1 (sbi would clamp to 1e-14).
double unbiased_std(double sum_sq, std::int64_t n) {
  const double s = n > 1 ? std::sqrt(sum_sq / static_cast<double>(n - 1)) : 0.0;
  return s > 1e-12 ? s : 1.0;
}

/// Collective. Mean and unbiased std of each of the `cols` columns of data [n_local, cols] over
/// the training rows (local_val[i] = 0; n_train of them job-wide): two passes, double sums.
void training_column_stats(Comm& comm, const float* data, std::size_t cols, const std::vector<char>& local_val,
                           std::int64_t n_train, std::vector<double>& mean, std::vector<double>& sd) {
  std::vector<double> acc(2 * cols, 0.0);  // sums, then sums of squared deviations
  for (std::size_t i = 0; i < local_val.size(); ++i)
    if (!local_val[i])
      for (std::size_t k = 0; k < cols; ++k) acc[k] += data[i * cols + k];
  comm.allreduce_sum(acc.data(), cols);
  mean.resize(cols);
  for (std::size_t k = 0; k < cols; ++k) mean[k] = acc[k] / static_cast<double>(n_train);
  for (std::size_t i = 0; i < local_val.size(); ++i)
    if (!local_val[i])
      for (std::size_t k = 0; k < cols; ++k) acc[cols + k] += std::pow(data[i * cols + k] - mean[k], 2);
  comm.allreduce_sum(acc.data() + cols, cols);
  sd.resize(cols);
  for (std::size_t k = 0; k < cols; ++k) sd[k] = unbiased_std(acc[cols + k], n_train);
}

/// Collective. Prepares a new embedding for training on spectra [n_local, P] (and their
/// redshifts z [n_local] for a rest-frame embedding, else null): its per-pixel
/// input z-score from the training rows, then its last layer rescaled so that its outputs have
/// mean 0 and std 1 over them (SpectrumEmbedding::standardize_outputs).
void initialise_embedding(Comm& comm, SpectrumEmbedding& embedding, const float* spectra, const float* z,
                          const std::vector<char>& local_val, std::int64_t n_train) {
  const std::size_t P = static_cast<std::size_t>(embedding.n_pixels()), E = static_cast<std::size_t>(embedding.out_dim());
  std::vector<double> mean, sd;
  training_column_stats(comm, spectra, P, local_val, n_train, mean, sd);
  embedding.set_standardization(std::vector<float>(mean.begin(), mean.end()), std::vector<float>(sd.begin(), sd.end()));
  std::vector<float> out(local_val.size() * E);
  embedding.embed(spectra, z, static_cast<std::int64_t>(local_val.size()), out.data());
  training_column_stats(comm, out.data(), E, local_val, n_train, mean, sd);
  embedding.standardize_outputs(mean, sd);
}

}  // namespace

TrainResult train(Comm& comm, Flow& flow, const TrainSettings& st, const float* theta,
                  const float* x, std::int64_t n_local, const SpectrumInput* spectra) {
  const auto t_start = Clock::now();
  if (st.batch_size < 1) throw ConfigError("train: batch_size must be >= 1");
  if (!(st.learning_rate > 0)) throw ConfigError("train: learning rate must be > 0");
  if (!(st.validation_fraction > 0 && st.validation_fraction < 1))
    throw ConfigError("train: validation_fraction must be in (0, 1)");
  if (st.max_epochs < 1 || st.patience < 1) throw ConfigError("train: max_epochs, patience >= 1");
  if (st.lr_decays < 0 || !(st.lr_decay_factor > 0 && st.lr_decay_factor < 1))
    throw ConfigError("train: lr_decays >= 0 and lr_decay_factor in (0, 1)");
  const int P = comm.size(), rank = comm.rank();
  const int D = flow.n_theta(), C = flow.n_x();
  // With spectra the flow's context is (x [Cx], embedding [E]); without, x is all of it.
  if (spectra && (!spectra->embedding || !spectra->spectra))
    throw ConfigError("train: a SpectrumInput needs an embedding and spectra");
  if (spectra && spectra->embedding->rest_frame() && !spectra->z)
    throw ConfigError("train: a rest-frame spectrum embedding needs the redshift of every training row");
  const float* rest_z = spectra && spectra->embedding->rest_frame() ? spectra->z : nullptr;  // [n_local] or null
  const int E = spectra ? spectra->embedding->out_dim() : 0;
  const int Cx = C - E;
  const std::int64_t NP = spectra ? spectra->embedding->n_pixels() : 0;  // pixels per spectrum
  if (Cx < 0 || (spectra && Cx < 1))
    throw ConfigError(cat("train: the flow's ", C, "-D context cannot hold x and a ", E, "-D spectrum embedding"));

  // ---- global row offsets (rank r holds the rows after those of ranks < r) ----
  std::vector<std::int64_t> counts(P, 0);
  counts[rank] = n_local;
  comm.allreduce_sum(counts.data(), counts.size());
  std::int64_t offset = 0;
  for (int r = 0; r < rank; ++r) offset += counts[r];
  const std::int64_t n_global = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});

  // ---- flow coordinates before z-scoring (box logit), checked collectively ----
  Flow::Impl& m = flow.impl();
  std::vector<float> u(static_cast<std::size_t>(n_local) * D);
  std::vector<double> ld_box(n_local, 0.0);
  std::int64_t first_bad = -1;
  {
    Flow::Impl id = m;  // shallow copy with identity z-score to get u
    id.theta_mean.assign(D, 0.0);
    id.theta_std.assign(D, 1.0);
    for (std::int64_t i = 0; i < n_local && first_bad < 0; ++i) {
      bool ok = id.to_flow_coords(theta + i * D, u.data() + i * D, &ld_box[i]);
      for (int j = 0; j < D && ok; ++j) ok = std::isfinite(u[i * D + j]);
      for (int j = 0; j < Cx && ok; ++j) ok = std::isfinite(x[i * Cx + j]);
      for (std::int64_t p = 0; p < NP && ok; ++p) ok = std::isfinite(spectra->spectra[i * NP + p]);
      if (rest_z && ok) ok = std::isfinite(rest_z[i]);
      if (!ok) first_bad = offset + i;
    }
  }
  {
    double bad = first_bad >= 0 ? static_cast<double>(first_bad) : -1.0;
    bad = comm.max(bad);
    if (bad >= 0)
      throw DataError(cat("train: training row ", static_cast<std::int64_t>(bad),
                          " has theta outside the open prior box or non-finite theta/x", spectra ? "/spectrum" : ""));
  }

  // ---- split by global row index ----
  std::vector<char> local_val(n_local);
  for (std::int64_t i = 0; i < n_local; ++i)
    local_val[i] = is_validation_row(st.seed, offset + i, st.validation_fraction);
  std::vector<std::int64_t> train_rows;  // global indices, all ranks
  train_rows.reserve(static_cast<std::size_t>(n_global * (1.0 - st.validation_fraction)) + 16);
  for (std::int64_t i = 0; i < n_global; ++i)
    if (!is_validation_row(st.seed, i, st.validation_fraction)) train_rows.push_back(i);
  const std::int64_t n_train = static_cast<std::int64_t>(train_rows.size());
  const std::int64_t n_val = n_global - n_train;
  if (n_train < 1 || n_val < 1)
    throw DataError(cat("train: need at least one training and one validation row (have ",
                        n_global, " rows in total)"));

  // ---- resume? (rank 0 reads, broadcast) ----
  TrainState state;
  bool resumed = false;
  const std::optional<torch::Device> torch_device = flow.impl().torch_device;  // kept across a resume
  if (!st.resume_from.empty()) {
    std::string bytes;
    std::int64_t have = 0;
    if (comm.is_root() && std::filesystem::exists(st.resume_from)) {
      bytes = read_file_bytes(st.resume_from);
      have = 1;
    }
    comm.broadcast_value(have, 0);
    if (have) {
      comm.broadcast(bytes, 0);
      read_checkpoint(bytes, st.resume_from, flow, state);
      flow.impl().set_torch_device(torch_device);
      if (spectra && state.embedding.empty())
        throw DataError(cat("checkpoint '", st.resume_from, "' has no spectrum embedding (trained without spectra)"));
      if (spectra) *spectra->embedding = SpectrumEmbedding::from_bytes(state.embedding, "checkpoint '" + st.resume_from + "'");
      resumed = true;
      logger().info(cat("train: resumed from '", st.resume_from, "' after epoch ", state.epoch));
    }
  }
  Flow::Impl& M = flow.impl();  // flow may have been replaced by the checkpoint
  if (spectra && M.torch_device)
    throw ConfigError("train: a spectrum embedding trains on the CPU only (no --device with spectra yet)");

  // ---- z-score statistics of the training split (sbi: standardizing transform) ----
  if (!resumed) {
    std::vector<double> acc(2 * (D + Cx), 0.0);
    std::int64_t nt_local = 0;
    for (std::int64_t i = 0; i < n_local; ++i) {
      if (local_val[i]) continue;
      ++nt_local;
      for (int j = 0; j < D; ++j) acc[j] += u[i * D + j];
      for (int j = 0; j < Cx; ++j) acc[D + j] += x[i * Cx + j];
    }
    comm.allreduce_sum(acc.data(), D + Cx);
    std::vector<double> mean(D + Cx);
    for (int j = 0; j < D + Cx; ++j) mean[j] = acc[j] / static_cast<double>(n_train);
    for (std::int64_t i = 0; i < n_local; ++i) {
      if (local_val[i]) continue;
      for (int j = 0; j < D; ++j) acc[D + Cx + j] += std::pow(u[i * D + j] - mean[j], 2);
      for (int j = 0; j < Cx; ++j) acc[2 * D + Cx + j] += std::pow(x[i * Cx + j] - mean[D + j], 2);
    }
    comm.allreduce_sum(acc.data() + D + Cx, D + Cx);
    std::vector<double> tm(D), ts(D), xm(C, 0.0), xs(C, 1.0);
    for (int j = 0; j < D; ++j) {
      tm[j] = mean[j];
      ts[j] = unbiased_std(acc[D + Cx + j], n_train);
    }
    for (int j = 0; j < Cx; ++j) {
      xm[j] = mean[D + j];
      xs[j] = unbiased_std(acc[2 * D + Cx + j], n_train);
    }
    if (spectra) {
      // The initial network's outputs, pooled over many positions, spread far less than 1, which
      // the flow's context layer would barely see: its last layer is rescaled to give them mean
      // 0 and std 1 on the training split (the flow's z-score of them stays the identity).
      initialise_embedding(comm, *spectra->embedding, spectra->spectra, spectra->z, local_val, n_train);
      state.emb_m.assign(spectra->embedding->parameter_count(), 0.0f);
      state.emb_v.assign(spectra->embedding->parameter_count(), 0.0f);
    }
    flow.set_standardization(tm, ts, xm, xs);
    state.m.assign(M.n_params, 0.0f);
    state.v.assign(M.n_params, 0.0f);
  }

  // ---- z-scored local arrays; constant log-det terms per row for reported losses ----
  std::vector<float> y(static_cast<std::size_t>(n_local) * D), e(static_cast<std::size_t>(n_local) * Cx);
  std::vector<double> ld_const(n_local);
  for (std::int64_t i = 0; i < n_local; ++i) {
    double ld = ld_box[i];
    for (int j = 0; j < D; ++j) {
      y[i * D + j] = static_cast<float>((u[i * D + j] - M.theta_mean[j]) / M.theta_std[j]);
      ld -= std::log(M.theta_std[j]);
    }
    for (int j = 0; j < Cx; ++j) e[i * Cx + j] = static_cast<float>((x[i * Cx + j] - M.x_mean[j]) / M.x_std[j]);
    ld_const[i] = ld;  // log |d y / d theta|; log_prob_train has the base constant
  }
  std::vector<std::int64_t> local_val_rows;
  for (std::int64_t i = 0; i < n_local; ++i)
    if (local_val[i]) local_val_rows.push_back(i);

  const bool show = st.progress && comm.is_root();
  if (show)
    logger().info(cat("train: ", n_train, " training + ", n_val, " validation rows on ", P,
                      " rank(s), ", M.n_params, " parameters (", M.n_live, " unmasked), global batch ",
                      st.batch_size, ", ", get_threads(), " thread(s)/rank"));

  const std::int64_t B = st.batch_size;
  const std::int64_t n_batches = (n_train + B - 1) / B;
  const bool fused_needed = P > 1;
  // The embedding's weights (spectral training) follow the flow's live parameters in the fused
  // gradient buffer; emb_params mirrors them for the Adam step.
  SpectrumEmbedding::Impl* emb = spectra ? &spectra->embedding->impl() : nullptr;
  const std::int64_t n_emb = emb ? emb->n_params() : 0;
  std::vector<float> emb_params, emb_grad(n_emb, 0.0f);
  if (emb) emb_params = spectra->embedding->parameters();
  std::vector<float> fused(fused_needed ? M.n_live + n_emb : 0);
  std::vector<float> by, be, bs, bz;  // batch rows: y [nb, D], e [nb, Cx], spectra [nb, NP], z [nb]
  std::vector<const float*> grad_ptr(M.params.size(), nullptr);
  torch::Tensor autograd_grad;  // [n_params] on the host: the autograd path's dense gradient
  // Gradients by the hand-written back-propagation (made_backprop.hpp) where the CPU has
  // AVX-512 or AVX2 + FMA and the flow is affine, into one buffer laid out like the
  // parameters; LibTorch autograd otherwise (every spline flow, SEDPOST_FLOW_ISA=scalar, or a
  // torch device such as a GPU: there the forward and backward passes run on the device, the
  // gradient comes back to the host in one copy, and the allreduce, clipping and Adam step
  // below run on the host as for every other path; the new weights go back in one copy).
  const bool backprop = kern::backprop_available() && !M.is_spline() && !M.torch_device && !spectra;
  const torch::Device batch_device = M.torch_device ? *M.torch_device : torch::Device(torch::kCPU);
  std::vector<float> dense_grad(backprop ? M.n_params : 0, 0.0f);  // masked entries stay 0
  const kern::MafView view = M.kernel_view();
  const std::vector<kern::MadeGradPtrs> grad_views = M.grad_view(dense_grad.data());
  kern::BackpropWorkspace backprop_ws;
  if (backprop)
    for (std::size_t p = 0; p < M.params.size(); ++p) grad_ptr[p] = dense_grad.data() + M.params[p].offset;
  std::vector<std::int64_t> perm_rows(train_rows);
  ProgressMeter meter("train", static_cast<std::uint64_t>(n_train) * st.max_epochs, "samples", show,
                      st.progress_interval_s);
  meter.set_done(static_cast<std::uint64_t>(n_train) * state.epoch);
  float* pflat = M.flat.data_ptr<float>();
  const std::int64_t nseg = static_cast<std::int64_t>(M.segments.size());
  // A checkpoint written after the early stop resumes to the finished result.
  bool early = resumed && state.since_improve >= st.patience;

  for (int epoch = state.epoch + 1; !early && epoch <= st.max_epochs; ++epoch) {
    const auto t0 = Clock::now();
    // Global shuffle of training rows, keyed by the epoch only: identical on every rank.
    std::copy(train_rows.begin(), train_rows.end(), perm_rows.begin());
    {
      Rng rng(st.seed, RngStream::kSplit, (std::uint64_t{1} << 48) + static_cast<std::uint64_t>(epoch));
      for (std::int64_t i = n_train - 1; i > 0; --i) {
        const std::int64_t j = static_cast<std::int64_t>(rng.uniform() * static_cast<double>(i + 1));
        std::swap(perm_rows[i], perm_rows[std::min(j, i)]);
      }
    }
    double train_sum = 0.0;  // local sum of -log q
    double allreduce_s = 0.0;  // this rank's time in the gradient allreduce (waits included)
    for (std::int64_t b = 0; b < n_batches; ++b) {
      const std::int64_t r0 = b * B, r1 = std::min(n_train, r0 + B), bc = r1 - r0;
      by.clear();
      be.clear();
      bs.clear();
      bz.clear();
      double const_sum = 0.0;
      for (std::int64_t r = r0; r < r1; ++r) {
        const std::int64_t g = perm_rows[r];
        if (g < offset || g >= offset + n_local) continue;
        const std::int64_t i = g - offset;
        by.insert(by.end(), y.begin() + i * D, y.begin() + (i + 1) * D);
        be.insert(be.end(), e.begin() + i * Cx, e.begin() + (i + 1) * Cx);
        if (spectra) bs.insert(bs.end(), spectra->spectra + i * NP, spectra->spectra + (i + 1) * NP);
        if (rest_z) bz.push_back(rest_z[i]);
        const_sum += ld_const[i];
      }
      const std::int64_t nb = static_cast<std::int64_t>(by.size()) / D;
      bool have_grad = false;
      if (nb > 0 && backprop) {
        const double lq_sum = kern::loss_and_grad(view, grad_views, by.data(), be.data(), nb,
                                                  1.0 / static_cast<double>(bc), false, get_threads(),
                                                  backprop_ws);
        train_sum += -(lq_sum + const_sum);
        have_grad = true;
      } else if (nb > 0) {
        const torch::Tensor ty = torch::from_blob(by.data(), {nb, D}, torch::kFloat32).to(batch_device);
        torch::Tensor te = torch::from_blob(be.data(), {nb, Cx}, torch::kFloat32).to(batch_device);
        if (emb)
          te = torch::cat({te, emb->forward(torch::from_blob(bs.data(), {nb, NP}, torch::kFloat32),
                                            rest_z ? torch::from_blob(bz.data(), {nb}, torch::kFloat32) : torch::Tensor())},
                          1);
        const torch::Tensor lq_sum = M.log_prob_train(ty, te).sum();
        (lq_sum * (-1.0 / static_cast<double>(bc))).backward();
        train_sum += -(lq_sum.item<double>() + const_sum);
        // The leaves tile the flat layout in order: their gradients, concatenated, are the
        // gradient in that layout (masked entries hold autograd's values, which the loops over
        // live segments below never read).
        const std::vector<torch::Tensor>& leaves = M.torch_weights().leaves;
        std::vector<torch::Tensor> parts;
        parts.reserve(leaves.size());
        for (const torch::Tensor& leaf : leaves) parts.push_back(leaf.grad().reshape({-1}));
        autograd_grad = torch::cat(parts).cpu().contiguous();
        for (const torch::Tensor& leaf : leaves) leaf.mutable_grad() = torch::Tensor();
        for (std::size_t p = 0; p < M.params.size(); ++p)
          grad_ptr[p] = autograd_grad.data_ptr<float>() + M.params[p].offset;
        if (emb) emb->take_grad(emb_grad.data());
        have_grad = true;
      }
      if (!have_grad) std::fill(emb_grad.begin(), emb_grad.end(), 0.0f);
      // ONE fused buffer of all unmasked gradients per step, summed over ranks.
      if (fused_needed) {
        at::parallel_for(0, nseg, 64, [&](std::int64_t a, std::int64_t z) {
          for (std::int64_t s = a; s < z; ++s) {
            const Segment& sg = M.segments[s];
            float* dst = fused.data() + sg.compact_offset;
            if (have_grad)
              std::copy_n(grad_ptr[sg.param_index] + sg.param_offset, sg.length, dst);
            else
              std::fill_n(dst, sg.length, 0.0f);
          }
        });
        std::copy(emb_grad.begin(), emb_grad.end(), fused.begin() + M.n_live);
        const auto t_reduce = Clock::now();
        comm.allreduce_sum(fused.data(), fused.size());
        allreduce_s += std::chrono::duration<double>(Clock::now() - t_reduce).count();
      }
      auto grad_of = [&](const Segment& sg) -> const float* {
        return fused_needed ? fused.data() + sg.compact_offset : grad_ptr[sg.param_index] + sg.param_offset;
      };
      const float* emb_grad_all = fused_needed ? fused.data() + M.n_live : emb_grad.data();
      // Gradient-norm clipping (torch.nn.utils.clip_grad_norm_), of the flow's and the spectrum
      // embedding's gradients each on its own: the embedding's are often much larger and would
      // otherwise shrink every step of the flow.
      double clip = 1.0, emb_clip = 1.0;
      if (st.clip_grad_norm > 0) {
        const double sq = at::parallel_reduce(
            0, nseg, 64, 0.0,
            [&](std::int64_t a, std::int64_t z, double acc) {
              for (std::int64_t s = a; s < z; ++s)
                acc += kern::sum_squares(grad_of(M.segments[s]), M.segments[s].length);
              return acc;
            },
            std::plus<double>());
        const double norm = std::sqrt(sq), emb_norm = std::sqrt(kern::sum_squares(emb_grad_all, n_emb));
        if (!std::isfinite(norm) || !std::isfinite(emb_norm))
          throw NumericsError(cat("train: non-finite gradient at epoch ", epoch, ", batch ", b));
        clip = std::min(1.0, st.clip_grad_norm / (norm + 1e-6));
        emb_clip = std::min(1.0, st.clip_grad_norm / (emb_norm + 1e-6));
      }
      // Adam (torch.optim.Adam, no weight decay), fused over the live parameters only.
      ++state.step;
      const double bc1 = 1.0 - std::pow(kAdamBeta1, static_cast<double>(state.step));
      const double bc2 = 1.0 - std::pow(kAdamBeta2, static_cast<double>(state.step));
      kern::AdamStep adam;
      adam.b1 = static_cast<float>(kAdamBeta1);
      adam.b2 = static_cast<float>(kAdamBeta2);
      adam.c1 = static_cast<float>(1.0 - kAdamBeta1);
      adam.c2 = static_cast<float>(1.0 - kAdamBeta2);
      adam.step_size = static_cast<float>(st.learning_rate * state.lr_scale / bc1);
      adam.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
      adam.eps = static_cast<float>(kAdamEps);
      adam.clip = static_cast<float>(clip);
      at::parallel_for(0, nseg, 64, [&](std::int64_t a, std::int64_t z) {
        for (std::int64_t s = a; s < z; ++s) {
          const Segment& sg = M.segments[s];
          kern::adam_update(pflat + sg.flat_offset, state.m.data() + sg.flat_offset,
                            state.v.data() + sg.flat_offset, grad_of(sg), sg.length, adam);
        }
      });
      M.upload_parameters();
      if (emb) {
        adam.clip = static_cast<float>(emb_clip);
        kern::adam_update(emb_params.data(), state.emb_m.data(), state.emb_v.data(), emb_grad_all, n_emb, adam);
        emb->set_flat(emb_params.data());
      }
      meter.advance(static_cast<std::uint64_t>(bc));
    }

    // ---- validation loss (inference path) ----
    double val_sum = 0.0;
    {
      c10::InferenceMode guard;
      const std::int64_t nv = static_cast<std::int64_t>(local_val_rows.size());
      for (std::int64_t c0 = 0; c0 < nv; c0 += 8192) {
        const std::int64_t c1 = std::min(nv, c0 + 8192);
        by.clear();
        be.clear();
        bs.clear();
        bz.clear();
        for (std::int64_t r = c0; r < c1; ++r) {
          const std::int64_t i = local_val_rows[r];
          by.insert(by.end(), y.begin() + i * D, y.begin() + (i + 1) * D);
          be.insert(be.end(), e.begin() + i * Cx, e.begin() + (i + 1) * Cx);
          if (spectra) bs.insert(bs.end(), spectra->spectra + i * NP, spectra->spectra + (i + 1) * NP);
          if (rest_z) bz.push_back(rest_z[i]);
          val_sum -= ld_const[i] - 0.5 * D * kLog2Pi;
        }
        torch::Tensor z, ld;
        torch::Tensor te = torch::from_blob(be.data(), {c1 - c0, Cx}, torch::kFloat32);
        if (emb) {
          std::vector<float> ve(static_cast<std::size_t>((c1 - c0) * E));
          spectra->embedding->embed(bs.data(), rest_z ? bz.data() : nullptr, c1 - c0, ve.data());
          te = torch::cat({te, torch::from_blob(ve.data(), {c1 - c0, E}, torch::kFloat32)}, 1);
        }
        M.forward_fast(torch::from_blob(by.data(), {c1 - c0, D}, torch::kFloat32), te, z, ld);
        val_sum -= (ld - 0.5 * z.pow(2).sum(1)).sum().item<double>();
      }
    }
    double sums[2] = {train_sum, val_sum};
    comm.allreduce_sum(sums, 2);
    EpochRecord rec;
    rec.epoch = epoch;
    rec.train_loss = sums[0] / static_cast<double>(n_train);
    rec.val_loss = sums[1] / static_cast<double>(n_val);
    rec.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    rec.samples_per_s = static_cast<double>(n_train) / rec.seconds;
    rec.learning_rate = st.learning_rate * state.lr_scale;
    if (!std::isfinite(rec.val_loss) || !std::isfinite(rec.train_loss))
      throw NumericsError(cat("train: non-finite loss at epoch ", epoch, " (train ", rec.train_loss,
                              ", validation ", rec.val_loss, ")"));
    // sbi's early stopping: improvement resets the counter and stores the weights.
    if (rec.val_loss < state.best_val) {
      state.best_val = rec.val_loss;
      state.best_epoch = epoch;
      state.since_improve = 0;
      state.best.assign(pflat, pflat + M.n_params);
      state.emb_best = emb_params;
      rec.improved = true;
    } else {
      ++state.since_improve;
    }
    // A plateau with decays left: go on from the best weights at a lower rate.
    if (state.since_improve >= st.patience && state.lr_decays_done < st.lr_decays) {
      std::copy(state.best.begin(), state.best.end(), pflat);
      M.upload_parameters();
      if (emb) {
        emb_params = state.emb_best;
        emb->set_flat(emb_params.data());
      }
      state.lr_scale *= st.lr_decay_factor;
      ++state.lr_decays_done;
      state.since_improve = 0;
      if (show)
        logger().info(cat("train: no improvement for ", st.patience, " epochs; back to the best weights (epoch ",
                          state.best_epoch, ") at learning rate ", st.learning_rate * state.lr_scale,
                          " (decay ", state.lr_decays_done, " of ", st.lr_decays, ")"));
    }
    state.epoch = epoch;
    state.curve.push_back(rec);
    if (show) {
      char buf[200];
      char reduce[64] = "";
      if (fused_needed)
        std::snprintf(reduce, sizeof reduce, ", allreduce %.1f ms/step",
                      1e3 * allreduce_s / static_cast<double>(n_batches));
      std::snprintf(buf, sizeof buf, "epoch %d: loss %.4f, val loss %.4f%s, %.0f samples/s, %.1f s%s",
                    epoch, rec.train_loss, rec.val_loss, rec.improved ? " (best)" : "",
                    rec.samples_per_s, rec.seconds, reduce);
      meter.advance(0, buf);
      logger().info(cat("train: ", buf));
    }
    if (!st.checkpoint_path.empty() && comm.is_root()) {
      if (spectra) state.embedding = spectra->embedding->to_bytes();
      write_file_atomic(st.checkpoint_path, checkpoint_bytes(flow, state));
    }
    if (st.on_epoch) st.on_epoch(rec);
    if (state.since_improve >= st.patience) {
      early = true;
      break;
    }
  }
  meter.finish();

  if (!state.best.empty()) std::copy(state.best.begin(), state.best.end(), pflat);
  M.upload_parameters();
  if (emb && !state.emb_best.empty()) emb->set_flat(state.emb_best.data());
  TrainResult res;
  res.curve = state.curve;
  res.best_epoch = state.best_epoch;
  res.best_val_loss = state.best_val;
  res.early_stopped = early;
  res.n_train = n_train;
  res.n_validation = n_val;
  res.seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
  if (show)
    logger().info(cat("train: ", early ? "early stop" : "max epochs", " after epoch ", state.epoch,
                      "; best validation loss ", state.best_val, " at epoch ", state.best_epoch,
                      " (weights restored)"));
  return res;
}

}  // namespace sedpost::flow
