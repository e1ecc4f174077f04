#pragma once
/// The fitted noise model as an HDF5 group (`sedpost noise fit` writes it at the root of
/// noise.h5; `simulate` copies it into the training set under /noise_model).
#include <string>
#include <vector>

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

/// How a noise catalog is read (config key noise.reader): "nsa" (NSA-style FITS, NMGY and
/// NMGY_IVAR vector columns; the default for .fits files) or "catalog" (any catalog `infer` reads,
/// through the run's [catalog] column map: CSV, HDF5 or FITS, fluxes in nmgy, maggies, mag or Jy;
/// the default for other extensions). Throws ConfigError for another value.
std::string noise_reader(const Config& config, const std::string& path);

/// Photometry of survey catalogs read through the [catalog] column map of `config` (the bands
/// are the short names of model.bands); rows with a read problem are skipped, and counted.
noise::CatalogPhotometry read_catalog_photometry(const std::vector<std::string>& paths, const Config& config);

/// The noise model fitted to `catalogs` (full paths), read as noise_reader says; its source
/// string names the rows and files.
noise::NoiseModel fit_noise_to_catalogs(const Config& config, const std::vector<std::string>& catalogs);

/// The noise model fitted to the synthetic catalog of the [noise] synthetic_* keys
/// (noise/synthetic_noise.hpp), bands = the short names of model.bands.
noise::NoiseModel synthetic_noise_model(const Config& config);

/// The noise model of a run: read from `noise_path` when given, else fitted to the synthetic
/// catalog when noise.synthetic_depth is set, else to the catalog(s)
/// of config key noise.catalog (paths relative to the data directory, or absolute), read as
/// noise_reader says. Throws ConfigError when neither is set.
noise::NoiseModel load_or_fit_noise(const Config& config, const std::string& data_dir,
                                    const std::string& noise_path);

}  // namespace sedpost::simulate
