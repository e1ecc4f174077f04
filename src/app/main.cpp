// Entry point of the `sedpost` binary: MPI session, communicator, subcommands.
#include "app/cli.hpp"
#include "app/commands.hpp"
#include "mpi/mpi_comm.hpp"

int main(int argc, char** argv) {
  sedpost::mpi::MpiSession session(&argc, &argv);
  sedpost::mpi::MpiComm comm;
  sedpost::app::Cli cli;
  sedpost::app::register_all(cli);
  return cli.main(argc, argv, comm);
}
