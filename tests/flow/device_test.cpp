// The flow's device (flow/device.hpp): selection and its errors, and the LibTorch device path.
// torch::kCPU stands in for a GPU here: the same code copies the weights to the device, moves
// each batch there and the results back, and must give what the CPU kernels give. Where a
// CUDA device is visible (a CUDA build on a GPU machine) every test runs on it as well.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "core/comm.hpp"
#include "core/error.hpp"
#include "flow/device.hpp"
#include "flow/flow.hpp"
#include "flow/maf_model.hpp"
#include "flow/train.hpp"
#include "flow_test_util.hpp"

namespace sedpost::flow {
namespace {

using testing::linear_gaussian;
using testing::Problem;
using testing::small_config;
using testing::tmp_path;

/// The host stand-in, and GPU 0 where there is one.
std::vector<torch::Device> devices_under_test() {
  std::vector<torch::Device> d{torch::Device(torch::kCPU)};
  if (cuda_device_count() > 0) d.emplace_back(torch::kCUDA, 0);
  return d;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    m = std::max(m, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  return m;
}

/// A flow with a prior box and non-trivial z-scoring (D = 3, C = 2).
Flow boxed_flow(Transform transform) {
  FlowMetadata meta;
  meta.theta_lower = {0.0, -1.0, 8.0};
  meta.theta_upper = {1.0, 2.0, 12.0};
  MafConfig cfg = small_config(3, 2, 3, 24, 11);
  cfg.transform = transform;
  cfg.spline_bins = 6;
  Flow f(cfg, meta);
  f.set_standardization({0.2, -0.1, 0.3}, {1.3, 0.8, 1.1}, {0.5, -1.0}, {2.0, 0.7});
  return f;
}

TEST(FlowDevice, CpuIsTheDefault) {
  const Flow f = boxed_flow(Transform::kAffine);
  EXPECT_FALSE(f.device().is_cuda());
  EXPECT_EQ(f.device().name(), "cpu");
  EXPECT_EQ(select_device("cpu", 5).name(), "cpu");
}

TEST(FlowDevice, UnknownValuesAreConfigErrors) {
  for (const char* bad : {"gpu", "CUDA", "", "cuda:0"}) {
    try {
      select_device(bad, 0);
      ADD_FAILURE() << "no exception for '" << bad << "'";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("expected cpu or cuda"), std::string::npos) << e.what();
    }
  }
}

TEST(FlowDevice, CudaRequestFollowsTheBuildAndTheMachine) {
  Flow f = boxed_flow(Transform::kAffine);
  Device gpu0;
  gpu0.kind = Device::Kind::kCuda;
  const int n = cuda_device_count();
  if (n == 0) {
    // This machine (every CI machine): a clear configuration error, nothing else.
    try {
      select_device("cuda", 0);
      FAIL() << "no exception";
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(cuda_built() ? "no CUDA device is visible" : "built without CUDA"), std::string::npos)
          << what;
      EXPECT_NE(what.find("--device cpu"), std::string::npos) << what;
    }
    EXPECT_THROW(f.set_device(gpu0), ConfigError);
    EXPECT_FALSE(f.device().is_cuda());
    EXPECT_EQ(cuda_device_name(0), "");
  } else {
    // Ranks of a node take its GPUs in turn.
    EXPECT_EQ(select_device("cuda", 0).index, 0);
    EXPECT_EQ(select_device("cuda", n + 1).index, 1 % n);
    f.set_device(select_device("cuda", 0));
    EXPECT_EQ(f.device().name(), "cuda:0");
    EXPECT_FALSE(cuda_device_name(0).empty());
  }
  f.set_device(Device{});
  EXPECT_FALSE(f.device().is_cuda());
}

TEST(FlowDevicePath, SamplesAndDensitiesMatchTheCpuPath) {
  const std::vector<float> x{0.3f, -1.0f, 1.5f, 0.2f, -0.7f, 2.5f};  // 3 observations
  for (Transform t : {Transform::kAffine, Transform::kSpline}) {
    const Flow cpu = boxed_flow(t);
    std::vector<float> lq_cpu;
    const std::vector<float> s_cpu = cpu.sample(x, 400, 17, &lq_cpu, 5);
    std::vector<float> x_rows;
    for (int g = 0; g < 3; ++g)
      for (int i = 0; i < 400; ++i) x_rows.insert(x_rows.end(), x.begin() + 2 * g, x.begin() + 2 * g + 2);
    const std::vector<float> lp_cpu = cpu.log_prob(s_cpu, x_rows);
    for (const torch::Device& d : devices_under_test()) {
      SCOPED_TRACE(d.str() + (t == Transform::kSpline ? " spline" : " affine"));
      Flow dev = cpu.clone();
      dev.impl().set_torch_device(d);
      std::vector<float> lq_dev;
      const std::vector<float> s_dev = dev.sample(x, 400, 17, &lq_dev, 5);
      // Same noise, same network: float rounding apart (dense LibTorch GEMMs against the
      // kernels' masked ones).
      EXPECT_LT(max_abs_diff(s_cpu, s_dev), 1e-4);
      EXPECT_LT(max_abs_diff(lq_cpu, lq_dev), 1e-3);
      EXPECT_LT(max_abs_diff(lp_cpu, dev.log_prob(s_cpu, x_rows)), 1e-3);
    }
  }
}

TEST(FlowDevicePath, NewParametersReachTheDevice) {
  for (const torch::Device& d : devices_under_test()) {
    SCOPED_TRACE(d.str());
    Flow f = boxed_flow(Transform::kAffine);
    f.impl().set_torch_device(d);
    const std::vector<float> x{0.3f, -1.0f};
    const std::vector<float> before = f.sample(x, 200, 3);
    std::vector<float> p = f.parameters();
    for (float& v : p) v *= 1.5f;
    f.set_parameters(p);
    const std::vector<float> after = f.sample(x, 200, 3);
    Flow ref = boxed_flow(Transform::kAffine);
    ref.set_parameters(p);
    EXPECT_LT(max_abs_diff(after, ref.sample(x, 200, 3)), 1e-4);
    EXPECT_GT(max_abs_diff(after, before), 1e-2);
  }
}

/// Settings of the short training runs below.
TrainSettings short_training(int max_epochs) {
  TrainSettings st;
  st.batch_size = 50;
  st.max_epochs = max_epochs;
  st.patience = 100;
  st.seed = 4;
  st.progress = false;
  return st;
}

TEST(FlowDevicePath, ResumingKeepsTheDeviceAndContinuesExactly) {
  set_threads(1);
  const Problem p = linear_gaussian(400, 6);
  const MafConfig cfg = small_config(2, 3, 2, 16, 3);
  SerialComm comm;
  for (const torch::Device& d : devices_under_test()) {
    SCOPED_TRACE(d.str());
    Flow full(cfg);
    full.impl().set_torch_device(d);
    const TrainResult rf = train(comm, full, short_training(3), p.theta.data(), p.x.data(), p.n);

    const std::string ck = tmp_path("device_resume.ckpt");
    std::remove(ck.c_str());
    TrainSettings first = short_training(1);
    first.checkpoint_path = ck;
    Flow part(cfg);
    part.impl().set_torch_device(d);
    train(comm, part, first, p.theta.data(), p.x.data(), p.n);
    TrainSettings rest = short_training(3);
    rest.resume_from = ck;
    Flow resumed(cfg);
    resumed.impl().set_torch_device(d);
    const TrainResult rr = train(comm, resumed, rest, p.theta.data(), p.x.data(), p.n);
    std::remove(ck.c_str());
    ASSERT_TRUE(resumed.impl().torch_device.has_value());
    EXPECT_EQ(resumed.impl().torch_device->str(), d.str());
    ASSERT_EQ(rr.curve.size(), 3u);
    EXPECT_NEAR(rr.curve[2].val_loss, rf.curve[2].val_loss, 1e-6);
    EXPECT_LT(max_abs_diff(full.parameters(), resumed.parameters()), 1e-6);
    // The device copy holds the restored best weights, not the last step's.
    const std::vector<float> x{0.1f, 0.4f, 0.5f};
    Flow on_cpu = resumed.clone();
    on_cpu.impl().set_torch_device(std::nullopt);
    EXPECT_LT(max_abs_diff(resumed.sample(x, 300, 9), on_cpu.sample(x, 300, 9)), 1e-4);
  }
  set_threads(0);
}

TEST(FlowDevicePath, TheModelFileIsTheSameWhateverTrainedIt) {
  set_threads(1);
  const Problem p = linear_gaussian(300, 7);
  const MafConfig cfg = small_config(2, 3, 2, 16, 5);
  SerialComm comm;
  const std::vector<float> x{0.2f, -0.3f, 0.6f, 1.0f, 0.5f, 0.1f};
  for (const torch::Device& d : devices_under_test()) {
    SCOPED_TRACE(d.str());
    // Trained on the device, sampled on the CPU kernels after a save and load.
    Flow on_device(cfg);
    on_device.impl().set_torch_device(d);
    train(comm, on_device, short_training(2), p.theta.data(), p.x.data(), p.n);
    const std::string path = tmp_path("device_model.flow");
    on_device.save(path);
    Flow loaded = Flow::load(path);
    std::remove(path.c_str());
    EXPECT_FALSE(loaded.device().is_cuda());
    EXPECT_FALSE(loaded.impl().torch_device.has_value());
    EXPECT_EQ(loaded.to_bytes(), on_device.to_bytes());
    std::vector<float> lq_dev, lq_cpu;
    const std::vector<float> s_dev = on_device.sample(x, 300, 2, &lq_dev);
    const std::vector<float> s_cpu = loaded.sample(x, 300, 2, &lq_cpu);
    EXPECT_LT(max_abs_diff(s_dev, s_cpu), 1e-4);
    EXPECT_LT(max_abs_diff(lq_dev, lq_cpu), 1e-3);

    // And the other way: trained on the CPU kernels, sampled on the device.
    Flow on_cpu(cfg);
    train(comm, on_cpu, short_training(2), p.theta.data(), p.x.data(), p.n);
    Flow moved = Flow::from_bytes(on_cpu.to_bytes());
    moved.impl().set_torch_device(d);
    EXPECT_LT(max_abs_diff(on_cpu.sample(x, 300, 2), moved.sample(x, 300, 2)), 1e-4);
  }
  set_threads(0);
}

}  // namespace
}  // namespace sedpost::flow
