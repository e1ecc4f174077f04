#pragma once
/// Reading a training set (any HDF5 file with /theta [N, D] and /x [N, C]; ARCHITECTURE.md
/// "File schemas") for `train`: each rank reads only its block of rows.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/comm.hpp"

namespace sedpost::app {

struct TrainingShard {
  std::uint64_t n_total = 0;      ///< rows in the file
  std::int64_t n_theta = 0, n_x = 0;
  std::vector<float> theta;       ///< [n_local, n_theta], non-finite rows removed
  std::vector<float> x;           ///< [n_local, n_x]
  std::int64_t n_local = 0;
  std::int64_t n_dropped = 0;     ///< job-wide count of rows with NaN/inf, skipped
  std::vector<std::uint64_t> first_dropped;  ///< up to 5 dropped row indices (rank 0's view)
  std::vector<double> theta_lower, theta_upper;  ///< prior box attributes, or empty
  std::vector<std::string> theta_names, x_names, bands;
  /// With spectra requested and present: [n_local, n_pixels] /spectrum rows (rows with a
  /// non-finite pixel are dropped like rows with a non-finite theta or x), else empty.
  std::vector<float> spectra;
  std::int64_t n_pixels = 0;
  std::vector<double> spectrum_wavelength;  ///< [n_pixels] /spectrum_wavelength [A]
};

/// Collective. Reads rows block_range(N, rank, size) of /theta and /x from `path`, and of
/// /spectrum when `with_spectra` (DataError when the file has none).
/// Throws DataError naming the file and dataset when a dataset is missing, 2-D shapes
/// disagree, or the box attributes have the wrong length.
TrainingShard read_training_shard(Comm& comm, const std::string& path, bool with_spectra = false);

/// True when the training set at `path` has /spectrum (written by `simulate` with [spectrum]).
bool has_spectra(const std::string& path);

/// Collective. For a training set written by `sedpost simulate` (root attributes `config` and
/// `bands`, group `noise_model`): the model-file attachments that `infer` needs, i.e. the
/// training config (kTrainingConfigAttachment) and the training support tables
/// (kSupportAttachment: z range, colour quantiles q = `colour_quantile` of /x's magnitudes,
/// noise model). Computed on rank 0 and broadcast. Empty for generic training sets.
std::vector<std::pair<std::string, std::string>> sed_attachments(Comm& comm, const std::string& path,
                                                                 double colour_quantile = 0.001);

}  // namespace sedpost::app
