#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "noise/conditioning.hpp"
#include "noise/fits_table.hpp"
#include "noise/noise_model.hpp"
#include "noise/nsa_photometry.hpp"

namespace sedpost::noise {
namespace {

constexpr std::uint64_t kSeed = 424242;
const std::vector<std::string> kUgriz = {"u", "g", "r", "i", "z"};

std::string data_dir() {
  if (const char* env = std::getenv("SEDPOST_DATA_DIR"); env && *env) return env;
  // Beside the checkout, as CI and developer machines have it.
  return (std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / "shared" / "data").string();
}

std::vector<std::string> nsa_files() {
  const std::filesystem::path dir = std::filesystem::path(data_dir()) / "catalogs" / "nsa";
  std::vector<std::string> files;
  if (std::filesystem::is_directory(dir)) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() == ".fits") files.push_back(e.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

#define REQUIRE_NSA(files)                                                               \
  const std::vector<std::string> files = nsa_files();                                    \
  if (files.empty()) GTEST_SKIP() << "no catalogs/nsa/*.fits under " << data_dir();

double normal_pdf(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI); }
double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// A one-band model with given nodes, built through the tables (also exercises from_tables).
NoiseModel table_model(std::vector<double> centre, std::vector<double> mu, std::vector<double> s,
                       double flux_min, double flux_max, int max_redraws = 100, bool lognormal = false) {
  NoiseTables t;
  t.bands = {"r"};
  const std::size_t k = centre.size();
  t.arrays.push_back({"mag_centre", {1, k}, centre, "mag"});
  t.arrays.push_back({"mu_sigma_mag", {1, k}, mu, "mag"});
  t.arrays.push_back({"s_sigma_mag", {1, k}, s, "mag"});
  t.arrays.push_back({"bin_count", {1, k}, std::vector<double>(k, 100.0), ""});
  t.arrays.push_back({"n_bins", {1}, {static_cast<double>(k)}, ""});
  t.arrays.push_back({"flux_min", {1}, {flux_min}, "nmgy"});
  t.arrays.push_back({"flux_max", {1}, {flux_max}, "nmgy"});
  for (const char* n : {"n_used", "n_skipped_nonpositive_flux", "n_skipped_nonpositive_ivar", "n_skipped_nan",
                        "n_unbinned"}) {
    t.arrays.push_back({n, {1}, {0.0}, ""});
  }
  t.attributes = {{"format_version", 1}, {"n_bins_requested", 20}, {"min_count", 10}, {"range_quantile", 0.0},
                  {"robust_scale", 0},   {"max_redraws", static_cast<double>(max_redraws)},
                  {"flag_nsigma", 3}};
  if (lognormal) t.string_attributes.push_back({"sigma_distribution", "lognormal"});
  return NoiseModel::from_tables(t);
}

// ---------------- FITS reader ----------------

TEST(NoiseFitsTable, ReadsNsaColumns) {
  REQUIRE_NSA(files);
  const FitsTable t(files[0]);
  EXPECT_GT(t.num_rows(), 500);
  EXPECT_EQ(t.column_names().size(), 146u);
  EXPECT_TRUE(t.has_column("NMGY"));
  EXPECT_TRUE(t.has_column("nmgy_ivar"));  // case-insensitive
  EXPECT_EQ(t.column_width("NMGY"), 7);
  std::int64_t width = 0;
  const std::vector<double> nmgy = t.read_double_vector("NMGY", &width);
  EXPECT_EQ(width, 7);
  EXPECT_EQ(nmgy.size(), static_cast<std::size_t>(t.num_rows()) * 7);
  const std::vector<double> r = t.read_double_elements("NMGY", 4, 1);
  for (std::size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i], nmgy[i * 7 + 4]);
  const std::vector<double> z = t.read_double("Z");
  ASSERT_EQ(z.size(), static_cast<std::size_t>(t.num_rows()));
  for (double v : z) {
    EXPECT_GT(v, 0.005);
    EXPECT_LT(v, 0.1);
  }
  const std::vector<std::int64_t> id = t.read_int64("NSAID");
  EXPECT_EQ(id.size(), z.size());
  EXPECT_GT(*std::min_element(id.begin(), id.end()), 0);
  const std::vector<std::string> names = t.read_string("IAUNAME");
  ASSERT_EQ(names.size(), z.size());
  EXPECT_EQ(names[0].size(), 19u);
  EXPECT_EQ(names[0][0], 'J');
}

TEST(NoiseFitsTable, ErrorsNameFileAndColumn) {
  REQUIRE_NSA(files);
  const FitsTable t(files[0]);
  try {
    t.read_double("NO_SUCH_COLUMN");
    FAIL() << "no exception";
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("NO_SUCH_COLUMN"), std::string::npos) << msg;
    EXPECT_NE(msg.find(files[0]), std::string::npos) << msg;
  }
  EXPECT_THROW(t.read_double("NMGY"), DataError);               // vector column
  EXPECT_THROW(t.read_double_elements("NMGY", 5, 3), DataError);  // past the end
  EXPECT_THROW(t.read_int64("Z"), DataError);                   // float column
  EXPECT_THROW(t.read_string("Z"), DataError);
  try {
    FitsTable missing("/nonexistent/file.fits");
    FAIL() << "no exception";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/file.fits"), std::string::npos) << e.what();
  }
  try {
    FitsTable primary(files[0], 1);  // the primary HDU is an image, not a table
    FAIL() << "no exception";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("not a binary table"), std::string::npos) << e.what();
  }
  EXPECT_EQ(FitsTable(files[0], 2).num_rows(), t.num_rows());
  NsaColumns cols;
  cols.ivar = "NMGY_IVAR_MISSING";
  try {
    read_nsa_photometry(files[0], cols);
    FAIL() << "no exception";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("NMGY_IVAR_MISSING"), std::string::npos) << e.what();
  }
}

