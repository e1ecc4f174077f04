#pragma once
#include <algorithm>
#include <thread>

namespace sedpost::app {

/// Threads per rank for compute libraries: the explicit value when > 0, else the machine's
/// cores divided among the job's ranks (as if all ran on this node), at least 1.
inline int threads_per_rank(int requested, int ranks) {
  if (requested > 0) return requested;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, cores / std::max(1, ranks));
}

}  // namespace sedpost::app
