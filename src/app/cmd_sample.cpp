// `sedpost sample`: posterior samples from a trained flow for observations in an HDF5 file
// (generic mode: /x [n_obs, C] in, /samples [n_obs, n, D] out), observations split over ranks.
// For an SED model the draws are likelihood-checked (src/posterior): the photometry is recovered
// from x, the flow's draws are weighted by the exact likelihood and refined, and /samples holds
// draws resampled by weight.
#include <algorithm>
#include <optional>

#include "app/commands.hpp"
#include "app/device_option.hpp"
#include "app/model_file.hpp"
#include "app/posterior_options.hpp"
#include "app/threads.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/progress.hpp"
#include "flow/flow.hpp"
#include "io/output_file.hpp"
#include "mpi/parallel_h5.hpp"
#include "posterior/posterior_engine.hpp"

namespace sedpost::app {

namespace {

struct SampleOptions {
  std::string model;
  std::string x;
  std::string out = "samples.h5";
  std::int64_t n = 10000;
  std::uint64_t seed = 0;
  int threads = 0;
  std::string device = "cpu";
  std::int64_t chunk = 64;  ///< observations per write
  posterior::PosteriorSettings posterior;  ///< weighting settings (SED models only)
};

/// The likelihood-checked posterior of SED-model observations given as conditioning vectors.
class WeightedSampler {
 public:
  WeightedSampler(const flow::Flow& flow, SedSetup sed, const posterior::PosteriorSettings& settings)
      : sed_(std::move(sed)),
        conditioning_(sed_.support.bands, {}, sed_.support.band_masks, !sed_.support.z_inferred),
        engine_(flow, sed_.model, sed_.prior, sed_.support, settings, sed_.spectrograph) {}

  /// x [count, C] of observations begin.. -> the engine's results (draws in /theta coordinates).
  posterior::ChunkResult run(const std::vector<float>& x, std::uint64_t begin, std::uint64_t count) const {
    const std::size_t nb = sed_.support.bands.size(), nx = conditioning_.dim();
    catalog::CatalogChunk c;
    c.first = begin;
    c.n = count;
    c.flux.resize(count * nb);
    c.sigma.resize(count * nb);
    c.z.resize(count);
    std::vector<double> xd(nx);
    for (std::uint64_t i = 0; i < count; ++i) {
      std::copy(x.begin() + static_cast<std::ptrdiff_t>(i * nx), x.begin() + static_cast<std::ptrdiff_t>((i + 1) * nx),
                xd.begin());
      conditioning_.photometry_of(xd.data(), &c.flux[i * nb], &c.sigma[i * nb], &c.z[i]);
    }
    return engine_.run(c);
  }