TEST(NoiseNsa, ReadsAndConcatenates) {
  REQUIRE_NSA(files);
  const CatalogPhotometry all = read_nsa_photometry(files);
  std::size_t expect = 0;
  for (const auto& f : files) expect += static_cast<std::size_t>(FitsTable(f).num_rows());
  EXPECT_EQ(all.n_rows, expect);
  EXPECT_EQ(all.bands, kUgriz);
  EXPECT_EQ(all.flux_nmgy.size(), expect * 5);
  EXPECT_EQ(all.ivar.size(), expect * 5);
  EXPECT_EQ(all.z.size(), expect);
  EXPECT_EQ(all.sources.size(), files.size());
  const std::vector<double> s = sigma_from_ivar({4.0, 0.0, -1.0, std::nan("")});
  EXPECT_EQ(s[0], 0.5);
  EXPECT_TRUE(std::isinf(s[1]));
  EXPECT_TRUE(std::isinf(s[2]));
  EXPECT_TRUE(std::isnan(s[3]));
}

// ---------------- fit ----------------

TEST(NoiseFit, RealNsaGivesSensibleMedians) {
  REQUIRE_NSA(files);
  const CatalogPhotometry cat = read_nsa_photometry(files);
  NoiseSettings settings;
  settings.n_bins = 12;
  NoiseModel m = NoiseModel::fit_ivar(cat.flux_nmgy, cat.ivar, cat.bands, settings);
  m.set_source("NSA test catalogs");
  std::cout << m.summary();
  for (std::size_t b = 0; b < m.num_bands(); ++b) {
    const BandNoise& bn = m.band(b);
    EXPECT_EQ(bn.n_used + bn.n_nonpositive_flux + bn.n_nonpositive_ivar + bn.n_nan,
              static_cast<std::int64_t>(cat.n_rows));
    EXPECT_GT(bn.n_used, static_cast<std::int64_t>(cat.n_rows * 9 / 10)) << bn.band;
    ASSERT_GE(bn.mag_centre.size(), 4u) << bn.band;
    for (std::size_t k = 0; k < bn.mu.size(); ++k) {
      EXPECT_GT(bn.mu[k], 0.0);
      EXPECT_LT(bn.mu[k], 0.5) << bn.band << " bin " << k;  // NSA galaxies are bright
      EXPECT_GE(bn.s[k], 0.0);
    }
    // Fainter -> noisier: rank correlation of (mag, mu) clearly positive, and the faint end
    // noisier than the bright end.
    const std::size_t k = bn.mu.size();
    int concordant = 0, pairs = 0;
    for (std::size_t i = 0; i < k; ++i) {
      for (std::size_t j = i + 1; j < k; ++j) {
        ++pairs;
        concordant += bn.mu[j] > bn.mu[i] ? 1 : -1;
      }
    }
    EXPECT_GT(static_cast<double>(concordant) / pairs, 0.5) << bn.band << " (Kendall tau)";
    EXPECT_GT(bn.mu.back(), bn.mu.front()) << bn.band;
    EXPECT_GT(bn.flux_max, bn.flux_min);
  }
  // Most real galaxies are within the training noise.
  const std::vector<double> sig = cat.sigma_nmgy();
  int flagged = 0;
  for (std::size_t i = 0; i < cat.n_rows; ++i) {
    flagged += m.is_noisier_than_training(&cat.flux_nmgy[i * 5], &sig[i * 5]) ? 1 : 0;
  }
  std::cout << flagged << " of " << cat.n_rows << " NSA rows noisier than mu + 3 s\n";
  EXPECT_LT(flagged, static_cast<int>(cat.n_rows) / 5);
}

/// Appends n catalog rows with AB magnitudes uniform in [mag_lo, mag_lo + 6) and errors
/// sigma_mag = smag(mag) [mag], as flux and sigma [nmgy].
template <class SigmaMag>
void synthetic_catalog(std::size_t n, double mag_lo, Rng& rng, SigmaMag smag, std::vector<double>& flux,
                       std::vector<double>& sigma) {
  for (std::size_t i = 0; i < n; ++i) {
    const double mag = mag_lo + 6.0 * rng.uniform();
    const double f = std::pow(10.0, (22.5 - mag) / 2.5);
    flux.push_back(f);
    sigma.push_back(f * smag(mag) / kMagPerLnFlux);
  }
}

