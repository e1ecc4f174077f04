#include "app/model_file.hpp"

#include "app/cli.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "simulate/model_config.hpp"

namespace sedpost::app {

flow::Flow load_model_everywhere(Comm& comm, const std::string& path) {
  return flow::Flow::from_bytes(read_on_root<DataError>(comm, [&] { return flow::Flow::load(path).to_bytes(); }));
}

const std::string& require_sed_attachment(const flow::Flow& flow, const std::string& path, const char* name) {
  const std::string* blob = flow.metadata().attachment(name);
  if (!blob)
    throw ConfigError(cat(path, ": the model has no '", name, "' record: it was not trained on a `sedpost simulate` "
                          "training set (generic mode), or by an older sedpost; use `sedpost sample` for generic "
                          "models, or retrain"));
  return *blob;
}

SedSetup load_sed_setup(const flow::Flow& flow, const std::string& path, const std::string& data_dir) {
  Config training_config =
      Config::from_text(require_sed_attachment(flow, path, kTrainingConfigAttachment), path + " (training config)");
  catalog::TrainingSupport support = catalog::TrainingSupport::from_toml(
      require_sed_attachment(flow, path, kSupportAttachment), path + " (training support)");
  sps::SedModel model(simulate::sed_settings_from_config(training_config, data_dir));
  prior::Prior prior(prior::PriorSettings::from_config(training_config));
  std::optional<sps::SpectrographSettings> spectrograph;
  if (training_config.get_bool("spectrum.enabled", false))
    spectrograph = sps::SpectrographSettings::from_config(training_config);
  return SedSetup{std::move(training_config), std::move(support), std::move(model), prior, spectrograph};
}

bool is_sed_model(const flow::Flow& flow) {
  return flow.metadata().attachment(kTrainingConfigAttachment) && flow.metadata().attachment(kSupportAttachment);
}

}  // namespace sedpost::app
