// `sedpost run CONFIG`: the whole pipeline, stage after stage, each skipped when its
// complete output exists (so rerunning the same command resumes).
#include <chrono>
#include <filesystem>

#include "app/commands.hpp"
#include "app/run_summary.hpp"
#include "core/data_dir.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/progress.hpp"
#include "io/output_file.hpp"

namespace sedpost::app {

namespace {

struct RunOptions {
  std::string config;       ///< positional: the run's TOML file
  std::string out_dir;      ///< directory for every stage's output
  std::int64_t n_test = 200;       ///< held-out simulated galaxies (test set)
  std::int64_t n_samples = 1000;   ///< flow samples per test galaxy
  std::int64_t n_mcmc = 2;         ///< test galaxies the sampler runs on
  int n_show = 2;                  ///< galaxies in the final table
};

/// One pipeline stage: the subcommand and the output file that marks it done.
struct Stage {
  std::string label;
  std::string subcommand;
  std::string output;                   ///< file name inside out_dir
  std::vector<std::string> extra_args;  ///< arguments besides --config, --data-dir and --out
};

std::vector<Stage> pipeline(const std::string& dir, const RunOptions& opt, std::int64_t seed) {
  auto in = [&](const std::string& f) { return (std::filesystem::path(dir) / f).string(); };
  return {
      {"simulate training set", "simulate", "train.h5", {}},
      {"simulate held-out test set", "simulate", "test.h5",
       {"--n", std::to_string(opt.n_test), "--seed", std::to_string(seed + 1)}},
      {"train flow", "train", "model.pt", {"--data", in("train.h5")}},
      {"flow posteriors of the test set", "sample", "samples.h5",
       {"--model", in("model.pt"), "--x", in("test.h5"), "--n", std::to_string(opt.n_samples)}},
      {"MCMC reference posteriors", "mcmc", "chains.h5",
       {"--catalog", in("test.h5"), "--rows", "0:" + std::to_string(opt.n_mcmc)}},
      {"validation report", "validate", "report/metrics.json", {"--model", in("model.pt")}},
      {"catalog inference", "infer", "posteriors.h5", {"--model", in("model.pt")}},
  };
}

bool stage_done(const std::string& path) {
  if (path.size() > 3 && path.substr(path.size() - 3) == ".h5") return io::is_complete(path);
  return std::filesystem::exists(path);
}

int run_pipeline(Context& ctx, const RunOptions& opt) {
  Comm& comm = ctx.comm;
  // The run's config is the positional file (not --config): read it like --config is read.
  ctx.config = read_config_everywhere(comm, opt.config);
  const std::string data_dir = ctx.data_dir();
  logger().info(cat("sedpost run: config ", opt.config, ", data ", data_dir, ", output ", opt.out_dir,
                    ", ", comm.size(), " rank(s)"));
  if (comm.is_root()) std::filesystem::create_directories(opt.out_dir);
  comm.barrier();

  Cli probe;
  register_all(probe);
  int ran = 0, skipped = 0, pending = 0;
  const auto start = std::chrono::steady_clock::now();
  for (const Stage& stage : pipeline(opt.out_dir, opt, ctx.config.get_int("seed", 0))) {
    const std::string out = (std::filesystem::path(opt.out_dir) / stage.output).string();
    if (!probe.implemented(stage.subcommand)) {
      logger().warn(cat("stage '", stage.label, "' (sedpost ", stage.subcommand, "): not implemented yet, skipped"));
      ++pending;
      continue;
    }
    if (stage_done(out)) {
      logger().info(cat("stage '", stage.label, "': ", out, " is complete, skipped"));
      ++skipped;
      continue;
    }
    logger().info(cat("stage '", stage.label, "': sedpost ", stage.subcommand));
    std::vector<std::string> args{"sedpost", "--config", opt.config, "--data-dir", data_dir, stage.subcommand,
                                  "--out", out};
    args.insert(args.end(), stage.extra_args.begin(), stage.extra_args.end());
    Cli stage_cli;
    register_all(stage_cli);
    const int code = stage_cli.main(args, comm);
    if (code != 0) throw Error(cat("stage '", stage.label, "' failed with exit code ", code));
    ++ran;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  logger().info(cat("sedpost run: ", ran, " stage(s) ran, ", skipped, " already complete, ", pending,
                    " not implemented yet; ", ProgressMeter::format_duration(seconds), "; outputs in ", opt.out_dir));
  auto in = [&](const std::string& f) { return (std::filesystem::path(opt.out_dir) / f).string(); };
  if (comm.is_root() && io::is_complete(in("samples.h5"))) {
    print_run_summary(in("test.h5"), in("samples.h5"), in("chains.h5"), opt.n_show);
  }
  comm.barrier();
  return 0;
}

}  // namespace

void register_run(Cli& cli) {
  auto opt = std::make_shared<RunOptions>();
  CLI::App* sub = cli.add("run", "Run the whole pipeline (simulate, train, sample a held-out test set, mcmc, "
                                 "validate, infer); stages with complete outputs are skipped, so a rerun resumes",
                          [opt](Context& ctx) { return run_pipeline(ctx, *opt); });
  sub->add_option("config", opt->config, "Run configuration (TOML), e.g. configs/demo.toml")
      ->required()
      ->check(CLI::ExistingFile);
  opt->out_dir = "sedpost-run";
  sub->add_option("--out-dir", opt->out_dir, "Directory for all stage outputs")->capture_default_str();
  sub->add_option("--n-test", opt->n_test, "Held-out simulated galaxies")->capture_default_str();
  sub->add_option("--n-samples", opt->n_samples, "Flow samples per held-out galaxy")->capture_default_str();
  sub->add_option("--n-mcmc", opt->n_mcmc, "Held-out galaxies the MCMC runs on")->capture_default_str();
  sub->add_option("--n-show", opt->n_show, "Galaxies in the final truth-vs-posterior table")->capture_default_str();
}

}  // namespace sedpost::app
