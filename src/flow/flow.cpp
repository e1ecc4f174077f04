#include "flow/flow.hpp"

#include <ATen/Parallel.h>
#include <malloc.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <exception>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/rng.hpp"
#include "flow/maf_model.hpp"
#include "flow/serial.hpp"

namespace sedpost::flow {

namespace {
constexpr double kLog2Pi = 1.8378770664093453;
// Rows per call of the inference kernels in sample(): bounds the temporary z / y buffers
// (the kernels split the rows into their own chunks, see maf_model.cpp).
constexpr std::int64_t kSampleRowsPerGroup = 1 << 16;
/// Grain of the per-row coordinate maps (box bijection, z-score) run with at::parallel_for.
constexpr std::int64_t kRowGrain = 1024;
}  // namespace

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open flow file '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError("cannot read flow file '" + path + "'");
  return ss.str();
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError("cannot create '" + tmp + "'");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw IoError("cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw IoError("cannot rename '" + tmp + "' to '" + path + "'");
}

void tune_allocator() {
  // LibTorch allocates every activation and gradient afresh. glibc serves blocks above its
  // mmap threshold with mmap and returns them on free, so each training step page-faults its
  // ~30 MB of gradients in again (measured: 40% of the step time in first-touch page faults
  // inside sgemm's beta = 0 zeroing on these VMs). Keep freed memory in the heap instead.
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  });
}

Flow::Flow(const MafConfig& cfg, FlowMetadata meta)
    : impl_(std::make_unique<Impl>(cfg, std::move(meta))) {
  tune_allocator();
  impl_->init_weights(cfg.seed);
}
Flow::Flow(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { tune_allocator(); }
Flow::~Flow() = default;
Flow::Flow(Flow&&) noexcept = default;
Flow& Flow::operator=(Flow&&) noexcept = default;
Flow Flow::clone() const { return Flow(impl_->clone()); }

const MafConfig& Flow::config() const { return impl_->cfg; }
const FlowMetadata& Flow::metadata() const { return impl_->meta; }
int Flow::n_theta() const { return impl_->D; }
int Flow::n_x() const { return impl_->C; }
bool Flow::has_box() const { return !impl_->meta.theta_lower.empty(); }
std::int64_t Flow::parameter_count() const { return impl_->n_params; }
std::int64_t Flow::free_parameter_count() const { return impl_->n_live; }
const std::vector<double>& Flow::theta_mean() const { return impl_->theta_mean; }
const std::vector<double>& Flow::theta_std() const { return impl_->theta_std; }
const std::vector<double>& Flow::x_mean() const { return impl_->x_mean; }
const std::vector<double>& Flow::x_std() const { return impl_->x_std; }

void Flow::set_standardization(std::vector<double> tm, std::vector<double> ts,
                               std::vector<double> xm, std::vector<double> xs) {
  Impl& m = *impl_;
  if (static_cast<int>(tm.size()) != m.D || static_cast<int>(ts.size()) != m.D ||
      static_cast<int>(xm.size()) != m.C || static_cast<int>(xs.size()) != m.C)
    throw ConfigError("flow: z-score statistics have the wrong size");
  for (double s : ts)
    if (!(s > 0) || !std::isfinite(s)) throw DataError("flow: theta std must be positive and finite");
  for (double s : xs)
    if (!(s > 0) || !std::isfinite(s)) throw DataError("flow: x std must be positive and finite");
  m.theta_mean = std::move(tm);
  m.theta_std = std::move(ts);
  m.x_mean = std::move(xm);
  m.x_std = std::move(xs);
}

void Flow::set_attachment(const std::string& name, std::string blob) {
  for (auto& [n, b] : impl_->meta.attachments)
    if (n == name) {
      b = std::move(blob);
      return;
    }
  impl_->meta.attachments.emplace_back(name, std::move(blob));
}

std::vector<float> Flow::parameters() const {
  const float* p = impl_->flat.data_ptr<float>();
  return std::vector<float>(p, p + impl_->n_params);
}

void Flow::set_parameters(const std::vector<float>& p) {
  if (static_cast<std::int64_t>(p.size()) != impl_->n_params)
    throw ConfigError("flow: set_parameters with the wrong number of parameters");
  std::copy(p.begin(), p.end(), impl_->flat.data_ptr<float>());
  impl_->upload_parameters();
}

void Flow::set_device(const Device& device) {
  if (!device.is_cuda()) {
    impl_->set_torch_device(std::nullopt);
    return;
  }
  if (!cuda_built() || device.index < 0 || device.index >= cuda_device_count())
    throw ConfigError("flow: device " + device.name() + " is not available (" +
                      (cuda_built() ? std::to_string(cuda_device_count()) + " CUDA device(s) visible"
                                    : std::string("this build has no CUDA")) + ")");
  impl_->set_torch_device(torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device.index)));
}

