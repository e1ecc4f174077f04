#include "app/device_option.hpp"

#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::app {

void add_device_option(CLI::App* sub, std::string& device) {
  sub->add_option("--device", device,
                  "Where the flow computes: cpu (the CPU kernels) or cuda (LibTorch on one GPU per rank, the "
                  "rank's index on its node modulo the node's GPUs; needs a build against a CUDA-enabled "
                  "LibTorch, docs/gpu.md). The model file is the same whatever the device")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda"}));
}

flow::Device rank_device(Comm& comm, const std::string& requested) {
  // Every rank checks its own node (GPU counts may differ between nodes); the first failure
  // names its rank.
  std::string error;
  flow::Device device;
  try {
    device = flow::select_device(requested, comm.node_rank());
  } catch (const ConfigError& e) {
    error = e.what();
  }
  const double failed = comm.max(error.empty() ? -1.0 : static_cast<double>(comm.rank()));
  if (failed >= 0) {
    const int who = static_cast<int>(failed);
    std::vector<std::string> all = comm.gather(error, 0);
    std::string msg = comm.is_root() ? all[who] : error;
    comm.broadcast(msg, 0);
    throw ConfigError(comm.size() > 1 ? cat("rank ", who, ": ", msg) : msg);
  }
  if (device.is_cuda()) {
    const std::vector<std::string> names =
        comm.gather(cat(device.name(), " (", flow::cuda_device_name(device.index), ")"), 0);
    const bool shared = comm.max(comm.node_rank() >= flow::cuda_device_count() ? 1.0 : 0.0) > 0;
    if (comm.is_root()) {
      std::string line;
      for (std::size_t r = 0; r < names.size(); ++r) line += cat(r ? ", " : "", "rank ", r, " -> ", names[r]);
      logger().info("flow device: " + line);
      if (shared) logger().warn("a node has more ranks than GPUs: they share them (one rank per GPU is fastest)");
    }
  }
  return device;
}

}  // namespace sedpost::app
