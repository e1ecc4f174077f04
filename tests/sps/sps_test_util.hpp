#pragma once
#include <array>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>

#include "sps/sed_model.hpp"

namespace sedpost::sps::test {

/// SEDPOST_DATA_DIR, else $SEDPOST_SOURCE_DIR/../shared/data, else ../shared/data.
inline std::string data_dir() {
  if (const char* d = std::getenv("SEDPOST_DATA_DIR"); d && *d) return d;
  if (const char* s = std::getenv("SEDPOST_SOURCE_DIR"); s && *s) return std::string(s) + "/../shared/data";
  return "../shared/data";
}

inline std::string bc03_dir() { return data_dir() + "/sps/bc03/Padova1994/chabrier"; }

/// A prior draw (MODEL.md section 1, flat Dirichlet betas), independent of src/prior.
inline std::array<double, kNumTheta> draw_theta(std::mt19937_64& g) {
  std::uniform_real_distribution<double> u(0, 1);
  std::array<double, kNumTheta> t{};
  t[0] = 7 + 5.5 * u(g);
  double s = 0;
  for (int k = 0; k < 4; ++k) s += (t[1 + k] = -std::log(u(g)));
  for (int k = 0; k < 4; ++k) t[1 + k] /= s;
  t[5] = u(g);
  t[6] = 0.01 + 13.26 * u(g);
  const double l0 = std::log10(4.5e-5), l1 = std::log10(1.5e-2);
  t[7] = std::pow(10.0, l0 + u(g) * (l1 - l0));
  t[8] = std::pow(10.0, l0 + u(g) * (l1 - l0));
  t[9] = 3 * u(g);
  t[10] = 3 * u(g);
  t[11] = -2 + 3 * u(g);
  return t;
}

}  // namespace sedpost::sps::test
