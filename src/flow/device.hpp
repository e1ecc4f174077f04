#pragma once
/// Where the flow's LibTorch work runs: `--device cpu|cuda` of train, sample and infer
/// (docs/gpu.md). Plain C++ interface (no LibTorch headers).
///
/// "cpu" is the default and runs the hand-written CPU kernels exactly as before. "cuda" runs
/// the flow's LibTorch path on one GPU per rank: training by autograd (Adam and the gradient
/// allreduce stay on the host), sampling and densities by LibTorch ops. A CUDA-capable build is
/// decided when CMake configures the project (SEDPOST_CUDA); the model file does not depend on
/// the device.
#include <cstdint>
#include <string>

namespace sedpost::flow {

struct Device {
  enum class Kind : std::uint8_t { kCpu = 0, kCuda = 1 };
  Kind kind = Kind::kCpu;
  int index = 0;  ///< CUDA device ordinal as this process sees it (kCuda only)
  bool is_cuda() const { return kind == Kind::kCuda; }
  /// "cpu" or "cuda:<index>".
  std::string name() const;
};

/// True when this build links a LibTorch with CUDA (decided at configure time).
bool cuda_built();
/// CUDA devices this process can use: 0 in a build without CUDA or with no visible GPU.
int cuda_device_count();
/// The GPU's model name ("NVIDIA H100 80GB HBM3"), or "" without CUDA or for a bad index.
std::string cuda_device_name(int index);

/// The device a rank uses for the option value `requested` ("cpu" or "cuda"). "cuda" gives
/// GPU (node_rank mod cuda_device_count()): the ranks of a node take its GPUs one each, in
/// node-rank order (more ranks than GPUs share them round-robin). Throws ConfigError naming
/// the value and the reason for any other value, for "cuda" in a build without CUDA and for
/// "cuda" with no visible GPU.
Device select_device(const std::string& requested, int node_rank);

}  // namespace sedpost::flow
