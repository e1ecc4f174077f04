#include "noise/conditioning.hpp"

#include <cctype>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "noise/noise_model.hpp"

namespace sedpost::noise {

double default_softening(const std::string& band) {
  std::string s;
  for (char c : band) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::size_t sep = s.find_last_of("_-");
  const std::string tail = sep == std::string::npos ? s : s.substr(sep + 1);
  if (tail == "fuv") return 2.0e-9;
  if (tail == "nuv") return 1.0e-9;
  char letter = 0;
  if (s.size() == 1) {
    letter = s[0];
  } else if (s.rfind("sdss", 0) == 0) {
    const std::size_t p = s.find_last_of("_-");
    if (p != std::string::npos && p + 1 < s.size()) {
      const std::string tail = s.substr(p + 1);
      if (tail.size() == 1 || (tail.size() == 2 && tail[1] == '0')) letter = tail[0];
    }
  }
  switch (letter) {
    case 'u': return 1.4e-10;
    case 'g': return 0.9e-10;
    case 'r': return 1.2e-10;
    case 'i': return 1.8e-10;
    case 'z': return 7.4e-10;
    case 'y': return 7.4e-10;  // LSST / HSC / DECam y: as SDSS z (sky-limited red band)
    default: break;
  }
  // WISE: about Lupton et al.'s b = 1.042 sigma for the AllWISE 5-sigma depths (W1 19.6, W2 19.3 AB).
  if (tail == "w1") return 3.0e-9;
  if (tail == "w2") return 4.0e-9;
  throw ConfigError("no default asinh-magnitude softening for band '" + band +
                    "' (ugrizy, GALEX FUV, NUV and WISE W1, W2 only)");
}

double asinh_mag(double flux_nmgy, double b_maggies) {
  const double b_nmgy = b_maggies * 1e9;
  return -kMagPerLnFlux * (std::asinh(flux_nmgy / (2.0 * b_nmgy)) + std::log(b_maggies));
}

double asinh_mag_error(double flux_nmgy, double sigma_nmgy, double b_maggies) {
  const double b_nmgy = b_maggies * 1e9;
  return kMagPerLnFlux * sigma_nmgy / std::sqrt(flux_nmgy * flux_nmgy + 4.0 * b_nmgy * b_nmgy);
}

Conditioning::Conditioning(std::vector<std::string> bands, std::vector<double> softening_maggies, bool band_masks,
                           bool with_z)
    : bands_(std::move(bands)), b_(std::move(softening_maggies)), masks_(band_masks), with_z_(with_z) {
  if (bands_.empty()) throw ConfigError("conditioning vector: no bands");
  if (b_.empty()) {
    for (const std::string& band : bands_) b_.push_back(default_softening(band));
  }
  if (b_.size() != bands_.size()) {
    throw ConfigError("conditioning vector: " + std::to_string(b_.size()) + " softening values for " +
                      std::to_string(bands_.size()) + " bands");
  }
  for (std::size_t i = 0; i < b_.size(); ++i) {
    if (!(b_[i] > 0) || !std::isfinite(b_[i])) {
      throw ConfigError("conditioning vector: softening of band " + bands_[i] + " must be > 0 maggies");
    }
  }
}

std::vector<std::string> Conditioning::names() const {
  std::vector<std::string> n = conditioning_names(bands_);
  if (!with_z_) n.pop_back();
  if (masks_)
    for (std::size_t b = 0; b < bands_.size(); ++b)
      n.insert(n.end() - (with_z_ ? 1 : 0), "present_" + bands_[b]);
  return n;
}

std::vector<std::string> Conditioning::units() const {
  std::vector<std::string> u(2 * bands_.size(), "mag");
  u.resize(dim(), "");
  return u;
}

std::vector<double> Conditioning::make(const double* flux, const double* sigma, double z,
                                       const std::uint8_t* present) const {
  std::vector<double> x(dim());
  make_batch(flux, sigma, &z, 1, x.data(), present);
  return x;
}

std::vector<double> Conditioning::make(const std::vector<double>& flux, const std::vector<double>& sigma,
                                       double z) const {
  if (flux.size() != bands_.size() || sigma.size() != bands_.size()) {
    throw DataError("conditioning vector: expected " + std::to_string(bands_.size()) +
                    " fluxes and sigmas, got " + std::to_string(flux.size()) + " and " +
                    std::to_string(sigma.size()));
  }
  return make(flux.data(), sigma.data(), z);
}

void Conditioning::make_batch(const double* flux, const double* sigma, const double* z, std::size_t n,
                              double* x, const std::uint8_t* present) const {
  const std::size_t nb = bands_.size(), d = dim();
  for (std::size_t r = 0; r < n; ++r) {
    double* xr = x + r * d;
    for (std::size_t b = 0; b < nb; ++b) {
      const bool use = !present || present[r * nb + b] != 0;
      if (!use && !masks_)
        throw ConfigError("conditioning vector: band " + bands_[b] +
                          " left out, but this model was trained without band masks");
      const double f = flux[r * nb + b], s = sigma[r * nb + b];
      xr[b] = use ? asinh_mag(f, b_[b]) : kMissingMag;
      xr[nb + b] = use ? asinh_mag_error(f, s, b_[b]) : 0.0;
      if (masks_) xr[2 * nb + b] = use ? 1.0 : 0.0;
    }
    if (with_z_) xr[d - 1] = z[r];
  }
}

double Conditioning::flux_of(std::size_t band, double m) const {
  const double b = b_.at(band);
  // invert m = -k [asinh(f / 2b) + ln b]
  return 2.0 * b * 1e9 * std::sinh(-m / kMagPerLnFlux - std::log(b));
}

void Conditioning::photometry_of(const double* x, double* flux_nmgy, double* sigma_nmgy, double* z) const {
  const std::size_t nb = bands_.size();
  for (std::size_t b = 0; b < nb; ++b) {
    if (masks_ && !(x[2 * nb + b] > 0.5)) {
      flux_nmgy[b] = std::numeric_limits<double>::quiet_NaN();
      sigma_nmgy[b] = std::numeric_limits<double>::infinity();
      continue;
    }
    flux_nmgy[b] = flux_of(b, x[b]);
    const double b_nmgy = b_[b] * 1e9;
    sigma_nmgy[b] = x[nb + b] / kMagPerLnFlux * std::sqrt(flux_nmgy[b] * flux_nmgy[b] + 4.0 * b_nmgy * b_nmgy);
  }
  *z = with_z_ ? x[dim() - 1] : std::numeric_limits<double>::quiet_NaN();
}

std::uint32_t band_bits(const std::uint8_t* present, std::size_t n_bands) {
  std::uint32_t bits = 0;
  for (std::size_t b = 0; b < n_bands && b < 32; ++b)
    if (present[b]) bits |= 1u << b;
  return bits;
}

std::vector<double> make_conditioning(const std::vector<double>& flux, const std::vector<double>& sigma,
                                      double z) {
  static const Conditioning sdss;
  return sdss.make(flux, sigma, z);
}

std::vector<std::string> conditioning_names(const std::vector<std::string>& bands) {
  std::vector<std::string> n;
  for (const auto& b : bands) n.push_back("asinh_mag_" + b);
  for (const auto& b : bands) n.push_back("asinh_mag_err_" + b);
  n.push_back("z");
  return n;
}

}  // namespace sedpost::noise
