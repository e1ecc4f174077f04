#include "app/training_set.hpp"

#include <cmath>

#include "app/cli.hpp"
#include "app/model_file.hpp"
#include "catalog/support.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "io/h5_file.hpp"
#include "simulate/band_masks.hpp"
#include "simulate/model_config.hpp"
#include "simulate/noise_file.hpp"

namespace sedpost::app {

namespace {

std::vector<std::string> optional_strings(const io::H5File& f, const std::string& name) {
  return f.has_attr("", name) ? f.attr_strings("", name) : std::vector<std::string>{};
}

}  // namespace

bool has_spectra(const std::string& path) { return io::H5File::open_read(path).has("spectrum"); }

TrainingShard read_training_shard(Comm& comm, const std::string& path, bool with_spectra) {
  io::H5File f = io::H5File::open_read(path);
  TrainingShard s;
  for (const char* name : {"theta", "x"}) {
    if (!f.has(name)) {
      throw DataError(path + ": dataset '/" + name + "' is missing (a training set needs /theta [N, D] and /x [N, C])");
    }
    if (f.shape(name).size() != 2) throw DataError(path + ": '/" + std::string(name) + "' must be 2-D [N, ...]");
  }
  const auto ts = f.shape("theta"), xs = f.shape("x");
  if (ts[0] != xs[0]) {
    throw DataError(cat(path, ": /theta has ", ts[0], " rows but /x has ", xs[0]));
  }
  s.n_total = ts[0];
  s.n_theta = static_cast<std::int64_t>(ts[1]);
  s.n_x = static_cast<std::int64_t>(xs[1]);
  if (f.has_attr("", "theta_lower") || f.has_attr("", "theta_upper")) {
    s.theta_lower = f.attr_doubles("", "theta_lower");
    s.theta_upper = f.attr_doubles("", "theta_upper");
    if (s.theta_lower.size() != ts[1] || s.theta_upper.size() != ts[1]) {
      throw DataError(cat(path, ": attributes theta_lower/theta_upper must have ", ts[1], " entries"));
    }
  }
  s.theta_names = optional_strings(f, "theta_names");
  s.x_names = optional_strings(f, "x_names");
  s.bands = optional_strings(f, "bands");
  if (with_spectra) {
    if (!f.has("spectrum") || !f.has("spectrum_wavelength"))
      throw DataError(path + ": no '/spectrum' and '/spectrum_wavelength' (simulate with [spectrum] enabled = true)");
    const auto ss = f.shape("spectrum");
    if (ss.size() != 2 || ss[0] != ts[0] || f.shape("spectrum_wavelength") != std::vector<std::uint64_t>{ss[1]})
      throw DataError(cat(path, ": '/spectrum' must be [", ts[0], ", pixels] with '/spectrum_wavelength' [pixels]"));
    s.n_pixels = static_cast<std::int64_t>(ss[1]);
    s.spectrum_wavelength = f.read_all_double("spectrum_wavelength");
  }
  const std::uint64_t np = static_cast<std::uint64_t>(s.n_pixels);

  const RowRange mine = block_range(s.n_total, comm.rank(), comm.size());
  std::vector<float> theta(mine.count() * ts[1]), x(mine.count() * xs[1]);
  f.read_rows("theta", mine.begin, mine.count(), theta.data());
  f.read_rows("x", mine.begin, mine.count(), x.data());
  std::vector<float> spectra(mine.count() * np);
  if (np) f.read_rows("spectrum", mine.begin, mine.count(), spectra.data());

  // Keep finite rows only; a row is dropped for the same reason on any rank count, so the
  // compacted global order (and so the training split) does not depend on the rank count.
  std::vector<std::uint64_t> dropped;
  for (std::uint64_t i = 0; i < mine.count(); ++i) {
    bool ok = true;
    for (std::uint64_t j = 0; j < ts[1]; ++j) ok = ok && std::isfinite(theta[i * ts[1] + j]);
    for (std::uint64_t j = 0; j < xs[1]; ++j) ok = ok && std::isfinite(x[i * xs[1] + j]);
    for (std::uint64_t j = 0; j < np; ++j) ok = ok && std::isfinite(spectra[i * np + j]);
    if (!ok) {
      dropped.push_back(mine.begin + i);
      continue;
    }
    s.theta.insert(s.theta.end(), theta.begin() + static_cast<std::ptrdiff_t>(i * ts[1]),
                   theta.begin() + static_cast<std::ptrdiff_t>((i + 1) * ts[1]));
    s.x.insert(s.x.end(), x.begin() + static_cast<std::ptrdiff_t>(i * xs[1]),
               x.begin() + static_cast<std::ptrdiff_t>((i + 1) * xs[1]));
    s.spectra.insert(s.spectra.end(), spectra.begin() + static_cast<std::ptrdiff_t>(i * np),
                     spectra.begin() + static_cast<std::ptrdiff_t>((i + 1) * np));
  }
  s.n_local = static_cast<std::int64_t>(s.theta.size() / ts[1]);
  s.n_dropped = comm.sum(static_cast<std::int64_t>(dropped.size()));
  std::string mine_text;
  for (std::size_t i = 0; i < dropped.size() && i < 5; ++i) mine_text += cat(dropped[i], " ");
  const auto parts = comm.gather(mine_text, 0);
  if (comm.is_root() && s.n_dropped > 0) {
    std::string rows;
    for (const auto& p : parts) rows += p;
    logger().warn(cat(path, ": skipped ", s.n_dropped, " of ", s.n_total,
                      " rows with NaN or inf in /theta or /x", np ? " or /spectrum" : "", " (first rows: ", rows, ")"));
  }
  return s;
}

std::vector<std::pair<std::string, std::string>> sed_attachments(Comm& comm, const std::string& path,
                                                                 double colour_quantile) {
  // Rank 0 builds both texts; "" = not an SED training set. Sent as one string: "config\0support".
  const std::string packed = read_on_root<DataError>(comm, [&]() -> std::string {
    io::H5File f = io::H5File::open_read(path);
    if (!f.has_attr("", "config") || !f.has_attr("", "bands") || !f.has("noise_model")) return "";
    const std::string config_text = f.attr_string("", "config");
    const Config config = Config::from_text(config_text, path + " (attribute config)");
    catalog::TrainingSupport support;
    support.bands = f.attr_strings("", "bands");
    const simulate::RedshiftRange z = simulate::redshift_range_from_config(config);
    support.z_min = z.z_min;
    support.z_max = z.z_max;
    support.z_inferred = z.inferred;
    support.z_prior_weights = z.z_weights;
    support.noise = simulate::read_noise_model(f, "noise_model");
    const auto xs = f.shape("x");
    std::vector<float> x(xs[0] * xs[1]);
    f.read_rows("x", 0, xs[0], x.data());
    const std::size_t nb = support.bands.size();
    support.band_masks = simulate::BandMaskSettings::from_config(config).enabled;
    if (support.band_masks) support.mask_rates = f.attr_doubles("", "band_mask_rates");
    const std::vector<double> lo_hi = catalog::TrainingSupport::colour_quantiles(
        x.data(), xs[0], xs[1], nb, colour_quantile, support.band_masks ? 2 * nb : 0);
    support.colour_quantile = colour_quantile;
    support.colour_lo.assign(lo_hi.begin(), lo_hi.begin() + static_cast<std::ptrdiff_t>(nb - 1));
    support.colour_hi.assign(lo_hi.begin() + static_cast<std::ptrdiff_t>(nb - 1), lo_hi.end());
    return config_text + std::string(1, '\0') + support.to_toml();
  });
  if (packed.empty()) return {};
  const auto sep = packed.find('\0');
  return {{kTrainingConfigAttachment, packed.substr(0, sep)}, {kSupportAttachment, packed.substr(sep + 1)}};
}

}  // namespace sedpost::app
