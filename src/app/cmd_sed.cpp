// `sedpost sed`: one evaluation of the forward model, for checking it by hand.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "prior/prior.hpp"
#include "simulate/model_config.hpp"

namespace sedpost::app {

namespace {

struct SedOptions {
  std::vector<double> theta;  ///< 12 physical parameters
  double z = 0.05;
  bool json = false;
  std::string spectrum;       ///< optional output file for the observed-frame spectrum
};

std::string number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string json_array(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + number(v[i]);
  return s + "]";
}

std::string json_strings(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", \"" : "\"") + v[i] + "\"";
  return s + "]";
}

int run_sed(Context& ctx, const SedOptions& opt) {
  if (opt.theta.size() != 12) {
    throw ConfigError(cat("--theta needs 12 comma-separated values (", prior::Prior::physical_names().size(),
                          " physical parameters: log_mstar_formed, beta_1..beta_4, f_burst, t_burst [Gyr], "
                          "gamma_1, gamma_2, tau_bc, tau_ism, n_dust), got ", opt.theta.size()));
  }
  const prior::Prior prior(prior::PriorSettings::from_config(ctx.config));
  prior::Physical theta{};
  std::copy(opt.theta.begin(), opt.theta.end(), theta.begin());
  std::string reason;
  if (!prior.in_support(theta, &reason)) throw DataError("--theta is outside the prior: " + reason);
  if (!(opt.z > 0)) throw DataError(cat("--z must be > 0 (got ", opt.z, "); the model needs a luminosity distance"));
  const sps::SedModel model(simulate::sed_settings_from_config(ctx.config, ctx.data_dir()));
  const std::vector<double> flux = model.evaluate(theta.data(), opt.z);
  std::vector<double> mag(flux.size());
  for (std::size_t b = 0; b < flux.size(); ++b) mag[b] = flux[b] > 0 ? 22.5 - 2.5 * std::log10(flux[b]) : NAN;
  const sps::DerivedQuantities d = model.derived(theta.data(), opt.z);

  if (!opt.spectrum.empty() && ctx.comm.is_root()) {
    const sps::Spectrum s = model.spectrum(theta.data(), opt.z);
    std::ofstream out(opt.spectrum);
    out << "# observed-frame spectrum at z = " << opt.z << "\n# wavelength_A  flambda_erg_s_cm2_A\n";
    out.precision(9);
    for (std::size_t i = 0; i < s.wavelength.size(); ++i) out << s.wavelength[i] << ' ' << s.flambda[i] << '\n';
    if (!out) throw IoError("cannot write spectrum file '" + opt.spectrum + "'");
  }
  if (!ctx.comm.is_root()) return 0;
  if (opt.json) {
    std::cout << "{\"bands\": " << json_strings(model.band_names()) << ", \"flux_nmgy\": " << json_array(flux)
              << ", \"mag\": " << json_array(mag) << ", \"z\": " << number(opt.z)
              << ", \"derived\": {\"log_mstar\": " << number(d.log_mstar_surviving)
              << ", \"log_sfr_100myr\": " << number(d.log_sfr_100myr)
              << ", \"log_sfr_1gyr\": " << number(d.log_sfr_1gyr) << ", \"log_age_mw\": " << number(d.log_age_mw)
              << ", \"log_z_mw\": " << number(d.log_z_mw) << ", \"t50\": " << number(d.t50_gyr)
              << ", \"t10\": " << number(d.t10_gyr) << ", \"t25\": " << number(d.t25_gyr)
              << ", \"t75\": " << number(d.t75_gyr) << ", \"t90\": " << number(d.t90_gyr) << "}}"
              << std::endl;
    return 0;
  }
  std::printf("z = %g, luminosity distance %.4f Mpc, age of the universe %.4f Gyr\n", opt.z,
              model.luminosity_distance_mpc(opt.z), model.age_gyr(opt.z));
  std::printf("%-24s %16s %10s\n", "band", "flux [nmgy]", "AB mag");
  for (std::size_t b = 0; b < flux.size(); ++b) {
    std::printf("%-24s %16.6g %10.4f\n", model.band_names()[b].c_str(), flux[b], mag[b]);
  }
  std::printf("log M*_surviving %.4f [M_sun], log SFR(100 Myr) %.4f, log SFR(1 Gyr) %.4f [M_sun/yr]\n",
              d.log_mstar_surviving, d.log_sfr_100myr, d.log_sfr_1gyr);
  std::printf("log mass-weighted age %.4f [log Gyr], log Z_MW %.4f, t50 %.4f Gyr\n", d.log_age_mw, d.log_z_mw,
              d.t50_gyr);
  std::printf("SFH percentiles (lookback by which X %% had formed) t10 %.4f, t25 %.4f, t50 %.4f, t75 %.4f, t90 %.4f Gyr\n",
              d.t10_gyr, d.t25_gyr, d.t50_gyr, d.t75_gyr, d.t90_gyr);
  return 0;
}

}  // namespace

void register_sed(Cli& cli) {
  auto opt = std::make_shared<SedOptions>();
  CLI::App* sub = cli.add("sed", "Evaluate the SED model once: band fluxes (nanomaggies), AB magnitudes, derived "
                                 "quantities",
                          [opt](Context& ctx) { return run_sed(ctx, *opt); });
  sub->add_option("--theta", opt->theta,
                  "12 physical parameters, comma-separated: log_mstar_formed, beta_1..beta_4, f_burst, "
                  "t_burst [Gyr lookback], gamma_1, gamma_2, tau_bc, tau_ism, n_dust")
      ->required()
      ->delimiter(',')
      ->expected(12);
  sub->add_option("--z", opt->z, "Redshift (> 0)")->capture_default_str();
  sub->add_flag("--json", opt->json, "Print JSON: {bands, flux_nmgy, mag, derived}");
  sub->add_option("--spectrum", opt->spectrum, "Also write the observed-frame spectrum (wavelength [A], f_lambda)");
}

}  // namespace sedpost::app