Device Flow::device() const {
  const auto& d = impl_->torch_device;
  Device out;
  if (d && d->is_cuda()) {
    out.kind = Device::Kind::kCuda;
    out.index = d->index();
  }
  return out;
}

// ---------------------------------------------------------------- serialization

std::string Flow::to_bytes() const {
  const Impl& m = *impl_;
  Writer w;
  w.pod<std::int32_t>(m.cfg.n_theta);
  w.pod<std::int32_t>(m.cfg.n_x);
  w.pod<std::int32_t>(m.cfg.n_blocks);
  w.pod<std::int32_t>(m.cfg.hidden);
  w.pod<std::int32_t>(m.cfg.n_hidden_blocks);
  w.pod<std::uint8_t>(m.cfg.batch_norm ? 1 : 0);
  w.pod<std::uint64_t>(m.cfg.seed);
  w.pod<std::uint8_t>(static_cast<std::uint8_t>(m.cfg.transform));  // version 3
  w.pod<std::int32_t>(m.cfg.spline_bins);
  w.pod<double>(m.cfg.tail_bound);
  w.vec(m.meta.theta_lower);
  w.vec(m.meta.theta_upper);
  w.strs(m.meta.theta_names);
  w.strs(m.meta.x_names);
  w.strs(m.meta.band_names);
  w.str(m.meta.config_text);
  w.pod<std::uint64_t>(m.meta.attachments.size());
  for (const auto& [name, blob] : m.meta.attachments) {
    w.str(name);
    w.str(blob);
  }
  w.vec(m.theta_mean);
  w.vec(m.theta_std);
  w.vec(m.x_mean);
  w.vec(m.x_std);
  for (const auto& p : m.perm) w.vec(p);
  w.raw(m.flat.data_ptr<float>(), static_cast<std::size_t>(m.n_params));
  return w.finish(FileKind::kModel, kModelFormatVersion);
}

