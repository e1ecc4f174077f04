// `sedpost mcmc`: reference posteriors of catalog galaxies with the ensemble slice sampler
// (zeus-style; src/mcmc), one galaxy at a time per rank, galaxies claimed dynamically. This file
// reads the options and the catalog, claims rows and writes the output; the per-galaxy run
// (posterior, MAP start, sampling, convergence checks, flags) is mcmc/galaxy_run.hpp.
// Schema: ARCHITECTURE.md "File schemas", Chains. A galaxy's chain depends only on the run
// seed and its global catalog row, never on the number of ranks or on who ran it.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>

#include "app/commands.hpp"
#include "catalog/catalog_reader.hpp"
#include "catalog/spectra.hpp"
#include "core/data_dir.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/progress.hpp"
#include "io/output_file.hpp"
#include "mcmc/ensemble_slice_sampler.hpp"
#include "mcmc/galaxy_run.hpp"
#include "mpi/mpi_comm.hpp"
#include "mpi/parallel_h5.hpp"
#include "prior/prior.hpp"
#include "simulate/model_config.hpp"
#include "sps/sed_model.hpp"
#include "sps/spectrograph.hpp"
#include "validation/stats.hpp"

namespace sedpost::app {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kNumPhys = static_cast<int>(prior::kNumPhysical);

struct McmcOptions {
  std::string catalog;
  std::string out = "chains.h5";
  std::string rows;                 ///< "a:b" (rows [a, b)); empty = all
  int walkers = 24;                 ///< 2 D + 2: the R-hat criterion needs per-walker length, so few walkers are cheapest
  int steps = 4000;
  int burn = 1000;
  int thin = 1;
  std::string move = "differential";
  std::string coordinates = "amplitude";  ///< mcmc::SampledCoords: amplitude | unbounded | box
  std::string burn_move;            ///< empty = same as move
  std::uint64_t seed = 0;
  bool early_stop = false;
  int check_every = 500;
  double min_tau_multiple = 50.0;
  double max_rhat = 1.01;
  int max_steps_out = 10000;
  int map_starts = 8;
  int map_evals = 20000;
  double init_scale = 0.01;
  double time_limit = 0.0;          ///< seconds per galaxy (0 = none)
  int axis_slices = 1;              ///< whole-range coordinate slices per walker and step (0 = off)
  bool mode_jumps = true;           ///< jumps between the MAP search's local optima
};

constexpr int kNumFlags = mcmc::kNumGalaxyFlags;
constexpr std::uint64_t kReasonWidth = 160;  ///< bytes of a /flag_reason entry

// ---- catalog ----

/// The selected rows of the input catalog.
struct Catalog {
  std::string path;
  std::uint64_t n_total = 0;     ///< rows in the file
  std::uint64_t first = 0;       ///< first selected row
  std::uint64_t n = 0;           ///< selected rows
  std::uint64_t n_bands = 0;
  std::vector<double> flux;      ///< [n, bands] nanomaggies
  std::vector<double> sigma;     ///< [n, bands] nanomaggies
  std::vector<double> z;         ///< [n]
  std::vector<std::int64_t> id;  ///< [n]
  std::string id_source;         ///< "row" or the column the IDs came from
  std::vector<double> truth;     ///< [n, 12] physical theta when the catalog is simulated
  std::vector<float> spectrum;   ///< [n, P] normalised spectra when the catalog has /spectrum, else empty
  std::vector<double> spectrum_wavelength;  ///< [P] observed-frame pixel centres [A]
};

/// True when selected row i has at least one finite flux (run_galaxy samples only those).
bool has_finite_flux(const Catalog& c, std::uint64_t i) {
  for (std::uint64_t b = 0; b < c.n_bands; ++b)
    if (std::isfinite(c.flux[i * c.n_bands + b])) return true;
  return false;
}

/// The selected rows, read with the catalog readers of `infer` (FITS, HDF5, CSV; column map
/// from the config's [catalog] table, docs/catalogs.md). Text IDs are replaced by row numbers.
Catalog read_catalog(const std::string& path, const std::string& rows, const Config& config, int n_bands) {
  const catalog::ColumnMap map = catalog::ColumnMap::from_config(config, path);
  const auto reader = catalog::CatalogReader::open(path, map, n_bands);
  const catalog::RowSelection sel = catalog::select_rows(rows, reader->num_rows());
  catalog::CatalogChunk chunk = reader->read(sel.begin, sel.count());
  Catalog c;
  c.path = path;
  c.n_total = reader->num_rows();
  c.first = sel.begin;
  c.n = sel.count();
  c.n_bands = static_cast<std::uint64_t>(n_bands);
  c.flux = std::move(chunk.flux);
  c.sigma = std::move(chunk.sigma);
  c.z = std::move(chunk.z);
  c.truth = std::move(chunk.truth);
  c.spectrum = std::move(chunk.spectrum);
  c.spectrum_wavelength = reader->spectrum_wavelength();
  if (reader->id_is_string() || map.id.empty()) {
    c.id.resize(c.n);
    std::iota(c.id.begin(), c.id.end(), static_cast<std::int64_t>(sel.begin));
    c.id_source = "row";
  } else {
    c.id = std::move(chunk.id);
    c.id_source = map.id;
  }
  return c;
}

/// The spectrograph whose spectra enter the likelihood: set when the config has [spectrum]
/// enabled = true and the catalog has /spectrum, after checking (DataError) that the catalog's
/// wavelength grid is the spectrograph's and that every galaxy that will be sampled (one with a
/// finite flux) has finite pixels; the error names the galaxy's ID and row. Logs the likelihood.
std::optional<sps::Spectrograph> spectrum_setup(const Config& config, const Catalog& c) {
  std::optional<sps::Spectrograph> sg;
  const std::string photometry = cat("photometry (", c.n_bands, " bands)");
  if (!config.get_bool("spectrum.enabled", false)) {
    logger().info(cat("mcmc: likelihood: ", photometry, c.spectrum_wavelength.empty() ? "" :
                      "; the catalog's /spectrum is not used ([spectrum] enabled = false)"));
    return sg;
  }
  if (c.spectrum_wavelength.empty()) {
    logger().info(cat("mcmc: [spectrum] is enabled but ", c.path, " has no /spectrum: photometry only"));
    logger().info(cat("mcmc: likelihood: ", photometry));
    return sg;
  }
  sg.emplace(sps::SpectrographSettings::from_config(config));
  catalog::check_spectrum_grid(c.spectrum_wavelength, sg->wavelength(), c.path);
  const auto P = static_cast<std::uint64_t>(sg->num_pixels());
  for (std::uint64_t i = 0; i < c.n; ++i) {
    if (!has_finite_flux(c, i)) continue;  // flagged bad_flux without sampling: its spectrum is not read
    catalog::require_finite_spectrum(c.spectrum.data() + i * P, static_cast<int>(P),
                                     c.path + ": " + catalog::galaxy_label(std::to_string(c.id[i]), c.first + i));
  }
  logger().info(cat("mcmc: likelihood: ", photometry, " + spectrum (", P, " pixels, ", sg->settings().lambda_min,
                    "-", sg->settings().lambda_max, " A, R = ", sg->settings().resolution, ", S/N ",
                    sg->settings().snr, " per pixel)"));
  return sg;
}

// ---- output ----

struct Dataset {
  const char* name;
  io::DType type;
  std::vector<std::uint64_t> trailing;
  const char* units;
  const char* description;
};

void create_output(io::H5File& f, const Context& ctx, const McmcOptions& opt, const Catalog& c,
                   const sps::SedModel& model, std::uint64_t max_kept, const prior::ThetaLayout& layout) {
  const bool z_free = layout.z_inferred;
  const std::uint64_t g = c.n, w = static_cast<std::uint64_t>(opt.walkers), p = kNumPhys + (z_free ? 1 : 0);
  const std::vector<Dataset> sets = {
      {"chains", io::DType::kFloat32, {max_kept, w, p}, "see theta_names / theta_units",
       "physical theta after burn-in [galaxy, step, walker, parameter]; NaN past n_steps"},
      {"log_prob", io::DType::kFloat32, {max_kept, w}, "nats",
       "unnormalised log posterior: -0.5 chi^2 + log prior (flow-coordinate box); NaN past n_steps"},
      {"id", io::DType::kInt64, {}, "", "catalog ID (see attribute source)"},
      {"row", io::DType::kInt64, {}, "", "0-based row of the galaxy in the input catalog"},
      {"z", io::DType::kFloat64, {}, "",
       z_free ? "redshift column of the catalog (NaN: none); not used, z is sampled (the chains' last column)"
              : "redshift (fixed, not inferred)"},
      {"n_steps", io::DType::kInt64, {}, "steps", "kept steps (after burn-in and thinning) in /chains"},
      {"n_evals", io::DType::kInt64, {}, "", "log-probability evaluations (MAP search + sampler)"},
      {"tau", io::DType::kFloat64, {p}, "kept steps",
       "integrated autocorrelation time of each flow coordinate (slots: see attribute coordinates)"},
      {"rhat", io::DType::kFloat64, {p}, "", "split R-hat of each flow coordinate (slots: attribute coordinates)"},
      {"ess", io::DType::kFloat64, {p}, "samples", "effective sample size n_steps * walkers / tau"},
      {"converged", io::DType::kUInt8, {}, "", "1: n_steps > min_tau_multiple * max tau and max R-hat < max_rhat"},
      {"map_theta", io::DType::kFloat64, {p}, "see theta_names / theta_units", "maximum a posteriori point found"},
      {"map_log_prob", io::DType::kFloat64, {}, "nats", "log posterior at map_theta"},
      {"flags", io::DType::kUInt32, {}, "", "bit mask, bit i = flag_names[i]; 0 = fine"},
      {"wall_s", io::DType::kFloat64, {}, "s", "wall time spent on the galaxy"},
  };
  for (const Dataset& d : sets) {
    std::vector<std::uint64_t> dims{g};
    dims.insert(dims.end(), d.trailing.begin(), d.trailing.end());
    f.create_dataset(d.name, d.type, dims, 1);
    f.set_attr(d.name, "units", std::string(d.units));
    f.set_attr(d.name, "description", std::string(d.description));
  }
  if (!c.truth.empty()) {
    f.create_dataset("theta_true", io::DType::kFloat64, {g, p}, 1);
    f.set_attr("theta_true", "units", std::string("see theta_names / theta_units"));
    f.set_attr("theta_true", "description", std::string("true physical theta of the simulated catalog"));
  }
  f.create_string_dataset("flag_reason", g, kReasonWidth);
  f.set_attr("flag_reason", "units", std::string(""));
  f.set_attr("flags", "flag_names", mcmc::galaxy_flag_names());
  f.set_attr("id", "source", c.id_source);
  // Diagnostics are in flow coordinates; u_k take beta_k's slot, beta_4's slot is NaN.
  std::vector<std::string> coords(p, "(none)");
  const std::vector<std::string> flow_names = layout.names();
  for (std::size_t k = 0; k < flow_names.size(); ++k) coords[mcmc::physical_slot(static_cast<int>(k))] = flow_names[k];
  for (const char* d : {"tau", "rhat", "ess"}) f.set_attr(d, "coordinates", coords);

  std::vector<std::string> names = prior::Prior::physical_names(), units = prior::Prior::physical_units();
  if (z_free) {
    names.emplace_back("z");
    units.emplace_back("");
  }
  f.set_attr("", "theta_names", names);
  f.set_attr("", "theta_units", units);
  f.set_attr("", "redshift", std::string(z_free ? "inferred" : "given"));
  f.set_attr("", "bands", simulate::short_band_names(model.band_names()));
  f.set_attr("", "filters", model.filter_paths());
  f.set_attr("", "config", ctx.config.to_toml());
  f.set_attr("", "seed", static_cast<std::int64_t>(opt.seed));
  f.set_attr("", "catalog", c.path);
  f.set_attr("", "first_row", static_cast<std::int64_t>(c.first));
  f.set_attr("", "walkers", static_cast<std::int64_t>(opt.walkers));
  f.set_attr("", "steps", static_cast<std::int64_t>(opt.steps));
  f.set_attr("", "burn", static_cast<std::int64_t>(opt.burn));
  f.set_attr("", "thin", static_cast<std::int64_t>(opt.thin));
  f.set_attr("", "move", opt.move);
  f.set_attr("", "axis_slices", static_cast<std::int64_t>(opt.axis_slices));
  f.set_attr("", "mode_jumps", static_cast<std::int64_t>(opt.mode_jumps ? 1 : 0));
  f.set_attr("", "sampled_coordinates", opt.coordinates);
  f.set_attr("", "chain_coordinates", flow_names);
}

void write_galaxy(io::H5File& f, const Catalog& c, std::uint64_t local, const mcmc::GalaxyResult& r) {
  const std::uint64_t g = local;  // output row = selected-catalog row
  const std::int64_t row = static_cast<std::int64_t>(c.first + local);
  f.write_rows("chains", g, 1, r.chains.data());
  f.write_rows("log_prob", g, 1, r.log_prob.data());
  f.write_rows("id", g, 1, &c.id[local]);
  f.write_rows("row", g, 1, &row);
  f.write_rows("z", g, 1, &c.z[local]);
  f.write_rows("n_steps", g, 1, &r.n_steps);
  f.write_rows("n_evals", g, 1, &r.n_evals);
  f.write_rows("tau", g, 1, r.tau.data());
  f.write_rows("rhat", g, 1, r.rhat.data());
  f.write_rows("ess", g, 1, r.ess.data());
  f.write_rows("converged", g, 1, &r.converged);
  f.write_rows("map_theta", g, 1, r.map_theta.data());
  f.write_rows("map_log_prob", g, 1, &r.map_log_prob);
  f.write_rows("flags", g, 1, &r.flags);
  f.write_rows("wall_s", g, 1, &r.wall_s);
  if (!c.truth.empty()) f.write_rows("theta_true", g, 1, c.truth.data() + local * prior::kNumPhysical);
  f.write_string_rows("flag_reason", g, {r.reason});
}

int run_mcmc(Context& ctx, const McmcOptions& opt) {
  Comm& comm = ctx.comm;
  if (opt.catalog.empty()) throw ConfigError("mcmc: --catalog (or [mcmc] catalog) is required");
  if (opt.steps < opt.thin) throw ConfigError("mcmc: --steps must be >= --thin");
  if (opt.map_starts < 1) throw ConfigError("mcmc: --map-starts must be >= 1");
  if (opt.check_every < 1) throw ConfigError("mcmc: --check-every must be >= 1");
  mcmc::SamplerSettings settings;
  settings.n_walkers = opt.walkers;
  settings.n_steps = opt.steps;
  settings.n_burn = opt.burn;
  settings.thin = opt.thin;
  settings.max_steps_out = opt.max_steps_out;
  settings.move = mcmc::move_type_from_string(opt.move);
  if (!opt.burn_move.empty()) settings.burn_move = mcmc::move_type_from_string(opt.burn_move);
  settings.seed = opt.seed;
  // Early stopping is done by run_galaxy's ConvergenceProbe (bounded cost per check), not the
  // sampler's whole-chain check; the settings carry the switch and the criterion.
  settings.early_stop.enabled = opt.early_stop;
  settings.early_stop.check_every = opt.check_every;
  settings.early_stop.min_tau_multiple = opt.min_tau_multiple;
  settings.early_stop.max_rhat = opt.max_rhat;
  const prior::ThetaLayout layout = simulate::redshift_range_from_config(ctx.config).layout();
  settings.validate(static_cast<int>(layout.dim()));

  const std::string data_dir = ctx.data_dir();
  const sps::SedModelSettings model_settings = simulate::sed_settings_from_config(ctx.config, data_dir);
  const sps::SedModel model(model_settings);
  const prior::Prior prior(prior::PriorSettings::from_config(ctx.config));
  // Every rank reads its own copy of the selected rows (small: bands + z per galaxy).
  const Catalog catalog =
      read_catalog(resolve_input_path(opt.catalog, data_dir), opt.rows, ctx.config, model.num_bands());

  // Spectra checked before the output exists: a bad grid or pixel leaves no file behind.
  const std::optional<sps::Spectrograph> spectrograph = spectrum_setup(ctx.config, catalog);
  const std::uint64_t n_pixels = spectrograph ? static_cast<std::uint64_t>(spectrograph->num_pixels()) : 0;

  const std::uint64_t g_total = catalog.n;
  const std::uint64_t max_kept = static_cast<std::uint64_t>(opt.steps / opt.thin);
  logger().info(cat("mcmc: ", g_total, " galaxies (rows ", catalog.first, ":", catalog.first + g_total, " of ",
                    opt.catalog, "), ", opt.walkers, " walkers, ", opt.burn, " burn-in + ",
                    opt.early_stop ? "up to " : "", opt.steps, " steps, move ", opt.move, ", seed ", opt.seed,
                    layout.z_inferred ? cat(", z sampled, prior ", layout.z_prior().describe()) : "", ", ",
                    comm.size(), " rank(s)"));

  io::FileAccess access = mpi::file_access_independent(comm);
  io::OutputFile out(opt.out, comm, access);
  io::H5File& f = out.file();
  create_output(f, ctx, opt, catalog, model, max_kept, layout);

  mcmc::GalaxyRunSettings run_settings;
  run_settings.sampler = settings;
  run_settings.coords = mcmc::sampled_coords_from_string(opt.coordinates);
  run_settings.map_starts = opt.map_starts;
  run_settings.map_evals = opt.map_evals;
  run_settings.init_scale = opt.init_scale;
  run_settings.time_limit = opt.time_limit;
  run_settings.axis_slices = opt.axis_slices;
  run_settings.mode_jumps = opt.mode_jumps;
  // z free: the band weights tabulated in ln(1 + z) once per rank (sps::FreeZModel).
  std::optional<sps::FreeZModel> free_z;
  if (layout.z_inferred) free_z.emplace(model);
  const mcmc::GalaxyRunSetup setup{model, prior, run_settings, layout, free_z ? &*free_z : nullptr,
                                   spectrograph ? &*spectrograph : nullptr};
  auto* mpi_comm = dynamic_cast<mpi::MpiComm*>(&comm);
  std::unique_ptr<mpi::WorkCounter> counter;
  if (mpi_comm) counter = std::make_unique<mpi::WorkCounter>(*mpi_comm);
  std::int64_t static_next = comm.rank();
  auto claim = [&]() -> std::int64_t {
    if (counter) return counter->next(1);
    const std::int64_t k = static_next;  // SerialComm (or another Comm): static round-robin
    static_next += comm.size();
    return k;
  };

  ProgressMeter progress("mcmc (galaxies started)", g_total, "galaxies", comm.is_root());
  std::vector<std::int64_t> counts(kNumFlags + 3, 0);  // flags..., done, evals, flagged
  std::vector<double> max_tau(g_total, 0.0);
  double compute_s = 0.0;
  const auto t_start = std::chrono::steady_clock::now();
  for (std::int64_t k = claim(); k < static_cast<std::int64_t>(g_total); k = claim()) {
    if (comm.is_root()) progress.advance(static_cast<std::uint64_t>(k + 1) - progress.done());
    const std::uint64_t local = static_cast<std::uint64_t>(k);
    const mcmc::GalaxyResult r =
        mcmc::run_galaxy(setup, catalog.flux.data() + local * catalog.n_bands,
                         catalog.sigma.data() + local * catalog.n_bands, catalog.z[local], catalog.first + local,
                         spectrograph && has_finite_flux(catalog, local)
                             ? catalog.spectrum.data() + local * n_pixels : nullptr);
    write_galaxy(f, catalog, local, r);
    for (int b = 0; b < kNumFlags; ++b) counts[b] += (r.flags >> b) & 1u;
    counts[kNumFlags] += 1;
    counts[kNumFlags + 1] += r.n_evals;
    counts[kNumFlags + 2] += r.flags != 0;
    max_tau[local] = std::isfinite(r.max_tau) ? r.max_tau : kNaN;
    compute_s += r.wall_s;
    logger().debug(cat("row ", catalog.first + local, " (id ", catalog.id[local], ", z ", catalog.z[local], "): ",
                       r.n_steps, " steps, max tau ", r.max_tau, ", ", r.n_evals, " evals, ", r.wall_s, " s",
                       r.flags ? cat(", flags ", r.flags, ": ", r.reason) : std::string()));
  }
  counter.reset();  // collective
  comm.allreduce_sum(counts.data(), counts.size());
  comm.allreduce_sum(max_tau.data(), max_tau.size());  // each galaxy filled by one rank
  const double compute_total = comm.sum(compute_s);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  const auto done = static_cast<std::uint64_t>(counts[kNumFlags]);
  progress.advance(done > progress.done() ? done - progress.done() : 0);
  progress.finish();

  std::string per_reason;
  for (int b = 0; b < kNumFlags; ++b) per_reason += cat(b ? ", " : "", mcmc::galaxy_flag_names()[b], " ", counts[b]);
  const double evals = static_cast<double>(counts[kNumFlags + 1]);
  logger().info(cat("mcmc: ", counts[kNumFlags], " galaxies done, ", counts[kNumFlags + 2], " flagged (", per_reason,
                    "); median max-tau ", validation::median(max_tau), " kept steps; ", counts[kNumFlags + 1],
                    " log-prob evaluations, ", evals / std::max(1e-9, compute_total), " evals/s per rank, ",
                    evals / std::max(1e-9, wall), " evals/s job-wide; wall ", ProgressMeter::format_duration(wall)));
  out.commit();
  logger().info(cat("wrote ", opt.out));
  return 0;
}

}  // namespace