// Synthetic catalog with a known sigma_mag(mag): the fit recovers mu and s per bin.
TEST(NoiseFit, RecoversKnownRelationAndCountsSkips) {
  const std::size_t n = 40000;
  std::vector<double> flux, sigma;
  Rng rng(kSeed, RngStream::kTest, 0);
  synthetic_catalog(n, 14.0, rng, [&](double mag) { return 0.02 + 0.01 * (mag - 14.0) + 0.003 * rng.normal(); },
                    flux, sigma);
  // bad rows: flux <= 0, ivar <= 0 (sigma = inf; also with flux 0, as catalogs write a missing
  // band, which counts as not measured), NaN
  const double inf = std::numeric_limits<double>::infinity();
  flux.insert(flux.end(), {-1.0, 0.0, 10.0, 10.0, std::nan(""), 10.0, 0.0});
  sigma.insert(sigma.end(), {1.0, 1.0, inf, 0.0, 1.0, std::nan(""), inf});
  NoiseSettings st;
  st.n_bins = 12;
  st.range_quantile = 0.0;
  const NoiseModel m = NoiseModel::fit(flux, sigma, {"r"}, st);
  const BandNoise& bn = m.band(0);
  EXPECT_EQ(bn.n_used, static_cast<std::int64_t>(n));
  EXPECT_EQ(bn.n_nonpositive_flux, 2);
  EXPECT_EQ(bn.n_nonpositive_ivar, 3);
  EXPECT_EQ(bn.n_nan, 2);
  ASSERT_EQ(bn.mag_centre.size(), 12u);
  for (std::size_t k = 0; k < 12; ++k) {
    const double truth = 0.02 + 0.01 * (bn.mag_centre[k] - 14.0);
    // a bin of width 0.5 mag averages the slope; median of a symmetric mixture ~ centre value
    EXPECT_NEAR(bn.mu[k], truth, 5e-4) << k;
    // std = sqrt(0.003^2 + slope^2 width^2 / 12)
    const double s_truth = std::sqrt(0.003 * 0.003 + 0.01 * 0.01 * 0.25 / 12);
    EXPECT_NEAR(bn.s[k], s_truth, 3e-4) << k;
  }
  EXPECT_NEAR(bn.mu_at(17.0), 0.05, 5e-4);
  EXPECT_EQ(bn.mu_at(5.0), bn.mu.front());   // clamped
  EXPECT_EQ(bn.mu_at(30.0), bn.mu.back());
  EXPECT_THROW(NoiseModel::fit(flux, sigma, {"r", "g", "i"}, st), DataError);
  NoiseSettings sparse = st;
  sparse.min_count = static_cast<int>(n);  // no bin reaches it
  EXPECT_THROW(NoiseModel::fit(flux, sigma, {"r"}, sparse), DataError);
}

// noise.sigma_distribution = "lognormal": the median of sigma_mag and the spread of ln sigma_mag.
TEST(NoiseFit, LognormalRecoversMedianAndLogSpread) {
  const std::size_t n = 40000;
  std::vector<double> flux, sigma;
  Rng rng(kSeed, RngStream::kTest, 5);
  synthetic_catalog(  // sky-limited: sigma_mag ~ 1 / flux, lognormal spread 0.6
      n, 16.0, rng, [&](double mag) { return 0.05 * std::pow(10.0, 0.4 * (mag - 16.0)) * std::exp(0.6 * rng.normal()); },
      flux, sigma);
  NoiseSettings st;
  st.n_bins = 12;
  st.range_quantile = 0.0;
  st.lognormal = true;
  const NoiseModel m = NoiseModel::fit(flux, sigma, {"NUV"}, st);
  const BandNoise& bn = m.band(0);
  ASSERT_TRUE(bn.lognormal);
  ASSERT_EQ(bn.mag_centre.size(), 12u);
  // ln sigma_mag = ln 0.05 + 0.921 (mag - 16) + 0.6 z; a 0.5 mag bin adds slope^2 width^2 / 12.
  const double s_truth = std::sqrt(0.36 + 0.921 * 0.921 * 0.25 / 12);
  for (std::size_t k = 0; k < 12; ++k) {
    const double truth = 0.05 * std::pow(10.0, 0.4 * (bn.mag_centre[k] - 16.0));
    EXPECT_NEAR(std::log(bn.mu[k]), std::log(truth), 0.03) << k;
    EXPECT_NEAR(bn.s[k], s_truth, 0.02) << k;
  }
  // ln mu is interpolated linearly, which is exact for sky-limited errors
  EXPECT_NEAR(std::log(bn.mu_at(19.1)), std::log(0.05) + 0.921 * 3.1, 0.03);
  // a normal fit of the same rows has a spread that grows with the errors
  NoiseSettings normal = st;
  normal.lognormal = false;
  const BandNoise nb = NoiseModel::fit(flux, sigma, {"NUV"}, normal).band(0);
  EXPECT_GT(nb.s.back() / nb.s.front(), 10.0);
}

// ---------------- sampling ----------------

