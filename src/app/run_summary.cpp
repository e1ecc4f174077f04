#include "app/run_summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/error.hpp"
#include "io/output_file.hpp"
#include "prior/prior.hpp"

namespace sedpost::app {

namespace {

/// Quantile q of `v` (linear interpolation; v is reordered). NaN when empty.
double quantile(std::vector<double>& v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace

void print_run_summary(const std::string& test_path, const std::string& samples_path,
                       const std::string& chains_path, int n_galaxies) {
  const io::H5File test = io::H5File::open_read(test_path);
  const io::H5File samples = io::H5File::open_read(samples_path);
  const auto sshape = samples.shape("samples");  // [n_obs, n, 11]
  const std::uint64_t n_obs = std::min<std::uint64_t>(sshape[0], static_cast<std::uint64_t>(n_galaxies));
  const std::uint64_t n = sshape[1], d = sshape[2];
  if (d != prior::kNumFlow) throw DataError(samples_path + ": /samples is not in the SED flow coordinates");
  const bool have_chains = io::is_complete(chains_path);
  std::vector<std::uint64_t> cshape;
  io::H5File* chains = nullptr;
  std::unique_ptr<io::H5File> chains_file;
  if (have_chains) {
    chains_file = std::make_unique<io::H5File>(io::H5File::open_read(chains_path));
    chains = chains_file.get();
    cshape = chains->shape("chains");  // [G, steps, walkers, 12]
  }
  const prior::Prior prior;  // only the coordinate map is used: it does not depend on bounds
  const auto& names = prior::Prior::physical_names();
  std::vector<double> truth(12), flow_rows(n * d), phys(n * 12);
  for (std::uint64_t g = 0; g < n_obs; ++g) {
    test.read_rows("theta_physical", g, 1, truth.data());
    std::vector<float> rows(n * d);
    samples.read_rows("samples", g, 1, rows.data());
    flow_rows.assign(rows.begin(), rows.end());
    prior.to_physical(flow_rows.data(), n, phys.data());
    std::vector<double> mcmc_median(12, NAN);
    if (chains && g < cshape[0]) {
      const std::uint64_t per = cshape[1] * cshape[2];
      std::vector<float> c(per * 12);
      chains->read_rows("chains", g, 1, c.data());
      for (std::size_t k = 0; k < 12; ++k) {
        std::vector<double> col;
        for (std::uint64_t s = 0; s < per; ++s) {
          if (std::isfinite(c[s * 12 + k])) col.push_back(c[s * 12 + k]);
        }
        mcmc_median[k] = quantile(col, 0.5);
      }
    }
    std::printf("\nheld-out galaxy %llu (%llu flow samples%s)\n", static_cast<unsigned long long>(g),
                static_cast<unsigned long long>(n), chains && g < cshape[0] ? ", MCMC chains" : "");
    std::printf("  %-18s %10s %10s %22s %11s\n", "parameter", "truth", "flow p50", "flow 68% interval",
                chains ? "MCMC p50" : "");
    for (std::size_t k = 0; k < 12; ++k) {
      std::vector<double> col(n);
      for (std::uint64_t s = 0; s < n; ++s) col[s] = phys[s * 12 + k];
      const double p16 = quantile(col, 0.16), p50 = quantile(col, 0.5), p84 = quantile(col, 0.84);
      std::printf("  %-18s %10.4g %10.4g   [%9.4g, %9.4g]", names[k].c_str(), truth[k], p50, p16, p84);
      if (chains) std::printf(" %11.4g", mcmc_median[k]);
      std::printf("%s\n", truth[k] >= p16 && truth[k] <= p84 ? "" : "   (truth outside 68%)");
    }
  }
  std::fflush(stdout);
}

}  // namespace sedpost::app
