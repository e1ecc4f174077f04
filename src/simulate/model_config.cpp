#include "simulate/model_config.hpp"

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::simulate {

sps::SedModelSettings sed_settings_from_config(const Config& config, const std::string& data_dir) {
  sps::SedModelSettings s;
  s.data_dir = data_dir;
  s.ssp_kind = config.get_string("model.ssp", s.ssp_kind);
  s.ssp_dir = config.get_string("model.ssp_dir", s.ssp_dir);
  if (!s.ssp_dir.empty() && !std::filesystem::path(s.ssp_dir).is_absolute()) {
    s.ssp_dir = (std::filesystem::path(data_dir) / s.ssp_dir).string();
  }
  s.bands = config.get_strings("model.bands", s.bands);
  s.t_esc_yr = config.get_double("model.t_esc_gyr", s.t_esc_yr / 1e9) * 1e9;
  s.bc_dust_index = config.get_double("model.bc_dust_index", s.bc_dust_index);
  s.igm = config.get_string("model.igm", s.igm);
  if (s.igm != "none" && s.igm != "inoue2014")
    throw ConfigError(config.source() + ": model.igm = '" + s.igm + "': expected \"none\" or \"inoue2014\"");
  const double z_max = config.get_double("model.z_max", 0.2);
  // The model's wavelength window must reach the largest redshift simulated or fitted.
  s.z_max = std::max(z_max, config.get_double("model.model_z_max", z_max));
  if (s.bands.empty()) throw ConfigError(config.source() + ": model.bands is empty");
  if (s.t_esc_yr <= 0) throw ConfigError(config.source() + ": model.t_esc_gyr must be > 0");
  return s;
}

RedshiftRange redshift_range_from_config(const Config& config) {
  RedshiftRange r;
  r.z_min = config.get_double("model.z_min", r.z_min);
  r.z_max = config.get_double("model.z_max", r.z_max);
  if (!(r.z_min >= 0 && r.z_max > r.z_min)) {
    throw ConfigError(config.source() + ": need 0 <= model.z_min < model.z_max");
  }
  const std::string mode = config.get_string("model.redshift", "given");
  if (mode != "given" && mode != "inferred")
    throw ConfigError(config.source() + ": model.redshift = '" + mode + "': expected \"given\" or \"inferred\"");
  r.inferred = mode == "inferred";
  const std::string z_prior = config.get_string("model.z_prior", "uniform");
  if (z_prior == "histogram") {
    r.z_weights = config.get_doubles("model.z_prior_weights", {});
    if (r.z_weights.empty())
      throw ConfigError(config.source() + ": model.z_prior = \"histogram\" needs model.z_prior_weights (bin weights)");
  } else if (z_prior != "uniform") {
    throw ConfigError(config.source() + ": model.z_prior = '" + z_prior + "': expected \"uniform\" or \"histogram\"");
  } else if (config.has("model.z_prior_weights")) {
    throw ConfigError(config.source() + ": model.z_prior_weights is set but model.z_prior is \"uniform\"");
  }
  prior::RedshiftPrior(r.z_min, r.z_max, r.z_weights, config.source() + ": model");  // checks the weights
  return r;
}

void check_redshift_range(const sps::SedModel& model, const prior::Prior& prior, const RedshiftRange& range,
                          const std::string& source) {
  const double age = model.age_gyr(range.z_max);
  const double needed = std::max(prior.settings().t_burst_min, model.settings().t_esc_yr / 1e9);
  if (!(age > needed))
    throw ConfigError(cat(source, ": model.z_max = ", range.z_max, " is beyond what the model allows: the universe is ",
                          age, " Gyr old there, younger than the prior's youngest burst or the birth-cloud escape "
                          "time (", needed, " Gyr); lower model.z_max"));
}

std::vector<std::string> short_band_names(const std::vector<std::string>& filters) {
  std::vector<std::string> out;
  for (std::string name : filters) {
    const auto colon = name.find(':');
    if (colon != std::string::npos) name = name.substr(colon + 1);
    const auto sep = name.find_last_of("-_");
    if (sep != std::string::npos && sep + 1 < name.size()) name = name.substr(sep + 1);
    if (name.size() == 2 && name[1] == '0') name = name.substr(0, 1);  // sdss_u0 -> u
    out.push_back(name);
  }
  return out;
}

std::vector<float> to_float_inside_box(const std::vector<double>& values, const std::vector<double>& lo,
                                       const std::vector<double>& hi) {
  const std::size_t dim = lo.size();
  std::vector<float> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::size_t k = i % dim;
    float v = static_cast<float>(values[i]);
    const float flo = static_cast<float>(lo[k]), fhi = static_cast<float>(hi[k]);
    if (v <= flo) v = std::nextafter(flo, fhi);
    if (v >= fhi) v = std::nextafter(fhi, flo);
    out[i] = v;
  }
  return out;
}

}  // namespace sedpost::simulate
