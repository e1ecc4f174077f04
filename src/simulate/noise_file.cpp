#include "simulate/noise_file.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/error.hpp"
#include "core/logger.hpp"
#include "catalog/catalog_reader.hpp"
#include "catalog/column_map.hpp"
#include "noise/nsa_photometry.hpp"
#include "noise/synthetic_noise.hpp"
#include "simulate/model_config.hpp"

namespace sedpost::simulate {

namespace {

std::string join_path(const std::string& group, const std::string& name) {
  return group.empty() ? name : group + "/" + name;
}

}  // namespace

void write_noise_model(io::H5File& file, const std::string& group, const noise::NoiseModel& model) {
  if (!group.empty() && !file.has(group)) file.create_group(group);
  const noise::NoiseTables tables = model.to_tables();
  std::vector<std::string> array_names, attr_names, string_attr_names;
  for (const auto& a : tables.arrays) {
    std::vector<std::uint64_t> dims(a.shape.begin(), a.shape.end());
    const std::string name = join_path(group, a.name);
    file.create_dataset(name, io::DType::kFloat64, dims);
    file.write_rows(name, 0, dims.empty() ? 0 : dims[0], a.data.data());
    if (!a.units.empty()) file.set_attr(name, "units", a.units);
    array_names.push_back(a.name);
  }
  for (const auto& [k, v] : tables.attributes) {
    file.set_attr(group, k, v);
    attr_names.push_back(k);
  }
  for (const auto& [k, v] : tables.string_attributes) {
    file.set_attr(group, k, v);
    string_attr_names.push_back(k);
  }
  file.set_attr(group, "bands", tables.bands);
  // Index of what the group holds, so a reader needs no enumeration.
  file.set_attr(group, "noise_arrays", array_names);
  file.set_attr(group, "noise_attributes", attr_names);
  file.set_attr(group, "noise_string_attributes", string_attr_names);
}

noise::NoiseModel read_noise_model(const io::H5File& file, const std::string& group) {
  if (!file.has_attr(group, "noise_arrays")) {
    throw DataError(file.path() + ": '/" + group + "' holds no noise model (attribute noise_arrays missing); "
                    "write one with `sedpost noise fit`");
  }
  noise::NoiseTables tables;
  tables.bands = file.attr_strings(group, "bands");
  for (const auto& name : file.attr_strings(group, "noise_arrays")) {
    noise::NoiseTables::Array a;
    a.name = name;
    std::vector<std::uint64_t> dims;
    a.data = file.read_all_double(join_path(group, name), &dims);
    a.shape.assign(dims.begin(), dims.end());
    const std::string path = join_path(group, name);
    if (file.has_attr(path, "units")) a.units = file.attr_string(path, "units");
    tables.arrays.push_back(std::move(a));
  }
  for (const auto& k : file.attr_strings(group, "noise_attributes")) {
    tables.attributes.emplace_back(k, file.attr_double(group, k));
  }
  for (const auto& k : file.attr_strings(group, "noise_string_attributes")) {
    tables.string_attributes.emplace_back(k, file.attr_string(group, k));
  }
  return noise::NoiseModel::from_tables(tables);
}

noise::NsaColumns nsa_columns_from_config(const Config& config) {
  noise::NsaColumns columns;
  if (config.has("model.bands")) columns.bands = short_band_names(config.get_strings("model.bands", {}));
  columns.first_element = config.get_int("noise.first_element", columns.first_element);
  if (columns.first_element < 0) throw ConfigError(config.source() + ": noise.first_element must be >= 0");
  return columns;
}

std::string noise_reader(const Config& config, const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  const bool fits = ext == ".fits" || ext == ".fit" || ext == ".fz";
  const std::string reader = config.get_string("noise.reader", fits ? "nsa" : "catalog");
  if (reader != "nsa" && reader != "catalog")
    throw ConfigError(cat(config.source(), ": noise.reader = '", reader, "': expected \"nsa\" or \"catalog\""));
  return reader;
}

noise::CatalogPhotometry read_catalog_photometry(const std::vector<std::string>& paths, const Config& config) {
  noise::CatalogPhotometry phot;
  phot.bands = short_band_names(config.get_strings("model.bands", {}));
  const int nb = static_cast<int>(phot.bands.size());
  if (nb == 0) throw ConfigError(config.source() + ": model.bands is empty");
  std::size_t skipped = 0;
  for (const std::string& path : paths) {
    const auto reader = catalog::CatalogReader::open(path, catalog::ColumnMap::from_config(config, path), nb);
    constexpr std::uint64_t kBlock = 1 << 16;
    for (std::uint64_t first = 0; first < reader->num_rows(); first += kBlock) {
      const catalog::CatalogChunk c = reader->read(first, std::min(kBlock, reader->num_rows() - first));
      for (std::size_t i = 0; i < c.n; ++i) {
        if (!c.note.empty() && !c.note[i].empty()) {
          ++skipped;
          continue;
        }
        for (int b = 0; b < nb; ++b) {
          const double f = c.flux[i * nb + b], s = c.sigma[i * nb + b];
          phot.flux_nmgy.push_back(f);
          phot.ivar.push_back(std::isinf(s) ? 0.0 : 1.0 / (s * s));  // NaN stays NaN: counted by the fit
        }
        phot.z.push_back(c.z[i]);
        ++phot.n_rows;
      }
    }
    phot.sources.push_back(path);
  }
  if (skipped) logger().warn(cat("noise catalog: ", skipped, " rows skipped (a value could not be read)"));
  return phot;
}

noise::NoiseModel synthetic_noise_model(const Config& config) {
  const std::vector<std::string> bands = short_band_names(config.get_strings("model.bands", {}));
  const noise::SyntheticNoiseSettings ss = noise::SyntheticNoiseSettings::from_config(config, bands.size());
  std::vector<double> flux, sigma;
  noise::synthetic_photometry(ss, flux, sigma);
  noise::NoiseModel model = noise::NoiseModel::fit(flux, sigma, bands, noise::NoiseSettings::from_config(config));
  model.set_source(noise::describe(ss, bands));
  return model;
}

noise::NoiseModel load_or_fit_noise(const Config& config, const std::string& data_dir,
                                    const std::string& noise_path) {
  if (!noise_path.empty()) {
    return read_noise_model(io::H5File::open_read(noise_path), "");
  }
  if (noise::SyntheticNoiseSettings::in_config(config)) return synthetic_noise_model(config);
  std::vector<std::string> catalogs;
  if (config.has("noise.catalog")) {
    // One file or a list of files.
    const auto text = config.get_as_text("noise.catalog");
    std::stringstream ss(*text);
    for (std::string item; std::getline(ss, item, ',');) catalogs.push_back(item);
  }
  if (catalogs.empty()) {
    throw ConfigError(config.source() + ": no noise model: pass --noise FILE (from `sedpost noise fit`), "
                      "set noise.catalog to a catalog, or noise.synthetic_depth to the bands' 5-sigma depths");
  }
  for (auto& c : catalogs) {
    if (!std::filesystem::path(c).is_absolute()) c = (std::filesystem::path(data_dir) / c).string();
  }
  return fit_noise_to_catalogs(config, catalogs);
}

noise::NoiseModel fit_noise_to_catalogs(const Config& config, const std::vector<std::string>& catalogs) {
  if (catalogs.empty()) throw ConfigError("noise fit: no catalog");
  const noise::CatalogPhotometry phot = noise_reader(config, catalogs.front()) == "nsa"
                                            ? noise::read_nsa_photometry(catalogs, nsa_columns_from_config(config))
                                            : read_catalog_photometry(catalogs, config);
  noise::NoiseModel model = noise::NoiseModel::fit_ivar(phot.flux_nmgy, phot.ivar, phot.bands,
                                                        noise::NoiseSettings::from_config(config));
  std::string source;
  for (const auto& s : phot.sources) source += (source.empty() ? "" : ", ") + s;
  model.set_source(cat(phot.n_rows, " rows of ", source));
  return model;
}

}  // namespace sedpost::simulate
