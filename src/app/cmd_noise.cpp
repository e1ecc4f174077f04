// `sedpost noise fit`: the empirical noise model p(sigma | f) per band (MODEL.md section 5)
// from real NSA-style catalogs, written to an HDF5 file that `simulate --noise` reads.
#include <filesystem>

#include "app/commands.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "io/output_file.hpp"
#include "noise/nsa_photometry.hpp"
#include "simulate/noise_file.hpp"

namespace sedpost::app {

namespace {

struct NoiseOptions {
  std::string action;                 ///< "fit"
  std::vector<std::string> catalogs;  ///< FITS tables with NMGY, NMGY_IVAR
  std::string out = "noise.h5";
};

int run_noise(Context& ctx, const NoiseOptions& opt) {
  if (opt.action != "fit") throw ConfigError("unknown noise action '" + opt.action + "' (expected: fit)");
  if (opt.catalogs.empty()) throw ConfigError("noise fit needs --catalog FILE (NSA-style FITS with NMGY, NMGY_IVAR)");
  // One rank does the (small, serial) work; the others wait for the result.
  if (ctx.comm.is_root()) {
    const noise::CatalogPhotometry phot =
        noise::read_nsa_photometry(opt.catalogs, simulate::nsa_columns_from_config(ctx.config));
    noise::NoiseModel model = noise::NoiseModel::fit_ivar(phot.flux_nmgy, phot.ivar, phot.bands,
                                                          noise::NoiseSettings::from_config(ctx.config));
    std::string source;
    for (const auto& s : phot.sources) source += (source.empty() ? "" : ", ") + s;
    model.set_source(source);
    SerialComm serial;
    io::OutputFile out(opt.out, serial, io::FileAccess::serial());
    simulate::write_noise_model(out.file(), "", model);
    out.file().set_attr("", "config", ctx.config.to_toml());
    out.commit();
    logger().info(cat("noise model from ", phot.n_rows, " rows of ", source, ":\n", model.summary()));
    logger().info(cat("wrote ", opt.out));
  }
  ctx.comm.barrier();
  return 0;
}

}  // namespace

void register_noise(Cli& cli) {
  auto opt = std::make_shared<NoiseOptions>();
  CLI::App* sub = cli.add("noise", "Fit the empirical noise model p(sigma | flux) from a real catalog: "
                                   "`sedpost noise fit --catalog FILE.fits --out noise.h5`",
                          [opt](Context& ctx) { return run_noise(ctx, *opt); });
  sub->add_option("action", opt->action, "What to do: fit")->required()->check(CLI::IsMember({"fit"}));
  sub->add_option("--catalog", opt->catalogs, "NSA-style FITS table(s) with NMGY and NMGY_IVAR (repeatable)")
      ->check(CLI::ExistingFile);
  sub->add_option("--out", opt->out, "Output noise-model file (HDF5)")->capture_default_str();
}

}  // namespace sedpost::app
