// `sedpost noise fit`: the empirical noise model p(sigma | f) per band (MODEL.md section 5)
// from real catalogs (NSA-style FITS, or any catalog `infer` reads through the [catalog] column
// map: noise.reader), written to an HDF5 file that `simulate --noise` reads.
#include <filesystem>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "io/output_file.hpp"
#include "noise/nsa_photometry.hpp"
#include "noise/synthetic_noise.hpp"
#include "simulate/noise_file.hpp"

namespace sedpost::app {

namespace {

struct NoiseOptions {
  std::string action;                 ///< "fit"
  std::vector<std::string> catalogs;  ///< NSA FITS tables, or catalogs read through [catalog]
  std::string out = "noise.h5";
};

int run_noise(Context& ctx, const NoiseOptions& opt) {
  if (opt.action != "fit") throw ConfigError("unknown noise action '" + opt.action + "' (expected: fit)");
  if (opt.catalogs.empty() && !noise::SyntheticNoiseSettings::in_config(ctx.config))
    throw ConfigError("noise fit needs --catalog FILE (NSA-style FITS, or a catalog described by [catalog]), or "
                      "noise.synthetic_depth in the config");
  // One rank does the (small, serial) work; the others wait for the result.
  if (ctx.comm.is_root()) {
    const noise::NoiseModel model = opt.catalogs.empty() ? simulate::synthetic_noise_model(ctx.config)
                                                         : simulate::fit_noise_to_catalogs(ctx.config, opt.catalogs);
    SerialComm serial;
    io::OutputFile out(opt.out, serial, io::FileAccess::serial());
    simulate::write_noise_model(out.file(), "", model);
    out.file().set_attr("", "config", ctx.config.to_toml());
    out.commit();
    logger().info(cat("noise model from ", model.source(), ":\n", model.summary()));
    logger().info(cat("wrote ", opt.out));
  }
  ctx.comm.barrier();
  return 0;
}

}  // namespace

void register_noise(Cli& cli) {
  auto opt = std::make_shared<NoiseOptions>();
  CLI::App* sub = cli.add("noise", "Fit the empirical noise model p(sigma | flux) from a real catalog: "
                                   "`sedpost noise fit --catalog FILE --out noise.h5` (NSA FITS, or a "
                                   "CSV / HDF5 / FITS catalog read through the config's [catalog] columns: noise.reader)",
                          [opt](Context& ctx) { return run_noise(ctx, *opt); });
  sub->add_option("action", opt->action, "What to do: fit")->required()->check(CLI::IsMember({"fit"}));
  sub->add_option("--catalog", opt->catalogs,
                  "Catalog(s) (repeatable): NSA-style FITS with NMGY, NMGY_IVAR, or with noise.reader = \"catalog\" "
                  "(the default for .csv and .h5) any catalog `infer` reads, with the columns of [catalog]")
      ->check(CLI::ExistingFile);
  sub->add_option("--out", opt->out, "Output noise-model file (HDF5)")->capture_default_str();
}

}  // namespace sedpost::app
