// `sedpost train`: data-parallel training of the conditional MAF on any HDF5 file with
// /theta and /x (the `simulate` output, or a user's own simulations).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "app/commands.hpp"
#include "app/device_option.hpp"
#include "app/model_file.hpp"
#include "app/threads.hpp"
#include "app/training_set.hpp"
#include "catalog/support.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "flow/flow.hpp"
#include "flow/spectrum_embedding.hpp"
#include "flow/train.hpp"

namespace sedpost::app {

namespace {

/// The rest-frame part of an embedding's config (docs/spectra.md) for `shard`'s spectra: the
/// pixels' ln(lambda) step and the training z range from the `support` attachment, z being x's
/// last column when the redshift is given. Returns the redshift column's values [n_local] (empty
/// for an observed-frame embedding). `frame`: auto (rest when z is given), rest, observed.
std::vector<float> rest_frame_setup(const TrainingShard& shard, const flow::FlowMetadata& meta, const std::string& frame,
                                    const std::string& data, flow::EmbeddingConfig& ecfg) {
  if (frame == "observed") return {};
  const std::string* text = meta.attachment(kSupportAttachment);
  const std::optional<catalog::TrainingSupport> support =
      text ? std::optional(catalog::TrainingSupport::from_toml(*text, data)) : std::nullopt;
  const bool z_given = support && !support->z_inferred && !shard.x_names.empty() && shard.x_names.back() == "z";
  if (!z_given) {
    if (frame == "rest")
      throw ConfigError(data + ": --embedding-frame rest needs a training set with the redshift given (x's last "
                               "column z); this one infers z or is not a simulated SED training set");
    return {};
  }
  const std::vector<double>& w = shard.spectrum_wavelength;
  if (w.size() < 2 || !(w.front() > 0.0) || !(w.back() > w.front()))
    throw DataError(data + ": /spectrum_wavelength is not an increasing grid of positive wavelengths");
  ecfg.ln_step = std::log(w.back() / w.front()) / static_cast<double>(w.size() - 1);
  ecfg.ln1pz_max = std::log1p(support->z_max);
  ecfg.rest_shift = flow::rest_frame_shift(ecfg.ln_step, support->z_min, support->z_max);
  std::vector<float> z(static_cast<std::size_t>(shard.n_local));
  for (std::int64_t i = 0; i < shard.n_local; ++i) z[i] = shard.x[(i + 1) * shard.n_x - 1];
  return z;
}

struct TrainOptions {
  std::string data;          ///< training set (HDF5 with /theta, /x)
  std::string out = "model.pt";
  // 0 / "auto": chosen by the training set (ArchitectureDefaults below).
  int blocks = 0;
  int hidden = 0;
  int depth = 2;              ///< hidden blocks per MADE after the input layer
  std::string flow = "auto";  ///< maf (affine), nsf (rational-quadratic splines), auto (see --help)
  int spline_bins = 10;
  std::int64_t batch_size = 0;
  double lr = 5e-4;
  double validation_fraction = 0.1;
  double clip = 5.0;
  int max_epochs = 1000;
  int patience = 20;
  int lr_decays = -1;  ///< -1: chosen by the training set (ArchitectureDefaults)
  double lr_decay_factor = 0.1;
  std::uint64_t seed = 0;
  int threads = 0;
  std::string device = "cpu";
  bool resume = false;
  std::string spectra = "auto";  ///< auto (when the training set has /spectrum), on, off
  int embedding_dim = 16;
  int embedding_channels = 16;
  int embedding_heads = 4;
  std::string embedding_pooling = "flatten";    ///< flatten, attention
  std::string embedding_frame = "auto";         ///< auto (rest when z is given), rest, observed
};

/// Defaults of the options left at 0. An SED training set (written by `simulate`) gets
/// SEDflow's flow, 15 blocks x 500 hidden units, batch 50; any other training set (generic
/// mode) sbi's NPE size, 5 blocks x 50 hidden units, batch 200.
struct ArchitectureDefaults {
  int blocks, hidden;
  std::int64_t batch_size;
  int lr_decays;  ///< restarts from the best weights at a lower rate (0: stop at the first plateau)
};
constexpr ArchitectureDefaults kSedDefaults{15, 500, 50, 0};
constexpr ArchitectureDefaults kGenericDefaults{5, 50, 200, 2};

void write_curve_csv(const std::string& path, const flow::TrainResult& result) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "epoch,train_loss,val_loss,seconds,samples_per_s,improved,learning_rate\n";
    for (const auto& e : result.curve) {
      out << e.epoch << ',' << e.train_loss << ',' << e.val_loss << ',' << e.seconds << ','
          << e.samples_per_s << ',' << (e.improved ? 1 : 0) << ',' << e.learning_rate << '\n';
    }
    if (!out) throw IoError("cannot write training curve '" + tmp + "'");
  }
  std::filesystem::rename(tmp, path);
}

