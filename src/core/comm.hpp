#pragma once
/// The communicator interface every parallel algorithm takes. SerialComm (this folder) is
/// the single-process implementation; MpiComm (mpi/) wraps MPI_COMM_WORLD. Algorithms that
/// take a `Comm&` are therefore testable without mpirun.
///
/// All methods marked "collective" must be called by every rank in the same order.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sedpost {

class Comm {
 public:
  virtual ~Comm() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }
  /// This rank's index among the ranks on its node (0 .. ranks on the node - 1): which of the
  /// node's GPUs it takes. Default: rank(), right when every rank shares one node.
  virtual int node_rank() const { return rank(); }

  /// Collective: blocks until every rank has entered.
  virtual void barrier() = 0;

  /// Collective: copies `bytes` bytes at `data` from `root` to every rank.
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;

  /// Collective: element-wise sum over ranks, in place, result on every rank.
  virtual void allreduce_sum(float* data, std::size_t n) = 0;
  virtual void allreduce_sum(double* data, std::size_t n) = 0;
  virtual void allreduce_sum(std::int64_t* data, std::size_t n) = 0;
  /// Collective: element-wise maximum over ranks, in place.
  virtual void allreduce_max(double* data, std::size_t n) = 0;

  /// Collective: every rank's string, in rank order, on `root` (empty vector elsewhere).
  virtual std::vector<std::string> gather(const std::string& local, int root) = 0;

  /// Ends the whole job (all ranks) with `exit_code`. Never returns.
  [[noreturn]] virtual void abort(int exit_code) = 0;

  // ---- convenience wrappers (collective) ----
  /// Broadcast a string of any length from `root`.
  void broadcast(std::string& s, int root);
  /// Broadcast one trivially copyable value.
  template <class T>
  void broadcast_value(T& v, int root) {
    broadcast(&v, sizeof(T), root);
  }
  /// Sum of one value over ranks.
  double sum(double v) {
    allreduce_sum(&v, 1);
    return v;
  }
  std::int64_t sum(std::int64_t v) {
    allreduce_sum(&v, 1);
    return v;
  }
  /// Maximum of one value over ranks.
  double max(double v) {
    allreduce_max(&v, 1);
    return v;
  }
};

/// Single-process communicator: rank 0 of 1; every collective is a no-op.
class SerialComm final : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void barrier() override {}
  void broadcast(void*, std::size_t, int) override {}
  using Comm::broadcast;
  void allreduce_sum(float*, std::size_t) override {}
  void allreduce_sum(double*, std::size_t) override {}
  void allreduce_sum(std::int64_t*, std::size_t) override {}
  void allreduce_max(double*, std::size_t) override {}
  std::vector<std::string> gather(const std::string& local, int) override { return {local}; }
  [[noreturn]] void abort(int exit_code) override;
};

/// Contiguous block [begin, end) of `n` items owned by `rank` of `size` (first n % size
/// ranks get one more). Used for static row partitions of datasets.
struct RowRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t count() const { return end - begin; }
};
RowRange block_range(std::uint64_t n, int rank, int size);

}  // namespace sedpost
