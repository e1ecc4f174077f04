#include "core/data_dir.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/error.hpp"

namespace sedpost {
namespace {

TEST(CoreDataDir, CliValueWinsThenConfigThenEnvironment) {
  const std::string tmp = std::filesystem::temp_directory_path().string();
  EXPECT_EQ(resolve_data_dir(tmp, "/nonexistent/config"), tmp);
  EXPECT_EQ(resolve_data_dir("", tmp), tmp);
  ::setenv("SEDPOST_DATA_DIR", tmp.c_str(), 1);
  EXPECT_EQ(resolve_data_dir("", ""), tmp);
}

TEST(CoreDataDir, UnsetOrMissingDirectoryIsAClearError) {
  ::unsetenv("SEDPOST_DATA_DIR");
  EXPECT_THROW(resolve_data_dir("", ""), ConfigError);
  EXPECT_THROW(resolve_data_dir("/nonexistent/sedpost-data", ""), DataError);
}

TEST(CoreDataDir, MissingFilesAreListedWithTheirSource) {
  const std::string tmp = std::filesystem::temp_directory_path().string();
  try {
    require_data_files(tmp, {"sps/bc03/Padova1994/chabrier/x.ised", "filters/speclite/sdss2010-u.ecsv"});
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("x.ised"), std::string::npos);
    EXPECT_NE(msg.find("Bruzual"), std::string::npos);
    EXPECT_NE(msg.find("speclite"), std::string::npos);
    EXPECT_NE(msg.find("docs/data.md"), std::string::npos);
  }
}

}  // namespace
}  // namespace sedpost
