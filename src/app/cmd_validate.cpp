// `sedpost validate`: calibration of the flow on a fresh simulated test set (MODEL.md section
// 10): simulate the test set, infer its posteriors, optionally run the MCMC on some of its
// galaxies, compute the metrics (src/validation) into metrics.json, and draw the report with
// validation/make_report.py. Every step is skipped when its complete output exists, so a rerun
// resumes. Outputs (all in --out): training_config.toml (and mcmc_config.toml, the same without
// [catalog]), test_set.h5, test_posteriors.h5, chains.h5, metrics.json, *.png, index.html
// (docs/metrics.md).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "app/commands.hpp"
#include "app/inference.hpp"
#include "app/model_file.hpp"
#include "app/posterior_options.hpp"
#include "catalog/support.hpp"
#include "catalog/quantities.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/progress.hpp"
#include "flow/spectrum_embedding.hpp"
#include "io/h5_file.hpp"
#include "io/output_file.hpp"
#include "validation/calibration.hpp"
#include "validation/flow_mcmc.hpp"
#include "validation/metrics_json.hpp"

namespace sedpost::app {

namespace {

namespace fs = std::filesystem;

/// The posterior settings on a simulated test set: the model is exact there, so no
/// model-systematics floor (docs/metrics.md).
posterior::PosteriorSettings test_set_settings() {
  posterior::PosteriorSettings s;
  s.model_error = 0.0;
  return s;
}

struct ValidateOptions {
  std::string model = "model.pt";
  std::string out = "report";
  std::int64_t n_test = 1000;
  int n_samples = 1000;
  int n_store = 1000;  ///< draws per galaxy stored and ranked (at most n_samples)
  std::int64_t mcmc = 0;
  std::uint64_t seed = 0;
  std::string real;
  bool no_plots = false;
  int threads = 0;
  std::uint64_t chunk = 64;
  std::vector<std::string> drop_bands;  ///< bands removed from every test galaxy (band-mask models)
  std::vector<std::string> inflate_errors;  ///< test-set noise beyond the training range (simulate's option)
  posterior::PosteriorSettings posterior = test_set_settings();
};

/// Rows of /samples read at a time (bounds memory: 256 x S x 18 floats).
constexpr std::uint64_t kCalibrationBlock = 256;

/// Calibration of the test posteriors (rank 0): streams /samples through the accumulator.
validation::CalibrationReport calibrate_test_set(const std::string& path, std::uint64_t seed) {
  io::H5File f = io::H5File::open_read(path);
  if (!f.has("samples") || !f.has("truth"))
    throw DataError(cat(path, ": needs /samples and /truth (a posterior catalog of a simulated test set with "
                              "stored samples)"));
  const auto s = f.shape("samples");
  const std::uint64_t n = s[0], S = s[1], K = s[2];
  std::vector<double> truth(n * K);
  f.read_rows("truth", 0, n, truth.data());
  validation::CalibrationSettings settings;
  settings.seed = seed;
  validation::CalibrationAccumulator acc(truth.data(), n, S, K, f.attr_strings("summary", "names"), settings);
  std::vector<float> block;
  for (std::uint64_t i = 0; i < n; i += kCalibrationBlock) {
    const std::uint64_t m = std::min(kCalibrationBlock, n - i);
    block.resize(m * S * K);
    f.read_rows("samples", i, m, block.data());
    acc.add(i, validation::SamplesView{block.data(), m, S, K, K});
  }
  return acc.finish();
}

/// Flow vs MCMC on the galaxies of `chains_path` (rank 0), comparing the chains' parameters (the
/// 12 physical ones, and z when the MCMC sampled it) with the same quantities of the flow.
validation::FlowMcmcComparison compare_with_mcmc(const std::string& posteriors_path, const std::string& chains_path,
                                                 std::uint64_t seed) {
  io::H5File c = io::H5File::open_read(chains_path);
  const auto cs = c.shape("chains");  // [G, steps, walkers, P]
  const std::uint64_t G = cs[0], steps = cs[1], walkers = cs[2], P = cs[3];
  std::vector<float> chains(G * steps * walkers * P);
  c.read_rows("chains", 0, G, chains.data());
  std::vector<std::int64_t> rows(G);
  c.read_rows("row", 0, G, rows.data());
  const std::vector<std::string> names = c.attr_strings("", "theta_names");
  io::H5File f = io::H5File::open_read(posteriors_path);
  const auto s = f.shape("samples");  // [N, S, K]
  const std::uint64_t S = s[1], K = s[2];
  // The flow's column of each chain parameter, by name.
  const std::vector<std::string> quantities = f.attr_strings("summary", "names");
  std::vector<std::size_t> column(P);
  for (std::uint64_t j = 0; j < P; ++j) {
    const auto it = std::find(quantities.begin(), quantities.end(), names.at(j));
    if (it == quantities.end())
      throw DataError(cat(chains_path, ": chain parameter '", names[j], "' is not a quantity of ", posteriors_path));
    column[j] = static_cast<std::size_t>(it - quantities.begin());
  }
  std::vector<float> flow(G * S * P), one(S * K);
  for (std::uint64_t g = 0; g < G; ++g) {
    // The chains' rows are test-set rows; the posterior catalog covers the whole test set.
    f.read_rows("samples", static_cast<std::uint64_t>(rows[g]), 1, one.data());
    for (std::uint64_t t = 0; t < S; ++t)
      for (std::uint64_t j = 0; j < P; ++j) flow[(g * S + t) * P + j] = one[t * K + column[j]];
  }
  validation::FlowMcmcSettings settings;
  settings.c2st.seed = seed;
  return validation::compare_flow_mcmc(validation::SamplesView{flow.data(), G, S, P, P},
                                       validation::SamplesView{chains.data(), G, steps * walkers, P, P}, names, rows,
                                       settings);
}

template <class T>
std::vector<T> read_column(const io::H5File& f, const std::string& name) {
  const std::uint64_t n = f.shape(name)[0];
  std::vector<T> v(n);
  f.read_rows(name, 0, n, v.data());
  return v;
}

std::vector<std::uint32_t> read_flags(const std::string& path, std::vector<std::string>* names) {
  io::H5File f = io::H5File::open_read(path);
  *names = f.attr_strings("flags", "flag_names");
  return read_column<std::uint32_t>(f, "flags");
}

/// Goodness of fit and weighting statistics of the test posteriors (rank 0), and the expected
/// flag rates (docs/metrics.md, "Flags").
void add_posterior_checks(const std::string& path, const flow::Flow& flow, const std::string& model_path,
                          validation::MetricsReport& report) {
  io::H5File f = io::H5File::open_read(path);
  const auto bands = f.attr_strings("", "bands");
  std::vector<double> dof;  // per galaxy: the bands in its posterior
  for (std::uint32_t used : read_column<std::uint32_t>(f, "bands_used")) dof.push_back(__builtin_popcount(used));
  report.goodness_of_fit = validation::goodness_of_fit(read_column<double>(f, "chi2_draw"),
                                                       read_column<double>(f, "chi2"), dof);
  report.weighting = validation::summarize_weighting(read_column<double>(f, "ess"),
                                                     read_column<std::uint32_t>(f, "n_draws"),
                                                     read_column<std::uint32_t>(f, "refine_rounds"));
  const catalog::TrainingSupport support = catalog::TrainingSupport::from_toml(
      require_sed_attachment(flow, model_path, kSupportAttachment), model_path + " (training support)");
  validation::set_flag_expectations(
      *report.flags,
      validation::expected_flag_rates(report.flags->names, static_cast<int>(bands.size()),
                                      support.noise.settings().flag_nsigma, support.colour_quantile,
                                      f.attr_double("", "chi2_pvalue")),
      report.thresholds.flag_binomial_level);
}

/// validation/make_report.py: $SEDPOST_REPORT_SCRIPT, else the source tree this binary was
/// built from. "" when neither exists.
std::string report_script() {
  if (const char* env = std::getenv("SEDPOST_REPORT_SCRIPT")) return env;
#ifdef SEDPOST_SOURCE_DIR
  const fs::path p = fs::path(SEDPOST_SOURCE_DIR) / "validation" / "make_report.py";
  if (fs::exists(p)) return p.string();
#endif
  return "";
}

void draw_report(const std::string& dir) {
  const std::string script = report_script();
  const std::string python = "/usr/bin/python3";
  if (script.empty() || !fs::exists(python)) {
    logger().warn(cat("plots skipped: ", script.empty() ? "validation/make_report.py not found (set SEDPOST_REPORT_SCRIPT)"
                                                        : python + " not found",
                      "; metrics.json is complete"));
    return;
  }
  const std::string cmd = cat(python, " '", script, "' '", dir, "'");
  logger().info(cat("drawing the report: ", cmd));
  if (std::system(cmd.c_str()) != 0)
    logger().warn(cat("the plotting script failed (see its output above); metrics.json is complete. Rerun: ", cmd));
}

void log_checks(const validation::MetricsReport& report) {
  int passed = 0, failed = 0, open = 0;
  for (const validation::Check& c : validation::evaluate_checks(report)) {
    if (!c.passed) {
      ++open;
      continue;
    }
    (*c.passed ? passed : failed) += 1;
    if (!*c.passed)
      logger().warn(cat("check ", c.name, c.quantity.empty() ? "" : " [" + c.quantity + "]", ": ", c.value, " not ",
                        c.comparison, " ", c.threshold, c.note.empty() ? "" : " (" + c.note + ")"));
  }
  logger().info(cat("validate: ", passed, " checks passed, ", failed, " failed, ", open, " not evaluable"));
}

int run_validate(Context& ctx, const ValidateOptions& opt) {
  Comm& comm = ctx.comm;
  const auto start = std::chrono::steady_clock::now();
  if (opt.n_test < 2) throw ConfigError("validate: --n-test must be >= 2");
  if (opt.mcmc < 0 || opt.mcmc > opt.n_test) throw ConfigError("validate: --mcmc must be between 0 and --n-test");
  if (comm.is_root()) fs::create_directories(opt.out);
  comm.barrier();
  auto in = [&](const std::string& f) { return (fs::path(opt.out) / f).string(); };
  const std::string data_dir = ctx.data_dir();

  // The test set and the MCMC use the model's own training config (prior, noise, SED model).
  const flow::Flow flow = load_model_everywhere(comm, opt.model);
  const std::string& text = require_sed_attachment(flow, opt.model, kTrainingConfigAttachment);  // every rank
  // The MCMC reads the test set (simulated HDF5) with the HDF5 preset: the training config's
  // [catalog] table (the columns of the run's real catalog, which its noise fit may also use)
  // is left out of the MCMC's copy only.
  Config for_mcmc = Config::from_text(text, opt.model + " (training config)");
  for_mcmc.erase_top_level("catalog");
  // A photometry-only flow trained on a training set with spectra: its test set has spectra too,
  // but the MCMC it is compared with must not use them.
  if (!flow.metadata().attachment(flow::kSpectrumEmbeddingAttachment)) for_mcmc.erase_top_level("spectrum");
  if (comm.is_root()) {
    std::ofstream(in("training_config.toml")) << text;
    std::ofstream(in("mcmc_config.toml")) << for_mcmc.to_toml();
  }
  comm.barrier();
  const std::string training_config = in("training_config.toml");

  if (!io::is_complete(in("test_set.h5"))) {
    logger().info(cat("validate: simulating ", opt.n_test, " test galaxies (seed ", opt.seed + 1, ")"));
    std::vector<std::string> args{"--n",   std::to_string(opt.n_test), "--seed", std::to_string(opt.seed + 1),
                                  "--out", in("test_set.h5"),          "--resume"};
    auto pass = [&args](const char* option, const std::vector<std::string>& items) {
      if (items.empty()) return;
      std::string list;
      for (const auto& b : items) list += (list.empty() ? "" : ",") + b;
      args.insert(args.end(), {option, list});
    };
    pass("--drop-bands", opt.drop_bands);
    pass("--inflate-errors", opt.inflate_errors);
    call_subcommand(comm, training_config, data_dir, "simulate", args, "test set");
  }
  if (!io::is_complete(in("test_posteriors.h5"))) {
    InferJob job;
    job.model = opt.model;
    job.catalog = in("test_set.h5");
    job.columns = catalog::ColumnMap::preset(catalog::CatalogFormat::kHdf5);
    job.out = in("test_posteriors.h5");
    job.settings = opt.posterior;
    job.settings.n_samples = opt.n_samples;
    job.settings.n_store = std::min(opt.n_store, opt.n_samples);  // the draws calibration ranks
    job.settings.seed = opt.seed + 2;
    job.chunk = opt.chunk;
    job.threads = opt.threads;
    job.resume = true;
    run_inference(ctx, job, &flow);
  }
  if (opt.mcmc > 0 && !io::is_complete(in("chains.h5"))) {
    logger().info(cat("validate: MCMC on test galaxies 0:", opt.mcmc));
    call_subcommand(comm, in("mcmc_config.toml"), data_dir, "mcmc",
                    {"--catalog", in("test_set.h5"), "--rows", "0:" + std::to_string(opt.mcmc), "--seed",
                     std::to_string(opt.seed + 3), "--out", in("chains.h5")},
                    "MCMC on the test set");
  }
  if (!opt.real.empty() && comm.is_root()) {
    if (!io::is_complete(opt.real)) throw DataError(cat("--real ", opt.real, ": not a complete posterior catalog"));
    fs::copy_file(opt.real, in("nsa_posteriors.h5"), fs::copy_options::overwrite_existing);
  }

  if (comm.is_root()) {
    validation::MetricsReport report;
    report.calibration = calibrate_test_set(in("test_posteriors.h5"), opt.seed + 4);
    std::vector<std::string> flag_names;
    const auto flags = read_flags(in("test_posteriors.h5"), &flag_names);
    report.flags = validation::summarize_flags(flags.data(), flags.size(), flag_names);
    add_posterior_checks(in("test_posteriors.h5"), flow, opt.model, report);
    if (opt.mcmc > 0) report.flow_vs_mcmc = compare_with_mcmc(in("test_posteriors.h5"), in("chains.h5"), opt.seed + 5);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.run_info = {{"model", opt.model},
                       {"test_set", in("test_set.h5")},
                       {"n_test", std::to_string(opt.n_test)},
                       {"n_samples", std::to_string(opt.n_samples)},
                       {"n_store", std::to_string(std::min(opt.n_store, opt.n_samples))},
                       {"n_mcmc", std::to_string(opt.mcmc)},
                       {"seed", std::to_string(opt.seed)},
                       {"real_catalog", opt.real},
                       {"weighting", opt.posterior.weighting ? "true" : "false"},
                       {"min_ess", std::to_string(opt.posterior.min_ess)},
                       {"max_rounds", std::to_string(opt.posterior.max_rounds)},
                       {"moves", std::to_string(opt.posterior.moves)},
                       {"move_draws", std::to_string(opt.posterior.move_draws)},
                       {"model_error", std::to_string(opt.posterior.model_error)},
                       {"wall_seconds", std::to_string(seconds)}};
    validation::write_metrics_json(in("metrics.json"), report);
    log_checks(report);
    logger().info(cat("wrote ", in("metrics.json")));
    if (!opt.no_plots) draw_report(opt.out);
  }
  comm.barrier();
  return 0;
}

}  // namespace

void register_validate(Cli& cli) {
  auto opt = std::make_shared<ValidateOptions>();
  CLI::App* sub = cli.add(
      "validate",
      "Calibration of a trained flow on a fresh simulated test set: coverage / p-p, SBC, TARP, bias and RMSE, "
      "flagged fractions, optionally flow vs MCMC; metrics.json, plots and index.html in --out",
      [opt](Context& ctx) { return run_validate(ctx, *opt); }, "validate");
  sub->add_option("--model", opt->model, "Model file from `sedpost train` on a `sedpost simulate` training set")
      ->capture_default_str();
  sub->add_option("--out", opt->out, "Report directory (created; finished steps inside are not redone)")
      ->capture_default_str();
  sub->add_option("--n-test", opt->n_test, "Test galaxies simulated from the model's training config")
      ->capture_default_str();
  sub->add_option("--n-samples", opt->n_samples,
                  "Flow draws per test galaxy (the likelihood weighting's first round; infer's --n-samples)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--n-store", opt->n_store,
                  "Posterior draws per test galaxy stored and ranked by the calibration (resampled by weight; "
                  "at most --n-samples)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--mcmc", opt->mcmc, "Run the MCMC ([mcmc] settings) on this many test galaxies and compare")
      ->capture_default_str();
  sub->add_option("--seed", opt->seed,
                  "Base seed: test set seed + 1 (the training set used `seed`), flow draws seed + 2, MCMC seed + 3")
      ->capture_default_str();
  sub->add_option("--real", opt->real, "Posterior catalog of a real catalog (from `sedpost infer`) to include");
  sub->add_flag("--no-plots", opt->no_plots, "Only metrics.json (no PNGs, no index.html)");
  sub->add_option("--threads", opt->threads, "Flow threads per rank (0 = cores / ranks)")->capture_default_str();
  sub->add_option("--chunk", opt->chunk, "Galaxies per inference work item")->capture_default_str();
  sub->add_option("--drop-bands", opt->drop_bands,
                  "Remove these bands from every test galaxy instead of the training's random masks (models "
                  "trained with model.band_masks), e.g. --drop-bands r: calibration and flow vs MCMC on that "
                  "reduced band set")
      ->delimiter(',');
  sub->add_option("--inflate-errors", opt->inflate_errors,
                  "Test galaxies noisier than the training data: errors scaled by FACTOR (every band) or "
                  "BAND=FACTOR, e.g. --inflate-errors r=5: calibration of the noisier-than-training remedy")
      ->delimiter(',');
  add_posterior_options(sub, opt->posterior,
                        "default 0 here: the test set is simulated from the model itself, so its errors are exact");
}

}  // namespace sedpost::app
