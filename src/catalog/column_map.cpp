#include "catalog/column_map.hpp"

#include <algorithm>
#include <cctype>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::catalog {

namespace {

bool ends_with_ci(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : ",") + e;
  return s;
}

std::string columns_text(const std::vector<std::string>& cols, const std::vector<int>& elements) {
  std::string s = join(cols);
  if (!elements.empty()) {
    s += "[";
    for (std::size_t i = 0; i < elements.size(); ++i) s += cat(i ? "," : "", elements[i]);
    s += "]";
  }
  return s;
}

/// A key that may be one string or a list of strings.
std::vector<std::string> string_or_list(const Config& c, const std::string& path, std::vector<std::string> fallback) {
  if (!c.has(path)) return fallback;
  try {
    return c.require_strings(path);
  } catch (const ConfigError&) {
    return {c.require_string(path)};
  }
}

std::vector<int> int_list(const Config& c, const std::string& path, std::vector<int> fallback) {
  if (!c.has(path)) return fallback;
  std::vector<int> out;
  for (double v : c.get_doubles(path, {})) {
    if (v < 0 || v != static_cast<int>(v)) throw ConfigError(cat(path, ": expected non-negative integers"));
    out.push_back(static_cast<int>(v));
  }
  return out;
}

}  // namespace

CatalogFormat format_from_path(const std::string& path) {
  if (ends_with_ci(path, ".fits") || ends_with_ci(path, ".fit") || ends_with_ci(path, ".fits.gz"))
    return CatalogFormat::kFits;
  if (ends_with_ci(path, ".h5") || ends_with_ci(path, ".hdf5") || ends_with_ci(path, ".he5"))
    return CatalogFormat::kHdf5;
  if (ends_with_ci(path, ".csv")) return CatalogFormat::kCsv;
  throw ConfigError(cat("catalog '", path,
                        "': cannot tell the format from the name (.fits, .h5/.hdf5, .csv); set [catalog] format"));
}

std::string to_string(CatalogFormat f) {
  switch (f) {
    case CatalogFormat::kFits: return "fits";
    case CatalogFormat::kHdf5: return "hdf5";
    case CatalogFormat::kCsv: return "csv";
  }
  return "?";
}

ColumnMap ColumnMap::preset(CatalogFormat format) {
  ColumnMap m;
  m.format = format;
  switch (format) {
    case CatalogFormat::kFits:  // NSA: NMGY columns 0,1 are GALEX FUV, NUV; 2..6 SDSS ugriz
      m.id = "NSAID";
      m.flux = {"NMGY"};
      m.flux_elements = {2, 3, 4, 5, 6};
      m.error = {"NMGY_IVAR"};
      m.error_elements = {2, 3, 4, 5, 6};
      m.error_kind = ErrorKind::kInverseVariance;
      m.redshift = "Z";
      break;
    case CatalogFormat::kHdf5:  // `sedpost simulate`
      m.id = "id";
      m.flux = {"flux_obs"};
      m.error = {"sigma"};
      m.error_kind = ErrorKind::kSigma;
      m.redshift = "z";
      break;
    case CatalogFormat::kCsv:
      m.id = "";
      m.error_kind = ErrorKind::kSigma;
      m.redshift = "z";
      break;
  }
  return m;
}

ColumnMap ColumnMap::from_config(const Config& config, const std::string& path, const std::string& table) {
  const std::string t = table + ".";
  const std::string fmt = config.get_string(t + "format", "auto");
  CatalogFormat format{};
  if (fmt == "auto") format = format_from_path(path);
  else if (fmt == "fits") format = CatalogFormat::kFits;
  else if (fmt == "hdf5") format = CatalogFormat::kHdf5;
  else if (fmt == "csv") format = CatalogFormat::kCsv;
  else throw ConfigError(cat(t, "format = '", fmt, "': expected auto, fits, hdf5 or csv"));
  ColumnMap m = preset(format);
  m.id = config.get_string(t + "id", m.id);
  const bool flux_given = config.has(t + "flux");
  m.flux = string_or_list(config, t + "flux", m.flux);
  // A flux given without elements means per-band columns or a whole vector: drop the preset's.
  m.flux_elements = int_list(config, t + "flux_elements", flux_given ? std::vector<int>{} : m.flux_elements);
  const bool error_given = config.has(t + "error");
  m.error = string_or_list(config, t + "error", m.error);
  m.error_elements = int_list(config, t + "error_elements", error_given ? std::vector<int>{} : m.error_elements);
  if (config.has(t + "error_kind")) m.error_kind = error_kind_from_string(config.require_string(t + "error_kind"), t + "error_kind");
  if (config.has(t + "flux_unit")) m.flux_unit = flux_unit_from_string(config.require_string(t + "flux_unit"), t + "flux_unit");
  m.redshift = config.get_string(t + "redshift", m.redshift);
  m.hdu = static_cast<int>(config.get_int(t + "hdu", m.hdu));
  return m;
}

void ColumnMap::validate(int n_bands) const {
  auto check = [&](const std::vector<std::string>& cols, const std::vector<int>& elements, const char* key) {
    if (cols.empty())
      throw ConfigError(cat("[catalog] ", key, ": no column given (a ", to_string(format),
                            " catalog has no preset; name one vector column or one column per band)"));
    if (cols.size() > 1 && cols.size() != static_cast<std::size_t>(n_bands))
      throw ConfigError(cat("[catalog] ", key, " names ", cols.size(), " columns but the model has ", n_bands,
                            " bands (give one per band, in the model's band order)"));
    if (cols.size() > 1 && !elements.empty())
      throw ConfigError(cat("[catalog] ", key, "_elements only applies to a single vector column"));
    if (cols.size() == 1 && !elements.empty() && elements.size() != static_cast<std::size_t>(n_bands))
      throw ConfigError(cat("[catalog] ", key, "_elements lists ", elements.size(), " elements but the model has ",
                            n_bands, " bands"));
  };
  check(flux, flux_elements, "flux");
  check(error, error_elements, "error");
  if (flux_unit == FluxUnit::kABMag && error_kind == ErrorKind::kInverseVariance)
    throw ConfigError("[catalog] flux_unit = mag needs error_kind = mag_err, not ivar");
}

std::string ColumnMap::describe() const {
  return cat(to_string(format), " catalog: id ", id.empty() ? "(row number)" : id, ", flux ",
             columns_text(flux, flux_elements), " [", to_string(flux_unit), "], error ",
             columns_text(error, error_elements), " [", to_string(error_kind), "], redshift ", redshift.empty() ? "(none)" : redshift);
}

}  // namespace sedpost::catalog
