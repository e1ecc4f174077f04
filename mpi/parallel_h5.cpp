#include "mpi/parallel_h5.hpp"

namespace sedpost::mpi {

io::FileAccess parallel_access(const MpiComm& comm) {
  using io::h5_check;
  using io::h5_check_id;
  io::FileAccess access;
  access.parallel = true;
  access.fapl = io::make_plist(h5_check_id(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate fapl"));
  h5_check(H5Pset_fapl_mpio(access.fapl.id(), comm.native(), MPI_INFO_NULL), "H5Pset_fapl_mpio");
  h5_check(H5Pset_coll_metadata_write(access.fapl.id(), true), "H5Pset_coll_metadata_write");
  access.dxpl = io::make_plist(h5_check_id(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate dxpl"));
  h5_check(H5Pset_dxpl_mpio(access.dxpl.id(), H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
  return access;
}

io::FileAccess file_access(Comm& comm) {
  if (auto* mpi = dynamic_cast<MpiComm*>(&comm); mpi && mpi->size() > 1) return parallel_access(*mpi);
  return io::FileAccess::serial();
}

}  // namespace sedpost::mpi
