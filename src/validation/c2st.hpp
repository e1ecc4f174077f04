#pragma once
/// Classifier two-sample test (C2ST; Lopez-Paz & Oquab 2017, as used by sbibm): train a
/// classifier to tell two sample sets apart and report its cross-validated accuracy; 0.5 means
/// indistinguishable, 1 means disjoint. sbibm uses an MLP; here the classifier is k-nearest
/// neighbours on z-scored features (well defined, deterministic, no training hyper-parameters
/// beyond k), which is a consistent classifier, so the accuracy approaches the Bayes accuracy
/// for large samples.
#include <cstddef>
#include <cstdint>

namespace sedpost::validation {

/// Settings of c2st().
struct C2stSettings {
  int folds = 5;  ///< k-fold cross-validation (stratified: balanced folds)
  /// neighbours; 0 = the odd number nearest sqrt(n_train) (capped at n_train, odd)
  int k_neighbours = 0;
  /// at most this many points of each set are used (a seeded random subset); both sets are cut
  /// to the same size min(n_a, n_b, max_samples) so that chance accuracy is exactly 0.5.
  std::size_t max_samples = 2000;
  std::uint64_t seed = 0;  ///< subsets and fold assignment
};

/// Result of c2st().
struct C2stResult {
  double accuracy = 0.0;        ///< cross-validated accuracy (NaN when a set is too small)
  std::size_t n_per_class = 0;  ///< points of each set used
  int k_neighbours = 0;         ///< k used (the last fold's)
};

/// C2ST between a [n_a, dim] and b [n_b, dim] (C order, rows = samples). Rows with a non-finite
/// value are dropped first. Features are z-scored with the mean and std of the pooled sets
/// (a constant feature is left unscaled). Returns accuracy NaN when fewer than 2 * folds finite
/// rows remain in either set. Throws sedpost::ConfigError when dim == 0 or folds < 2.
C2stResult c2st(const float* a, std::size_t n_a, const float* b, std::size_t n_b, std::size_t dim,
                const C2stSettings& settings = {});

/// Same for double arrays.
C2stResult c2st(const double* a, std::size_t n_a, const double* b, std::size_t n_b, std::size_t dim,
                const C2stSettings& settings = {});

}  // namespace sedpost::validation
