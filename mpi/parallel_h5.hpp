#pragma once
/// Parallel-HDF5 file access (MPI-IO driver, collective transfers) for io::H5File.
#include "io/h5_file.hpp"
#include "mpi/mpi_comm.hpp"

namespace sedpost::mpi {

/// FileAccess for `comm`: MPI-IO file driver, collective metadata writes, collective dataset
/// transfers. With one rank this is still valid (and equivalent to serial access).
io::FileAccess parallel_access(const MpiComm& comm);

/// Same driver, but dataset transfers are independent: each rank may call write_rows() a
/// different number of times (dynamic work distribution). Creating datasets and writing
/// attributes stay collective.
io::FileAccess parallel_access_independent(const MpiComm& comm);

/// The access to use for `comm`: MPI-IO for an MpiComm (any size), serial for SerialComm.
io::FileAccess file_access(Comm& comm);
/// file_access() with independent transfers (see parallel_access_independent).
io::FileAccess file_access_independent(Comm& comm);

}  // namespace sedpost::mpi