// A lognormal model draws ln sigma_mag ~ N(ln mu, s) (never <= 0, so never redrawn), and its
// log_density is the density of those draws (both it and the truncated normal's integrate to 1).
TEST(NoiseSample, LognormalDrawsAndDensity) {
  const NoiseModel m = table_model({15.0, 20.0}, {0.02, 0.08}, {0.5, 0.9}, 1.0, 1e4, 100, true);
  const BandNoise& bn = m.band(0);
  EXPECT_NEAR(bn.mu_at(17.5), 0.04, 1e-12);  // geometric between the nodes
  EXPECT_NEAR(bn.s_at(17.5), 0.7, 1e-12);
  const double f = std::pow(10.0, (22.5 - 17.5) / 2.5);
  const std::size_t n = 40000;
  double sum = 0, sum2 = 0;
  int redraws = 0;
  for (std::size_t i = 0; i < n; ++i) {
    Rng rng(kSeed, RngStream::kNoise, i);
    const NoiseDraw d = m.sample(std::vector<double>{f}, rng);
    ASSERT_TRUE(d.ok()) << d.reason;
    const double l = std::log(d.sigma_mag[0]);
    sum += l;
    sum2 += l * l;
    redraws += d.n_redraws;
  }
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_NEAR(mean, std::log(0.04), 5 * 0.7 / std::sqrt(n));
  EXPECT_NEAR(sd, 0.7, 5 * 0.7 / std::sqrt(2.0 * n));
  EXPECT_EQ(redraws, 0);
  // The densities integrate to 1 over sigma_mag (trapezoid on a log grid).
  const NoiseModel normal = table_model({15.0, 20.0}, {0.02, 0.05}, {0.03, 0.04}, 1.0, 1e4);
  for (const BandNoise* b : {&bn, &normal.band(0)}) {
    double integral = 0, prev_x = 1e-6, prev_p = std::exp(b->log_density(17.5, prev_x));
    for (int i = 1; i <= 20000; ++i) {
      const double x = 1e-6 * std::pow(1e8, i / 20000.0);
      const double p = std::exp(b->log_density(17.5, x));
      integral += 0.5 * (p + prev_p) * (x - prev_x);
      prev_x = x;
      prev_p = p;
    }
    EXPECT_NEAR(integral, 1.0, 1e-3) << (b->lognormal ? "lognormal" : "normal");
    EXPECT_EQ(b->log_density(17.5, 0.0), -std::numeric_limits<double>::infinity());
  }
  // the bound of the out-of-support flag is the lognormal's 3-sigma error, mu exp(3 s)
  EXPECT_NEAR(bn.sigma_mag_at(17.5, 3.0), 0.04 * std::exp(2.1), 1e-12);
}

// Sampled sigma' follow N(mu, s) truncated at 0; noisy fluxes have pull N(0, 1).
TEST(NoiseSample, ReproducesFittedMuAndS) {
  for (const double mu : {0.05, 0.02}) {
    const double s = 0.02;
    const NoiseModel m = table_model({15.0, 20.0}, {mu, mu}, {s, s}, 1.0, 1e4);
    const double f = 100.0;
    const std::size_t n = 40000;
    double sum = 0, sum2 = 0, p = 0, p2 = 0;
    int redraws = 0;
    for (std::size_t i = 0; i < n; ++i) {
      Rng rng(kSeed, RngStream::kNoise, i);
      const NoiseDraw d = m.sample(std::vector<double>{f}, rng);
      ASSERT_TRUE(d.ok()) << d.reason;
      const double sm = d.sigma_mag[0];
      ASSERT_GT(sm, 0.0);
      EXPECT_NEAR(d.sigma_nmgy[0], f * sm * std::log(10.0) / 2.5, 1e-12);
      sum += sm;
      sum2 += sm * sm;
      const double pull = (d.flux_nmgy[0] - f) / d.sigma_nmgy[0];
      p += pull;
      p2 += pull * pull;
      redraws += d.n_redraws;
    }
    // truncated-normal moments
    const double a = -mu / s;
    const double lam = normal_pdf(a) / (1 - normal_cdf(a));
    const double mean_t = mu + s * lam;
    const double sd_t = s * std::sqrt(1 + a * lam - lam * lam);
    const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
    EXPECT_NEAR(mean, mean_t, 5 * sd_t / std::sqrt(n)) << "mu " << mu;
    EXPECT_NEAR(sd, sd_t, 5 * sd_t / std::sqrt(2.0 * n)) << "mu " << mu;
    EXPECT_NEAR(p / n, 0.0, 5 / std::sqrt(n));
    EXPECT_NEAR(p2 / n, 1.0, 5 * std::sqrt(2.0 / n));
    // expected redraws per galaxy: P(<=0)/(1-P(<=0))
    const double q = normal_cdf(a);
    const double expect_redraws = n * q / (1 - q);
    EXPECT_NEAR(redraws, expect_redraws, 5 * std::sqrt(expect_redraws / (1 - q)) + 1) << "mu " << mu;
  }
}

// Sampling a model fitted on the real catalog reproduces its mu and s at the catalog's fluxes.
TEST(NoiseSample, ReproducesRealFit) {
  REQUIRE_NSA(files);
  const CatalogPhotometry cat = read_nsa_photometry(files);
  NoiseSettings st;
  st.n_bins = 12;
  const NoiseModel m = NoiseModel::fit_ivar(cat.flux_nmgy, cat.ivar, cat.bands, st);
  for (std::size_t b = 0; b < m.num_bands(); ++b) {
    const BandNoise& bn = m.band(b);
    const std::size_t k = bn.mag_centre.size() / 2;
    const double mag = bn.mag_centre[k];
    const double f = std::pow(10.0, (22.5 - mag) / 2.5);
    std::vector<double> flux(5, 0.0);
    for (std::size_t j = 0; j < 5; ++j) flux[j] = std::sqrt(m.band(j).flux_min * m.band(j).flux_max);
    flux[b] = f;
    const std::size_t n = 20000;
    std::vector<double> draws;
    for (std::size_t i = 0; i < n; ++i) {
      Rng rng(kSeed, RngStream::kNoise, i);
      const NoiseDraw d = m.sample(flux, rng);
      ASSERT_EQ(d.band_flags[b], 0u) << d.reason;
      draws.push_back(d.sigma_mag[b]);
    }
    const double mu = bn.mu[k], s = bn.s[k];
    const double a = -mu / s, lam = normal_pdf(a) / (1 - normal_cdf(a));
    const double mean_t = mu + s * lam, sd_t = s * std::sqrt(1 + a * lam - lam * lam);
    double mean = 0, m2 = 0;
    for (double v : draws) mean += v;
    mean /= n;
    for (double v : draws) m2 += (v - mean) * (v - mean);
    const double sd = std::sqrt(m2 / n);
    EXPECT_NEAR(mean, mean_t, 5 * sd_t / std::sqrt(n)) << bn.band;
    EXPECT_NEAR(sd, sd_t, 6 * sd_t / std::sqrt(2.0 * n)) << bn.band;
  }
}

