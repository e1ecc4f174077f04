// Test program: rank 1 throws a DataError while rank 0 waits in a barrier that rank 1 never
// reaches. The job must end non-zero, promptly, with a message naming rank 1 and the cause.
// With `--in-output-file DIR` rank 1 throws while a parallel HDF5 output file (DIR/probe.h5) is
// open on both ranks: its collective close must not run on rank 1 alone (io::OutputFile).
#include <string>

#include "app/guard.hpp"
#include "core/error.hpp"
#include "core/logger.hpp"
#include "io/output_file.hpp"
#include "mpi/mpi_comm.hpp"
#include "mpi/parallel_h5.hpp"

int main(int argc, char** argv) {
  sedpost::mpi::MpiSession session(&argc, &argv);
  sedpost::mpi::MpiComm comm;
  sedpost::logger().set_rank(comm.rank(), comm.size());
  const std::string dir = argc == 3 && std::string(argv[1]) == "--in-output-file" ? argv[2] : "";
  return sedpost::app::run_guarded(comm, [&]() -> int {
    if (dir.empty()) {
      if (comm.rank() == 1) throw sedpost::DataError("probe: bad row 17 in catalog.fits");
      comm.barrier();  // would hang forever without the abort
      return 0;
    }
    sedpost::io::OutputFile out(dir + "/probe.h5", comm, sedpost::mpi::file_access(comm));
    out.file().flush();
    if (comm.rank() == 1) throw sedpost::DataError("probe: bad row 17 in catalog.fits");
    comm.barrier();  // rank 1 unwinds through `out` meanwhile: a collective close would hang it
    out.commit();
    return 0;
  });
}
