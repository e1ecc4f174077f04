#include "catalog/units.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::catalog {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kJanskyPerNanomaggy = 3631e-9;
const double kMagPerLnFlux = 2.5 / std::log(10.0);  // dm = kMagPerLnFlux * df / f

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// nanomaggies per one unit of `unit` (linear units only).
double scale(FluxUnit unit) {
  switch (unit) {
    case FluxUnit::kNanomaggies: return 1.0;
    case FluxUnit::kMaggies: return 1e9;
    case FluxUnit::kJansky: return 1.0 / kJanskyPerNanomaggy;
    case FluxUnit::kABMag: break;
  }
  return kNaN;
}

}  // namespace

FluxUnit flux_unit_from_string(const std::string& s, const std::string& key) {
  const std::string v = lower(s);
  if (v == "nmgy" || v == "nanomaggies" || v == "nanomaggy") return FluxUnit::kNanomaggies;
  if (v == "maggies" || v == "maggy") return FluxUnit::kMaggies;
  if (v == "mag" || v == "abmag" || v == "ab") return FluxUnit::kABMag;
  if (v == "jy" || v == "jansky") return FluxUnit::kJansky;
  throw ConfigError(cat(key, " = '", s, "': expected nmgy, maggies, mag (AB) or Jy"));
}

ErrorKind error_kind_from_string(const std::string& s, const std::string& key) {
  const std::string v = lower(s);
  if (v == "sigma" || v == "err" || v == "error") return ErrorKind::kSigma;
  if (v == "ivar" || v == "inverse_variance") return ErrorKind::kInverseVariance;
  if (v == "mag_err" || v == "magerr") return ErrorKind::kMagnitudeError;
  throw ConfigError(cat(key, " = '", s, "': expected sigma, ivar or mag_err"));
}

std::string to_string(FluxUnit u) {
  switch (u) {
    case FluxUnit::kNanomaggies: return "nmgy";
    case FluxUnit::kMaggies: return "maggies";
    case FluxUnit::kABMag: return "mag";
    case FluxUnit::kJansky: return "Jy";
  }
  return "?";
}

std::string to_string(ErrorKind k) {
  switch (k) {
    case ErrorKind::kSigma: return "sigma";
    case ErrorKind::kInverseVariance: return "ivar";
    case ErrorKind::kMagnitudeError: return "mag_err";
  }
  return "?";
}

Photometry to_nanomaggies(double value, double error, FluxUnit unit, ErrorKind kind) {
  Photometry p{kNaN, kNaN};
  if (unit == FluxUnit::kABMag) {
    if (kind == ErrorKind::kInverseVariance)
      throw ConfigError("magnitudes (flux_unit = mag) need error_kind = mag_err (or sigma), not ivar");
    if (std::isfinite(value) && std::abs(value) < kMagnitudeSentinel) p.flux_nmgy = std::pow(10.0, (22.5 - value) / 2.5);
    // A magnitude error is a relative flux error whatever error_kind says.
    if (std::isfinite(error) && error >= 0 && std::abs(error) < kMagnitudeSentinel)
      p.sigma_nmgy = p.flux_nmgy * error / kMagPerLnFlux;
    else if (error >= kMagnitudeSentinel)  // 99 or an absurd error: the band carries no information
      p.sigma_nmgy = kInf;
    return p;
  }
  const double s = scale(unit);
  p.flux_nmgy = value * s;
  switch (kind) {
    case ErrorKind::kSigma:
      if (std::isfinite(error) && error >= 0) p.sigma_nmgy = error * s;
      break;
    case ErrorKind::kInverseVariance:
      if (error == 0.0) p.sigma_nmgy = kInf;
      else if (error > 0 && std::isfinite(error)) p.sigma_nmgy = s / std::sqrt(error);
      break;
    case ErrorKind::kMagnitudeError:
      if (std::isfinite(error) && error >= 0) p.sigma_nmgy = std::abs(p.flux_nmgy) * error / kMagPerLnFlux;
      break;
  }
  return p;
}

void from_nanomaggies(const Photometry& p, FluxUnit unit, ErrorKind kind, double* value, double* error) {
  if (unit == FluxUnit::kABMag) {
    *value = p.flux_nmgy > 0 ? 22.5 - 2.5 * std::log10(p.flux_nmgy) : kNaN;
    *error = p.flux_nmgy > 0 ? kMagPerLnFlux * p.sigma_nmgy / p.flux_nmgy : kNaN;
    return;
  }
  const double s = scale(unit);
  *value = p.flux_nmgy / s;
  switch (kind) {
    case ErrorKind::kSigma: *error = p.sigma_nmgy / s; break;
    case ErrorKind::kInverseVariance: *error = (s / p.sigma_nmgy) * (s / p.sigma_nmgy); break;
    case ErrorKind::kMagnitudeError: *error = kMagPerLnFlux * p.sigma_nmgy / std::abs(p.flux_nmgy); break;
  }
}

}  // namespace sedpost::catalog
