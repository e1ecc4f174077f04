#include "core/data_dir.hpp"

#include <cstdlib>
#include <filesystem>

#include "core/error.hpp"

namespace sedpost {

std::string resolve_data_dir(const std::string& cli_value, const std::string& config_value) {
  std::string dir = cli_value;
  std::string how = "--data-dir";
  if (dir.empty()) {
    dir = config_value;
    how = "config key data_dir";
  }
  if (dir.empty()) {
    if (const char* env = std::getenv("SEDPOST_DATA_DIR")) dir = env;
    how = "SEDPOST_DATA_DIR";
  }
  if (dir.empty()) {
    throw ConfigError(
        "no data directory: set the environment variable SEDPOST_DATA_DIR, the config key "
        "data_dir, or pass --data-dir (docs/data.md lists the files and where to download them)");
  }
  if (!std::filesystem::is_directory(dir)) {
    throw DataError("data directory '" + dir + "' (from " + how +
                    ") does not exist or is not a directory");
  }
  return dir;
}

std::string data_source_hint(const std::string& p) {
  auto starts = [&](const char* prefix) { return p.rfind(prefix, 0) == 0; };
  if (starts("sps/bc03")) return "BC03 SSPs (Bruzual & Charlot 2003, GALAXEV), see docs/data.md";
  if (starts("sps/maraston2005")) return "Maraston 2005 SSPs, see docs/data.md";
  if (starts("filters/sedpy")) return "sedpy filter curves (github bd-j/sedpy, data/filters)";
  if (starts("filters/speclite")) return "speclite filter curves (github desihub/speclite, data/filters)";
  if (starts("provabgs")) return "PROVABGS NMF bases (github changhoonhahn/provabgs, src/provabgs/dat)";
  if (starts("catalogs/nsa")) return "NASA-Sloan Atlas rows, see docs/data.md";
  if (starts("sbibm")) return "sbibm benchmark tasks (github sbi-benchmark/sbibm)";
  return "see docs/data.md";
}

void require_data_files(const std::string& data_dir, const std::vector<std::string>& relative_paths) {
  std::string missing;
  for (const auto& rel : relative_paths) {
    if (!std::filesystem::exists(std::filesystem::path(data_dir) / rel)) {
      missing += "\n  " + rel + "  <- " + data_source_hint(rel);
    }
  }
  if (!missing.empty()) {
    throw DataError("data directory '" + data_dir + "' lacks:" + missing +
                    "\n(docs/data.md says where to download each file)");
  }
}

std::string resolve_input_path(const std::string& path, const std::string& data_dir) {
  namespace fs = std::filesystem;
  if (fs::exists(path)) return path;
  const fs::path in_data = fs::path(data_dir) / path;
  if (!fs::path(path).is_absolute() && !data_dir.empty() && fs::exists(in_data)) return in_data.string();
  throw DataError("input file '" + path + "' not found (looked in the working directory" +
                  (fs::path(path).is_absolute() || data_dir.empty() ? std::string(")")
                                                                    : " and in the data directory " + data_dir + ")"));
}

}  // namespace sedpost
