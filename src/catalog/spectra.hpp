#pragma once
/// Checks on the observed spectra a catalog carries (CatalogChunk::spectrum), before they enter
/// a likelihood: the wavelength grid must be the model spectrograph's, and every pixel finite.
#include <cstdint>
#include <string>
#include <vector>

namespace sedpost::catalog {

/// Throws DataError naming `catalog_path` when `catalog_wavelength` [P] (Angstrom) is not the
/// grid `model_wavelength` [P'] (Angstrom, e.g. sps::Spectrograph::wavelength()): sizes differ or
/// any pixel differs by more than 1e-6 relative. The message gives both grids' pixel counts and
/// ranges ("spectrum wavelength grid of FILE (P pixels, a-b A) does not match the model's ...").
void check_spectrum_grid(const std::vector<double>& catalog_wavelength, const std::vector<double>& model_wavelength,
                         const std::string& catalog_path);

/// "" when all `num_pixels` values of `spectrum` are finite, else the first bad pixel as
/// "spectrum pixel K is NaN" (or "is +inf" / "is -inf"), for the caller to prefix with the
/// galaxy's ID and row in a DataError.
std::string first_bad_spectrum_pixel(const float* spectrum, int num_pixels);

/// Throws DataError "<galaxy>: spectrum pixel K is NaN" when `spectrum` [num_pixels] has a
/// non-finite pixel; `galaxy` names it, e.g. galaxy_label(id, row).
void require_finite_spectrum(const float* spectrum, int num_pixels, const std::string& galaxy);
/// "galaxy ID (row R)".
std::string galaxy_label(const std::string& id, std::uint64_t row);

}  // namespace sedpost::catalog