/// One trained flow of `train` (--flow auto on a generic training set trains two).
struct Candidate {
  std::string kind;  ///< maf or nsf
  flow::Flow model;
  flow::TrainResult result;
  std::string checkpoint;
};

int run_train(Context& ctx, const TrainOptions& opt) {
  Comm& comm = ctx.comm;
  flow::set_threads(threads_per_rank(opt.threads, comm.size()));
  const flow::Device device = rank_device(comm, opt.device);
  const bool file_has_spectra =
      read_on_root<DataError>(comm, [&] { return std::string(has_spectra(opt.data) ? "1" : "0"); }) == "1";
  if (opt.spectra == "on" && !file_has_spectra)
    throw DataError(opt.data + ": --spectra on, but the training set has no /spectrum (simulate with [spectrum] enabled = true)");
  const bool use_spectra = opt.spectra == "on" || (opt.spectra == "auto" && file_has_spectra);
  TrainingShard shard = read_training_shard(comm, opt.data, use_spectra);
  logger().info(cat("training set ", opt.data, ": ", shard.n_total, " rows, theta ", shard.n_theta,
                    "-D, x ", shard.n_x, "-D, prior box ", shard.theta_lower.empty() ? "none" : "yes",
                    "; ", comm.size(), " rank(s) x ", flow::get_threads(), " thread(s)"));

  flow::FlowMetadata meta;
  meta.attachments = sed_attachments(comm, opt.data);
  const bool generic = meta.attachments.empty();
  const ArchitectureDefaults& auto_ = generic ? kGenericDefaults : kSedDefaults;
  const int blocks = opt.blocks > 0 ? opt.blocks : auto_.blocks;
  const int hidden = opt.hidden > 0 ? opt.hidden : auto_.hidden;
  const std::int64_t batch_size = opt.batch_size > 0 ? opt.batch_size : auto_.batch_size;
  // --flow auto: one affine MAF for an SED training set; for a generic one both transforms,
  // on the same split and batches, keeping the lower validation loss (docs/generic-mode.md).
  std::vector<std::string> kinds{opt.flow};
  if (opt.flow == "auto") kinds = generic ? std::vector<std::string>{"maf", "nsf"} : std::vector<std::string>{"maf"};
  meta.theta_lower = shard.theta_lower;
  meta.theta_upper = shard.theta_upper;
  meta.theta_names = shard.theta_names;
  meta.x_names = shard.x_names;
  if (use_spectra && !meta.x_names.empty())
    for (int k = 0; k < opt.embedding_dim; ++k) meta.x_names.push_back(cat("spectrum_embedding_", k));
  meta.band_names = shard.bands;
  meta.config_text = ctx.config.to_toml();

  flow::TrainSettings settings;
  settings.learning_rate = opt.lr;
  settings.batch_size = batch_size;
  settings.validation_fraction = opt.validation_fraction;
  settings.clip_grad_norm = opt.clip;
  settings.patience = opt.patience;
  settings.lr_decays = opt.lr_decays >= 0 ? opt.lr_decays : auto_.lr_decays;
  settings.lr_decay_factor = opt.lr_decay_factor;
  settings.max_epochs = opt.max_epochs;
  settings.seed = opt.seed;

  std::vector<Candidate> trained;
  for (const std::string& kind : kinds) {
    flow::MafConfig cfg;
    cfg.n_theta = static_cast<int>(shard.n_theta);
    cfg.n_x = static_cast<int>(shard.n_x) + (use_spectra ? opt.embedding_dim : 0);
    cfg.n_blocks = blocks;
    cfg.hidden = hidden;
    cfg.n_hidden_blocks = opt.depth;
    cfg.transform = kind == "nsf" ? flow::Transform::kSpline : flow::Transform::kAffine;
    cfg.spline_bins = opt.spline_bins;
    cfg.seed = opt.seed;
    flow::Flow model(cfg, meta);
    model.set_device(device);
    logger().info(cat("flow: ", kind, ", ", blocks, " MADE blocks x ", hidden, " hidden units, batch ", batch_size,
                      generic ? " (generic training set)" : " (SED training set)", ", ", model.parameter_count(),
                      " parameters (", model.free_parameter_count(), " unmasked), on ", device.is_cuda() ? "cuda" : "cpu"));
    // Each candidate keeps its own checkpoint until the end, so --resume finds both.
    settings.checkpoint_path = kinds.size() > 1 ? cat(opt.out, ".", kind, ".ckpt") : opt.out + ".ckpt";
    settings.resume_from = opt.resume ? settings.checkpoint_path : "";
    std::optional<flow::SpectrumEmbedding> embedding;
    flow::SpectrumInput spectra;
    std::vector<float> rest_z;  // [n_local] redshifts of a rest-frame embedding
    if (use_spectra) {
      flow::EmbeddingConfig ecfg;
      ecfg.n_pixels = static_cast<int>(shard.n_pixels);
      ecfg.out_dim = opt.embedding_dim;
      ecfg.channels = opt.embedding_channels;
      ecfg.heads = opt.embedding_heads;
      ecfg.pooling = flow::pooling_from_string(opt.embedding_pooling);
      ecfg.seed = opt.seed;
      rest_z = rest_frame_setup(shard, meta, opt.embedding_frame, opt.data, ecfg);
      embedding.emplace(ecfg);
      spectra = {&*embedding, shard.spectra.data(), rest_z.empty() ? nullptr : rest_z.data()};
      logger().info(cat("spectra: ", shard.n_pixels, " pixels per galaxy",
                        ecfg.rest_shift > 0 ? cat(", moved to the rest frame (", shard.n_pixels + ecfg.rest_shift, " pixels),") : std::string(),
                        " into a ", ecfg.out_dim,
                        "-D embedding (1-D CNN, ", ecfg.n_conv, " convolutions x ", ecfg.channels, " channels, ",
                        ecfg.pooling == flow::Pooling::kAttention ? cat("attention pooling with ", ecfg.heads, " heads") : std::string("flattened"),
                        "; ", embedding->parameter_count(),
                        " parameters), trained with the flow (LibTorch autograd)"));
    }
    flow::TrainResult result = flow::train(comm, model, settings, shard.theta.data(), shard.x.data(), shard.n_local,
                                           use_spectra ? &spectra : nullptr);
    if (embedding) model.set_attachment(flow::kSpectrumEmbeddingAttachment, embedding->to_bytes());
    trained.push_back({kind, std::move(model), std::move(result), settings.checkpoint_path});
  }
  std::size_t best = 0;
  for (std::size_t c = 1; c < trained.size(); ++c)
    if (trained[c].result.best_val_loss < trained[best].result.best_val_loss) best = c;
  if (trained.size() > 1) {
    std::string all;
    for (const Candidate& c : trained) all += cat(all.empty() ? "" : ", ", c.kind, " ", c.result.best_val_loss);
    logger().info(cat("train: best validation losses ", all, "; keeping ", trained[best].kind));
  }
  const Candidate& chosen = trained[best];

  if (comm.is_root()) {
    chosen.model.save(opt.out);
    write_curve_csv(opt.out + ".curve.csv", chosen.result);
    for (const Candidate& c : trained) std::filesystem::remove(c.checkpoint);
  }
  comm.barrier();
  const flow::TrainResult& result = chosen.result;
  logger().info(cat("trained ", result.curve.size(), " epochs in ", result.seconds, " s; best validation loss ",
                    result.best_val_loss, " at epoch ", result.best_epoch,
                    result.early_stopped ? " (early stop)" : " (max epochs)", "; wrote ", opt.out, " and ",
                    opt.out, ".curve.csv"));
  return 0;
}

}  // namespace

