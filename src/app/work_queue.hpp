#pragma once
/// Dynamic distribution of work items 0, 1, 2, ... over the ranks: each call to next() claims
/// the next unclaimed item (MPI one-sided fetch-and-add under MpiComm; round-robin by rank
/// under any other Comm, where there is one rank). Construction and destruction are collective.
#include <cstdint>
#include <memory>

#include "core/comm.hpp"
#include "mpi/mpi_comm.hpp"

namespace sedpost::app {

class WorkQueue {
 public:
  explicit WorkQueue(Comm& comm) : next_static_(comm.rank()), stride_(comm.size()) {
    if (auto* mpi_comm = dynamic_cast<mpi::MpiComm*>(&comm)) counter_ = std::make_unique<mpi::WorkCounter>(*mpi_comm);
  }
  /// The next item for this rank (not collective); items past the end are the caller's stop.
  std::int64_t next() {
    if (counter_) return counter_->next(1);
    const std::int64_t k = next_static_;
    next_static_ += stride_;
    return k;
  }
  /// Collective: frees the counter (call when every rank has finished claiming).
  void close() { counter_.reset(); }

 private:
  std::unique_ptr<mpi::WorkCounter> counter_;
  std::int64_t next_static_;
  std::int64_t stride_;
};

}  // namespace sedpost::app
