#pragma once
/// Test-only Comm: P "ranks" as P threads of one process exchanging buffers through a shared
/// barrier. Reductions combine the ranks' buffers in rank order (deterministic).
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "core/comm.hpp"

namespace sedpost::flow::testing {

class ThreadGroup {
 public:
  explicit ThreadGroup(int n) : n_(n), slots_(n), strings_(n) {}
  void barrier() {
    std::unique_lock<std::mutex> lk(mu_);
    const std::uint64_t gen = gen_;
    if (++count_ == n_) {
      count_ = 0;
      ++gen_;
      cv_.notify_all();
    } else {
      cv_.wait(lk, [&] { return gen != gen_; });
    }
  }
  int n_;
  std::vector<std::vector<char>> slots_;
  std::vector<std::string> strings_;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
  std::uint64_t gen_ = 0;
};

class ThreadComm final : public Comm {
 public:
  ThreadComm(ThreadGroup& g, int rank) : g_(g), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return g_.n_; }
  void barrier() override { g_.barrier(); }
  void broadcast(void* data, std::size_t bytes, int root) override {
    if (rank_ == root) g_.slots_[root].assign(static_cast<char*>(data), static_cast<char*>(data) + bytes);
    g_.barrier();
    if (rank_ != root) std::memcpy(data, g_.slots_[root].data(), bytes);
    g_.barrier();
  }
  void allreduce_sum(float* d, std::size_t n) override { reduce(d, n, false); }
  void allreduce_sum(double* d, std::size_t n) override { reduce(d, n, false); }
  void allreduce_sum(std::int64_t* d, std::size_t n) override { reduce(d, n, false); }
  void allreduce_max(double* d, std::size_t n) override { reduce(d, n, true); }
  std::vector<std::string> gather(const std::string& local, int root) override {
    g_.strings_[rank_] = local;
    g_.barrier();
    std::vector<std::string> out;
    if (rank_ == root) out = g_.strings_;
    g_.barrier();
    return out;
  }
  [[noreturn]] void abort(int) override { std::abort(); }

 private:
  template <class T>
  void reduce(T* d, std::size_t n, bool max) {
    g_.slots_[rank_].assign(reinterpret_cast<char*>(d), reinterpret_cast<char*>(d + n));
    g_.barrier();
    std::vector<T> acc(n);
    std::memcpy(acc.data(), g_.slots_[0].data(), n * sizeof(T));
    for (int r = 1; r < g_.n_; ++r) {
      const T* o = reinterpret_cast<const T*>(g_.slots_[r].data());
      for (std::size_t i = 0; i < n; ++i) acc[i] = max ? (o[i] > acc[i] ? o[i] : acc[i]) : acc[i] + o[i];
    }
    g_.barrier();
    std::memcpy(d, acc.data(), n * sizeof(T));
  }
  ThreadGroup& g_;
  int rank_;
};

}  // namespace sedpost::flow::testing