TEST(NoiseSample, FlagsOutOfRangeInvalidAndFailedDraws) {
  const NoiseModel m = table_model({15.0, 20.0}, {0.05, 0.05}, {0.01, 0.01}, 1.0, 1000.0);
  Rng rng(kSeed, RngStream::kNoise, 1);
  NoiseDraw d = m.sample(std::vector<double>{5000.0}, rng);
  EXPECT_EQ(d.flags, kNoiseOutOfRange);
  EXPECT_NE(d.reason.find("outside catalog range"), std::string::npos) << d.reason;
  EXPECT_TRUE(std::isfinite(d.flux_nmgy[0]));  // still drawn
  d = m.sample(std::vector<double>{0.5}, rng);
  EXPECT_EQ(d.flags, kNoiseOutOfRange);
  d = m.sample(std::vector<double>{-3.0}, rng);
  EXPECT_EQ(d.flags, kNoiseInvalidTrueFlux);
  EXPECT_TRUE(std::isnan(d.flux_nmgy[0]));
  d = m.sample(std::vector<double>{std::nan("")}, rng);
  EXPECT_EQ(d.flags, kNoiseInvalidTrueFlux);
  // mu far below 0: every draw fails
  const NoiseModel bad = table_model({15.0, 20.0}, {-1.0, -1.0}, {0.01, 0.01}, 1.0, 1000.0, 5);
  d = bad.sample(std::vector<double>{10.0}, rng);
  EXPECT_EQ(d.flags, kNoiseSigmaDrawFailed);
  EXPECT_EQ(d.n_redraws, 6);
  EXPECT_NE(d.reason.find("no sigma'"), std::string::npos) << d.reason;
  EXPECT_THROW(m.sample(std::vector<double>{1.0, 2.0}, rng), DataError);
}

TEST(NoiseSample, BatchIsReproducibleAndCounted) {
  const NoiseModel m = table_model({15.0, 20.0}, {0.01, 0.05}, {0.02, 0.02}, 1.0, 1000.0);
  std::vector<double> flux;
  for (int i = 0; i < 50; ++i) flux.push_back(i % 10 == 0 ? 2000.0 : 1.0 + 20.0 * i);
  NoiseCounters c;
  const NoiseBatch b = m.sample_batch(flux, kSeed, 1000, &c);
  ASSERT_EQ(b.flux_nmgy.size(), 50u);
  EXPECT_EQ(c.n_draws, 50);
  EXPECT_EQ(c.n_ok, 45);
  ASSERT_EQ(c.n_out_of_range.size(), 1u);
  EXPECT_EQ(c.n_out_of_range[0], 5);
  EXPECT_GT(c.n_redraws, 0);  // mu 0.01, s 0.02 at the bright end: P(<=0) = 31%
  for (std::size_t i = 0; i < 50; ++i) {
    Rng rng(kSeed, RngStream::kNoise, 1000 + i);
    const NoiseDraw d = m.sample(&flux[i], rng);
    EXPECT_EQ(d.flux_nmgy[0], b.flux_nmgy[i]);
    EXPECT_EQ(d.sigma_nmgy[0], b.sigma_nmgy[i]);
    EXPECT_EQ(d.flags, b.flags[i]);
  }
  // second half alone = second half of the batch (rank invariance)
  const std::vector<double> tail(flux.begin() + 25, flux.end());
  NoiseCounters c2;
  const NoiseBatch b2 = m.sample_batch(tail, kSeed, 1025, &c2);
  for (std::size_t i = 0; i < 25; ++i) EXPECT_EQ(b2.flux_nmgy[i], b.flux_nmgy[25 + i]);
  NoiseCounters c1;
  m.sample_batch(std::vector<double>(flux.begin(), flux.begin() + 25), kSeed, 1000, &c1);
  c1.merge(c2);
  EXPECT_EQ(c1.n_draws, c.n_draws);
  EXPECT_EQ(c1.n_ok, c.n_ok);
  EXPECT_EQ(c1.n_redraws, c.n_redraws);
  EXPECT_EQ(c1.n_out_of_range, c.n_out_of_range);
  EXPECT_NE(c.summary({"r"}).find("r 5"), std::string::npos) << c.summary({"r"});
}

// ---------------- serialisation ----------------

