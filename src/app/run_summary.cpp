#include "app/run_summary.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "catalog/quantities.hpp"
#include "core/error.hpp"
#include "io/output_file.hpp"
#include "validation/stats.hpp"

namespace sedpost::app {

namespace {

/// MCMC medians of the 12 physical parameters for chains row g ([steps, walkers, 12]).
std::vector<double> mcmc_medians(const io::H5File& chains, std::uint64_t g, const std::vector<std::uint64_t>& shape) {
  const std::uint64_t per = shape[1] * shape[2], P = shape[3];
  std::vector<float> c(per * P);
  chains.read_rows("chains", g, 1, c.data());
  std::vector<double> out(P), col;
  for (std::uint64_t k = 0; k < P; ++k) {
    col.clear();
    for (std::uint64_t s = 0; s < per; ++s) col.push_back(c[s * P + k]);
    out[k] = validation::median(col);
  }
  return out;
}

}  // namespace

void print_run_summary(const std::string& posteriors_path, const std::string& chains_path, int n_galaxies) {
  const io::H5File post = io::H5File::open_read(posteriors_path);
  if (!post.has("truth")) throw DataError(posteriors_path + ": no /truth (not a simulated test set)");
  const auto shape = post.shape("summary");  // [N, K, 7]
  const std::uint64_t K = shape[1], C = shape[2];
  const std::uint64_t n_show = std::min<std::uint64_t>(shape[0], static_cast<std::uint64_t>(n_galaxies));
  std::unique_ptr<io::H5File> chains;
  std::vector<std::uint64_t> cshape;
  std::vector<std::int64_t> chain_rows;
  if (io::is_complete(chains_path)) {
    chains = std::make_unique<io::H5File>(io::H5File::open_read(chains_path));
    cshape = chains->shape("chains");
    chain_rows.resize(cshape[0]);
    chains->read_rows("row", 0, cshape[0], chain_rows.data());
  }
  const std::vector<std::string> names = post.attr_strings("summary", "names");
  std::vector<float> summary(K * C);
  std::vector<double> truth(K);
  for (std::uint64_t g = 0; g < n_show; ++g) {
    post.read_rows("summary", g, 1, summary.data());
    post.read_rows("truth", g, 1, truth.data());
    std::vector<double> mcmc;
    for (std::size_t j = 0; j < chain_rows.size(); ++j)
      if (chain_rows[j] == static_cast<std::int64_t>(g)) mcmc = mcmc_medians(*chains, j, cshape);
    std::printf("\nheld-out galaxy %llu%s\n", static_cast<unsigned long long>(g), mcmc.empty() ? "" : " (with MCMC)");
    std::printf("  %-18s %10s %10s %22s %11s\n", "quantity", "truth", "flow p50", "flow 68% interval",
                mcmc.empty() ? "" : "MCMC p50");
    for (std::uint64_t k = 0; k < K; ++k) {
      const double p16 = summary[k * C + 3], p50 = summary[k * C + 4], p84 = summary[k * C + 5];
      std::printf("  %-18s %10.4g %10.4g   [%9.4g, %9.4g]", names[k].c_str(), truth[k], p50, p16, p84);
      if (k < mcmc.size()) std::printf(" %11.4g", mcmc[k]);
      else if (!mcmc.empty()) std::printf(" %11s", "");
      std::printf("%s\n", truth[k] >= p16 && truth[k] <= p84 ? "" : "   (truth outside 68%)");
    }
  }
  std::fflush(stdout);
}

}  // namespace sedpost::app
