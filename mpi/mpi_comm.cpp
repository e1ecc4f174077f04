#include "mpi/mpi_comm.hpp"

#include <cstdlib>
#include <limits>

#include "core/error.hpp"

namespace sedpost::mpi {

void mpi_check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, msg, &len);
  throw Error(std::string("MPI failure in ") + what + ": " + std::string(msg, static_cast<std::size_t>(len)));
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    // FUNNELED: LibTorch/OpenMP threads compute, only the main thread calls MPI.
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

MpiComm::MpiComm(MPI_Comm comm) : comm_(comm) {
  mpi_check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  MPI_Comm node = MPI_COMM_NULL;
  mpi_check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  mpi_check(MPI_Comm_rank(node, &node_rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_free(&node), "MPI_Comm_free");
}

void MpiComm::barrier() { mpi_check(MPI_Barrier(comm_), "MPI_Barrier"); }

void MpiComm::broadcast(void* data, std::size_t bytes, int root) {
  // MPI counts are int: send in pieces of at most 1 GiB.
  auto* p = static_cast<char*>(data);
  constexpr std::size_t kPiece = std::size_t{1} << 30;
  for (std::size_t off = 0; off < bytes; off += kPiece) {
    const int n = static_cast<int>(std::min(kPiece, bytes - off));
    mpi_check(MPI_Bcast(p + off, n, MPI_BYTE, root, comm_), "MPI_Bcast");
  }
}

namespace {

template <class T>
void allreduce(T* data, std::size_t n, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  constexpr std::size_t kPiece = std::numeric_limits<int>::max() / 2;
  for (std::size_t off = 0; off < n; off += kPiece) {
    const int count = static_cast<int>(std::min(kPiece, n - off));
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, data + off, count, type, op, comm), "MPI_Allreduce");
  }
}

}  // namespace

void MpiComm::allreduce_sum(float* data, std::size_t n) { allreduce(data, n, MPI_FLOAT, MPI_SUM, comm_); }
void MpiComm::allreduce_sum(double* data, std::size_t n) { allreduce(data, n, MPI_DOUBLE, MPI_SUM, comm_); }
void MpiComm::allreduce_sum(std::int64_t* data, std::size_t n) {
  allreduce(data, n, MPI_INT64_T, MPI_SUM, comm_);
}
void MpiComm::allreduce_max(double* data, std::size_t n) { allreduce(data, n, MPI_DOUBLE, MPI_MAX, comm_); }

std::vector<std::string> MpiComm::gather(const std::string& local, int root) {
  int len = static_cast<int>(local.size());
  std::vector<int> lens(rank_ == root ? static_cast<std::size_t>(size_) : 0);
  mpi_check(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, root, comm_), "MPI_Gather");
  std::vector<int> displs;
  std::string all;
  if (rank_ == root) {
    displs.resize(lens.size());
    int total = 0;
    for (std::size_t i = 0; i < lens.size(); ++i) {
      displs[i] = total;
      total += lens[i];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  mpi_check(MPI_Gatherv(local.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR,
                        root, comm_),
            "MPI_Gatherv");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < lens.size(); ++i) {
    out.push_back(all.substr(static_cast<std::size_t>(displs[i]), static_cast<std::size_t>(lens[i])));
  }
  return out;
}

void MpiComm::abort(int exit_code) {
  MPI_Abort(comm_, exit_code == 0 ? 1 : exit_code);
  std::_Exit(exit_code == 0 ? 1 : exit_code);
}

WorkCounter::WorkCounter(const MpiComm& comm, std::int64_t start) {
  const MPI_Aint bytes = comm.rank() == 0 ? static_cast<MPI_Aint>(sizeof(std::int64_t)) : 0;
  mpi_check(MPI_Win_allocate(bytes, sizeof(std::int64_t), MPI_INFO_NULL, comm.native(), &base_, &win_),
            "MPI_Win_allocate");
  if (comm.rank() == 0) {
    mpi_check(MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, win_), "MPI_Win_lock");
    *base_ = start;
    mpi_check(MPI_Win_unlock(0, win_), "MPI_Win_unlock");
  }
  mpi_check(MPI_Barrier(comm.native()), "MPI_Barrier");
}

WorkCounter::~WorkCounter() {
  if (win_ != MPI_WIN_NULL) MPI_Win_free(&win_);
}

std::int64_t WorkCounter::next(std::int64_t step) {
  std::int64_t old = 0;
  mpi_check(MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, win_), "MPI_Win_lock");
  mpi_check(MPI_Fetch_and_op(&step, &old, MPI_INT64_T, 0, 0, MPI_SUM, win_), "MPI_Fetch_and_op");
  mpi_check(MPI_Win_unlock(0, win_), "MPI_Win_unlock");
  return old;
}

}  // namespace sedpost::mpi