TEST(NoiseTablesTest, RoundTripPreservesModel) {
  std::vector<double> flux, sigma;
  Rng rng(kSeed, RngStream::kTest, 3);
  for (int i = 0; i < 3000; ++i) {
    for (int b = 0; b < 2; ++b) {
      const double mag = (b == 0 ? 14.0 : 16.0) + (b == 0 ? 6.0 : 3.0) * rng.uniform();
      const double f = std::pow(10.0, (22.5 - mag) / 2.5);
      flux.push_back(f);
      sigma.push_back(f * (0.02 + 0.005 * rng.normal() + 0.01 * (mag - 14)) / kMagPerLnFlux);
    }
  }
  NoiseSettings st;
  st.n_bins = 15;
  st.min_count = 50;  // band g drops some bins: ragged 2-D tables
  NoiseModel m = NoiseModel::fit(flux, sigma, {"g", "r"}, st);
  m.set_source("synthetic");
  const NoiseTables t = m.to_tables();
  EXPECT_EQ(t.bands, (std::vector<std::string>{"g", "r"}));
  EXPECT_EQ(t.array("mu_sigma_mag").shape.size(), 2u);
  EXPECT_EQ(t.array("flux_min").units, "nmgy");
  const NoiseModel m2 = NoiseModel::from_tables(t);
  EXPECT_EQ(m2.source(), "synthetic");
  EXPECT_EQ(m2.settings().min_count, 50);
  for (std::size_t b = 0; b < 2; ++b) {
    EXPECT_EQ(m2.band(b).mag_centre, m.band(b).mag_centre);
    EXPECT_EQ(m2.band(b).mu, m.band(b).mu);
    EXPECT_EQ(m2.band(b).s, m.band(b).s);
    EXPECT_EQ(m2.band(b).flux_min, m.band(b).flux_min);
    EXPECT_EQ(m2.band(b).n_used, m.band(b).n_used);
  }
  Rng r1(kSeed, RngStream::kNoise, 9), r2(kSeed, RngStream::kNoise, 9);
  const std::vector<double> f = {50.0, 20.0};
  EXPECT_EQ(m.sample(f, r1).flux_nmgy, m2.sample(f, r2).flux_nmgy);
  NoiseTables broken = t;
  broken.arrays.erase(broken.arrays.begin());
  EXPECT_THROW(NoiseModel::from_tables(broken), DataError);
  // the error distribution travels with the tables; files from before it are normal
  st.lognormal = true;
  const NoiseModel ml = NoiseModel::fit(flux, sigma, {"g", "r"}, st);
  const NoiseModel ml2 = NoiseModel::from_tables(ml.to_tables());
  EXPECT_TRUE(ml2.settings().lognormal);
  EXPECT_TRUE(ml2.band(1).lognormal);
  EXPECT_EQ(ml2.band(1).s, ml.band(1).s);
  EXPECT_FALSE(m2.settings().lognormal);
  NoiseTables old = t;
  old.string_attributes.erase(std::remove_if(old.string_attributes.begin(), old.string_attributes.end(),
                                             [](const auto& a) { return a.first == "sigma_distribution"; }),
                              old.string_attributes.end());
  EXPECT_FALSE(NoiseModel::from_tables(old).band(0).lognormal);
  NoiseTables unknown = t;
  for (auto& a : unknown.string_attributes)
    if (a.first == "sigma_distribution") a.second = "cauchy";
  EXPECT_THROW(NoiseModel::from_tables(unknown), DataError);
}

// ---------------- out-of-support ----------------

TEST(NoiseSupport, NoisierThanTraining) {
  const NoiseModel m = table_model({15.0, 20.0}, {0.02, 0.07}, {0.01, 0.02}, 1.0, 1000.0);
  const double f = 10.0;  // mag 20
  auto sigma_of = [&](double smag) { return f * smag / kMagPerLnFlux; };
  std::string reason;
  EXPECT_FALSE(m.is_noisier_than_training({f}, {sigma_of(0.07)}, &reason));
  EXPECT_TRUE(reason.empty());
  // mu + 3 s = 0.13 mag at mag 20, but a true flux up to f + 2 sigma (brighter, where the
  // allowed sigma in nmgy is larger) is allowed: at sigma_mag 0.15 the bound is 1.48 nmgy
  // (true flux 12.76, mag 19.73, mu + 3 s = 0.1258), at 0.20 it is 1.57 nmgy < 1.84.
  EXPECT_FALSE(m.is_noisier_than_training({f}, {sigma_of(0.15)}, &reason));
  EXPECT_TRUE(m.is_noisier_than_training({f}, {sigma_of(0.20)}, &reason));
  EXPECT_NE(reason.find("r:"), std::string::npos) << reason;
  EXPECT_TRUE(m.is_noisier_than_training({f}, {std::numeric_limits<double>::infinity()}, &reason));
  EXPECT_NE(reason.find("missing"), std::string::npos) << reason;
  EXPECT_TRUE(m.is_noisier_than_training({std::nan("")}, {1.0}));
  // flux <= 0: every allowed true flux clips to the faintest catalog flux (1 nmgy, mag 22.5 ->
  // clamped mu + 3 s = 0.13 mag -> 0.1197 nmgy)
  EXPECT_FALSE(m.is_noisier_than_training({-0.05}, {0.11}, &reason));
  EXPECT_TRUE(m.is_noisier_than_training({-0.05}, {0.13}, &reason));
  EXPECT_NE(reason.find("nmgy"), std::string::npos) << reason;
  EXPECT_THROW(m.is_noisier_than_training(std::vector<double>{1, 2}, std::vector<double>{1, 2}), DataError);
}

