#include <gtest/gtest.h>

#include <filesystem>

#include "io/output_file.hpp"
#include "mpi/parallel_h5.hpp"

namespace sedpost::mpi {
namespace {

/// Row i of the test dataset: a deterministic function of the global row index only.
std::vector<float> make_rows(std::uint64_t begin, std::uint64_t count, std::uint64_t cols) {
  std::vector<float> v(count * cols);
  for (std::uint64_t i = 0; i < count; ++i) {
    for (std::uint64_t j = 0; j < cols; ++j) v[i * cols + j] = static_cast<float>((begin + i) * 1000 + j) * 0.25f;
  }
  return v;
}

std::string shared_temp(MpiComm& comm, const std::string& name) {
  std::string dir = comm.is_root() ? std::filesystem::temp_directory_path().string() : "";
  comm.broadcast(dir, 0);
  return dir + "/sedpost_mpi_" + std::to_string(comm.size()) + "_" + name;
}

TEST(MpiParallelH5, ParallelWriteReadsBackIdenticalToSerialWrite) {
  MpiComm comm;
  const std::uint64_t n = 1003, cols = 11;  // not divisible by the rank count
  const std::string par = shared_temp(comm, "parallel.h5");
  const std::string ser = shared_temp(comm, "serial.h5");
  {
    io::FileAccess access = parallel_access(comm);
    io::OutputFile out(par, comm, access);
    out.file().create_dataset("x", io::DType::kFloat32, {n, cols}, 128);
    out.file().set_attr("x", "units", std::string("nanomaggies"));
    out.file().set_attr("", "config", std::string("seed = 1\n"));
    const RowRange mine = block_range(n, comm.rank(), comm.size());
    const auto rows = make_rows(mine.begin, mine.count(), cols);
    out.file().write_rows("x", mine.begin, mine.count(), rows.data());
    out.commit();
  }
  if (comm.is_root()) {
    {
      io::H5File f = io::H5File::create(ser, io::FileAccess::serial());
      f.create_dataset("x", io::DType::kFloat32, {n, cols}, 128);
      const auto rows = make_rows(0, n, cols);
      f.write_rows("x", 0, n, rows.data());
    }
    EXPECT_TRUE(io::is_complete(par));
    const auto a = io::H5File::open_read(par).read_all_float("x");
    const auto b = io::H5File::open_read(ser).read_all_float("x");
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(a, b);
    EXPECT_EQ(io::H5File::open_read(par).attr_string("x", "units"), "nanomaggies");
    std::filesystem::remove(par);
    std::filesystem::remove(ser);
  }
  comm.barrier();
}

TEST(MpiParallelH5, RanksWithNoRowsTakePartInCollectiveWrites) {
  MpiComm comm;
  const std::string path = shared_temp(comm, "few_rows.h5");
  {
    io::FileAccess access = parallel_access(comm);
    io::OutputFile out(path, comm, access);
    out.file().create_dataset("y", io::DType::kFloat64, {1, 2});
    const double row[2] = {1.0, 2.0};
    out.file().write_rows("y", 0, comm.is_root() ? 1 : 0, row);
    out.commit();
  }
  if (comm.is_root()) {
    EXPECT_EQ(io::H5File::open_read(path).read_all_double("y"), (std::vector<double>{1.0, 2.0}));
    std::filesystem::remove(path);
  }
  comm.barrier();
}

}  // namespace
}  // namespace sedpost::mpi
