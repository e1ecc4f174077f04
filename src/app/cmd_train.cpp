// `sedpost train`: data-parallel training of the conditional MAF on any HDF5 file with
// /theta and /x (the `simulate` output, or a user's own simulations).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "app/commands.hpp"
#include "app/threads.hpp"
#include "app/training_set.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "flow/flow.hpp"
#include "flow/train.hpp"

namespace sedpost::app {

namespace {

struct TrainOptions {
  std::string data;          ///< training set (HDF5 with /theta, /x)
  std::string out = "model.pt";
  int blocks = 15;
  int hidden = 500;
  int depth = 2;             ///< hidden blocks per MADE after the input layer
  std::int64_t batch_size = 50;
  double lr = 5e-4;
  double validation_fraction = 0.1;
  double clip = 5.0;
  int max_epochs = 1000;
  int patience = 20;
  std::uint64_t seed = 0;
  int threads = 0;
  bool resume = false;
};

void write_curve_csv(const std::string& path, const flow::TrainResult& result) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "epoch,train_loss,val_loss,seconds,samples_per_s,improved\n";
    for (const auto& e : result.curve) {
      out << e.epoch << ',' << e.train_loss << ',' << e.val_loss << ',' << e.seconds << ','
          << e.samples_per_s << ',' << (e.improved ? 1 : 0) << '\n';
    }
    if (!out) throw IoError("cannot write training curve '" + tmp + "'");
  }
  std::filesystem::rename(tmp, path);
}

int run_train(Context& ctx, const TrainOptions& opt) {
  Comm& comm = ctx.comm;
  flow::set_threads(threads_per_rank(opt.threads, comm.size()));
  TrainingShard shard = read_training_shard(comm, opt.data);
  logger().info(cat("training set ", opt.data, ": ", shard.n_total, " rows, theta ", shard.n_theta,
                    "-D, x ", shard.n_x, "-D, prior box ", shard.theta_lower.empty() ? "none" : "yes",
                    "; ", comm.size(), " rank(s) x ", flow::get_threads(), " thread(s)"));

  flow::MafConfig cfg;
  cfg.n_theta = static_cast<int>(shard.n_theta);
  cfg.n_x = static_cast<int>(shard.n_x);
  cfg.n_blocks = opt.blocks;
  cfg.hidden = opt.hidden;
  cfg.n_hidden_blocks = opt.depth;
  cfg.seed = opt.seed;
  flow::FlowMetadata meta;
  meta.theta_lower = shard.theta_lower;
  meta.theta_upper = shard.theta_upper;
  meta.theta_names = shard.theta_names;
  meta.x_names = shard.x_names;
  meta.band_names = shard.bands;
  meta.config_text = ctx.config.to_toml();
  meta.attachments = sed_attachments(comm, opt.data);
  flow::Flow model(cfg, meta);
  logger().info(cat("flow: ", opt.blocks, " MADE blocks x ", opt.hidden, " hidden units, ",
                    model.parameter_count(), " parameters (", model.free_parameter_count(), " unmasked)"));

  flow::TrainSettings settings;
  settings.learning_rate = opt.lr;
  settings.batch_size = opt.batch_size;
  settings.validation_fraction = opt.validation_fraction;
  settings.clip_grad_norm = opt.clip;
  settings.patience = opt.patience;
  settings.max_epochs = opt.max_epochs;
  settings.seed = opt.seed;
  settings.checkpoint_path = opt.out + ".ckpt";
  if (opt.resume) settings.resume_from = settings.checkpoint_path;
  const flow::TrainResult result =
      flow::train(comm, model, settings, shard.theta.data(), shard.x.data(), shard.n_local);

  if (comm.is_root()) {
    model.save(opt.out);
    write_curve_csv(opt.out + ".curve.csv", result);
    std::filesystem::remove(settings.checkpoint_path);
  }
  comm.barrier();
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
  sub->add_option("--blocks", opt->blocks, "Number of MADE blocks")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--hidden", opt->hidden, "Hidden units per MADE layer")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--depth", opt->depth, "Hidden blocks per MADE after the input layer")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--batch-size", opt->batch_size, "Global batch size (all ranks together)")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--lr", opt->lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--validation-fraction", opt->validation_fraction, "Fraction of rows held out for validation")
      ->capture_default_str()->check(CLI::Range(0.01, 0.5));
  sub->add_option("--clip", opt->clip, "Gradient-norm clip (0 = none)")->capture_default_str();
  sub->add_option("--max-epochs", opt->max_epochs, "Maximum epochs")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--patience", opt->patience, "Stop after this many epochs without validation improvement")
      ->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--seed", opt->seed, "Seed for weights, split and batches")->capture_default_str();
  sub->add_option("--threads", opt->threads, "Threads per rank (0 = cores / ranks)")->capture_default_str();
  sub->add_flag("--resume", opt->resume, "Continue from <out>.ckpt written after every epoch");
}

}  // namespace sedpost::app