void register_train(Cli& cli) {
  auto opt = std::make_shared<TrainOptions>();
  CLI::App* sub = cli.add("train",
                          "Train the conditional normalizing flow on a training set (data-parallel over ranks)",
                          [opt](Context& ctx) { return run_train(ctx, *opt); });
  sub->add_option("--data", opt->data, "Training set: HDF5 with /theta [N, D] and /x [N, C] "
                                       "(optional root attributes theta_lower/theta_upper = prior box)")
      ->required();
  sub->add_option("--out", opt->out, "Model file to write (self-contained)")->capture_default_str();
  sub->add_option("--blocks", opt->blocks,
                  "Number of MADE blocks (0 = 15 for an SED training set from `simulate`, SEDflow's; 5 for any "
                  "other training set, sbi's NPE)")
      ->capture_default_str()->check(CLI::Range(0, 1000000));
  sub->add_option("--hidden", opt->hidden, "Hidden units per MADE layer (0 = 500 for an SED training set, 50 otherwise)")
      ->capture_default_str()->check(CLI::Range(0, 1000000));
  sub->add_option("--depth", opt->depth, "Hidden blocks per MADE after the input layer")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--flow", opt->flow,
                  "Transform of each MADE block: maf (affine, SEDflow's and sbi's MAF), nsf (a monotone "
                  "rational-quadratic spline with linear tails on [-3, 3] of the z-scored values, then an "
                  "affine map, both from the MADE: the autoregressive form of sbi's neural spline flow; "
                  "trained with LibTorch autograd, sampling costs D MADE passes per block; "
                  "docs/generic-mode.md), or auto: maf for an SED training set (the fast "
                  "inference kernels and likelihood weighting are built for it); for any other training set "
                  "both, on the same split, keeping the one with the lower validation loss (twice the "
                  "training time)")
      ->capture_default_str()->check(CLI::IsMember({"auto", "maf", "nsf"}));
  sub->add_option("--spline-bins", opt->spline_bins, "Spline bins per value (--flow nsf)")
      ->capture_default_str()->check(CLI::Range(2, 1000));
  sub->add_option("--batch-size", opt->batch_size,
                  "Global batch size, all ranks together (0 = 50 for an SED training set, 200 otherwise)")
      ->capture_default_str()->check(CLI::Range(0, 1000000));
  sub->add_option("--lr", opt->lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--validation-fraction", opt->validation_fraction, "Fraction of rows held out for validation")
      ->capture_default_str()->check(CLI::Range(0.01, 0.5));
  sub->add_option("--clip", opt->clip, "Gradient-norm clip (0 = none)")->capture_default_str();
  sub->add_option("--max-epochs", opt->max_epochs, "Maximum epochs")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--patience", opt->patience, "Stop after this many epochs without validation improvement")
      ->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--lr-decays", opt->lr_decays,
                  "At a plateau (--patience epochs without validation improvement) go on from the best "
                  "weights at the learning rate x --lr-decay-factor, this many times, before stopping "
                  "(0 = stop at the first plateau, as sbi; -1 = 0 for an SED training set, 2 otherwise)")
      ->capture_default_str()->check(CLI::Range(-1, 100));
  sub->add_option("--lr-decay-factor", opt->lr_decay_factor, "Learning-rate factor of each decay")
      ->capture_default_str()->check(CLI::Range(0.01, 0.99));
  sub->add_option("--seed", opt->seed, "Seed for weights, split and batches")->capture_default_str();
  sub->add_option("--threads", opt->threads, "Threads per rank (0 = cores / ranks)")->capture_default_str();
  add_device_option(sub, opt->device);
  sub->add_flag("--resume", opt->resume, "Continue from <out>.ckpt written after every epoch");
  sub->add_option("--spectra", opt->spectra,
                  "Condition on the training set's spectra too (/spectrum, docs/spectra.md): an embedding network "
                  "(a 1-D CNN) compresses each spectrum to --embedding-dim numbers appended to "
                  "the photometry's conditioning vector, trained jointly with the flow. auto: when the training set "
                  "has /spectrum")
      ->capture_default_str()->check(CLI::IsMember({"auto", "on", "off"}));
  sub->add_option("--embedding-dim", opt->embedding_dim, "Outputs of the spectrum embedding")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  sub->add_option("--embedding-channels", opt->embedding_channels, "Channels of the embedding's convolutions")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  sub->add_option("--embedding-heads", opt->embedding_heads, "Attention-pooling heads of the embedding (--embedding-pooling attention)")
      ->capture_default_str()->check(CLI::Range(1, 256));
  sub->add_option("--embedding-pooling", opt->embedding_pooling,
                  "How the embedding reduces its convolutions' features: flatten (every position's features, in "
                  "order) or attention (weighted means over wavelength, --embedding-heads)")
      ->capture_default_str()->check(CLI::IsMember({"attention", "flatten"}));
  sub->add_option("--embedding-frame", opt->embedding_frame,
                  "Frame of the embedding's input: rest (each spectrum moved by its redshift, so rest-frame "
                  "features sit at fixed positions; needs the redshift given), observed, or auto (rest when the "
                  "training set gives z)")
      ->capture_default_str()->check(CLI::IsMember({"auto", "rest", "observed"}));
}

}  // namespace sedpost::app