Flow Flow::from_bytes(const std::string& bytes) {
  Reader r(bytes, FileKind::kModel, kModelFormatVersion, "flow model", kOldestModelFormatVersion);
  MafConfig cfg;
  cfg.n_theta = r.pod<std::int32_t>();
  cfg.n_x = r.pod<std::int32_t>();
  cfg.n_blocks = r.pod<std::int32_t>();
  cfg.hidden = r.pod<std::int32_t>();
  cfg.n_hidden_blocks = r.pod<std::int32_t>();
  cfg.batch_norm = r.pod<std::uint8_t>() != 0;
  cfg.seed = r.pod<std::uint64_t>();
  if (r.version() >= 3) {  // version 2 files are affine MAFs; Impl rejects an unknown kind
    cfg.transform = static_cast<Transform>(r.pod<std::uint8_t>());
    cfg.spline_bins = r.pod<std::int32_t>();
    cfg.tail_bound = r.pod<double>();
  }
  if (cfg.n_theta < 1 || cfg.n_x < 1 || cfg.n_blocks < 1 || cfg.hidden < 1 ||
      cfg.n_hidden_blocks < 0 || cfg.n_theta > 100000 || cfg.n_x > 100000 ||
      cfg.n_blocks > 100000 || cfg.hidden > 1000000)
    r.fail();
  FlowMetadata meta;
  meta.theta_lower = r.vec<double>();
  meta.theta_upper = r.vec<double>();
  meta.theta_names = r.strs();
  meta.x_names = r.strs();
  meta.band_names = r.strs();
  meta.config_text = r.str();
  const auto n_attachments = r.pod<std::uint64_t>();
  for (std::uint64_t i = 0; i < n_attachments; ++i) {
    std::string name = r.str();
    meta.attachments.emplace_back(std::move(name), r.str());
  }
  std::unique_ptr<Impl> m;
  try {
    m = std::make_unique<Impl>(cfg, std::move(meta));
  } catch (const ConfigError& e) {
    throw DataError(std::string("flow model: inconsistent architecture: ") + e.what());
  }
  m->theta_mean = r.vec<double>();
  m->theta_std = r.vec<double>();
  m->x_mean = r.vec<double>();
  m->x_std = r.vec<double>();
  if (static_cast<int>(m->theta_mean.size()) != m->D || static_cast<int>(m->theta_std.size()) != m->D ||
      static_cast<int>(m->x_mean.size()) != m->C || static_cast<int>(m->x_std.size()) != m->C)
    r.fail();
  m->perm.assign(cfg.n_blocks, {});
  m->inv_perm.assign(cfg.n_blocks, {});
  for (int k = 0; k < cfg.n_blocks; ++k) {
    m->perm[k] = r.vec<std::int64_t>();
    if (static_cast<int>(m->perm[k].size()) != m->D) r.fail();
    m->inv_perm[k].assign(m->D, -1);
    for (int i = 0; i < m->D; ++i) {
      const auto p = m->perm[k][i];
      if (p < 0 || p >= m->D || m->inv_perm[k][p] != -1) r.fail();
      m->inv_perm[k][p] = i;
    }
  }
  const std::vector<float> w = r.vec<float>();
  if (static_cast<std::int64_t>(w.size()) != m->n_params || !r.at_end()) r.fail();
  std::copy(w.begin(), w.end(), m->flat.data_ptr<float>());
  m->make_views();
  return Flow(std::move(m));
}

void Flow::save(const std::string& path) const { write_file_atomic(path, to_bytes()); }

Flow Flow::load(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  try {
    return from_bytes(bytes);
  } catch (const DataError& e) {
    throw DataError("'" + path + "': " + e.what());
  }
}

// ---------------------------------------------------------------- sampling / density

void Flow::sample(const float* x, std::int64_t n_obs, std::int64_t n, std::uint64_t seed,
                  float* samples_out, float* log_q_out, std::int64_t first_obs_index) const {
  const Impl& m = *impl_;
  if (n_obs <= 0 || n <= 0) return;
  const int D = m.D, C = m.C;
  std::vector<float> e_all(static_cast<std::size_t>(n_obs) * C);
  for (std::int64_t g = 0; g < n_obs; ++g) {
    m.standardize_x(x + g * C, e_all.data() + g * C);
    for (int j = 0; j < C; ++j)
      if (!std::isfinite(e_all[g * C + j]))
        throw DataError(cat("flow sample: non-finite x for observation ", first_obs_index + g));
  }
  // Galaxies go through the inverse together, up to kSampleRowsPerGroup rows per call, so the
  // kernels' GEMM-like loops see all samples of all galaxies of the call; the noise of a
  // galaxy is drawn from its own counter-based stream.
  const std::int64_t gal_per_group = std::max<std::int64_t>(1, kSampleRowsPerGroup / n);
  std::vector<float> zbuf, ybuf, ldbuf;
  std::vector<std::int64_t> row_obs;
  for (std::int64_t g0 = 0; g0 < n_obs; g0 += gal_per_group) {
    const std::int64_t g1 = std::min(n_obs, g0 + gal_per_group);
    const std::int64_t rows = (g1 - g0) * n;
    zbuf.resize(static_cast<std::size_t>(rows) * D);
    ybuf.resize(static_cast<std::size_t>(rows) * D);
    ldbuf.resize(static_cast<std::size_t>(rows));
    row_obs.resize(static_cast<std::size_t>(rows));
    at::parallel_for(g0, g1, 1, [&](std::int64_t a, std::int64_t b) {
      for (std::int64_t g = a; g < b; ++g) {
        Rng rng(seed, RngStream::kFlowSample, static_cast<std::uint64_t>(first_obs_index + g));
        float* z = zbuf.data() + (g - g0) * n * D;
        for (std::int64_t j = 0; j < n * D; ++j) z[j] = static_cast<float>(rng.normal());
        std::fill_n(row_obs.data() + (g - g0) * n, n, g - g0);
      }
    });
    m.inverse_rows(zbuf.data(), e_all.data() + g0 * C, g1 - g0, row_obs.data(), rows, ybuf.data(),
                   ldbuf.data());
    // Back to theta coordinates; log q = log N(z) + sum log s - log |dtheta/dy|.
    float* out = samples_out + g0 * n * D;
    float* lq = log_q_out ? log_q_out + g0 * n : nullptr;
    at::parallel_for(0, rows, kRowGrain, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        double ld_map = 0.0;
        m.from_flow_coords(ybuf.data() + r * D, out + r * D, &ld_map);
        if (lq) {
          const float* zr = zbuf.data() + r * D;
          double zz = 0.0;
          for (int i = 0; i < D; ++i) zz += static_cast<double>(zr[i]) * zr[i];
          lq[r] = static_cast<float>(-0.5 * zz - 0.5 * D * kLog2Pi + ldbuf[r] - ld_map);
        }
      }
    });
  }
}

