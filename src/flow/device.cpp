#include "flow/device.hpp"

#include <torch/torch.h>

#ifdef SEDPOST_HAVE_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include <cstdlib>

#include "core/error.hpp"

namespace sedpost::flow {

std::string Device::name() const { return is_cuda() ? "cuda:" + std::to_string(index) : "cpu"; }

bool cuda_built() {
#ifdef SEDPOST_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
  if (!cuda_built()) return 0;
  return static_cast<int>(torch::cuda::device_count());
}

std::string cuda_device_name(int index) {
#ifdef SEDPOST_HAVE_CUDA
  if (index >= 0 && index < cuda_device_count()) return at::cuda::getDeviceProperties(index)->name;
#else
  (void)index;
#endif
  return "";
}

Device select_device(const std::string& requested, int node_rank) {
  if (requested == "cpu") return {};
  if (requested != "cuda")
    throw ConfigError("--device '" + requested + "': expected cpu or cuda");
  if (!cuda_built())
    throw ConfigError(
        "--device cuda: this sedpost was built without CUDA (the LibTorch it was configured with has no CUDA "
        "support). Configure against a CUDA-enabled LibTorch (docs/gpu.md) or use --device cpu");
  const int n = cuda_device_count();
  if (n < 1) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    throw ConfigError(std::string("--device cuda: no CUDA device is visible to this process (CUDA_VISIBLE_DEVICES=") +
                      (visible ? std::string("'") + visible + "'" : std::string("unset")) +
                      "); check the job's GPU request or use --device cpu");
  }
  Device d;
  d.kind = Device::Kind::kCuda;
  d.index = (node_rank < 0 ? 0 : node_rank) % n;
  return d;
}

}  // namespace sedpost::flow
