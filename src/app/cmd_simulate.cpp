// `sedpost simulate`: rank-parallel simulation of a training set into one HDF5 file
// (schema: ARCHITECTURE.md "Training set"). Row i depends only on (seed, i), so the file is
// the same for any number of ranks; --resume continues an interrupted run.
#include <algorithm>
#include <filesystem>
#include <optional>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/progress.hpp"
#include "io/output_file.hpp"
#include "mpi/parallel_h5.hpp"
#include "prior/prior.hpp"
#include "simulate/model_config.hpp"
#include "simulate/noise_file.hpp"
#include "simulate/training_simulator.hpp"

namespace sedpost::app {

namespace {

struct SimulateOptions {
  std::string out = "train.h5";
  std::uint64_t n = 1000;
  std::uint64_t seed = 0;
  std::string noise;              ///< noise-model file; empty = fit noise.catalog
  std::uint64_t chunk = 4096;     ///< rows per collective write
  bool resume = false;
  std::vector<std::string> drop_bands;  ///< bands removed from every row (band-mask models only)
  std::vector<std::string> inflate_errors;  ///< "F" (every band) or "BAND=F": noise wider than the model's
};

/// Error inflation per band from --inflate-errors items "F" or "BAND=F" (1 where not named).
std::vector<double> noise_scale(const std::vector<std::string>& items, const std::vector<std::string>& bands) {
  std::vector<double> scale(bands.size(), 1.0);
  for (const std::string& item : items) {
    const auto eq = item.find('=');
    const std::string band = eq == std::string::npos ? "" : item.substr(0, eq);
    double f = 0;
    try {
      f = std::stod(eq == std::string::npos ? item : item.substr(eq + 1));
    } catch (const std::exception&) {
      throw ConfigError("--inflate-errors: '" + item + "' is not FACTOR or BAND=FACTOR");
    }
    if (band.empty()) {
      std::fill(scale.begin(), scale.end(), f);
      continue;
    }
    const auto it = std::find(bands.begin(), bands.end(), band);
    if (it == bands.end()) throw ConfigError("--inflate-errors: unknown band '" + band + "'");
    scale[static_cast<std::size_t>(it - bands.begin())] = f;
  }
  return scale;
}

/// The datasets of a training set: name, element type, columns (0 = 1-D), units.
struct Column {
  const char* name;
  io::DType type;
  std::uint64_t cols;
  const char* units;
};

std::vector<Column> training_columns(std::uint64_t bands, std::uint64_t n_theta, std::uint64_t nx, bool z_inferred) {
  return {
      {"theta", io::DType::kFloat32, n_theta,
       z_inferred ? "flow coordinates, then the redshift (see theta_names, theta_units)"
                  : "flow coordinates (see theta_names, theta_units)"},
      {"x", io::DType::kFloat32, nx,
       z_inferred ? "asinh magnitudes [mag], their errors [mag], present flags (band masks); no redshift (inferred)"
                  : "asinh magnitudes [mag], their errors [mag], present flags (band masks), redshift"},
      {"theta_physical", io::DType::kFloat64, 12, "physical parameters (see theta_physical_names/_units)"},
      {"z", io::DType::kFloat64, 0, "redshift"},
      {"flux_true", io::DType::kFloat64, bands, "nanomaggies"},
      {"flux_obs", io::DType::kFloat64, bands, "nanomaggies"},
      {"sigma", io::DType::kFloat64, bands, "nanomaggies"},
      {"attempts", io::DType::kUInt32, 0, "prior draws until one was inside the noise model's flux range"},
      {"bands_used", io::DType::kUInt32, 0, "bit b set when band b (attribute bands) is measured, not masked"},
      {"row_done", io::DType::kUInt8, 0, "1 when the row is written (for --resume)"},
  };
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : ", ") + e;
  return s;
}

/// /spectrum [N, pixels] and /spectrum_wavelength [pixels] (docs/spectra.md; written by rank 0).
void create_spectrum_datasets(io::H5File& f, const sps::Spectrograph& sg, const SimulateOptions& opt,
                              std::uint64_t chunk) {
  const auto np = static_cast<std::uint64_t>(sg.num_pixels());
  f.create_dataset("spectrum", io::DType::kFloat32, {opt.n, np}, std::max<std::uint64_t>(1, chunk / 8));
  f.set_attr("spectrum", "units", std::string("f_lambda / its mean over the pixels, with noise 1 / snr per pixel"));
  f.set_attr("spectrum", "resolution", sg.settings().resolution);
  f.set_attr("spectrum", "snr", sg.settings().snr);
  f.create_dataset("spectrum_wavelength", io::DType::kFloat64, {np});
  f.set_attr("spectrum_wavelength", "units", std::string("observed-frame pixel centre [A], uniform in ln(lambda)"));
}

void create_training_file(io::H5File& f, const SimulateOptions& opt, const Context& ctx,
                          const sps::SedModel& model, const prior::Prior& prior,
                          const simulate::TrainingSimulator& sim, const noise::NoiseModel& noise_model) {
  const std::uint64_t nb = sim.num_bands(), nx = sim.conditioning().dim();
  const prior::ThetaLayout layout = sim.layout();
  const std::uint64_t chunk = std::min<std::uint64_t>(opt.chunk, std::max<std::uint64_t>(opt.n, 1));
  for (const Column& c : training_columns(nb, layout.dim(), nx, layout.z_inferred)) {
    std::vector<std::uint64_t> dims{opt.n};
    if (c.cols > 0) dims.push_back(c.cols);
    f.create_dataset(c.name, c.type, dims, chunk);
    f.set_attr(c.name, "units", std::string(c.units));
  }
  f.set_attr("", "theta_names", layout.names());
  f.set_attr("", "theta_units", layout.units());
  f.set_attr("", "theta_lower", layout.lower(prior));
  f.set_attr("", "theta_upper", layout.upper(prior));
  f.set_attr("", "redshift", std::string(layout.z_inferred ? "inferred" : "given"));
  f.set_attr("", "theta_physical_names", prior::Prior::physical_names());
  f.set_attr("", "theta_physical_units", prior::Prior::physical_units());
  f.set_attr("", "x_names", sim.conditioning().names());
  f.set_attr("", "bands", noise_model.bands());
  f.set_attr("", "filters", model.filter_paths());
  f.set_attr("", "config", ctx.config.to_toml());
  f.set_attr("", "seed", static_cast<std::int64_t>(opt.seed));
  f.set_attr("", "n_rows", static_cast<std::int64_t>(opt.n));
  f.set_attr("", "drop_bands", join(opt.drop_bands));
  f.set_attr("", "inflate_errors", join(opt.inflate_errors));
  f.set_attr("", "band_mask_rates", sim.masks().rates());
  simulate::write_noise_model(f, "noise_model", noise_model);
  if (const sps::Spectrograph* sg = sim.spectrograph()) create_spectrum_datasets(f, *sg, opt, chunk);
}

/// On resume: the partial file must be from the same run (rows, seed, config).
void check_resumable(const io::H5File& f, const SimulateOptions& opt, const Context& ctx) {
  const auto n = f.attr_int("", "n_rows");
  const auto seed = f.attr_int("", "seed");
  const std::string drop = join(opt.drop_bands);
  const std::string inflate = join(opt.inflate_errors);
  if (n != static_cast<std::int64_t>(opt.n) || seed != static_cast<std::int64_t>(opt.seed) ||
      f.attr_string("", "config") != ctx.config.to_toml() || f.attr_string("", "drop_bands") != drop ||
      f.attr_string("", "inflate_errors") != inflate) {
    throw ConfigError(cat("cannot resume ", f.path(), ": it was started with ", n, " rows, seed ", seed,
                          ", dropped bands '", f.attr_string("", "drop_bands"), "', inflated errors '",
                          f.attr_string("", "inflate_errors"), "' and another config; rerun without --resume to start over"));
  }
}

template <class T>
std::vector<T> to_type(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

int run_simulate(Context& ctx, const SimulateOptions& opt) {
  Comm& comm = ctx.comm;
  const std::string data_dir = ctx.data_dir();
  const sps::SedModel model(simulate::sed_settings_from_config(ctx.config, data_dir));
  const prior::Prior prior(prior::PriorSettings::from_config(ctx.config));
  // Rank 0 reads the noise inputs; the tables are small, every rank rebuilds the same model
  // from the same files (reads are cheap and deterministic).
  const noise::NoiseModel noise_model = simulate::load_or_fit_noise(ctx.config, data_dir, opt.noise);
  const simulate::BandMasks masks(simulate::BandMaskSettings::from_config(ctx.config), noise_model, opt.drop_bands);
  const simulate::RedshiftRange z_range = simulate::redshift_range_from_config(ctx.config);
  simulate::check_redshift_range(model, prior, z_range, ctx.config.source());
  simulate::TrainingSimulator sim(model, prior, noise_model, z_range, opt.seed, 1000, masks);
  sim.set_noise_scale(noise_scale(opt.inflate_errors, noise_model.bands()));
  std::optional<sps::Spectrograph> spectrograph;  // [spectrum] enabled: spectra next to the photometry
  if (ctx.config.get_bool("spectrum.enabled", false)) {
    spectrograph.emplace(sps::SpectrographSettings::from_config(ctx.config));
    sim.set_spectrograph(&*spectrograph);
    logger().info(cat("simulate: spectra of ", spectrograph->num_pixels(), " pixels, ",
                      spectrograph->settings().lambda_min, "-", spectrograph->settings().lambda_max, " A, R = ",
                      spectrograph->settings().resolution, ", S/N ", spectrograph->settings().snr, " per pixel"));
  }
  logger().info(cat("simulate: ", opt.n, " galaxies, bands ", join(model.band_names()), ", seed ", opt.seed,
                    ", ", comm.size(), " rank(s); z ", z_range.inferred ? "inferred" : "given", ", drawn ",
                    z_range.z_prior().describe(), "; noise model from ", noise_model.source(), "; ",
                    masks.describe(noise_model.bands())));

  io::FileAccess access = mpi::file_access(comm);
  io::OutputFile out(opt.out, comm, access, opt.resume);
  io::H5File& f = out.file();
  if (out.resumed()) {
    check_resumable(f, opt, ctx);
  } else {
    create_training_file(f, opt, ctx, model, prior, sim, noise_model);
    if (sim.spectrograph()) {
      const std::uint64_t n = comm.is_root() ? sim.spectrograph()->wavelength().size() : 0;
      f.write_rows("spectrum_wavelength", 0, n, sim.spectrograph()->wavelength().data());
    }
    // From here on only raw data is written (datasets are allocated at creation), so a run
    // killed later leaves a file --resume can open.
    f.flush();
  }

  const std::uint64_t nb = sim.num_bands();
  const RowRange mine = block_range(opt.n, comm.rank(), comm.size());
  std::vector<std::uint8_t> done(mine.count(), 0);
  if (out.resumed()) f.read_rows("row_done", mine.begin, mine.count(), done.data());
  const std::int64_t already = comm.sum(static_cast<std::int64_t>(std::count(done.begin(), done.end(), 1)));
  if (out.resumed()) logger().info(cat("resuming ", opt.out, ".partial: ", already, " of ", opt.n, " rows done"));

  const std::uint64_t chunk = std::max<std::uint64_t>(1, opt.chunk);
  const std::uint64_t n_chunks = (block_range(opt.n, 0, comm.size()).count() + chunk - 1) / chunk;
  ProgressMeter progress("simulate", opt.n, "galaxies", comm.is_root());
  progress.set_done(static_cast<std::uint64_t>(already));
  simulate::SimulatedRows rows;
  const std::vector<double> box_lo = sim.layout().lower(prior), box_hi = sim.layout().upper(prior);
  simulate::SimulationCounters counters;
  counters.noise.n_out_of_range.assign(nb, 0);
  for (std::uint64_t c = 0; c < n_chunks; ++c) {
    // Every rank makes the same collective calls; a rank whose rows are done writes none.
    const std::uint64_t begin = std::min(mine.end, mine.begin + c * chunk);
    std::uint64_t count = std::min(mine.end, begin + chunk) - begin;
    const bool all_done = std::all_of(done.begin() + static_cast<std::ptrdiff_t>(begin - mine.begin),
                                      done.begin() + static_cast<std::ptrdiff_t>(begin - mine.begin + count),
                                      [](std::uint8_t d) { return d == 1; });
    if (all_done) count = 0;
    sim.simulate(begin, count, rows, counters);
    f.write_rows("theta", begin, count, simulate::to_float_inside_box(rows.theta_flow, box_lo, box_hi).data());
    f.write_rows("x", begin, count, to_type<float>(rows.x).data());
    f.write_rows("theta_physical", begin, count, rows.theta_physical.data());
    f.write_rows("z", begin, count, rows.z.data());
    f.write_rows("flux_true", begin, count, rows.flux_true.data());
    f.write_rows("flux_obs", begin, count, rows.flux_obs.data());
    f.write_rows("sigma", begin, count, rows.sigma.data());
    f.write_rows("attempts", begin, count, rows.attempts.data());
    f.write_rows("bands_used", begin, count, rows.bands_used.data());
    if (sim.spectrograph()) f.write_rows("spectrum", begin, count, to_type<float>(rows.spectrum).data());
    // row_done last: a row is marked only after all its data is written.
    const std::vector<std::uint8_t> ones(count, 1);
    f.write_rows("row_done", begin, count, ones.data());
    if (c % 8 == 7) f.flush();  // bound what an interruption can lose
    progress.advance(static_cast<std::uint64_t>(comm.sum(static_cast<std::int64_t>(count))));
  }
  progress.finish();

  // Totals over the whole file, from the data itself, so a resumed run counts the rows
  // written before the interruption too: redraws = sum(attempts - 1), failed = attempts == 0.
  std::vector<std::uint32_t> attempts(mine.count());
  f.read_rows("attempts", mine.begin, mine.count(), attempts.data());
  std::int64_t totals[2] = {0, 0};
  for (std::uint32_t a : attempts) {
    if (a == 0) {
      ++totals[1];
    } else {
      totals[0] += a - 1;
    }
  }
  comm.allreduce_sum(totals, 2);
  std::vector<std::int64_t> out_of_range = counters.noise.n_out_of_range;
  out_of_range.resize(nb, 0);
  comm.allreduce_sum(out_of_range.data(), out_of_range.size());
  std::string per_band;
  for (std::size_t b = 0; b < nb; ++b) per_band += cat(b ? ", " : "", noise_model.bands()[b], " ", out_of_range[b]);
  // Work done in this run: SED evaluations versus draws the flux bounds rejected unevaluated.
  std::int64_t work[2] = {counters.sed_evaluations, counters.prechecked_draws};
  comm.allreduce_sum(work, 2);
  logger().info(cat("simulated ", opt.n, " rows: ", totals[0],
                    " prior draws redrawn because a flux fell outside the noise catalog's range (in this run, "
                    "per band: ", per_band, "); ", totals[1], " rows failed (NaN, skipped by train); ", work[0],
                    " SED evaluations, ", work[1], " draws rejected by flux bounds without one"));
  f.set_attr("", "n_redrawn", totals[0]);
  f.set_attr("", "n_failed_rows", totals[1]);
  out.commit();
  logger().info(cat("wrote ", opt.out));
  return 0;
}

}  // namespace

void register_simulate(Cli& cli) {
  auto opt = std::make_shared<SimulateOptions>();
  CLI::App* sub = cli.add("simulate",
                          "Simulate a training set: prior draw, SED, noise, conditioning vector "
                          "(rank-parallel, one HDF5 file)",
                          [opt](Context& ctx) { return run_simulate(ctx, *opt); });
  sub->add_option("--n", opt->n, "Number of galaxies")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--out", opt->out, "Output training set (HDF5)")->capture_default_str();
  sub->add_option("--seed", opt->seed, "Seed; row i depends on (seed, i) only")->capture_default_str();
  sub->add_option("--noise", opt->noise, "Noise-model file from `sedpost noise fit` (default: fit noise.catalog)");
  sub->add_option("--chunk", opt->chunk, "Rows per collective write")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_flag("--resume", opt->resume, "Continue <out>.partial from an interrupted run");
  sub->add_option("--drop-bands", opt->drop_bands,
                  "Bands removed from every row instead of the random masks (models with model.band_masks; "
                  "for tests on a fixed reduced band set), e.g. --drop-bands r")
      ->delimiter(',');
  sub->add_option("--inflate-errors", opt->inflate_errors,
                  "Test sets with noise beyond the training range: scale the drawn errors (and the flux noise) "
                  "by FACTOR in every band, or BAND=FACTOR per band, e.g. --inflate-errors r=5")
      ->delimiter(',');
}

}  // namespace sedpost::app
