// Catalog readers, units, summaries and the training-support tables (src/catalog).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>

#include "catalog/catalog_reader.hpp"
#include "catalog/quantities.hpp"
#include "catalog/spectra.hpp"
#include "catalog/support.hpp"
#include "catalog/units.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/special_functions.hpp"
#include "io/h5_file.hpp"
#include "noise/fits_table.hpp"

namespace sedpost::catalog {
namespace {

namespace fs = std::filesystem;

std::string data_dir() {
  if (const char* env = std::getenv("SEDPOST_DATA_DIR"); env && *env) return env;
  return "../shared/data";
}

TEST(CatalogUnits, RoundTripsEveryUnitAndErrorKind) {
  const Photometry p{123.4, 5.6};
  for (FluxUnit u : {FluxUnit::kNanomaggies, FluxUnit::kMaggies, FluxUnit::kJansky, FluxUnit::kABMag}) {
    for (ErrorKind k : {ErrorKind::kSigma, ErrorKind::kInverseVariance, ErrorKind::kMagnitudeError}) {
      if (u == FluxUnit::kABMag && k == ErrorKind::kInverseVariance) continue;
      double v = 0, e = 0;
      from_nanomaggies(p, u, k, &v, &e);
      const Photometry q = to_nanomaggies(v, e, u, k);
      EXPECT_NEAR(q.flux_nmgy, p.flux_nmgy, 1e-9 * p.flux_nmgy) << to_string(u) << " " << to_string(k);
      EXPECT_NEAR(q.sigma_nmgy, p.sigma_nmgy, 1e-9 * p.sigma_nmgy) << to_string(u) << " " << to_string(k);
    }
  }
}

TEST(CatalogUnits, KnownValues) {
  // 1 nmgy = 3.631 uJy; 22.5 mag = 1 nmgy; 20 mag = 10 nmgy.
  EXPECT_NEAR(to_nanomaggies(3.631e-6, 3.631e-7, FluxUnit::kJansky, ErrorKind::kSigma).flux_nmgy, 1.0, 1e-12);
  EXPECT_NEAR(to_nanomaggies(20.0, 0.1, FluxUnit::kABMag, ErrorKind::kMagnitudeError).flux_nmgy, 10.0, 1e-12);
  EXPECT_NEAR(to_nanomaggies(20.0, 0.1, FluxUnit::kABMag, ErrorKind::kMagnitudeError).sigma_nmgy,
              10.0 * 0.1 * std::log(10.0) / 2.5, 1e-12);
  // ivar 1e20 maggies^-2 -> sigma 1e-10 maggies = 0.1 nmgy.
  EXPECT_NEAR(to_nanomaggies(1e-9, 1e20, FluxUnit::kMaggies, ErrorKind::kInverseVariance).sigma_nmgy, 0.1, 1e-12);
}

TEST(CatalogUnits, SentinelsAndMissingValues) {
  EXPECT_TRUE(std::isnan(to_nanomaggies(99.0, 0.1, FluxUnit::kABMag, ErrorKind::kMagnitudeError).flux_nmgy));
  EXPECT_TRUE(std::isnan(to_nanomaggies(-9999.0, 0.1, FluxUnit::kABMag, ErrorKind::kMagnitudeError).flux_nmgy));
  EXPECT_TRUE(std::isinf(to_nanomaggies(5.0, 0.0, FluxUnit::kNanomaggies, ErrorKind::kInverseVariance).sigma_nmgy));
  // A magnitude error of 50 mag or more (99, or an absurd 14749 in BOSS's u band): not measured.
  EXPECT_TRUE(std::isinf(to_nanomaggies(24.0, 99.0, FluxUnit::kABMag, ErrorKind::kMagnitudeError).sigma_nmgy));
  EXPECT_TRUE(std::isnan(to_nanomaggies(24.0, -99.0, FluxUnit::kABMag, ErrorKind::kMagnitudeError).sigma_nmgy));
  EXPECT_TRUE(std::isnan(to_nanomaggies(5.0, -1.0, FluxUnit::kNanomaggies, ErrorKind::kInverseVariance).sigma_nmgy));
  EXPECT_THROW(to_nanomaggies(20.0, 1.0, FluxUnit::kABMag, ErrorKind::kInverseVariance), ConfigError);
  EXPECT_THROW(flux_unit_from_string("furlongs"), ConfigError);
}

TEST(CatalogRows, SelectRowsParsesAndRejects) {
  EXPECT_EQ(select_rows("", 10).count(), 10u);
  EXPECT_EQ(select_rows("2:5", 10).begin, 2u);
  EXPECT_EQ(select_rows("2:", 10).end, 10u);
  EXPECT_EQ(select_rows("7", 10).count(), 1u);
  EXPECT_THROW(select_rows("5:11", 10), ConfigError);
  EXPECT_THROW(select_rows("5:5", 10), ConfigError);
  EXPECT_THROW(select_rows("a:b", 10), ConfigError);
}

TEST(CatalogSummary, MatchesNumpyPercentilesAndSkipsNaN) {
  std::vector<double> v = {4, 1, 3, 2, std::numeric_limits<double>::quiet_NaN(), 5};
  float out[kNumSummaryColumns];
  summarize(v, out);
  EXPECT_FLOAT_EQ(out[0], 3.0f);                        // mean of 1..5
  EXPECT_FLOAT_EQ(out[1], static_cast<float>(std::sqrt(2.5)));  // sample std
  EXPECT_FLOAT_EQ(out[2], 1.1f);                        // numpy.percentile(1..5, 2.5)
  EXPECT_FLOAT_EQ(out[4], 3.0f);                        // median
  EXPECT_FLOAT_EQ(out[6], 4.9f);                        // 97.5
}

TEST(CatalogSummary, MinusInfinityCountsAsLowest) {
  std::vector<double> v(100, 1.0);
  for (int i = 0; i < 10; ++i) v[static_cast<std::size_t>(i)] = -std::numeric_limits<double>::infinity();
  float out[kNumSummaryColumns];
  summarize(v, out);
  EXPECT_FLOAT_EQ(out[0], 1.0f);  // mean over finite values
  EXPECT_TRUE(std::isinf(out[2]) && out[2] < 0);  // p2.5 is a -inf draw
  EXPECT_FLOAT_EQ(out[4], 1.0f);
}

TEST(CatalogQuantities, NamesAndUnitsAlign) {
  ASSERT_EQ(quantity_names().size(), static_cast<std::size_t>(kNumQuantities));
  ASSERT_EQ(quantity_units().size(), static_cast<std::size_t>(kNumQuantities));
  EXPECT_EQ(quantity_names()[12], "log_mstar");
  EXPECT_EQ(quantity_names()[17], "t50");
  EXPECT_EQ(quantity_names()[18], "t10");
  EXPECT_EQ(quantity_names()[21], "t90");
  EXPECT_EQ(quantity_units()[21], "Gyr");
  EXPECT_EQ(quantity_names(true).back(), "z");
  EXPECT_EQ(quantity_names(true).size(), static_cast<std::size_t>(kNumQuantities) + 1);
}

TEST(CatalogReaderCsv, ReadsChunksConvertsMagnitudesAndNotesBadCells) {
  const fs::path path = fs::temp_directory_path() / "sedpost_catalog_test.csv";
  {
    std::ofstream out(path);
    out << "name,m_u,e_u,m_g,e_g,zspec\n";
    for (int i = 0; i < 2500; ++i) out << "gal" << i << "," << 20.0 + 0.001 * i << ",0.1,19.5,0.05,0.05\n";
  }
  {  // one unparsable cell in row 1234
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto pos = text.find("gal1234,");
    text.replace(text.find(",0.1,", pos), 5, ",oops,");
    std::ofstream(path) << text;
  }
  ColumnMap map = ColumnMap::preset(CatalogFormat::kCsv);
  map.id = "name";
  map.flux = {"m_u", "m_g"};
  map.error = {"e_u", "e_g"};
  map.flux_unit = FluxUnit::kABMag;
  map.error_kind = ErrorKind::kMagnitudeError;
  map.redshift = "zspec";
  const auto reader = CatalogReader::open(path.string(), map, 2);
  ASSERT_EQ(reader->num_rows(), 2500u);
  EXPECT_TRUE(reader->id_is_string());
  const CatalogChunk c = reader->read(1230, 10);
  EXPECT_EQ(c.id_text[0], "gal1230");
  EXPECT_NEAR(c.flux[0], std::pow(10.0, (22.5 - 21.23) / 2.5), 1e-9);
  EXPECT_NEAR(c.z[3], 0.05, 1e-12);
  EXPECT_FALSE(c.note[4].empty());  // row 1234
  EXPECT_NE(c.note[4].find("e_u"), std::string::npos) << c.note[4];
  EXPECT_TRUE(c.note[5].empty());
  ColumnMap missing = map;
  missing.redshift = "zphot";
  try {
    CatalogReader::open(path.string(), missing, 2);
    FAIL() << "a missing column must throw";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("zphot"), std::string::npos);
  }
  fs::remove(path);
}

TEST(CatalogReaderFits, NsaChunksMatchWholeColumnReads) {
  const fs::path path = fs::path(data_dir()) / "catalogs" / "nsa" / "A2052_NSAmastertable.fits";
  if (!fs::exists(path)) GTEST_SKIP() << "no " << path;
  const auto reader = CatalogReader::open(path.string(), ColumnMap::preset(CatalogFormat::kFits), 5);
  const noise::FitsTable table(path.string());
  const auto flux = table.read_double_elements("NMGY", 2, 5);
  const auto z = table.read_double("Z");
  const auto id = table.read_int64("NSAID");
  const std::uint64_t first = 100, n = 37;
  const CatalogChunk c = reader->read(first, n);
  for (std::uint64_t i = 0; i < n; ++i) {
    EXPECT_EQ(c.id[i], id[first + i]);
    EXPECT_EQ(c.z[i], z[first + i]);
    for (int b = 0; b < 5; ++b) EXPECT_EQ(c.flux[i * 5 + b], flux[(first + i) * 5 + b]);
  }
  EXPECT_THROW(reader->read(reader->num_rows() - 1, 2), DataError);
}

/// Writes a `sedpost simulate`-like catalog of `n` rows, 2 bands, with /spectrum [spec_rows, P]
/// (none when P = 0) and, when `wavelength`, /spectrum_wavelength [P].
fs::path write_spectral_catalog(const std::string& name, std::uint64_t n, std::uint64_t spec_rows, std::uint64_t P,
                                bool wavelength) {
  const fs::path path = fs::temp_directory_path() / name;
  io::H5File f = io::H5File::create(path.string(), io::FileAccess::serial());
  std::vector<double> flux(n * 2, 10.0), sigma(n * 2, 1.0), z(n, 0.05);
  f.create_dataset("flux_obs", io::DType::kFloat64, {n, 2});
  f.write_rows("flux_obs", 0, n, flux.data());
  f.create_dataset("sigma", io::DType::kFloat64, {n, 2});
  f.write_rows("sigma", 0, n, sigma.data());
  f.create_dataset("z", io::DType::kFloat64, {n});
  f.write_rows("z", 0, n, z.data());
  if (P > 0) {
    std::vector<float> spec(spec_rows * P);
    for (std::size_t k = 0; k < spec.size(); ++k) spec[k] = static_cast<float>(k);
    f.create_dataset("spectrum", io::DType::kFloat32, {spec_rows, P});
    f.write_rows("spectrum", 0, spec_rows, spec.data());
  }
  if (wavelength) {
    std::vector<double> w(P);
    for (std::uint64_t p = 0; p < P; ++p) w[p] = 4000.0 * std::exp(1e-4 * static_cast<double>(p));
    f.create_dataset("spectrum_wavelength", io::DType::kFloat64, {P});
    f.write_rows("spectrum_wavelength", 0, P, w.data());
  }
  f.close();
  return path;
}

TEST(CatalogReaderHdf5, ReadsSpectraByRows) {
  const fs::path path = write_spectral_catalog("sedpost_catalog_spectra.h5", 5, 5, 7, true);
  const auto reader = CatalogReader::open(path.string(), ColumnMap::preset(CatalogFormat::kHdf5), 2);
  ASSERT_EQ(reader->num_pixels(), 7);
  EXPECT_NEAR(reader->spectrum_wavelength()[0], 4000.0, 1e-9);
  const CatalogChunk c = reader->read(2, 3);
  ASSERT_EQ(c.spectrum.size(), 3u * 7u);
  EXPECT_EQ(c.spectrum[0], 14.0f);   // row 2, pixel 0
  EXPECT_EQ(c.spectrum[20], 34.0f);  // row 4, pixel 6
  EXPECT_TRUE(reader->read(0, 0).spectrum.empty());
  fs::remove(path);
}

TEST(CatalogReaderHdf5, NoSpectrumMeansEmpty) {
  const fs::path path = write_spectral_catalog("sedpost_catalog_nospec.h5", 4, 0, 0, false);
  const auto reader = CatalogReader::open(path.string(), ColumnMap::preset(CatalogFormat::kHdf5), 2);
  EXPECT_EQ(reader->num_pixels(), 0);
  EXPECT_TRUE(reader->spectrum_wavelength().empty());
  EXPECT_TRUE(reader->read(0, 4).spectrum.empty());
  fs::remove(path);
}

TEST(CatalogReaderHdf5, BadSpectrumShapesAreDataErrorsNamingFileAndDataset) {
  auto expect_error = [](const fs::path& path, const std::string& dataset) {
    try {
      CatalogReader::open(path.string(), ColumnMap::preset(CatalogFormat::kHdf5), 2);
      ADD_FAILURE() << "no error for " << path;
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(dataset), std::string::npos) << e.what();
    }
    fs::remove(path);
  };
  expect_error(write_spectral_catalog("sedpost_catalog_badrows.h5", 4, 3, 7, true), "/spectrum");
  expect_error(write_spectral_catalog("sedpost_catalog_nowave.h5", 4, 4, 7, false), "/spectrum_wavelength");
}

