#pragma once
/// Data-parallel maximum-likelihood training of a Flow (sbi's SNPE training loop).
/// Plain C++ interface (no LibTorch headers).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/comm.hpp"
#include "flow/flow.hpp"
#include "flow/spectrum_embedding.hpp"

namespace sedpost::flow {

/// One epoch of the training curve.
struct EpochRecord {
  int epoch = 0;              ///< 1-based
  double train_loss = 0.0;    ///< mean -log q over the training split (per sample, nats)
  double val_loss = 0.0;      ///< mean -log q over the validation split
  double seconds = 0.0;       ///< wall time of this epoch
  double samples_per_s = 0.0; ///< training rows per second, job-wide
  double learning_rate = 0.0; ///< Adam lr used in this epoch (after any plateau decay)
  bool improved = false;      ///< val_loss is the best so far
};

/// Training settings (sbi / MODEL.md section 7 defaults).
struct TrainSettings {
  double learning_rate = 5e-4;       ///< Adam lr (betas 0.9/0.999, eps 1e-8)
  std::int64_t batch_size = 50;      ///< GLOBAL batch size (all ranks together)
  double validation_fraction = 0.1;  ///< rows with u < fraction are validation (by global row)
  double clip_grad_norm = 5.0;       ///< <= 0: no clipping
  int patience = 20;                 ///< stop after this many epochs without improvement
  /// Learning-rate decays: when `patience` epochs pass without validation improvement and
  /// fewer than `lr_decays` decays were made, training does not stop but goes on from the best
  /// weights so far (Adam moments kept) at lr x lr_decay_factor. 0 = sbi's NPE: stop there.
  /// The epochs up to the first plateau are those of a run without decays.
  int lr_decays = 0;
  double lr_decay_factor = 0.1;      ///< in (0, 1)
  int max_epochs = 1000;
  std::uint64_t seed = 0;            ///< split and shuffling (kSplit stream)
  bool progress = true;              ///< ProgressMeter + per-epoch log lines on rank 0
  double progress_interval_s = 30.0;
  /// Checkpoint written by rank 0 after every epoch (atomically); empty = none.
  std::string checkpoint_path;
  /// Resume from this checkpoint when non-empty and the file exists (read on rank 0,
  /// broadcast). The flow's architecture must match.
  std::string resume_from;
  /// Called on every rank after every epoch (after the checkpoint is written).
  std::function<void(const EpochRecord&)> on_epoch;
};

struct TrainResult {
  std::vector<EpochRecord> curve;  ///< every epoch, including ones before a resume
  int best_epoch = 0;
  double best_val_loss = 0.0;
  bool early_stopped = false;      ///< false: max_epochs reached
  std::int64_t n_train = 0, n_validation = 0;  ///< job-wide
  double seconds = 0.0;
};

/// Spectra of the training rows and the embedding network that trains with the flow: the flow's
/// conditioning vector is then (x, embedding(spectrum)), n_x = the x columns + out_dim().
struct SpectrumInput {
  SpectrumEmbedding* embedding = nullptr;  ///< trained in place (its pixel statistics set here)
  const float* spectra = nullptr;          ///< [n_local, embedding->n_pixels()], finite
  const float* z = nullptr;                ///< [n_local] redshifts (rest-frame embeddings only)
};

/// Trains `flow` (collective: every rank calls it with its shard).
/// theta: [n_local, n_theta], x: [n_local, n_x]; rank r holds the global rows that follow
/// those of ranks 0..r-1 (a block partition such as block_range()). Sets the flow's z-score
/// statistics from the training split, then runs Adam on the global batch: each rank
/// back-propagates its rows of the batch, the gradients are summed in ONE fused
/// allreduce_sum per step, divided by the global batch count, clipped, and every rank takes
/// the identical step. Stops after `patience` epochs without validation improvement (once the
/// `lr_decays` restarts at lower rates are used up) and restores the best weights. The split
/// and the batches depend on global row indices only, so the result does not depend on the
/// number of ranks (up to float summation order).
///
/// With `spectra` (docs/spectra.md): x has n_x - E columns (E = embedding->out_dim()); each
/// batch's spectra pass through the embedding, whose E outputs complete the conditioning vector
/// (the embedding's last layer is first rescaled to give outputs of mean 0 and std 1 over the
/// training split; the flow's z-score of them is the identity); the embedding's weights are
/// trained with the flow's by
/// the same Adam and allreduce (LibTorch autograd for both; the gradient-norm clip applies to each
/// network's gradient on its own), and its per-pixel input
/// statistics are set from the training split. The best epoch's weights of both are restored.
/// Throws DataError (theta outside the prior box, non-finite data, too few rows),
/// NumericsError (non-finite loss), IoError (checkpoint).
TrainResult train(Comm& comm, Flow& flow, const TrainSettings& settings, const float* theta,
                  const float* x, std::int64_t n_local, const SpectrumInput* spectra = nullptr);

}  // namespace sedpost::flow
