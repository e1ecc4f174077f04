#pragma once
/// Parallel-HDF5 file access (MPI-IO driver, collective transfers) for io::H5File.
#include "io/h5_file.hpp"
#include "mpi/mpi_comm.hpp"

namespace sedpost::mpi {

/// FileAccess for `comm`: MPI-IO file driver, collective metadata writes, collective dataset
/// transfers. With one rank this is still valid (and equivalent to serial access).
io::FileAccess parallel_access(const MpiComm& comm);

/// The access to use for `comm`: parallel when size() > 1 or MPI is in use, serial otherwise.
io::FileAccess file_access(Comm& comm);

}  // namespace sedpost::mpi
