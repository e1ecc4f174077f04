#include "catalog/quantities.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "prior/prior.hpp"

namespace sedpost::catalog {

const std::vector<std::string>& quantity_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v = prior::Prior::physical_names();
    for (const char* d : {"log_mstar", "log_sfr_100myr", "log_sfr_1gyr", "log_age_mw", "log_z_mw", "t50", "t10", "t25",
                          "t75", "t90"})
      v.emplace_back(d);
    return v;
  }();
  return names;
}

const std::vector<std::string>& quantity_units() {
  static const std::vector<std::string> units = [] {
    std::vector<std::string> v = prior::Prior::physical_units();
    for (const char* u : {"log10(M_sun)", "log10(M_sun/yr)", "log10(M_sun/yr)", "log10(Gyr)", "log10(Z)", "Gyr", "Gyr", "Gyr",
                          "Gyr", "Gyr"})
      v.emplace_back(u);
    return v;
  }();
  return units;
}

const std::vector<std::string>& quantity_names(bool z_inferred) {
  static const std::vector<std::string> with_z = [] {
    std::vector<std::string> v = quantity_names();
    v.emplace_back("z");
    return v;
  }();
  return z_inferred ? with_z : quantity_names();
}

const std::vector<std::string>& quantity_units(bool z_inferred) {
  static const std::vector<std::string> with_z = [] {
    std::vector<std::string> v = quantity_units();
    v.emplace_back("");
    return v;
  }();
  return z_inferred ? with_z : quantity_units();
}

void derived_values(const sps::DerivedQuantities& d, double* out) {
  out[0] = d.log_mstar_surviving;
  out[1] = d.log_sfr_100myr;
  out[2] = d.log_sfr_1gyr;
  out[3] = d.log_age_mw;
  out[4] = d.log_z_mw;
  out[5] = d.t50_gyr;
  out[6] = d.t10_gyr;
  out[7] = d.t25_gyr;
  out[8] = d.t75_gyr;
  out[9] = d.t90_gyr;
}

const std::vector<std::string>& summary_columns() {
  static const std::vector<std::string> cols = {"mean", "std", "p2.5", "p16", "p50", "p84", "p97.5"};
  return cols;
}

void summarize(std::vector<double>& values, float* out) {
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  std::fill(out, out + kNumSummaryColumns, kNaN);
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }), values.end());
  const std::size_t n = values.size();
  if (n == 0) return;
  double sum = 0;
  std::size_t n_finite = 0;
  for (double v : values)
    if (std::isfinite(v)) {
      sum += v;
      ++n_finite;
    }
  if (n_finite > 0) {
    const double mean = sum / static_cast<double>(n_finite);
    double ss = 0;
    for (double v : values)
      if (std::isfinite(v)) ss += (v - mean) * (v - mean);
    out[0] = static_cast<float>(mean);
    out[1] = n_finite > 1 ? static_cast<float>(std::sqrt(ss / static_cast<double>(n_finite - 1))) : 0.0f;
  }
  std::sort(values.begin(), values.end());
  const double q[5] = {0.025, 0.16, 0.5, 0.84, 0.975};
  for (int k = 0; k < 5; ++k) out[2 + k] = static_cast<float>(quantile_sorted(values, q[k]));
}

double quantile_sorted(const std::vector<double>& sorted, double q) {
  const std::size_t n = sorted.size();
  const double pos = q * static_cast<double>(n - 1);
  const auto i = static_cast<std::size_t>(pos);
  const double frac = pos - static_cast<double>(i);
  const double a = sorted[i], b = sorted[std::min(i + 1, n - 1)];
  if (frac == 0.0 || a == b) return a;
  if (!std::isfinite(a) || !std::isfinite(b)) return frac < 0.5 ? a : b;  // -inf log SFR draws
  return a + frac * (b - a);
}

}  // namespace sedpost::catalog
