// Test program: rank 1 throws a DataError while rank 0 waits in a barrier that rank 1 never
// reaches. The job must end non-zero, promptly, with a message naming rank 1 and the cause.
#include "app/guard.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "mpi/mpi_comm.hpp"

int main(int argc, char** argv) {
  sedpost::mpi::MpiSession session(&argc, &argv);
  sedpost::mpi::MpiComm comm;
  sedpost::logger().set_rank(comm.rank(), comm.size());
  return sedpost::app::run_guarded(comm, [&]() -> int {
    if (comm.rank() == 1) throw sedpost::DataError("probe: bad row 17 in catalog.fits");
    comm.barrier();  // would hang forever without the abort
    return 0;
  });
}
