// `sedpost run CONFIG`: the whole pipeline, stage after stage, each skipped when its
// complete output exists (so rerunning the same command resumes).
#include <chrono>
#include <cstdio>
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
  int n_show = 2;           ///< galaxies in the final table
};

/// One pipeline stage: the subcommand and the output file that marks it done.
struct Stage {
  std::string label;
  std::string subcommand;
  std::string output;                   ///< what --out gets, inside out_dir
  std::string done_marker;              ///< file inside out_dir whose completeness marks the stage done
  std::vector<std::string> extra_args;  ///< arguments besides --config, --data-dir and --out
};

/// The stages; their settings come from the config's tables ([simulate], [train], [infer] with
/// [catalog], [validate] and [mcmc]). Each continues the partial output of a killed run
/// (--resume; validate skips its finished steps), so rerunning after a kill loses little.
std::vector<Stage> pipeline(const std::string& dir) {
  auto in = [&](const std::string& f) { return (std::filesystem::path(dir) / f).string(); };
  return {
      {"simulate training set", "simulate", "train.h5", "train.h5", {"--resume"}},
      {"train flow", "train", "model.pt", "model.pt", {"--data", in("train.h5"), "--resume"}},
      {"catalog inference", "infer", "posteriors.h5", "posteriors.h5", {"--model", in("model.pt"), "--resume"}},
      {"validation (test set, MCMC, metrics, report)", "validate", "report", "report/metrics.json",
       {"--model", in("model.pt"), "--real", in("posteriors.h5")}},
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

  int ran = 0, skipped = 0;
  const bool has_catalog = !ctx.config.get_string("infer.catalog", "").empty();
  const auto start = std::chrono::steady_clock::now();
  for (const Stage& stage : pipeline(opt.out_dir)) {
    const std::string out = (std::filesystem::path(opt.out_dir) / stage.output).string();
    const std::string marker = (std::filesystem::path(opt.out_dir) / stage.done_marker).string();
    if (stage_done(marker)) {
      logger().info(cat("stage '", stage.label, "': ", marker, " is complete, skipped"));
      ++skipped;
      continue;
    }
    if (stage.subcommand == "infer" && !has_catalog) {  // survey configs without a real catalog yet
      logger().info(cat("stage '", stage.label, "': no [infer] catalog in ", opt.config, ", skipped"));
      continue;
    }
    logger().info(cat("stage '", stage.label, "': sedpost ", stage.subcommand));
    std::vector<std::string> args{"--out", out};
    args.insert(args.end(), stage.extra_args.begin(), stage.extra_args.end());
    call_subcommand(comm, opt.config, data_dir, stage.subcommand, args, "stage '" + stage.label + "'");
    ++ran;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  logger().info(cat("sedpost run: ", ran, " stage(s) ran, ", skipped, " already complete; ",
                    ProgressMeter::format_duration(seconds), "; outputs in ", opt.out_dir));
  auto in = [&](const std::string& f) { return (std::filesystem::path(opt.out_dir) / f).string(); };
  if (comm.is_root() && io::is_complete(in("report/test_posteriors.h5"))) {
    print_run_summary(in("report/test_posteriors.h5"), in("report/chains.h5"), opt.n_show);
    std::printf("\nreport: %s (metrics.json, index.html)", in("report").c_str());
    if (has_catalog)
      std::printf("; posteriors of %s: %s", ctx.config.get_string("infer.catalog", "").c_str(), in("posteriors.h5").c_str());
    std::printf("\n");
  }
  comm.barrier();
  return 0;
}

}  // namespace

void call_subcommand(Comm& comm, const std::string& config_path, const std::string& data_dir,
                     const std::string& subcommand, const std::vector<std::string>& args, const std::string& label) {
  std::vector<std::string> argv{"sedpost", "--config", config_path, "--data-dir", data_dir, subcommand};
  argv.insert(argv.end(), args.begin(), args.end());
  Cli cli;
  register_all(cli);
  const int code = cli.main(argv, comm);
  if (code != 0) throw Error(cat(label, " (sedpost ", subcommand, ") failed with exit code ", code));
}

void register_run(Cli& cli) {
  auto opt = std::make_shared<RunOptions>();
  CLI::App* sub = cli.add("run", "Run the whole pipeline (simulate, train, infer the config's [infer] catalog when "
                                 "it has one, validate on a held-out test set with MCMC); stages with complete outputs "
                                 "are skipped, so a rerun resumes",
                          [opt](Context& ctx) { return run_pipeline(ctx, *opt); });
  sub->add_option("config", opt->config, "Run configuration (TOML), e.g. configs/demo.toml")
      ->required()
      ->check(CLI::ExistingFile);
  opt->out_dir = "sedpost-run";
  sub->add_option("--out-dir", opt->out_dir, "Directory for all stage outputs")->capture_default_str();
  sub->add_option("--n-show", opt->n_show, "Galaxies in the final truth-vs-posterior table")->capture_default_str();
}

}  // namespace sedpost::app
