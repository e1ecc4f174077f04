#include "catalog/spectra.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::catalog {

namespace {

std::string describe(const std::vector<double>& w) {
  if (w.empty()) return "0 pixels";
  return cat(w.size(), " pixels, ", w.front(), "-", w.back(), " A");
}

}  // namespace

void check_spectrum_grid(const std::vector<double>& catalog_wavelength, const std::vector<double>& model_wavelength,
                         const std::string& catalog_path) {
  bool same = catalog_wavelength.size() == model_wavelength.size();
  for (std::size_t p = 0; same && p < catalog_wavelength.size(); ++p) {
    const double a = catalog_wavelength[p], b = model_wavelength[p];
    // Written as "not within" so that a NaN wavelength is a mismatch too.
    same = std::fabs(a - b) <= 1e-6 * std::fabs(b);
  }
  if (!same)
    throw DataError(cat("spectrum wavelength grid of ", catalog_path, " (", describe(catalog_wavelength),
                        ") does not match the model's (", describe(model_wavelength),
                        "); check [spectrum] lambda_min, lambda_max, resolution and pixels_per_fwhm"));
}

std::string first_bad_spectrum_pixel(const float* spectrum, int num_pixels) {
  for (int k = 0; k < num_pixels; ++k) {
    const float v = spectrum[k];
    if (std::isfinite(v)) continue;
    return cat("spectrum pixel ", k, " is ", std::isnan(v) ? "NaN" : (v > 0 ? "+inf" : "-inf"));
  }
  return "";
}

void require_finite_spectrum(const float* spectrum, int num_pixels, const std::string& galaxy) {
  const std::string bad = first_bad_spectrum_pixel(spectrum, num_pixels);
  if (!bad.empty()) throw DataError(galaxy + ": " + bad);
}

std::string galaxy_label(const std::string& id, std::uint64_t row) { return cat("galaxy ", id, " (row ", row, ")"); }

}  // namespace sedpost::catalog
