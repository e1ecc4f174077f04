#pragma once
/// Loading model files in MPI jobs, and the attachments `train` stores for SED models.
#include <string>

#include "core/comm.hpp"
#include "flow/flow.hpp"

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

}  // namespace sedpost::app
