#include "catalog/support.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <toml++/toml.h>

#include "catalog/quantities.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::catalog {

namespace {

constexpr std::int64_t kFormatVersion = 1;

toml::array to_array(const std::vector<double>& v) {
  toml::array a;
  for (double d : v) a.push_back(d);
  return a;
}
toml::array to_array(const std::vector<std::string>& v) {
  toml::array a;
  for (const auto& s : v) a.push_back(s);
  return a;
}
toml::array to_array(const std::vector<std::size_t>& v) {
  toml::array a;
  for (std::size_t s : v) a.push_back(static_cast<std::int64_t>(s));
  return a;
}

[[noreturn]] void missing(const std::string& source, const std::string& key) {
  throw DataError(cat(source, ": training-support table has no valid '", key,
                      "' (model file from another sedpost version?)"));
}

double get_double(const toml::table& t, const std::string& key, const std::string& source) {
  const auto* n = t.get(key);
  if (!n) missing(source, key);
  if (auto v = n->value<double>()) return *v;
  missing(source, key);
}

std::vector<double> get_doubles(const toml::table& t, const std::string& key, const std::string& source) {
  const auto* a = t.get_as<toml::array>(key);
  if (!a) missing(source, key);
  std::vector<double> out;
  for (const auto& e : *a) {
    auto v = e.value<double>();
    if (!v) missing(source, key);
    out.push_back(*v);
  }
  return out;
}

std::vector<std::string> get_strings(const toml::table& t, const std::string& key, const std::string& source) {
  const auto* a = t.get_as<toml::array>(key);
  if (!a) missing(source, key);
  std::vector<std::string> out;
  for (const auto& e : *a) {
    auto v = e.value<std::string>();
    if (!v) missing(source, key);
    out.push_back(*v);
  }
  return out;
}

}  // namespace

std::vector<double> TrainingSupport::colour_quantiles(const float* x, std::size_t n, std::size_t n_x,
                                                      std::size_t n_bands, double q, std::size_t present_offset) {
  std::vector<double> lo_hi;  // [lo_0..lo_{B-2}, hi_0..hi_{B-2}]
  if (n_bands < 2) return lo_hi;
  std::vector<double> lo(n_bands - 1), hi(n_bands - 1);
  std::vector<double> c;
  c.reserve(n);
  for (std::size_t b = 0; b + 1 < n_bands; ++b) {
    c.clear();
    for (std::size_t i = 0; i < n; ++i) {
      if (present_offset > 0 && !(x[i * n_x + present_offset + b] > 0.5f && x[i * n_x + present_offset + b + 1] > 0.5f))
        continue;
      const double v = static_cast<double>(x[i * n_x + b]) - static_cast<double>(x[i * n_x + b + 1]);
      if (std::isfinite(v)) c.push_back(v);
    }
    if (c.size() < 2) throw DataError("training set: fewer than 2 rows with finite colours");
    std::sort(c.begin(), c.end());
    lo[b] = quantile_sorted(c, q);
    hi[b] = quantile_sorted(c, 1.0 - q);
  }
  lo_hi = lo;
  lo_hi.insert(lo_hi.end(), hi.begin(), hi.end());
  return lo_hi;
}

std::vector<std::string> TrainingSupport::colour_names() const {
  std::vector<std::string> out;
  for (std::size_t b = 0; b + 1 < bands.size(); ++b) out.push_back(bands[b] + "-" + bands[b + 1]);
  return out;
}

std::string TrainingSupport::to_toml() const {
  toml::table root;
  root.insert("format_version", kFormatVersion);
  root.insert("bands", to_array(bands));
  root.insert("z_min", z_min);
  root.insert("z_max", z_max);
  root.insert("z_inferred", z_inferred);
  root.insert("z_prior_weights", to_array(z_prior_weights));
  root.insert("colour_quantile", colour_quantile);
  root.insert("colour_lo", to_array(colour_lo));
  root.insert("colour_hi", to_array(colour_hi));
  root.insert("band_masks", band_masks);
  root.insert("mask_rates", to_array(mask_rates));
  const noise::NoiseTables t = noise.to_tables();
  toml::table nt;
  nt.insert("bands", to_array(t.bands));
  toml::table arrays;
  for (const auto& a : t.arrays) {
    toml::table e;
    e.insert("shape", to_array(a.shape));
    e.insert("data", to_array(a.data));
    e.insert("units", a.units);
    arrays.insert(a.name, std::move(e));
  }
  nt.insert("arrays", std::move(arrays));
  toml::table attrs, sattrs;
  for (const auto& [k, v] : t.attributes) attrs.insert(k, v);
  for (const auto& [k, v] : t.string_attributes) sattrs.insert(k, v);
  nt.insert("attributes", std::move(attrs));
  nt.insert("string_attributes", std::move(sattrs));
  root.insert("noise_model", std::move(nt));
  std::ostringstream os;
  os << root;
  return os.str();
}

TrainingSupport TrainingSupport::from_toml(const std::string& text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw DataError(cat(source, ": training-support table is not valid TOML: ", e.description()));
  }
  if (root["format_version"].value<std::int64_t>().value_or(-1) != kFormatVersion)
    missing(source, "format_version (expected 1)");
  TrainingSupport s;
  s.bands = get_strings(root, "bands", source);
  s.z_min = get_double(root, "z_min", source);
  s.z_max = get_double(root, "z_max", source);
  s.z_inferred = root["z_inferred"].value<bool>().value_or(false);
  if (root.get("z_prior_weights")) s.z_prior_weights = get_doubles(root, "z_prior_weights", source);
  s.colour_quantile = get_double(root, "colour_quantile", source);
  s.colour_lo = get_doubles(root, "colour_lo", source);
  s.colour_hi = get_doubles(root, "colour_hi", source);
  if (s.colour_lo.size() + 1 != s.bands.size() || s.colour_hi.size() != s.colour_lo.size())
    missing(source, "colour_lo/colour_hi ([bands - 1] each)");
  s.band_masks = root["band_masks"].value<bool>().value_or(false);
  if (root.get("mask_rates")) s.mask_rates = get_doubles(root, "mask_rates", source);
  const auto* nt = root.get_as<toml::table>("noise_model");
  if (!nt) missing(source, "noise_model");
  noise::NoiseTables t;
  t.bands = get_strings(*nt, "bands", source);
  const auto* arrays = nt->get_as<toml::table>("arrays");
  if (!arrays) missing(source, "noise_model.arrays");
  for (const auto& [name, node] : *arrays) {
    const auto* e = node.as_table();
    if (!e) missing(source, "noise_model.arrays." + std::string(name.str()));
    noise::NoiseTables::Array a;
    a.name = std::string(name.str());
    for (double d : get_doubles(*e, "shape", source)) a.shape.push_back(static_cast<std::size_t>(d));
    a.data = get_doubles(*e, "data", source);
    a.units = (*e)["units"].value<std::string>().value_or("");
    t.arrays.push_back(std::move(a));
  }
  if (const auto* attrs = nt->get_as<toml::table>("attributes"))
    for (const auto& [k, v] : *attrs) t.attributes.emplace_back(std::string(k.str()), v.value<double>().value_or(0.0));
  if (const auto* sattrs = nt->get_as<toml::table>("string_attributes"))
    for (const auto& [k, v] : *sattrs)
      t.string_attributes.emplace_back(std::string(k.str()), v.value<std::string>().value_or(""));
  s.noise = noise::NoiseModel::from_tables(t);
  return s;
}

}  // namespace sedpost::catalog