 private:
  SedSetup sed_;
  noise::Conditioning conditioning_;
  posterior::PosteriorEngine engine_;
};

int run_sample(Context& ctx, const SampleOptions& opt) {
  Comm& comm = ctx.comm;
  flow::set_threads(threads_per_rank(opt.threads, comm.size()));
  const flow::Device device = rank_device(comm, opt.device);
  flow::Flow model = load_model_everywhere(comm, opt.model);
  model.set_device(device);
  io::H5File xfile = io::H5File::open_read(opt.x);
  const auto xs = xfile.shape("x");
  if (xs.size() != 2 || static_cast<int>(xs[1]) != model.n_x()) {
    throw DataError(cat(opt.x, ": /x must be [n_obs, ", model.n_x(), "] for this model, got ",
                        xs.size() == 2 ? cat("[", xs[0], ", ", xs[1], "]") : std::string("another rank")));
  }
  const std::uint64_t n_obs = xs[0];
  const std::uint64_t d = static_cast<std::uint64_t>(model.n_theta());
  const std::uint64_t n = static_cast<std::uint64_t>(opt.n);
  const RowRange mine = block_range(n_obs, comm.rank(), comm.size());
  std::optional<WeightedSampler> weighted;
  if (opt.posterior.weighting && is_sed_model(model)) {
    posterior::PosteriorSettings ps = opt.posterior;
    ps.n_samples = static_cast<int>(opt.n);
    ps.n_store = static_cast<int>(opt.n);
    ps.move_draws = std::max(ps.move_draws, ps.n_store);  // every returned draw a moved one
    ps.seed = opt.seed;
    weighted.emplace(model, load_sed_setup(model, opt.model, ctx.data_dir()), ps);
    logger().info(cat("sample: SED model: likelihood-checked draws (min ESS ", ps.min_ess, ", up to ", ps.max_rounds,
                      " refinement rounds, model error ", ps.model_error,
                      ps.moves > 0 ? cat(", ", ps.move_draws, " draws moved ", ps.moves, " Metropolis steps each") : "",
                      "); --weighting false for the flow's own"));
  } else if (opt.posterior.weighting) {
    logger().info("sample: generic model (no SED likelihood in the model file): the flow's own draws");
  }

  io::FileAccess access = mpi::file_access(comm);
  io::OutputFile out(opt.out, comm, access);
  io::H5File& f = out.file();
  f.create_dataset("samples", io::DType::kFloat32, {n_obs, n, d}, 1);
  f.create_dataset("log_q", io::DType::kFloat32, {n_obs, n}, 1);
  f.set_attr("samples", "description", std::string("posterior samples in the coordinates of the training set's /theta"));
  f.set_attr("log_q", "description", std::string("log q(theta | x) of each sample [nats]"));
  if (weighted) {
    f.create_dataset("ess", io::DType::kFloat64, {n_obs}, 1);
    f.create_dataset("n_draws", io::DType::kUInt32, {n_obs}, 1);
    f.create_dataset("chi2", io::DType::kFloat64, {n_obs}, 1);
    f.create_dataset("flags", io::DType::kUInt32, {n_obs}, 1);
    f.set_attr("samples", "description",
               std::string("posterior draws in the coordinates of the training set's /theta, resampled by their "
                           "likelihood weights (equally weighted)"));
    f.set_attr("log_q", "description", std::string("flow log density log q(theta | x) of each draw [nats]"));
    f.set_attr("ess", "description", std::string("effective sample size of the likelihood weights"));
    f.set_attr("n_draws", "description", std::string("likelihood evaluations (flow + refinement draws)"));
    f.set_attr("chi2", "description",
               std::string("chi^2 of the photometry recovered from x at the best-fitting draw (model error included)"));
    f.set_attr("flags", "flag_names", posterior::infer_flag_names());
    f.set_attr("", "weighting", std::int64_t{1});
  } else {
    f.set_attr("", "weighting", std::int64_t{0});
  }
  if (!model.metadata().theta_names.empty()) f.set_attr("", "theta_names", model.metadata().theta_names);
  f.set_attr("", "model", opt.model);
  f.set_attr("", "seed", static_cast<std::int64_t>(opt.seed));
  f.set_attr("", "config", ctx.config.to_toml());

  // Every rank makes the same number of (collective) writes; extra ones write no rows.
  const std::uint64_t chunk = static_cast<std::uint64_t>(std::max<std::int64_t>(1, opt.chunk));
  const std::uint64_t max_local = block_range(n_obs, 0, comm.size()).count();
  const std::uint64_t n_chunks = (max_local + chunk - 1) / chunk;
  ProgressMeter progress("sampling", n_obs, "galaxies", comm.is_root());
  std::vector<float> x, samples, log_q;
  for (std::uint64_t c = 0; c < n_chunks; ++c) {
    const std::uint64_t begin = std::min(mine.end, mine.begin + c * chunk);
    const std::uint64_t count = std::min(mine.end, begin + chunk) - begin;
    x.resize(count * static_cast<std::uint64_t>(model.n_x()));
    samples.resize(count * n * d);
    log_q.resize(count * n);
    posterior::ChunkResult r;
    if (count > 0) {
      xfile.read_rows("x", begin, count, x.data());
      if (weighted) {
        r = weighted->run(x, begin, count);
        samples = r.draws_flow;
        // The flow's density at the resampled draws (refinement draws have none yet).
        model.log_prob(samples.data(), x.data(), static_cast<std::int64_t>(count), opt.n, log_q.data());
      } else {
        model.sample(x.data(), static_cast<std::int64_t>(count), opt.n, opt.seed, samples.data(), log_q.data(),
                     static_cast<std::int64_t>(begin));
      }
    }
    f.write_rows("samples", begin, count, samples.data());
    f.write_rows("log_q", begin, count, log_q.data());
    if (weighted) {
      f.write_rows("ess", begin, count, r.ess.data());
      f.write_rows("n_draws", begin, count, r.n_draws.data());
      f.write_rows("chi2", begin, count, r.chi2.data());
      f.write_rows("flags", begin, count, r.flags.data());
    }
    progress.advance(static_cast<std::uint64_t>(comm.sum(static_cast<std::int64_t>(count))));
  }
  progress.finish();
  out.commit();
  logger().info(cat("wrote ", opt.out, ": /samples [", n_obs, ", ", n, ", ", d, "]"));
  return 0;
}

}  // namespace

void register_sample(Cli& cli) {
  auto opt = std::make_shared<SampleOptions>();
  CLI::App* sub = cli.add("sample", "Draw posterior samples from a trained flow for the observations in an HDF5 file",
                          [opt](Context& ctx) { return run_sample(ctx, *opt); });
  sub->add_option("--model", opt->model, "Model file written by `sedpost train`")->required();
  sub->add_option("--x", opt->x, "HDF5 file with /x [n_obs, C] (the conditioning vectors)")->required();
  sub->add_option("--out", opt->out, "Output HDF5: /samples [n_obs, n, D], /log_q [n_obs, n]")->capture_default_str();
  sub->add_option("--n", opt->n, "Samples per observation")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("--seed", opt->seed, "Seed (samples of observation i depend on seed and i only)")->capture_default_str();
  sub->add_option("--threads", opt->threads, "Threads per rank (0 = cores / ranks)")->capture_default_str();
  sub->add_option("--chunk", opt->chunk, "Observations per batch and write")->capture_default_str();
  add_device_option(sub, opt->device);
  add_posterior_options(sub, opt->posterior,
                        "default 0.02, as infer; SED models only: generic models always give the flow's own draws");
}

}  // namespace sedpost::app
