// `sedpost infer`: posteriors for every galaxy of a catalog (MODEL.md sections 8-9), chunks
// claimed dynamically by the ranks, one parallel-HDF5 posterior catalog. The work is in
// app/inference.cpp and catalog/posterior_engine.cpp; this file is the command line.
#include "app/commands.hpp"
#include "app/inference.hpp"
#include "core/logger.hpp"

namespace sedpost::app {

namespace {

struct InferOptions {
  std::string model = "model.pt";
  std::string catalog;
  std::string out = "posteriors.h5";
  std::string rows;
  int n_samples = 1000;
  int n_store = 0;
  std::uint64_t seed = 0;
  double chi2_pvalue = 1e-3;
  std::uint64_t chunk = 64;
  int threads = 0;
  bool resume = false;
};

int run_infer(Context& ctx, const InferOptions& opt) {
  InferJob job;
  job.model = opt.model;
  job.catalog = opt.catalog;
  job.columns = catalog::ColumnMap::from_config(ctx.config, opt.catalog);
  job.out = opt.out;
  job.rows = opt.rows;
  job.settings.n_samples = opt.n_samples;
  job.settings.n_store = opt.n_store;
  job.settings.seed = opt.seed;
  job.settings.chi2_pvalue = opt.chi2_pvalue;
  job.chunk = opt.chunk;
  job.threads = opt.threads;
  job.resume = opt.resume;
  run_inference(ctx, job);
  return 0;
}

}  // namespace

void register_infer(Cli& cli) {
  auto opt = std::make_shared<InferOptions>();
  CLI::App* sub = cli.add(
      "infer",
      "Posteriors for every galaxy of a catalog (FITS, HDF5 or CSV; column map in the config's [catalog] table), "
      "scattered over the ranks in dynamically claimed chunks; the result does not depend on the number of ranks",
      [opt](Context& ctx) { return run_infer(ctx, *opt); }, "infer");
  sub->add_option("--model", opt->model, "Model file from `sedpost train` on a `sedpost simulate` training set")
      ->capture_default_str();
  sub->add_option("--catalog", opt->catalog,
                  "Input catalog. Format from the extension (.fits, .h5, .csv) or [catalog] format; columns and "
                  "units from [catalog] (id, flux, flux_elements, error, error_elements, error_kind = "
                  "sigma|ivar|mag_err, flux_unit = nmgy|maggies|mag|Jy, redshift). Defaults: NSA for FITS "
                  "(NMGY[2..6], NMGY_IVAR, Z, NSAID), `sedpost simulate` output for HDF5 (docs/catalogs.md)");
  sub->add_option("--out", opt->out,
                  "Posterior catalog (HDF5, written as <out>.partial and renamed when complete): /id, /summary "
                  "[N, 18, 7], /flags, /flag_reason, /chi2, optional /samples [N, n-store, 18]")
      ->capture_default_str();
  sub->add_option("--rows", opt->rows, "Catalog rows 'begin:end' (0-based, end excluded; default all)");
  sub->add_option("--n-samples", opt->n_samples, "Posterior draws per galaxy for the summaries")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--n-store", opt->n_store, "Draws per galaxy stored in /samples (float32; 0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", opt->seed, "Sampling seed; galaxy row i's draws depend on (seed, i) only")
      ->capture_default_str();
  sub->add_option("--chi2-pvalue", opt->chi2_pvalue,
                  "Flag chi2_implausible when the best sample's chi^2 has p-value below this (chi^2 with one "
                  "degree of freedom per band)")
      ->capture_default_str();
  sub->add_option("--chunk", opt->chunk, "Galaxies per work item (and per HDF5 chunk)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--threads", opt->threads, "Threads per rank for the flow (0 = cores / ranks)")
      ->capture_default_str();
  sub->add_flag("--resume", opt->resume, "Continue <out>.partial from an interrupted run (finished chunks are kept)");
}

}  // namespace sedpost::app
