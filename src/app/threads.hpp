#pragma once
#include <sched.h>

#include <algorithm>
#include <string>
#include <thread>

#include "core/logger.hpp"

namespace sedpost::app {

/// CPUs this process may run on (its affinity mask: mpirun --bind-to core gives 1, srun
/// --cpus-per-task=N gives N); the machine's cores when the mask cannot be read.
inline int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

/// Threads per rank for compute libraries: the explicit value when > 0, else the machine's
/// cores divided among the job's ranks (as if all ran on this node), at most the CPUs this
/// rank is bound to, at least 1. An explicit value above the bound CPUs gets a warning: the
/// threads would share cores (Open MPI binds each rank to one core for up to 2 ranks).
inline int threads_per_rank(int requested, int ranks) {
  const int bound = usable_cpus();
  if (requested > 0) {
    if (requested > bound)
      logger().warn("--threads " + std::to_string(requested) + " but this rank may only run on " +
                    std::to_string(bound) +
                    " CPU(s) (its affinity mask); the threads share them. With mpirun use "
                    "--map-by slot:PE=" + std::to_string(requested) + " or --bind-to none; with srun, "
                    "--cpus-per-task=" + std::to_string(requested) + ".");
    return requested;
  }
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, std::min(bound, cores / std::max(1, ranks)));
}

}  // namespace sedpost::app
