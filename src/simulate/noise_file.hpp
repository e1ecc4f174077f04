#pragma once
/// The fitted noise model as an HDF5 group (`sedpost noise fit` writes it at the root of
/// noise.h5; `simulate` copies it into the training set under /noise_model).
#include <string>

#include "core/config.hpp"
#include "io/h5_file.hpp"
#include "noise/noise_model.hpp"
#include "noise/nsa_photometry.hpp"

namespace sedpost::simulate {

/// Writes `model`'s tables into `group` ("" = root) of `file`: one dataset per array (with
/// its `units`), attributes for the scalars and the band list. Collective in parallel files.
void write_noise_model(io::H5File& file, const std::string& group, const noise::NoiseModel& model);
/// Reads a model written by write_noise_model. Throws DataError naming file and array.
noise::NoiseModel read_noise_model(const io::H5File& file, const std::string& group);

/// The NSA columns the noise model is fitted on: the bands are the short names of model.bands
/// (default ugriz), read from the vector columns NMGY / NMGY_IVAR starting at element
/// noise.first_element (default 2 = SDSS u; 0 = GALEX FUV for the seven NSA bands).
/// Throws ConfigError for a negative element.
noise::NsaColumns nsa_columns_from_config(const Config& config);

/// The noise model of a run: read from `noise_path` when given, else fitted to the NSA-style
/// catalog(s) of config key noise.catalog (paths relative to the data directory, or absolute).
/// Throws ConfigError when neither is set.
noise::NoiseModel load_or_fit_noise(const Config& config, const std::string& data_dir,
                                    const std::string& noise_path);

}  // namespace sedpost::simulate
