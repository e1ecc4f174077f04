#pragma once
/// `--device cpu|cuda` of train, sample and infer (config key `device` in their tables;
/// docs/gpu.md).
#include <string>

#include "app/cli.hpp"
#include "flow/device.hpp"

namespace sedpost::app {

/// Adds `--device` to `sub`, stored in `device` (default "cpu").
void add_device_option(CLI::App* sub, std::string& device);

/// Collective. This rank's flow device for the option value (flow::select_device with the
/// rank's index on its node), logged on rank 0 with every rank's GPU. Throws ConfigError
/// (exit 2) for a bad value, for "cuda" in a build without CUDA and where no GPU is visible.
flow::Device rank_device(Comm& comm, const std::string& requested);

}  // namespace sedpost::app