// Galaxies drawn from the noise model itself are rarely flagged, even at low S/N: the flag rate
// is about P(sigma' > mu + 3 s) = 0.13 % (before the +-2 sigma tolerance on the true flux).
TEST(NoiseSupport, OwnDrawsAreRarelyFlagged) {
  const NoiseModel m = table_model({15.0, 22.0}, {0.02, 0.3}, {0.005, 0.03}, 1.0, 1000.0);
  Rng rng(kSeed, RngStream::kTest, 1);
  const int n = 20000;
  int flagged = 0, drawn = 0;
  for (int i = 0; i < n; ++i) {
    const double f_true = std::pow(10.0, rng.uniform(0.0, 3.0));
    const NoiseDraw d = m.sample({f_true}, rng);
    if (!d.ok()) continue;
    ++drawn;
    flagged += m.is_noisier_than_training(d.flux_nmgy, d.sigma_nmgy) ? 1 : 0;
  }
  ASSERT_GT(drawn, n / 2);
  // Binomial: expected <= 0.0013 drawn (26 of 20000); 0.4 % is > 7 standard deviations above.
  EXPECT_LT(static_cast<double>(flagged) / drawn, 0.004) << flagged << " of " << drawn;
}

// ---------------- conditioning vector ----------------

TEST(NoiseConditioning, LuptitudesApproachAbMagsWhenBright) {
  for (const std::string& band : kUgriz) {
    const double b = default_softening(band);
    for (double f : {100.0, 1e3, 1e5}) {
      const double ab = 22.5 - 2.5 * std::log10(f);
      EXPECT_NEAR(asinh_mag(f, b), ab, 1e-4 * (100.0 / f) * (100.0 / f) + 1e-12) << band << " " << f;
      // relative correction (2b/f)^2 / 2 with b in nmgy
      const double rel = 2e18 * b * b / (f * f);
      EXPECT_NEAR(asinh_mag_error(f, 0.1 * f, b), kMagPerLnFlux * 0.1, kMagPerLnFlux * 0.1 * rel * 1.01 + 1e-15) << band;
    }
  }
}

TEST(NoiseConditioning, FiniteForZeroAndNegativeFluxes) {
  const double bu = default_softening("u");
  EXPECT_EQ(bu, 1.4e-10);
  EXPECT_EQ(default_softening("sdss2010-z"), 7.4e-10);
  EXPECT_EQ(default_softening("sdss_g0"), 0.9e-10);
  EXPECT_THROW(default_softening("J"), ConfigError);
  // f = 0: m = -2.5 log10(b)
  EXPECT_NEAR(asinh_mag(0.0, bu), -2.5 * std::log10(bu), 1e-12);
  EXPECT_NEAR(asinh_mag(0.0, bu), 24.63, 0.01);
  double prev = -1e9;
  for (double f = 10.0; f >= -10.0; f -= 0.25) {
    const double m = asinh_mag(f, bu);
    EXPECT_TRUE(std::isfinite(m)) << f;
    EXPECT_GT(m, prev) << "monotone in flux at " << f;
    prev = m;
    EXPECT_TRUE(std::isfinite(asinh_mag_error(f, 0.3, bu)));
    EXPECT_GT(asinh_mag_error(f, 0.3, bu), 0.0);
  }
  const Conditioning c;
  for (double f : {-3.0, 0.0, 0.2, 57.0}) EXPECT_NEAR(c.flux_of(2, asinh_mag(f, c.softening()[2])), f, 1e-9);
}

TEST(NoiseConditioning, VectorLayoutAndNames) {
  const std::vector<double> flux = {10.0, 50.0, 100.0, 150.0, -0.2};
  const std::vector<double> sigma = {1.0, 0.5, 0.5, 0.7, 3.0};
  const std::vector<double> x = make_conditioning(flux, sigma, 0.03);
  const std::vector<std::string> names = conditioning_names();
  ASSERT_EQ(x.size(), 11u);
  ASSERT_EQ(names.size(), 11u);
  EXPECT_EQ(names[0], "asinh_mag_u");
  EXPECT_EQ(names[5], "asinh_mag_err_u");
  EXPECT_EQ(names[10], "z");
  EXPECT_EQ(x[10], 0.03);
  for (std::size_t b = 0; b < 5; ++b) {
    EXPECT_EQ(x[b], asinh_mag(flux[b], default_softening(kUgriz[b])));
    EXPECT_EQ(x[5 + b], asinh_mag_error(flux[b], sigma[b], default_softening(kUgriz[b])));
    EXPECT_TRUE(std::isfinite(x[b]));
  }
  const Conditioning c;
  EXPECT_EQ(c.dim(), 11u);
  EXPECT_EQ(c.units()[0], "mag");
  std::vector<double> f2 = flux, s2 = sigma;
  f2.insert(f2.end(), flux.begin(), flux.end());
  s2.insert(s2.end(), sigma.begin(), sigma.end());
  const double z[2] = {0.03, 0.1};
  std::vector<double> xb(22);
  c.make_batch(f2.data(), s2.data(), z, 2, xb.data());
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(xb[11 + i], x[i]);
  EXPECT_EQ(xb[21], 0.1);
  EXPECT_THROW(make_conditioning({1.0}, {1.0}, 0.1), DataError);
  EXPECT_THROW(Conditioning({"J"}), ConfigError);  // 2MASS: no default softening
  EXPECT_NO_THROW(Conditioning({"J"}, {1e-10}));
  EXPECT_EQ(default_softening("W1"), 3.0e-9);
  EXPECT_EQ(default_softening("y"), default_softening("z"));
  EXPECT_EQ(conditioning_names({"W1"}).front(), "asinh_mag_W1");
}

