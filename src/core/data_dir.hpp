#pragma once
/// Where sedpost finds its reference data (SSP libraries, filter curves, PROVABGS bases).
/// Resolution order: the explicit `--data-dir` value, then the config key `data_dir`, then
/// the environment variable SEDPOST_DATA_DIR. docs/data.md says where to download each file.
#include <string>
#include <vector>

namespace sedpost {

/// Returns the data directory; throws ConfigError naming all three ways to set it when
/// none is set, or DataError when the chosen directory does not exist.
std::string resolve_data_dir(const std::string& cli_value, const std::string& config_value);

/// Throws DataError listing every path of `relative_paths` missing below `data_dir`, with the
/// public source of each (from the table in data_dir.cpp) and a pointer to docs/data.md.
void require_data_files(const std::string& data_dir, const std::vector<std::string>& relative_paths);

/// An input file named on the command line or in a config: `path` itself when it exists (relative
/// to the working directory), else `data_dir`/`path` for a relative path that exists there (so
/// configs can name files of the data directory, e.g. "catalogs/nsa/A2052_NSAmastertable.fits").
/// Throws DataError naming both places when neither exists.
std::string resolve_input_path(const std::string& path, const std::string& data_dir);

/// Where to obtain a data file, e.g. "sps/bc03/..." -> "BC03 (Bruzual & Charlot 2003) ...".
std::string data_source_hint(const std::string& relative_path);

}  // namespace sedpost
