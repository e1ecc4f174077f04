#include "io/output_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.hpp"

namespace sedpost::io {
namespace {

TEST(IoOutputFile, IncompleteUntilCommitThenRenamed) {
  SerialComm comm;
  const std::string path = (std::filesystem::temp_directory_path() / "sedpost_out.h5").string();
  std::filesystem::remove(path);
  {
    OutputFile out(path, comm, FileAccess::serial());
    out.file().create_dataset("x", DType::kFloat32, {3});
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_TRUE(std::filesystem::exists(partial_path(path)));
    EXPECT_FALSE(is_complete(partial_path(path)));
    out.commit();
  }
  EXPECT_TRUE(is_complete(path));
  EXPECT_FALSE(std::filesystem::exists(partial_path(path)));
  std::filesystem::remove(path);
}

TEST(IoOutputFile, ResumeReopensThePartialFile) {
  SerialComm comm;
  const std::string path = (std::filesystem::temp_directory_path() / "sedpost_resume.h5").string();
  std::filesystem::remove(partial_path(path));
  {
    OutputFile out(path, comm, FileAccess::serial());
    out.file().create_dataset("x", DType::kFloat64, {2});
    const double v = 3.0;
    out.file().write_rows("x", 0, 1, &v);
    // Interrupted: never committed.
  }
  OutputFile again(path, comm, FileAccess::serial(), /*resume=*/true);
  EXPECT_TRUE(again.resumed());
  EXPECT_EQ(again.file().read_all_double("x")[0], 3.0);
  again.commit();
  EXPECT_TRUE(is_complete(path));
  std::filesystem::remove(path);
}

TEST(IoOutputFile, MissingDirectoryIsAnIoError) {
  SerialComm comm;
  EXPECT_THROW(OutputFile("/nonexistent-dir/out.h5", comm, FileAccess::serial()), IoError);
}

}  // namespace
}  // namespace sedpost::io
