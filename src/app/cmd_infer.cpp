// `sedpost infer`: posteriors for every galaxy of a catalog (MODEL.md sections 8-9), chunks
// claimed dynamically by the ranks, one parallel-HDF5 posterior catalog. The chunk loop and the
// file are in app/inference.cpp, the posteriors in src/posterior; this file is the command line.
#include "app/commands.hpp"
#include "app/device_option.hpp"
#include "app/inference.hpp"
#include "app/posterior_options.hpp"
#include "core/logger.hpp"

namespace sedpost::app {

namespace {

struct InferOptions {
  std::string model = "model.pt";
  std::string catalog;
  std::string out = "posteriors.h5";
  std::string rows;
  posterior::PosteriorSettings posterior;
  std::uint64_t chunk = 64;
  int threads = 0;
  std::string device = "cpu";
  bool resume = false;
};

int run_infer(Context& ctx, const InferOptions& opt) {
  InferJob job;
  job.model = opt.model;
  job.catalog = opt.catalog;
  job.columns = catalog::ColumnMap::from_config(ctx.config, opt.catalog);
  job.out = opt.out;
  job.rows = opt.rows;
  job.settings = opt.posterior;
  job.chunk = opt.chunk;
  job.threads = opt.threads;
  job.device = opt.device;
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
                  "[N, K, 7] (K = 22 quantities, 23 with z inferred), /flags, /flag_reason, /chi2, optional /samples "
                  "[N, n-store, K]")
      ->capture_default_str();
  sub->add_option("--rows", opt->rows, "Catalog rows 'begin:end' (0-based, end excluded; default all)");
  sub->add_option("--n-samples", opt->posterior.n_samples,
                  "Flow draws per galaxy (the proposal of the likelihood weighting; each refinement round adds as many)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--n-store", opt->posterior.n_store,
                  "Draws per galaxy stored in /samples (float32, equally weighted: resampled by weight; 0 = none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", opt->posterior.seed, "Sampling seed; galaxy row i's draws depend on (seed, i) only")
      ->capture_default_str();
  add_posterior_options(sub, opt->posterior,
                        "default 0.02: SDSS-like calibration and model systematics, docs/metrics.md; 0 = the "
                        "catalog's errors alone");
  sub->add_option("--z-prior-mag-band", opt->posterior.z_prior_mag_band,
                  "Models that infer z: replace the model's redshift prior in the likelihood weighting by one that "
                  "depends on each galaxy's observed AB magnitude in this band (its name as infer's log and the "
                  "output's `bands` attribute list the model's bands, e.g. r; docs/photo-z.md, \"Magnitude-dependent "
                  "redshift prior\"; build the three settings with validation/z_prior_histogram.py --by-magnitude). "
                  "Needs --weighting true");
  sub->add_option("--z-prior-mag-edges", opt->posterior.z_prior_mag_edges,
                  "With --z-prior-mag-band: the inner edges of its magnitude bins [AB mag], ascending (n_m - 1 values)")
      ->delimiter(',');
  sub->add_option("--z-prior-mag-weights", opt->posterior.z_prior_mag_weights,
                  "With --z-prior-mag-band: n_m rows of z-histogram weights (equal-width bins on the model's "
                  "[z_min, z_max]), row after row, brightest magnitude bin first")
      ->delimiter(',');
  sub->add_option("--chunk", opt->chunk, "Galaxies per work item (and per HDF5 chunk)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--threads", opt->threads, "Threads per rank for the flow (0 = cores / ranks)")
      ->capture_default_str();
  add_device_option(sub, opt->device);
  sub->add_flag("--resume", opt->resume, "Continue <out>.partial from an interrupted run (finished chunks are kept)");
}

}  // namespace sedpost::app
