#pragma once
/// Loading model files in MPI jobs, and the attachments `train` stores for SED models.
#include <optional>
#include <string>

#include "catalog/support.hpp"
#include "core/comm.hpp"
#include "core/config.hpp"
#include "flow/flow.hpp"
#include "prior/prior.hpp"
#include "sps/sed_model.hpp"
#include "sps/spectrograph.hpp"

namespace sedpost::app {

/// Collective. Reads the model file on rank 0 and broadcasts its bytes (one reader, not P).
/// Throws DataError / IoError on every rank when the file is missing or corrupt.
flow::Flow load_model_everywhere(Comm& comm, const std::string& path);

/// Attachment names (FlowMetadata::attachments) written by `train` for SED training sets.
inline constexpr const char* kTrainingConfigAttachment = "training_config";  ///< the training set's TOML
inline constexpr const char* kSupportAttachment = "support";                 ///< catalog::TrainingSupport TOML

/// The attachment `name` of `flow`; throws ConfigError explaining that `path` was not trained
/// on a `sedpost simulate` training set when it is absent.
const std::string& require_sed_attachment(const flow::Flow& flow, const std::string& path, const char* name);

/// What an SED model file implies beyond its flow: the training set's config, its support
/// tables, and the SED model and prior built from them (what the posterior of a galaxy needs).
struct SedSetup {
  Config training_config;
  catalog::TrainingSupport support;
  sps::SedModel model;
  prior::Prior prior;
  /// The training set's spectrograph ([spectrum] enabled), else empty.
  std::optional<sps::SpectrographSettings> spectrograph;
};

/// Reads the attachments of `flow` (loaded from `path`) and builds the SED model from the data
/// in `data_dir`. Throws ConfigError when `flow` is not an SED model (see require_sed_attachment),
/// DataError when an attachment or a data file is malformed.
SedSetup load_sed_setup(const flow::Flow& flow, const std::string& path, const std::string& data_dir);

/// True when `flow` carries the attachments of an SED model (trained on a `sedpost simulate` set).
bool is_sed_model(const flow::Flow& flow);

}  // namespace sedpost::app