void register_mcmc(Cli& cli) {
  auto opt = std::make_shared<McmcOptions>();
  CLI::App* sub = cli.add(
      "mcmc",
      "Reference posteriors with the ensemble slice sampler (zeus-style) for catalog rows; galaxies are "
      "claimed dynamically by the ranks, chains do not depend on the number of ranks",
      [opt](Context& ctx) { return run_mcmc(ctx, *opt); }, "mcmc");
  sub->add_option("--catalog", opt->catalog,
                  "Input catalog, read as `sedpost infer` reads it: FITS, HDF5 or CSV with the column map of the "
                  "config's [catalog] table (defaults: NSA for FITS, `sedpost simulate` output for HDF5; "
                  "docs/catalogs.md). With [spectrum] enabled = true in the config and an HDF5 catalog with "
                  "/spectrum and /spectrum_wavelength (`sedpost simulate` with spectra), each galaxy's spectrum "
                  "enters the likelihood too (its grid must be the config's [spectrum] one; docs/spectra.md)");
  sub->add_option("--out", opt->out,
                  "Output HDF5 (written as <out>.partial, renamed when complete): /chains [G, steps, walkers, 12] "
                  "physical theta, /log_prob, /tau, /rhat, /ess, /flags, ...")
      ->capture_default_str();
  sub->add_option("--rows", opt->rows, "Catalog rows 'begin:end' (0-based, end excluded; default all)");
  sub->add_option("--walkers", opt->walkers, "Walkers in the ensemble (even, >= 22 = 2 x 11 flow coordinates). The early-stop criterion (chain > 50 tau and split R-hat < 1.01) is per walker chain, so the cost to convergence grows with the walkers: keep it near the minimum")
      ->capture_default_str();
  sub->add_option("--steps", opt->steps,
                  "Sampling steps after burn-in per galaxy (ensemble steps; the upper bound with --early-stop)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--burn", opt->burn, "Burn-in steps (not stored; the scale factor mu is tuned here)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--thin", opt->thin, "Keep every thin-th step after burn-in (stored steps = steps / thin)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--move", opt->move,
                  "Direction move: differential (pairs of walkers), gaussian (ensemble covariance) or global "
                  "(Gaussian-mixture jumps)")
      ->capture_default_str();
  sub->add_option("--burn-move", opt->burn_move, "Move during burn-in (default: --move)");
  sub->add_option("--coordinates", opt->coordinates,
                  "Coordinates the sampler moves in (same posterior, Jacobian included): amplitude (logit of the "
                  "prior box for the 10 shape parameters, log M* replaced by the standardised least-squares "
                  "amplitude: mixes fastest), unbounded (logit of the box for all 11) or box (flow coordinates)")
      ->capture_default_str()
      ->check(CLI::IsMember({"amplitude", "unbounded", "box"}));
  sub->add_option("--seed", opt->seed, "Seed; galaxy row i depends on (seed, i) only")->capture_default_str();
  sub->add_flag("--early-stop", opt->early_stop,
                "Stop a galaxy once kept steps > min-tau-multiple x max autocorrelation time and max split R-hat < "
                "max-rhat (checked every --check-every kept steps); unconverged galaxies get flag not_converged");
  sub->add_option("--check-every", opt->check_every, "Kept steps between early-stop checks")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--min-tau-multiple", opt->min_tau_multiple,
                  "Early stop: chain length needed, in autocorrelation times")
      ->capture_default_str();
  sub->add_option("--max-rhat", opt->max_rhat, "Early stop: largest split R-hat allowed")->capture_default_str();
  sub->add_option("--max-steps-out", opt->max_steps_out,
                  "Most stepping-out expansions per slice update (Neal's m)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--map-starts", opt->map_starts,
                  "Prior draws that start a Nelder-Mead MAP search; walkers start in a ball around the best")
      ->capture_default_str();
  sub->add_option("--map-evals", opt->map_evals, "Most log-probability evaluations per MAP search")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("--time-limit", opt->time_limit,
                  "Wall-clock limit per galaxy [s] (0 = none); a galaxy that hits it keeps the steps done so far "
                  "and gets flag time_limit (its chain then depends on the machine's speed)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--init-scale", opt->init_scale,
                  "Radius of the initial walker ball, as a fraction of each flow coordinate's prior range")
      ->capture_default_str();
  sub->add_option("--axis-slices", opt->axis_slices,
                  "Whole-range coordinate slices per walker and step, mixed into the ensemble move: a random shape "
                  "parameter is slice-sampled over its whole prior range given the others, so a walker can jump "
                  "between modes of one parameter (a bimodal burst age); 0 = ensemble moves only")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--mode-jumps,!--no-mode-jumps", opt->mode_jumps,
                "Mix in jumps between the MAP search's distinct local optima (translation by the difference of two "
                "optima, Metropolis-accepted): walkers cross between separated modes, such as a young-burst island. "
                "On by default; --no-mode-jumps (config: mode_jumps = false) turns them off");
}

}  // namespace sedpost::app