// Photo-z mode: no z entry; the rest as with z, and photometry_of gives z NaN.
TEST(NoiseConditioning, WithoutRedshift) {
  const std::vector<double> flux = {10.0, 50.0, 100.0, 150.0, -0.2};
  const std::vector<double> sigma = {1.0, 0.5, 0.5, 0.7, 3.0};
  const Conditioning with_z, without_z({"u", "g", "r", "i", "z"}, {}, false, false);
  EXPECT_EQ(without_z.dim(), 10u);
  EXPECT_FALSE(without_z.with_z());
  const std::vector<double> a = with_z.make(flux.data(), sigma.data(), 0.07), b = without_z.make(flux.data(), sigma.data(), 0.07);
  ASSERT_EQ(b.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(a[i], b[i]);
  EXPECT_EQ(without_z.names().size(), 10u);
  EXPECT_EQ(without_z.names().back(), "asinh_mag_err_z");
  double f[5], s[5], z = 0;
  without_z.photometry_of(b.data(), f, s, &z);
  EXPECT_TRUE(std::isnan(z));
  for (std::size_t k = 0; k < 5; ++k) EXPECT_NEAR(f[k], flux[k], 1e-9 * (1 + std::abs(flux[k])));
  const Conditioning masked({"u", "g", "r", "i", "z"}, {}, true, false);
  EXPECT_EQ(masked.dim(), 15u);
  EXPECT_EQ(masked.names().back(), "present_z");
}

// Band masks: a 3B + 1 layout with present flags; a left-out band gets the fixed magnitude, error
// 0 and flag 0 whatever its flux, and photometry_of gives it back as "not measured".
TEST(NoiseConditioning, BandMaskLayout) {
  const std::vector<double> flux = {10.0, 50.0, 100.0, 150.0, 200.0};
  const std::vector<double> sigma = {1.0, 0.5, 0.5, 0.7, 3.0};
  const Conditioning plain;
  const Conditioning masked({"u", "g", "r", "i", "z"}, {}, true);
  ASSERT_EQ(masked.dim(), 16u);
  EXPECT_EQ(masked.names()[10], "present_u");
  EXPECT_EQ(masked.names()[15], "z");
  EXPECT_EQ(masked.units()[10], "");
  const std::uint8_t all[5] = {1, 1, 1, 1, 1};
  const std::vector<double> xp = plain.make(flux.data(), sigma.data(), 0.05);
  const std::vector<double> xa = masked.make(flux.data(), sigma.data(), 0.05, all);
  for (std::size_t j = 0; j < 10; ++j) EXPECT_EQ(xa[j], xp[j]);
  for (std::size_t b = 0; b < 5; ++b) EXPECT_EQ(xa[10 + b], 1.0);
  EXPECT_EQ(xa[15], 0.05);

  std::vector<double> f_nan = flux, s_inf = sigma;
  f_nan[2] = std::nan("");
  s_inf[2] = std::numeric_limits<double>::infinity();
  const std::uint8_t no_r[5] = {1, 1, 0, 1, 1};
  const std::vector<double> xm = masked.make(f_nan.data(), s_inf.data(), 0.05, no_r);
  EXPECT_EQ(xm[2], kMissingMag);
  EXPECT_EQ(xm[7], 0.0);
  EXPECT_EQ(xm[12], 0.0);
  EXPECT_EQ(xm[3], xp[3]);
  // the left-out band's values are not read: the same x from the unmasked photometry
  EXPECT_EQ(masked.make(flux.data(), sigma.data(), 0.05, no_r), xm);
  double f[5], s[5], z = 0;
  masked.photometry_of(xm.data(), f, s, &z);
  EXPECT_TRUE(std::isnan(f[2]));
  EXPECT_TRUE(std::isinf(s[2]));
  EXPECT_NEAR(f[3], flux[3], 1e-9);
  EXPECT_NEAR(s[3], sigma[3], 1e-9);
  EXPECT_EQ(z, 0.05);
  EXPECT_EQ(band_bits(no_r, 5), 0b11011u);
  // a model without masks cannot leave a band out
  EXPECT_THROW(plain.make(flux.data(), sigma.data(), 0.05, no_r), ConfigError);
  // GALEX softening defaults
  EXPECT_EQ(default_softening("galex_FUV"), 2.0e-9);
  EXPECT_EQ(default_softening("NUV"), 1.0e-9);
}

TEST(NoiseSettingsTest, FromConfigAndValidation) {
  const Config c = Config::from_text("[noise]\nn_bins = 8\nmin_count = 5\nrobust_scale = true\n", "t.toml");
  const NoiseSettings s = NoiseSettings::from_config(c);
  EXPECT_EQ(s.n_bins, 8);
  EXPECT_EQ(s.min_count, 5);
  EXPECT_TRUE(s.robust_scale);
  EXPECT_EQ(s.max_redraws, 100);
  EXPECT_FALSE(s.lognormal);
  EXPECT_TRUE(NoiseSettings::from_config(Config::from_text("[noise]\nsigma_distribution = \"lognormal\"\n", "t.toml"))
                  .lognormal);
  EXPECT_THROW(NoiseSettings::from_config(Config::from_text("[noise]\nsigma_distribution = \"log\"\n", "t.toml")),
               ConfigError);
  EXPECT_THROW(NoiseSettings::from_config(Config::from_text("[noise]\nmin_count = 1\n", "t.toml")), ConfigError);
  NoiseSettings bad;
  bad.n_bins = 0;
  EXPECT_THROW(NoiseModel::fit({1.0}, {1.0}, {"r"}, bad), ConfigError);
}

}  // namespace
}  // namespace sedpost::noise
