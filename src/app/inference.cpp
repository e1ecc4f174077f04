#include "app/inference.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "app/model_file.hpp"
#include "app/device_option.hpp"
#include "app/guard.hpp"
#include "app/threads.hpp"
#include "app/work_queue.hpp"
#include "catalog/catalog_reader.hpp"
#include "catalog/quantities.hpp"
#include "catalog/spectra.hpp"
#include "catalog/support.hpp"
#include "posterior/posterior_engine.hpp"
#include "core/data_dir.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/progress.hpp"
#include "io/output_file.hpp"
#include "mpi/parallel_h5.hpp"
#include "prior/prior.hpp"
#include "simulate/model_config.hpp"
#include "sps/sed_model.hpp"
#include "sps/spectrograph.hpp"

namespace sedpost::app {

namespace {

constexpr std::uint64_t kReasonWidth = 240;
using catalog::kNumSummaryColumns;

/// FNV-1a 64 of the model's bytes: ties a resumed output to the model that started it.
std::int64_t model_fingerprint(const flow::Flow& flow) {
  const std::string bytes = flow.to_bytes();
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) h = (h ^ c) * 1099511628211ull;
  return static_cast<std::int64_t>(h >> 1);
}

/// Everything a rank needs to turn catalog chunks into posterior rows.
struct Setup {
  const flow::Flow& flow;  ///< the model file's flow (owned by run_inference or its caller)
  SedSetup sed;
  std::int64_t fingerprint;
};

struct Layout {
  std::uint64_t n = 0;        ///< selected rows
  std::uint64_t first = 0;    ///< first selected catalog row
  std::uint64_t bands = 0;
  std::uint64_t chunk = 0;
  std::uint64_t n_chunks = 0;
  std::uint64_t n_store = 0;
  bool id_string = false;
  std::uint64_t id_width = 0;
  bool truth = false;
  std::uint64_t quantities = 0;  ///< K: catalog::kNumQuantities, plus z when the model infers it
  bool z_inferred = false;
};

void create_output(io::H5File& f, const Context& ctx, const InferJob& job, const Setup& s, const Layout& l,
                   double chi2_max) {
  struct Dataset {
    const char* name;
    io::DType type;
    std::vector<std::uint64_t> trailing;
    std::string units;
    const char* description;
  };
  const std::uint64_t B = l.bands, K = l.quantities;
  std::vector<Dataset> sets = {
      {"row", io::DType::kInt64, {}, "", "0-based row of the galaxy in the input catalog"},
      {"z", io::DType::kFloat64, {}, "",
       l.z_inferred ? "redshift column of the catalog as read (NaN: none); not used, z is inferred (see /summary z)"
                    : "redshift (from the catalog; fixed, not inferred)"},
      {"flux_obs", io::DType::kFloat64, {B}, "nanomaggies", "observed fluxes as read and converted"},
      {"sigma", io::DType::kFloat64, {B}, "nanomaggies", "flux errors as read and converted (+inf: not measured)"},
      {"summary", io::DType::kFloat32, {K, kNumSummaryColumns}, "see attribute units",
       "posterior summaries [galaxy, quantity, column]: see attributes names, columns"},
      {"flags", io::DType::kUInt32, {}, "", "bit mask, bit i = flag_names[i]; 0 = fine"},
      {"bands_used", io::DType::kUInt32, {}, "",
       "bit mask, bit b set when band b (root attribute bands) entered the posterior; 0 = no posterior"},
      {"chi2", io::DType::kFloat64, {}, "",
       job.settings.weighting
           ? "chi^2 of the observed fluxes (errors with the model-error floor) at the best-fitting weighted draw"
           : "chi^2 of the observed fluxes (errors with the model-error floor) at the flow draw of highest flow "
             "density (unbounded coordinates)"},
      {"chi2_draw", io::DType::kFloat64, {}, "",
       "chi^2 at one draw picked by weight (a posterior draw; over galaxies simulated from the model it follows "
       "chi^2 with one dof per band; NaN with weighting off)"},
      {"best_flux", io::DType::kFloat64, {B}, "nanomaggies", "model fluxes of the draw /chi2 is computed at"},
      {"log_q_best", io::DType::kFloat64, {}, "nats",
       "flow log-density of that draw in the unbounded (logit) flow coordinates"},
      {"ess", io::DType::kFloat64, {}, "",
       "effective sample size (Kish) of the likelihood weights over all draws (NaN: weighting off or no posterior)"},
      {"efficiency", io::DType::kFloat64, {}, "", "ess / n_draws"},
      {"n_draws", io::DType::kUInt32, {}, "", "likelihood evaluations: flow draws plus refinement draws"},
      {"refine_rounds", io::DType::kUInt32, {}, "", "refinement rounds run (0: the flow's draws sufficed)"},
  };
  if (l.n_store > 0)
    sets.push_back({"samples", io::DType::kFloat32, {l.n_store, K}, "see /summary attribute units",
                    "posterior samples [galaxy, sample, quantity]"});
  if (l.truth)
    sets.push_back({"truth", io::DType::kFloat64, {K}, "see /summary attribute units",
                    "true values of the quantities (simulated catalog)"});
  if (!l.id_string) sets.insert(sets.begin(), {"id", io::DType::kInt64, {}, "", "catalog ID"});
  for (const Dataset& d : sets) {
    std::vector<std::uint64_t> dims{l.n};
    dims.insert(dims.end(), d.trailing.begin(), d.trailing.end());
    f.create_dataset(d.name, d.type, dims, l.chunk);
    f.set_attr(d.name, "units", d.units);
    f.set_attr(d.name, "description", std::string(d.description));
  }
  if (l.id_string) {
    f.create_string_dataset("id", l.n, l.id_width);
    f.set_attr("id", "units", std::string(""));
    f.set_attr("id", "description", std::string("catalog ID"));
  }
  f.set_attr("id", "source", job.columns.id.empty() ? std::string("row") : job.columns.id);
  f.create_string_dataset("flag_reason", l.n, kReasonWidth);
  f.set_attr("flag_reason", "units", std::string(""));
  f.create_dataset("chunk_done", io::DType::kUInt8, {l.n_chunks}, std::min<std::uint64_t>(l.n_chunks, 4096));
  f.set_attr("chunk_done", "description", cat("1 when rows [k*", l.chunk, ", (k+1)*", l.chunk, ") are written"));
  f.set_attr("summary", "names", catalog::quantity_names(l.z_inferred));
  f.set_attr("summary", "columns", catalog::summary_columns());
  f.set_attr("summary", "units", catalog::quantity_units(l.z_inferred));
  f.set_attr("", "redshift", std::string(l.z_inferred ? "inferred" : "given"));
  f.set_attr("flags", "flag_names", posterior::infer_flag_names());
  f.set_attr("", "bands", s.sed.support.bands);
  f.set_attr("", "band_masks", static_cast<std::int64_t>(s.sed.support.band_masks));
  f.set_attr("", "filters", s.sed.model.filter_paths());
  f.set_attr("", "config", ctx.config.to_toml());
  f.set_attr("", "training_config", s.sed.training_config.to_toml());
  f.set_attr("", "model", job.model);
  f.set_attr("", "model_fingerprint", s.fingerprint);
  f.set_attr("", "catalog", job.catalog);
  f.set_attr("", "columns", job.columns.describe());
  f.set_attr("", "first_row", static_cast<std::int64_t>(l.first));
  f.set_attr("", "n_rows", static_cast<std::int64_t>(l.n));
  f.set_attr("", "chunk_rows", static_cast<std::int64_t>(l.chunk));
  f.set_attr("", "seed", static_cast<std::int64_t>(job.settings.seed));
  f.set_attr("", "n_samples", static_cast<std::int64_t>(job.settings.n_samples));
  f.set_attr("", "n_store", static_cast<std::int64_t>(l.n_store));
  f.set_attr("", "chi2_max", chi2_max);
  f.set_attr("", "chi2_pvalue", job.settings.chi2_pvalue);
  f.set_attr("", "weighting", static_cast<std::int64_t>(job.settings.weighting));
  f.set_attr("", "min_ess", job.settings.min_ess);
  f.set_attr("", "max_rounds", static_cast<std::int64_t>(job.settings.max_rounds));
  f.set_attr("", "defensive", static_cast<std::int64_t>(job.settings.defensive));
  f.set_attr("", "model_error", job.settings.model_error);
  f.set_attr("", "noise_likelihood", static_cast<std::int64_t>(job.settings.noise_likelihood));
  f.set_attr("", "z_mode_weight", job.settings.z_mode_weight);
  f.set_attr("", "moves", static_cast<std::int64_t>(job.settings.moves));
  f.set_attr("", "move_draws", static_cast<std::int64_t>(job.settings.move_draws));
  if (!job.settings.z_prior_mag_band.empty()) {  // the magnitude-dependent z prior (absent: the model's)
    f.set_attr("", "z_prior_mag_band", job.settings.z_prior_mag_band);
    if (!job.settings.z_prior_mag_edges.empty()) f.set_attr("", "z_prior_mag_edges", job.settings.z_prior_mag_edges);
    f.set_attr("", "z_prior_mag_weights", job.settings.z_prior_mag_weights);
  }
}

/// On resume: the partial file must come from the same job.
void check_resumable(const io::H5File& f, const InferJob& job, const Setup& s, const Layout& l) {
  const bool same = f.attr_int("", "n_rows") == static_cast<std::int64_t>(l.n) &&
                    f.attr_int("", "first_row") == static_cast<std::int64_t>(l.first) &&
                    f.attr_int("", "chunk_rows") == static_cast<std::int64_t>(l.chunk) &&
                    f.attr_int("", "seed") == static_cast<std::int64_t>(job.settings.seed) &&
                    f.attr_int("", "n_samples") == job.settings.n_samples &&
                    f.attr_int("", "n_store") == static_cast<std::int64_t>(l.n_store) &&
                    f.attr_int("", "model_fingerprint") == s.fingerprint &&
                    f.attr_int("", "weighting") == static_cast<std::int64_t>(job.settings.weighting) &&
                    f.attr_double("", "min_ess") == job.settings.min_ess &&
                    f.attr_int("", "max_rounds") == job.settings.max_rounds &&
                    f.attr_int("", "defensive") == static_cast<std::int64_t>(job.settings.defensive) &&
                    f.attr_double("", "model_error") == job.settings.model_error &&
                    f.attr_int("", "noise_likelihood") == static_cast<std::int64_t>(job.settings.noise_likelihood) &&
                    (!f.has_attr("", "z_mode_weight") || f.attr_double("", "z_mode_weight") == job.settings.z_mode_weight) &&
                    (f.has_attr("", "moves") ? f.attr_int("", "moves") == job.settings.moves &&
                                                   f.attr_int("", "move_draws") == job.settings.move_draws
                                             : job.settings.moves == 0) &&
                    (f.has_attr("", "z_prior_mag_band")
                         ? f.attr_string("", "z_prior_mag_band") == job.settings.z_prior_mag_band &&
                               (f.has_attr("", "z_prior_mag_edges") ? f.attr_doubles("", "z_prior_mag_edges")
                                                                     : std::vector<double>{}) ==
                                   job.settings.z_prior_mag_edges &&
                               f.attr_doubles("", "z_prior_mag_weights") == job.settings.z_prior_mag_weights
                         : job.settings.z_prior_mag_band.empty()) &&
                    f.attr_string("", "catalog") == job.catalog;
  if (!same)
    throw ConfigError(cat("cannot resume ", f.path(), ": it was started with another model, catalog, row range, "
                          "seed, sample counts, weighting settings or chunk size; rerun without --resume to start over"));
}

void write_chunk(io::H5File& f, const Layout& l, std::uint64_t row0, const catalog::CatalogChunk& c,
                 const posterior::ChunkResult& r) {
  const std::uint64_t n = c.n;
  if (l.id_string) f.write_string_rows("id", row0, c.id_text);
  else f.write_rows("id", row0, n, c.id.data());
  std::vector<std::int64_t> rows(n);
  for (std::uint64_t i = 0; i < n; ++i) rows[i] = static_cast<std::int64_t>(c.first + i);
  f.write_rows("row", row0, n, rows.data());
  f.write_rows("z", row0, n, c.z.data());
  f.write_rows("flux_obs", row0, n, c.flux.data());
  f.write_rows("sigma", row0, n, c.sigma.data());
  f.write_rows("summary", row0, n, r.summary.data());
  f.write_rows("flags", row0, n, r.flags.data());
  f.write_rows("bands_used", row0, n, r.bands_used.data());
  f.write_rows("chi2", row0, n, r.chi2.data());
  f.write_rows("chi2_draw", row0, n, r.chi2_draw.data());
  f.write_rows("ess", row0, n, r.ess.data());
  f.write_rows("efficiency", row0, n, r.efficiency.data());
  f.write_rows("n_draws", row0, n, r.n_draws.data());
  f.write_rows("refine_rounds", row0, n, r.rounds.data());
  f.write_rows("best_flux", row0, n, r.best_flux.data());
  f.write_rows("log_q_best", row0, n, r.log_q_best.data());
  if (l.n_store > 0) f.write_rows("samples", row0, n, r.samples.data());
  if (l.truth) f.write_rows("truth", row0, n, r.truth.data());
  f.write_string_rows("flag_reason", row0, r.reason);
}

/// A model that conditions on spectra needs the catalog's /spectrum on the spectrograph grid of
/// its training config: DataError naming the catalog otherwise.
void check_catalog_spectra(const catalog::CatalogReader& reader, const sps::SpectrographSettings& settings,
                           const std::string& model_path) {
  const sps::Spectrograph spectrograph(settings);
  if (reader.spectrum_wavelength().empty())
    throw DataError(cat(reader.path(), ": no /spectrum and /spectrum_wavelength, but ", model_path,
                        " conditions on spectra (", spectrograph.num_pixels(), " pixels; docs/spectra.md)"));
  catalog::check_spectrum_grid(reader.spectrum_wavelength(), spectrograph.wavelength(), reader.path());
}

}  // namespace

