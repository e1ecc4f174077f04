#include "io/h5_file.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.hpp"

namespace sedpost::io {
namespace {

std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("sedpost_io_" + name)).string();
}

TEST(IoH5File, RowsRoundTripInAnyOrder) {
  const std::string path = temp_file("rows.h5");
  {
    H5File f = H5File::create(path, FileAccess::serial());
    f.create_dataset("x", DType::kFloat32, {10, 3}, 4);
    std::vector<float> rows(5 * 3);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<float>(i) + 0.5f;
    f.write_rows("x", 5, 5, rows.data());
    f.write_rows("x", 0, 5, rows.data());
    EXPECT_EQ(f.shape("x"), (std::vector<std::uint64_t>{10, 3}));
  }
  H5File f = H5File::open_read(path);
  std::vector<double> back(3 * 3);
  f.read_rows("x", 6, 3, back.data());  // float32 on disk, read as double
  for (std::size_t i = 0; i < back.size(); ++i) EXPECT_DOUBLE_EQ(back[i], static_cast<double>(i + 3) + 0.5);
  std::filesystem::remove(path);
}

TEST(IoH5File, UnwrittenFloatRowsAreNaN) {
  const std::string path = temp_file("nan.h5");
  {
    H5File f = H5File::create(path, FileAccess::serial());
    f.create_dataset("y", DType::kFloat64, {4});
    const double one = 1.0;
    f.write_rows("y", 1, 1, &one);
  }
  auto y = H5File::open_read(path).read_all_double("y");
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 1.0);
  std::filesystem::remove(path);
}

TEST(IoH5File, AttributesAndStrings) {
  const std::string path = temp_file("attrs.h5");
  {
    H5File f = H5File::create(path, FileAccess::serial());
    f.create_dataset("d", DType::kInt64, {2});
    f.set_attr("", "config", std::string("seed = 1\n"));
    f.set_attr("", "bands", std::vector<std::string>{"u", "g", "r"});
    f.set_attr("d", "units", std::string("nanomaggies"));
    f.set_attr("", "lower", std::vector<double>{1.5, -2});
    f.set_attr("", "seed", std::int64_t{42});
    f.set_attr("", "seed", std::int64_t{43});  // overwrite
    f.create_string_dataset("names", 3, 8);
    f.write_string_rows("names", 0, {"alpha", "a-very-long-name", ""});
  }
  H5File f = H5File::open_read(path);
  EXPECT_EQ(f.attr_string("", "config"), "seed = 1\n");
  EXPECT_EQ(f.attr_strings("", "bands"), (std::vector<std::string>{"u", "g", "r"}));
  EXPECT_EQ(f.attr_string("d", "units"), "nanomaggies");
  EXPECT_EQ(f.attr_doubles("", "lower"), (std::vector<double>{1.5, -2}));
  EXPECT_EQ(f.attr_int("", "seed"), 43);
  EXPECT_EQ(f.read_strings("names"), (std::vector<std::string>{"alpha", "a-very-l", ""}));
  std::filesystem::remove(path);
}

TEST(IoH5File, ErrorsNameFileAndObject) {
  const std::string path = temp_file("errors.h5");
  { H5File::create(path, FileAccess::serial()).create_dataset("a", DType::kFloat32, {2, 2}); }
  H5File f = H5File::open_read(path);
  try {
    f.shape("theta");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("theta"), std::string::npos);
  }
  std::vector<float> buf(8);
  EXPECT_THROW(f.read_rows("a", 1, 2, buf.data()), DataError);
  EXPECT_THROW(f.attr_string("", "nothing"), DataError);
  EXPECT_FALSE(f.has("group/missing"));
  EXPECT_THROW(H5File::open_read(temp_file("does-not-exist.h5")), IoError);
  std::filesystem::remove(path);
}

TEST(IoH5File, OpeningANonHdf5FileCarriesHdf5Message) {
  const std::string path = temp_file("not-hdf5.txt");
  { std::FILE* fp = std::fopen(path.c_str(), "w"); std::fputs("hello", fp); std::fclose(fp); }
  try {
    H5File::open_read(path);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("HDF5:"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sedpost::io
