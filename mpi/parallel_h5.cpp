#include "mpi/parallel_h5.hpp"

namespace sedpost::mpi {

namespace {

io::FileAccess make_access(const MpiComm& comm, H5FD_mpio_xfer_t transfer) {
  using io::h5_check;
  using io::h5_check_id;
  io::FileAccess access;
  access.parallel = true;
  access.fapl = io::make_plist(h5_check_id(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate fapl"));
  h5_check(H5Pset_fapl_mpio(access.fapl.id(), comm.native(), MPI_INFO_NULL), "H5Pset_fapl_mpio");
  h5_check(H5Pset_coll_metadata_write(access.fapl.id(), true), "H5Pset_coll_metadata_write");
  access.dxpl = io::make_plist(h5_check_id(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate dxpl"));
  h5_check(H5Pset_dxpl_mpio(access.dxpl.id(), transfer), "H5Pset_dxpl_mpio");
  return access;
}

}  // namespace

io::FileAccess parallel_access(const MpiComm& comm) { return make_access(comm, H5FD_MPIO_COLLECTIVE); }

io::FileAccess parallel_access_independent(const MpiComm& comm) {
  return make_access(comm, H5FD_MPIO_INDEPENDENT);
}

io::FileAccess file_access_independent(Comm& comm) {
  if (auto* mpi = dynamic_cast<MpiComm*>(&comm)) return parallel_access_independent(*mpi);
  return io::FileAccess::serial();
}

io::FileAccess file_access(Comm& comm) {
  // MPI-IO at every rank count (one rank included) so that a file's bytes do not depend on
  // how many ranks wrote it.
  if (auto* mpi = dynamic_cast<MpiComm*>(&comm)) return parallel_access(*mpi);
  return io::FileAccess::serial();
}

}  // namespace sedpost::mpi
