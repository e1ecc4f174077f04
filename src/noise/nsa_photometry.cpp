#include "noise/nsa_photometry.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "noise/fits_table.hpp"

namespace sedpost::noise {

std::vector<double> sigma_from_ivar(const std::vector<double>& ivar) {
  std::vector<double> out(ivar.size());
  for (std::size_t i = 0; i < ivar.size(); ++i) {
    const double v = ivar[i];
    if (std::isnan(v)) {
      out[i] = std::numeric_limits<double>::quiet_NaN();
    } else if (v <= 0) {
      out[i] = std::numeric_limits<double>::infinity();
    } else {
      out[i] = 1.0 / std::sqrt(v);
    }
  }
  return out;
}

std::vector<double> CatalogPhotometry::sigma_nmgy() const { return sigma_from_ivar(ivar); }

CatalogPhotometry read_nsa_photometry(const std::string& path, const NsaColumns& columns) {
  if (columns.bands.empty()) throw DataError("read_nsa_photometry: no bands requested for '" + path + "'");
  const FitsTable table(path);
  const auto nb = static_cast<std::int64_t>(columns.bands.size());
  CatalogPhotometry out;
  out.sources = {path};
  out.bands = columns.bands;
  out.n_rows = static_cast<std::size_t>(table.num_rows());
  out.flux_nmgy = table.read_double_elements(columns.flux, columns.first_element, nb);
  out.ivar = table.read_double_elements(columns.ivar, columns.first_element, nb);
  out.z = table.read_double(columns.redshift);
  return out;
}

CatalogPhotometry read_nsa_photometry(const std::vector<std::string>& paths, const NsaColumns& columns) {
  if (paths.empty()) throw DataError("read_nsa_photometry: no catalog files given");
  CatalogPhotometry all;
  for (const std::string& p : paths) {
    CatalogPhotometry one = read_nsa_photometry(p, columns);
    if (all.sources.empty()) {
      all = std::move(one);
      continue;
    }
    all.sources.push_back(p);
    all.n_rows += one.n_rows;
    all.flux_nmgy.insert(all.flux_nmgy.end(), one.flux_nmgy.begin(), one.flux_nmgy.end());
    all.ivar.insert(all.ivar.end(), one.ivar.begin(), one.ivar.end());
    all.z.insert(all.z.end(), one.z.begin(), one.z.end());
  }
  return all;
}

}  // namespace sedpost::noise
