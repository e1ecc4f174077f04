#include "app/model_file.hpp"

#include "app/cli.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"

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

}  // namespace sedpost::app
