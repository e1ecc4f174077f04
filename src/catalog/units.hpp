#pragma once
/// Photometric units of input catalogs and their conversion to nanomaggies.
///
/// 1 nanomaggy (nmgy) = 1e-9 maggies = 3.631e-6 Jy (AB zero point 3631 Jy);
/// AB magnitude m = 22.5 - 2.5 log10(flux_nmgy). Errors: sigma in the flux unit, inverse
/// variance in unit^-2, or magnitude errors (first-order: sigma_nmgy = flux_nmgy ln10/2.5 dm).
#include <string>

namespace sedpost::catalog {

enum class FluxUnit { kNanomaggies, kMaggies, kABMag, kJansky };
enum class ErrorKind { kSigma, kInverseVariance, kMagnitudeError };

/// "nmgy" | "nanomaggies", "maggies", "mag" | "abmag", "jy". Throws ConfigError naming `key`.
FluxUnit flux_unit_from_string(const std::string& s, const std::string& key = "flux_unit");
/// "sigma", "ivar", "mag_err". Throws ConfigError naming `key`.
ErrorKind error_kind_from_string(const std::string& s, const std::string& key = "error_kind");
std::string to_string(FluxUnit u);
std::string to_string(ErrorKind k);

/// Magnitudes beyond this are sentinels (99, -99, -9999) for "not measured"; a magnitude error of
/// at least this (99, or an absurd value) reads as "not measured" too (sigma +inf).
inline constexpr double kMagnitudeSentinel = 50.0;

/// A flux and its 1-sigma error in nanomaggies.
struct Photometry {
  double flux_nmgy;
  double sigma_nmgy;  ///< +inf when the error says "not measured" (ivar 0); NaN when invalid
};

/// Converts one catalog value and its error (`error` in the kind's units) to nanomaggies.
/// Never throws: a magnitude sentinel gives NaN flux; a negative or NaN error gives NaN sigma;
/// ivar == 0 gives sigma = +inf. Throws ConfigError only for the invalid combination
/// (kABMag, kInverseVariance).
Photometry to_nanomaggies(double value, double error, FluxUnit unit, ErrorKind kind);

/// The inverse, for writing catalogs and tests: value and error in `unit` / `kind`.
/// For kABMag, flux_nmgy <= 0 has no magnitude (NaN).
void from_nanomaggies(const Photometry& p, FluxUnit unit, ErrorKind kind, double* value, double* error);

}  // namespace sedpost::catalog
