#pragma once
// Helpers shared by the flow tests.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "flow/flow.hpp"

namespace sedpost::flow::testing {

/// n float32 normals of standard deviation `scale`, stream `index` of the test seed.
inline std::vector<float> normals(std::size_t n, std::uint64_t index, double scale = 1.0) {
  Rng rng(42, RngStream::kTest, index);
  std::vector<float> v(n);
  for (auto& f : v) f = static_cast<float>(scale * rng.normal());
  return v;
}

/// A path in the temporary directory for test files.
inline std::string tmp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("sedpost_flow_test_" + name)).string();
}

/// Training rows: theta [n, 2], x [n, 3].
struct Problem {
  std::vector<float> theta, x;
  std::int64_t n;
};

/// theta ~ N(0, I_2), x = A theta + 0.5 noise (2-D), plus a third x column.
inline Problem linear_gaussian(std::int64_t n, std::uint64_t index) {
  Problem p{{}, {}, n};
  Rng rng(3, RngStream::kTest, index);
  for (std::int64_t i = 0; i < n; ++i) {
    const double t0 = rng.normal(), t1 = rng.normal();
    p.theta.push_back(static_cast<float>(t0));
    p.theta.push_back(static_cast<float>(t1));
    p.x.push_back(static_cast<float>(t0 + 0.5 * t1 + 0.5 * rng.normal()));
    p.x.push_back(static_cast<float>(-0.3 * t0 + t1 + 0.5 * rng.normal()));
    p.x.push_back(static_cast<float>(rng.uniform()));
  }
  return p;
}

/// A small affine MAF configuration.
inline MafConfig small_config(int D, int C, int blocks = 3, int hidden = 24, std::uint64_t seed = 7) {
  MafConfig c;
  c.n_theta = D;
  c.n_x = C;
  c.n_blocks = blocks;
  c.hidden = hidden;
  c.seed = seed;
  return c;
}

/// Midpoint-rule integral of q(theta | x) over [x0, x1] x [y0, y1] on an n x n grid (2-D flows).
inline double integrate_2d(const Flow& f, const std::vector<float>& x, double x0, double x1, double y0,
                           double y1, int n) {
  std::vector<float> th(static_cast<std::size_t>(n) * n * 2), xx;
  const double hx = (x1 - x0) / n, hy = (y1 - y0) / n;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      th[(i * n + j) * 2] = static_cast<float>(x0 + (i + 0.5) * hx);
      th[(i * n + j) * 2 + 1] = static_cast<float>(y0 + (j + 0.5) * hy);
    }
  for (int k = 0; k < n * n; ++k) xx.insert(xx.end(), x.begin(), x.end());
  const auto lp = f.log_prob(th, xx);
  double s = 0;
  for (float v : lp) s += std::exp(static_cast<double>(v));
  return s * hx * hy;
}

}  // namespace sedpost::flow::testing
