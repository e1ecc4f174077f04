#include "validation/c2st.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace sedpost::validation {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::uint32_t kStreamC2st = 0x56A10003u;

template <class T>
std::vector<std::size_t> finite_rows(const T* x, std::size_t n, std::size_t dim) {
  std::vector<std::size_t> rows;
  rows.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    bool ok = true;
    for (std::size_t j = 0; j < dim && ok; ++j) ok = std::isfinite(static_cast<double>(x[i * dim + j]));
    if (ok) rows.push_back(i);
  }
  return rows;
}

/// m of the rows, a seeded random subset (partial Fisher-Yates) in random order.
std::vector<std::size_t> subset(std::vector<std::size_t> rows, std::size_t m, Rng& rng) {
  for (std::size_t i = 0; i < m; ++i) {
    const std::size_t j = i + rng.below(static_cast<std::uint32_t>(rows.size() - i));
    std::swap(rows[i], rows[j]);
  }
  rows.resize(m);
  return rows;
}

template <class T>
C2stResult c2st_impl(const T* a, std::size_t n_a, const T* b, std::size_t n_b, std::size_t dim,
                     const C2stSettings& st) {
  if (dim == 0) throw ConfigError("c2st: dim must be > 0");
  if (st.folds < 2) throw ConfigError("c2st: folds must be >= 2");
  C2stResult res;
  res.accuracy = kNaN;
  const auto ra = finite_rows(a, n_a, dim);
  const auto rb = finite_rows(b, n_b, dim);
  const std::size_t m = std::min({ra.size(), rb.size(), std::max<std::size_t>(st.max_samples, 1)});
  res.n_per_class = m;
  const std::size_t folds = static_cast<std::size_t>(st.folds);
  if (m < 2 * folds) return res;

  Rng rng(st.seed, kStreamC2st, 0);
  const auto ia = subset(ra, m, rng);
  const auto ib = subset(rb, m, rng);
  const std::size_t n = 2 * m;
  Eigen::MatrixXd x(n, dim);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < dim; ++j) {
      x(i, j) = static_cast<double>(a[ia[i] * dim + j]);
      x(m + i, j) = static_cast<double>(b[ib[i] * dim + j]);
    }
  // z-score with the pooled mean and std (sbibm z-scores with the first set's; pooling keeps the
  // test symmetric in its two arguments).
  for (std::size_t j = 0; j < dim; ++j) {
    const double mu = x.col(j).mean();
    x.col(j).array() -= mu;
    const double sd = std::sqrt(x.col(j).squaredNorm() / (n - 1));
    if (sd > 0.0) x.col(j) /= sd;
  }
  // Stratified folds: the subsets are already in random order, so position i of each class goes
  // to fold i % folds; every fold holds the same number of each class (+-1).
  std::vector<std::size_t> fold(n);
  for (std::size_t i = 0; i < m; ++i) fold[i] = fold[m + i] = i % folds;
  const Eigen::VectorXd sq = x.rowwise().squaredNorm();

  std::size_t correct = 0, tested = 0;
  std::vector<std::pair<double, int>> cand;
  for (std::size_t f = 0; f < folds; ++f) {
    std::vector<std::size_t> tr, te;
    for (std::size_t i = 0; i < n; ++i) (fold[i] == f ? te : tr).push_back(i);
    int k = st.k_neighbours;
    if (k <= 0) k = static_cast<int>(std::lround(std::sqrt(static_cast<double>(tr.size()))));
    k = std::min<int>(k, static_cast<int>(tr.size()));
    if (k % 2 == 0) k -= 1;  // odd: no tied votes between two classes
    k = std::max(k, 1);
    res.k_neighbours = k;
    if (dim == 1) {
      // 1-D: the k nearest neighbours of a test point are contiguous in the sorted training
      // values around its insertion point; take the nearer end k times (ties: the left one).
      std::vector<std::pair<double, int>> sorted(tr.size());
      for (std::size_t r = 0; r < tr.size(); ++r) sorted[r] = {x(tr[r], 0), static_cast<int>(tr[r] >= m)};
      std::sort(sorted.begin(), sorted.end());
      for (std::size_t i : te) {
        const double v = x(i, 0);
        auto hi = std::lower_bound(sorted.begin(), sorted.end(), std::make_pair(v, -1)) - sorted.begin();
        auto lo = hi - 1;
        int votes_b = 0;
        for (int c = 0; c < k; ++c) {
          const bool take_lo = hi >= static_cast<std::ptrdiff_t>(sorted.size()) ||
                               (lo >= 0 && v - sorted[static_cast<std::size_t>(lo)].first <=
                                               sorted[static_cast<std::size_t>(hi)].first - v);
          votes_b += take_lo ? sorted[static_cast<std::size_t>(lo--)].second
                             : sorted[static_cast<std::size_t>(hi++)].second;
        }
        correct += (2 * votes_b > k) == (i >= m);
        ++tested;
      }
      continue;
    }
    Eigen::MatrixXd xtr(tr.size(), dim);
    Eigen::VectorXd sqtr(tr.size());
    std::vector<int> ytr(tr.size());
    for (std::size_t r = 0; r < tr.size(); ++r) {
      xtr.row(r) = x.row(tr[r]);
      sqtr[r] = sq[tr[r]];
      ytr[r] = tr[r] >= m;
    }
    // Test points in blocks: squared distances |a|^2 + |b|^2 - 2 a.b through one GEMM per block.
    constexpr std::size_t kBlock = 256;
    for (std::size_t t0 = 0; t0 < te.size(); t0 += kBlock) {
      const std::size_t nb = std::min(kBlock, te.size() - t0);
      Eigen::MatrixXd xte(nb, dim);
      for (std::size_t r = 0; r < nb; ++r) xte.row(r) = x.row(te[t0 + r]);
      const Eigen::MatrixXd cross = xte * xtr.transpose();
      for (std::size_t r = 0; r < nb; ++r) {
        const std::size_t i = te[t0 + r];
        cand.resize(tr.size());
        for (std::size_t c = 0; c < tr.size(); ++c) cand[c] = {sq[i] + sqtr[c] - 2.0 * cross(r, c), ytr[c]};
        std::nth_element(cand.begin(), cand.begin() + (k - 1), cand.end());
        int votes_b = 0;
        for (int c = 0; c < k; ++c) votes_b += cand[static_cast<std::size_t>(c)].second;
        const int pred = 2 * votes_b > k;
        correct += pred == static_cast<int>(i >= m);
        ++tested;
      }
    }
  }
  res.accuracy = static_cast<double>(correct) / static_cast<double>(tested);
  return res;
}

}  // namespace

C2stResult c2st(const float* a, std::size_t n_a, const float* b, std::size_t n_b, std::size_t dim,
                const C2stSettings& settings) {
  return c2st_impl(a, n_a, b, n_b, dim, settings);
}

C2stResult c2st(const double* a, std::size_t n_a, const double* b, std::size_t n_b, std::size_t dim,
                const C2stSettings& settings) {
  return c2st_impl(a, n_a, b, n_b, dim, settings);
}

}  // namespace sedpost::validation