TEST(CatalogSpectra, GridCheckAcceptsTheSameGridAndNamesTheFileOtherwise) {
  std::vector<double> model(100);
  for (std::size_t p = 0; p < model.size(); ++p) model[p] = 3600.0 * std::exp(2.5e-4 * static_cast<double>(p));
  std::vector<double> close = model;
  for (double& w : close) w *= 1.0 + 1e-8;
  EXPECT_NO_THROW(check_spectrum_grid(close, model, "cat.h5"));
  std::vector<double> shifted = model;
  shifted[50] *= 1.0 + 1e-5;
  EXPECT_THROW(check_spectrum_grid(shifted, model, "cat.h5"), DataError);
  std::vector<double> shorter(model.begin(), model.end() - 1);
  try {
    check_spectrum_grid(shorter, model, "cat.h5");
    ADD_FAILURE() << "no error";
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("spectrum wavelength grid of cat.h5 (99 pixels, 3600-"), std::string::npos) << msg;
    EXPECT_NE(msg.find("does not match the model's (100 pixels, 3600-"), std::string::npos) << msg;
  }
}

TEST(CatalogSpectra, FirstBadPixel) {
  std::vector<float> s(10, 1.0f);
  EXPECT_EQ(first_bad_spectrum_pixel(s.data(), 10), "");
  s[7] = std::numeric_limits<float>::infinity();
  s[3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(first_bad_spectrum_pixel(s.data(), 10), "spectrum pixel 3 is NaN");
  EXPECT_EQ(first_bad_spectrum_pixel(s.data() + 4, 6), "spectrum pixel 3 is +inf");
}

TEST(CatalogColumnMap, ConfigOverridesThePreset) {
  const Config c = Config::from_text(
      "[catalog]\nflux = [\"a\", \"b\"]\nerror = [\"ea\", \"eb\"]\nerror_kind = \"mag_err\"\nflux_unit = \"mag\"\n"
      "redshift = \"zz\"\n",
      "test");
  const ColumnMap m = ColumnMap::from_config(c, "x.fits");
  EXPECT_EQ(m.format, CatalogFormat::kFits);
  EXPECT_EQ(m.flux.size(), 2u);
  EXPECT_TRUE(m.flux_elements.empty());
  EXPECT_EQ(m.id, "NSAID");  // preset kept
  EXPECT_EQ(m.redshift, "zz");
  EXPECT_THROW(m.validate(5), ConfigError);  // 2 columns for 5 bands
  EXPECT_NO_THROW(m.validate(2));
  EXPECT_THROW(ColumnMap::from_config(Config(), "x.txt"), ConfigError);
}

TEST(CatalogSupport, TomlRoundTrip) {
  // A noise model fitted on synthetic photometry, and colour ranges of random x.
  const std::vector<std::string> bands = {"u", "g", "r"};
  std::vector<double> flux, ivar;
  Rng rng(3, RngStream::kNoise, 0);
  for (int i = 0; i < 2000; ++i)
    for (int b = 0; b < 3; ++b) {
      const double f = std::pow(10.0, rng.uniform(0.0, 3.0));
      flux.push_back(f);
      ivar.push_back(1.0 / (0.05 * f + 0.5) / (0.05 * f + 0.5));
    }
  TrainingSupport s;
  s.bands = bands;
  s.z_min = 0.0;
  s.z_max = 0.2;
  s.z_prior_weights = {0.25, 0.75};
  s.noise = noise::NoiseModel::fit_ivar(flux, ivar, bands);
  std::vector<float> x;
  for (int i = 0; i < 1000; ++i)
    for (int j = 0; j < 7; ++j) x.push_back(static_cast<float>(rng.uniform(15.0, 22.0)));
  const auto lo_hi = TrainingSupport::colour_quantiles(x.data(), 1000, 7, 3, 0.001);
  s.colour_lo = {lo_hi[0], lo_hi[1]};
  s.colour_hi = {lo_hi[2], lo_hi[3]};
  EXPECT_LT(s.colour_lo[0], -6.0);
  EXPECT_GT(s.colour_hi[0], 6.0);
  const TrainingSupport t = TrainingSupport::from_toml(s.to_toml(), "test");
  EXPECT_EQ(t.bands, bands);
  EXPECT_EQ(t.colour_lo, s.colour_lo);
  EXPECT_EQ(t.colour_hi, s.colour_hi);
  EXPECT_EQ(t.z_max, 0.2);
  EXPECT_EQ(t.z_prior_weights, s.z_prior_weights);
  for (std::size_t b = 0; b < 3; ++b) {
    EXPECT_EQ(t.noise.band(b).mu, s.noise.band(b).mu);
    EXPECT_EQ(t.noise.band(b).flux_max, s.noise.band(b).flux_max);
  }
  EXPECT_THROW(TrainingSupport::from_toml("format_version = 1\n", "test"), DataError);
}

TEST(SpecialFunctions, ChiSquareMatchesTables) {
  // scipy.stats.chi2.sf / isf values.
  EXPECT_NEAR(chi2_survival(3.84145882, 1), 0.05, 1e-8);
  EXPECT_NEAR(chi2_survival(11.0704977, 5), 0.05, 1e-8);
  EXPECT_NEAR(chi2_quantile_upper(1e-3, 5), 20.5150057, 1e-6);
  EXPECT_NEAR(chi2_quantile_upper(0.5, 2), 2 * std::log(2.0), 1e-8);
  EXPECT_DOUBLE_EQ(chi2_survival(0.0, 3), 1.0);
}

}  // namespace
}  // namespace sedpost::catalog
