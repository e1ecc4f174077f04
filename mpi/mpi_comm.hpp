#pragma once
/// MPI implementation of sedpost::Comm over MPI_COMM_WORLD, and the MPI session.
/// This folder is the only code that includes <mpi.h>.
#include <mpi.h>

#include "core/comm.hpp"

namespace sedpost::mpi {

/// RAII MPI_Init_thread / MPI_Finalize. Safe to construct under plain `./sedpost` (singleton
/// MPI) as well as under mpirun. Sets MPI_ERRORS_RETURN so failures become exceptions.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

/// Throws sedpost::Error with MPI's error string when `code` != MPI_SUCCESS.
void mpi_check(int code, const char* what);

class MpiComm final : public Comm {
 public:
  explicit MpiComm(MPI_Comm comm = MPI_COMM_WORLD);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  /// Rank in MPI_Comm_split_type(MPI_COMM_TYPE_SHARED): the ranks on this node.
  int node_rank() const override { return node_rank_; }
  MPI_Comm native() const { return comm_; }

  void barrier() override;
  void broadcast(void* data, std::size_t bytes, int root) override;
  using Comm::broadcast;
  void allreduce_sum(float* data, std::size_t n) override;
  void allreduce_sum(double* data, std::size_t n) override;
  void allreduce_sum(std::int64_t* data, std::size_t n) override;
  void allreduce_max(double* data, std::size_t n) override;
  std::vector<std::string> gather(const std::string& local, int root) override;
  /// MPI_Abort on the whole job: mpirun then ends every rank and exits non-zero.
  [[noreturn]] void abort(int exit_code) override;

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  int node_rank_ = 0;
};

/// Dynamic work distribution: a job-wide counter (MPI one-sided fetch-and-add on rank 0).
/// Each rank calls next() to claim the next chunk index until it returns >= n_chunks; a
/// fast rank simply claims more chunks. Collective construction and destruction.
class WorkCounter {
 public:
  WorkCounter(const MpiComm& comm, std::int64_t start = 0);
  ~WorkCounter();
  WorkCounter(const WorkCounter&) = delete;
  WorkCounter& operator=(const WorkCounter&) = delete;
  /// Atomically returns the current value and adds `step` (not collective).
  std::int64_t next(std::int64_t step = 1);

 private:
  MPI_Win win_ = MPI_WIN_NULL;
  std::int64_t* base_ = nullptr;
};

}  // namespace sedpost::mpi