InferStats run_inference(Context& ctx, const InferJob& job, const flow::Flow* loaded) {
  using Clock = std::chrono::steady_clock;
  const auto t_start = Clock::now();
  Comm& comm = ctx.comm;
  if (job.catalog.empty()) throw ConfigError("infer: --catalog (or [infer] catalog) is required");
  if (job.model.empty()) throw ConfigError("infer: --model is required");
  if (job.chunk < 1) throw ConfigError("infer: --chunk must be >= 1");
  job.settings.validate();
  flow::set_threads(threads_per_rank(job.threads, comm.size()));

  std::optional<flow::Flow> owned;
  if (!loaded) {
    const flow::Device device = rank_device(comm, job.device);
    owned.emplace(load_model_everywhere(comm, job.model));
    owned->set_device(device);
  }
  const flow::Flow& flow = loaded ? *loaded : *owned;
  const Setup s{flow, load_sed_setup(flow, job.model, ctx.data_dir()), model_fingerprint(flow)};
  const posterior::PosteriorEngine engine(s.flow, s.sed.model, s.sed.prior, s.sed.support, job.settings,
                                         s.sed.spectrograph);
  if (!engine.z_inferred() && job.columns.redshift.empty())
    throw ConfigError(cat("infer: [catalog] redshift is empty, but ", job.model,
                          " takes the redshift as input (trained with model.redshift = \"given\")"));
  const std::string catalog_path = resolve_input_path(job.catalog, ctx.data_dir());
  const auto reader = catalog::CatalogReader::open(catalog_path, job.columns, engine.num_bands());
  const catalog::RowSelection sel = catalog::select_rows(job.rows, reader->num_rows());
  if (engine.uses_spectra()) check_catalog_spectra(*reader, *s.sed.spectrograph, job.model);

  Layout l;
  l.n = sel.count();
  l.first = sel.begin;
  l.bands = static_cast<std::uint64_t>(engine.num_bands());
  l.chunk = std::min<std::uint64_t>(job.chunk, l.n);
  l.n_chunks = (l.n + l.chunk - 1) / l.chunk;
  l.n_store = static_cast<std::uint64_t>(job.settings.n_store);
  l.id_string = reader->id_is_string();
  l.id_width = reader->id_width();
  l.truth = reader->has_truth();
  l.quantities = static_cast<std::uint64_t>(engine.num_quantities());
  l.z_inferred = engine.z_inferred();
  logger().info(cat("infer: ", l.n, " galaxies (rows ", sel.begin, ":", sel.end, " of ", job.catalog, "), ",
                    job.columns.describe(), engine.z_inferred() ? "; z inferred" : "",
                    job.settings.z_prior_mag_band.empty()
                        ? std::string()
                        : cat(", its prior by the ", job.settings.z_prior_mag_band, " magnitude (",
                              job.settings.z_prior_mag_edges.size() + 1, " magnitude bins)"),
                    "; ", job.settings.n_samples, " flow draws per galaxy (", l.n_store,
                    " stored), chunks of ", l.chunk, ", ", comm.size(), " rank(s) x ", flow::get_threads(),
                    " thread(s); chi2 flag above ", engine.chi2_threshold(), "; ",
                    job.settings.weighting
                        ? cat("likelihood weighting on (min ESS ", job.settings.min_ess, ", up to ",
                              job.settings.max_rounds, " refinement rounds, model error ",
                              job.settings.model_error,
                              job.settings.moves > 0 ? cat("; ", job.settings.move_draws, " draws resampled and moved ",
                                                           job.settings.moves, " Metropolis steps each")
                                                     : std::string(),
                              ")")
                        : std::string("likelihood weighting off (flow draws as they are)")));

  io::OutputFile out(job.out, comm, mpi::file_access_independent(comm), job.resume);
  io::H5File& f = out.file();
  std::vector<std::uint8_t> done(l.n_chunks, 0);
  if (out.resumed()) {
    check_resumable(f, job, s, l);
    f.read_rows("chunk_done", 0, l.n_chunks, done.data());
  } else {
    create_output(f, ctx, job, s, l, engine.chi2_threshold());
  }
  // From here on only raw data is written (datasets are allocated at creation), so a run killed
  // later leaves a file that --resume can open.
  f.flush();
  const auto n_done_before = static_cast<std::uint64_t>(std::count(done.begin(), done.end(), 1));
  std::uint64_t rows_before = 0;
  for (std::uint64_t k = 0; k < l.n_chunks; ++k)
    if (done[k]) rows_before += std::min(l.chunk, l.n - k * l.chunk);
  if (out.resumed())
    logger().info(cat("resuming ", job.out, ".partial: ", n_done_before, " of ", l.n_chunks, " chunks (", rows_before,
                      " galaxies) already done"));

  // counts: [flag bits..., rows computed, flagged, no posterior, refined, with ESS, with acceptance]
  constexpr int F = posterior::kNumInferFlags;
  std::vector<std::int64_t> counts(F + 6, 0);
  std::vector<double> seconds(5, 0.0);  // read, sampling, posterior (weighting, quantities), rest, write
  std::vector<double> sums(2, 0.0);  // ESS, resample-move acceptance rate (over the rows that have them)
  ProgressMeter progress("infer", l.n, "galaxies", comm.is_root());
  progress.set_done(rows_before);
  WorkQueue queue(comm);
  const std::uint8_t one = 1;
  for (std::int64_t k = queue.next(); k < static_cast<std::int64_t>(l.n_chunks); k = queue.next()) {
    const auto kc = static_cast<std::uint64_t>(k);
    if (done[kc]) continue;
    const std::uint64_t row0 = kc * l.chunk, n = std::min(l.chunk, l.n - row0);
    const auto t0 = Clock::now();
    catalog::CatalogChunk c;
    posterior::ChunkResult r;
    auto t1 = t0;
    // A bad row (e.g. a NaN spectrum pixel) ends the job from here: unwinding would reach the
    // output file's collective close while the other ranks still work.
    run_or_abort(comm, [&] {
      c = reader->read(sel.begin + row0, n);
      t1 = Clock::now();
      r = engine.run(c);
    });
    const auto t2 = Clock::now();
    write_chunk(f, l, row0, c, r);
    f.write_rows("chunk_done", kc, 1, &one);  // last: the chunk counts as done only when written
    const auto t3 = Clock::now();
    seconds[0] += std::chrono::duration<double>(t1 - t0).count();
    seconds[1] += r.seconds_sampling;
    seconds[2] += r.seconds_posterior;
    seconds[3] += r.seconds_rest;
    seconds[4] += std::chrono::duration<double>(t3 - t2).count();
    for (std::uint64_t i = 0; i < n; ++i) {
      for (int b = 0; b < F; ++b) counts[static_cast<std::size_t>(b)] += (r.flags[i] >> b) & 1u;
      counts[F + 1] += r.flags[i] != 0;
      counts[F + 2] += (r.flags[i] & posterior::kFlagsNoPosterior) != 0;
      counts[F + 3] += r.rounds[i] > 0;
      if (std::isfinite(r.ess[i])) {
        counts[F + 4] += 1;
        sums[0] += r.ess[i];
      }
      if (std::isfinite(r.acceptance[i])) {
        counts[F + 5] += 1;
        sums[1] += r.acceptance[i];
      }
    }
    counts[F] += static_cast<std::int64_t>(n);
    // Rank 0's view of job-wide progress: chunks are claimed in order.
    if (comm.is_root()) {
      const std::uint64_t claimed = std::min(l.n, (kc + 1) * l.chunk);
      if (claimed > progress.done()) progress.advance(claimed - progress.done());
    }
    for (std::uint64_t i = 0; i < n; ++i)
      if (r.flags[i]) logger().debug(cat("row ", c.first + i, ": flags ", r.flags[i], ": ", r.reason[i]));
  }
  queue.close();
  comm.allreduce_sum(counts.data(), counts.size());
  comm.allreduce_sum(seconds.data(), seconds.size());
  comm.allreduce_sum(sums.data(), sums.size());
  if (l.n > progress.done()) progress.advance(l.n - progress.done());
  progress.finish();

  InferStats st;
  st.n_rows = l.n;
  st.n_resumed = rows_before;
  st.n_flagged = static_cast<std::uint64_t>(counts[F + 1]);
  st.n_no_posterior = static_cast<std::uint64_t>(counts[F + 2]);
  st.n_refined = static_cast<std::uint64_t>(counts[F + 3]);
  st.mean_ess = counts[F + 4] > 0 ? sums[0] / static_cast<double>(counts[F + 4])
                                  : std::numeric_limits<double>::quiet_NaN();
  st.mean_acceptance = counts[F + 5] > 0 ? sums[1] / static_cast<double>(counts[F + 5])
                                         : std::numeric_limits<double>::quiet_NaN();
  const auto computed = counts[F];
  std::string per_reason;
  for (int b = 0; b < F; ++b)
    per_reason += cat(b ? ", " : "", posterior::infer_flag_names()[static_cast<std::size_t>(b)], " ",
                      counts[static_cast<std::size_t>(b)]);
  out.commit();
  st.wall_s = std::chrono::duration<double>(Clock::now() - t_start).count();
  st.galaxies_per_s = static_cast<double>(computed) / std::max(1e-9, st.wall_s);
  const double total = seconds[0] + seconds[1] + seconds[2] + seconds[3] + seconds[4];
  logger().info(cat("infer: ", computed, " galaxies computed", rows_before ? cat(" (", rows_before, " resumed)") : "",
                    ", ", st.n_flagged, " flagged (", per_reason, "), ", st.n_no_posterior, " without posterior"));
  if (job.settings.weighting)
    logger().info(cat("infer: likelihood weighting: mean effective sample size ", st.mean_ess, " of ",
                      job.settings.n_samples, " flow draws; ", st.n_refined, " of ", computed,
                      " galaxies needed refinement rounds"));
  if (job.settings.weighting && job.settings.moves > 0)
    logger().info(cat("infer: resample-move: mean acceptance rate ", st.mean_acceptance, " (the scale adapts towards 0.234) over ",
                      job.settings.moves, " steps of ", job.settings.move_draws, " draws per galaxy"));
  logger().info(cat("infer: wall ", ProgressMeter::format_duration(st.wall_s), ", ", st.galaxies_per_s,
                    " galaxies/s job-wide; rank time: flow sampling ", seconds[1], " s, weighting+quantities+flags ",
                    seconds[2], " s, checks ", seconds[3], " s, read ", seconds[0], " s, write ", seconds[4],
                    " s (overhead ", 100.0 * (total - seconds[1]) / std::max(1e-9, seconds[1]),
                    " % of sampling); wrote ", job.out));
  return st;
}

}  // namespace sedpost::app