std::vector<float> Flow::sample(const std::vector<float>& x, std::int64_t n, std::uint64_t seed,
                                std::vector<float>* log_q, std::int64_t first_obs_index) const {
  if (x.size() % static_cast<std::size_t>(n_x()) != 0)
    throw ConfigError("flow sample: x size is not a multiple of n_x");
  const std::int64_t n_obs = static_cast<std::int64_t>(x.size()) / n_x();
  std::vector<float> out(static_cast<std::size_t>(n_obs * n * n_theta()));
  if (log_q) log_q->assign(static_cast<std::size_t>(n_obs * n), 0.0f);
  sample(x.data(), n_obs, n, seed, out.data(), log_q ? log_q->data() : nullptr, first_obs_index);
  return out;
}

void Flow::log_prob(const float* theta, const float* x, std::int64_t n, float* out) const {
  log_prob(theta, x, n, 1, out);
}

void Flow::log_prob(const float* theta, const float* x, std::int64_t n_obs, std::int64_t n_per_obs,
                    float* out) const {
  const Impl& m = *impl_;
  const std::int64_t n = n_obs * n_per_obs;
  const int D = m.D, C = m.C;
  if (n <= 0) return;
  std::vector<float> y(static_cast<std::size_t>(n) * D), e(static_cast<std::size_t>(n) * C);
  std::vector<float> z(static_cast<std::size_t>(n) * D), ld(static_cast<std::size_t>(n));
  std::vector<double> ld_map(n);
  std::vector<char> ok(n);
  at::parallel_for(0, n, kRowGrain, [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      ok[r] = m.to_flow_coords(theta + r * D, y.data() + r * D, &ld_map[r]);
      if (!ok[r]) std::fill_n(y.data() + r * D, D, 0.0f);
      m.standardize_x(x + (r / n_per_obs) * C, e.data() + r * C);
    }
  });
  m.forward_rows(y.data(), e.data(), n, z.data(), ld.data());
  for (std::int64_t r = 0; r < n; ++r) {
    double zz = 0.0;
    for (int i = 0; i < D; ++i) zz += static_cast<double>(z[r * D + i]) * z[r * D + i];
    out[r] = ok[r] ? static_cast<float>(ld[r] - 0.5 * zz - 0.5 * D * kLog2Pi + ld_map[r])
                   : -std::numeric_limits<float>::infinity();
  }
}

std::vector<float> Flow::log_prob(const std::vector<float>& theta, const std::vector<float>& x) const {
  const std::size_t n = theta.size() / static_cast<std::size_t>(n_theta());
  if (theta.size() != n * n_theta() || x.size() != n * n_x())
    throw ConfigError("flow log_prob: theta and x sizes do not match n_theta / n_x");
  std::vector<float> out(n);
  log_prob(theta.data(), x.data(), static_cast<std::int64_t>(n), out.data());
  return out;
}

void set_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
}

int get_threads() { return at::get_num_threads(); }

}  // namespace sedpost::flow
