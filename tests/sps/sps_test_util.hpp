#pragma once
#include <cstdlib>
#include <string>

namespace sedpost::sps::test {

/// SEDPOST_DATA_DIR, else $SEDPOST_SOURCE_DIR/../shared/data, else ../shared/data.
inline std::string data_dir() {
  if (const char* d = std::getenv("SEDPOST_DATA_DIR"); d && *d) return d;
  if (const char* s = std::getenv("SEDPOST_SOURCE_DIR"); s && *s) return std::string(s) + "/../shared/data";
  return "../shared/data";
}

inline std::string bc03_dir() { return data_dir() + "/sps/bc03/Padova1994/chabrier"; }

}  // namespace sedpost::sps::test
