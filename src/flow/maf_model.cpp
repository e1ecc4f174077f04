#include "flow/maf_model.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/rng.hpp"

namespace sedpost::flow {

namespace {
constexpr double kScaleEps = 1e-3;  // nflows MaskedAffineAutoregressiveTransform._epsilon
constexpr double kLog2Pi = 1.8378770664093453;

torch::Tensor affine_scale(const torch::Tensor& a) {
  return torch::softplus(a) + kScaleEps;
}

}  // namespace

std::uint64_t fnv1a64(const char* data, std::size_t n) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ull;
  }
  return h;
}

Flow::Impl::Impl(const MafConfig& c, FlowMetadata m) : cfg(c), meta(std::move(m)) {
  if (cfg.n_theta < 1 || cfg.n_x < 1) throw ConfigError("flow: n_theta and n_x must be >= 1");
  if (cfg.n_blocks < 1 || cfg.hidden < 1 || cfg.n_hidden_blocks < 0)
    throw ConfigError("flow: n_blocks >= 1, hidden >= 1 and n_hidden_blocks >= 0 required");
  if (cfg.batch_norm)
    throw ConfigError("flow: batch_norm = true is not implemented (sbi's MAF default is false)");
  D = cfg.n_theta;
  C = cfg.n_x;
  H = cfg.hidden;
  L = cfg.n_hidden_blocks;
  if (is_spline()) {
    if (cfg.spline_bins < 2 || cfg.spline_bins > 1000 || !(cfg.tail_bound > 0.0) || !std::isfinite(cfg.tail_bound))
      throw ConfigError(cat("flow: spline transform needs 2-1000 bins and a positive tail bound (have ",
                            cfg.spline_bins, " bins, tail bound ", cfg.tail_bound, ")"));
    spline.bins = cfg.spline_bins;
    spline.tail_bound = cfg.tail_bound;
    spline.logit_scale = 1.0 / std::sqrt(static_cast<double>(H));
    P = 2 + spline.params_per_value();
  } else if (cfg.transform != Transform::kAffine) {
    throw ConfigError("flow: unknown transform kind");
  }
  const bool box = !meta.theta_lower.empty() || !meta.theta_upper.empty();
  if (box) {
    if (static_cast<int>(meta.theta_lower.size()) != D ||
        static_cast<int>(meta.theta_upper.size()) != D)
      throw ConfigError(cat("flow: prior box needs ", D, " lower and upper bounds"));
    for (int i = 0; i < D; ++i)
      if (!(meta.theta_lower[i] < meta.theta_upper[i]) || !std::isfinite(meta.theta_lower[i]) ||
          !std::isfinite(meta.theta_upper[i]))
        throw ConfigError(cat("flow: prior box dimension ", i, " has lower >= upper or non-finite"));
  }
  if (!meta.theta_names.empty() && static_cast<int>(meta.theta_names.size()) != D)
    throw ConfigError(cat("flow: ", meta.theta_names.size(), " theta names for ", D, " dims"));
  if (!meta.x_names.empty() && static_cast<int>(meta.x_names.size()) != C)
    throw ConfigError(cat("flow: ", meta.x_names.size(), " x names for ", C, " dims"));
  theta_mean.assign(D, 0.0);
  theta_std.assign(D, 1.0);
  x_mean.assign(C, 0.0);
  x_std.assign(C, 1.0);
  build_layout();
  flat = torch::zeros({n_params}, torch::kFloat32);
  make_views();
}

void Flow::Impl::build_layout() {
  // nflows MaskedLinear._get_mask_and_degrees: hidden degrees arange(H) % max_ + min_ with
  // max_ = max(1, D - 1), min_ = min(1, D - 1).
  const int max_ = std::max(1, D - 1), min_ = std::min(1, D - 1);
  hidden_degree.resize(H);
  for (int k = 0; k < H; ++k) hidden_degree[k] = k % max_ + min_;
  std::sort(hidden_degree.begin(), hidden_degree.end());
  group_degree.clear();
  group_begin.clear();
  group_end.clear();
  for (int k = 0; k < H; ++k) {
    if (group_degree.empty() || group_degree.back() != hidden_degree[k]) {
      if (!group_degree.empty()) group_end.push_back(k);
      group_degree.push_back(hidden_degree[k]);
      group_begin.push_back(k);
    }
  }
  group_end.push_back(H);
  prefix_le.assign(D + 1, 0);
  for (int d = 0; d <= D; ++d)
    prefix_le[d] = std::count_if(hidden_degree.begin(), hidden_degree.end(),
                                 [d](int g) { return g <= d; });

  params.clear();
  std::int64_t off = 0;
  auto add = [&](std::int64_t rows, std::int64_t cols, bool bias, std::vector<std::int32_t> live) {
    ParamInfo p;
    p.offset = off;
    p.rows = rows;
    p.cols = cols;
    p.is_bias = bias;
    p.live_cols = std::move(live);
    off += rows * cols;
    params.push_back(std::move(p));
  };
  for (int k = 0; k < cfg.n_blocks; ++k) {
    std::vector<std::int32_t> live0(H), liveh(H), liveo(static_cast<std::size_t>(P) * D);
    // Input layer: hidden degree d sees inputs of degree <= d, i.e. columns [0, d).
    for (int r = 0; r < H; ++r) live0[r] = std::min(hidden_degree[r], D);
    // Hidden layers: deg_out >= deg_in.
    for (int r = 0; r < H; ++r) liveh[r] = static_cast<std::int32_t>(prefix_le[hidden_degree[r]]);
    // Output: output degree i+1 sees hidden degree < i+1 (strict mask).
    for (int i = 0; i < D; ++i)
      for (int j = 0; j < P; ++j) liveo[i * P + j] = static_cast<std::int32_t>(prefix_le[i]);
    add(H, D, false, live0);   // W0
    add(H, 1, true, {});       // b0
    add(H, C, false, {});      // Wc
    add(H, 1, true, {});       // bc
    for (int l = 0; l < L; ++l) {
      add(H, H, false, liveh);  // Wh
      add(H, 1, true, {});      // bh
    }
    add(P * D, H, false, liveo);  // Wout
    add(P * D, 1, true, {});      // bout
  }
  n_params = off;

  // Live segments, split into pieces of at most 4096 for parallel balance.
  segments.clear();
  std::int64_t compact = 0;
  auto push = [&](std::int64_t flat_off, std::int64_t pi, std::int64_t poff, std::int64_t len) {
    while (len > 0) {
      const std::int64_t n = std::min<std::int64_t>(len, 4096);
      segments.push_back({flat_off, pi, poff, compact, n});
      compact += n;
      flat_off += n;
      poff += n;
      len -= n;
    }
  };
  for (std::size_t pi = 0; pi < params.size(); ++pi) {
    const ParamInfo& p = params[pi];
    if (p.live_cols.empty()) {
      push(p.offset, pi, 0, p.rows * p.cols);
    } else {
      for (std::int64_t r = 0; r < p.rows; ++r)
        if (p.live_cols[r] > 0) push(p.offset + r * p.cols, pi, r * p.cols, p.live_cols[r]);
    }
  }
  n_live = compact;
}

TorchWeights Flow::Impl::make_weights(const torch::Tensor& flat_buffer) const {
  TorchWeights w;
  w.flat = flat_buffer;
  for (const ParamInfo& p : params) {
    torch::Tensor t = flat_buffer.narrow(0, p.offset, p.rows * p.cols);
    if (!p.is_bias) t = t.view({p.rows, p.cols});
    // A view of a buffer that requires no grad is a leaf of its own.
    t.requires_grad_(true);
    w.leaves.push_back(t);
  }
  w.blocks.assign(cfg.n_blocks, {});
  std::size_t idx = 0;
  for (int k = 0; k < cfg.n_blocks; ++k) {
    MadeViews& b = w.blocks[k];
    b.W0 = w.leaves[idx++];
    b.b0 = w.leaves[idx++];
    b.Wc = w.leaves[idx++];
    b.bc = w.leaves[idx++];
    for (int l = 0; l < L; ++l) {
      b.Wh.push_back(w.leaves[idx++]);
      b.bh.push_back(w.leaves[idx++]);
    }
    b.Wout = w.leaves[idx++];
    b.bout = w.leaves[idx++];
  }
  for (std::size_t k = 0; k < perm.size(); ++k) {
    w.perm_t.push_back(torch::tensor(perm[k], torch::kInt64).to(flat_buffer.device()));
    w.inv_perm_t.push_back(torch::tensor(inv_perm[k], torch::kInt64).to(flat_buffer.device()));
  }
  return w;
}

void Flow::Impl::make_views() {
  host = make_weights(flat);
  if (torch_device) set_torch_device(torch_device);  // the permutations may have changed
}

void Flow::Impl::set_torch_device(std::optional<torch::Device> device) {
  torch_device = device;
  device_weights.reset();
  if (!device) return;
  device_weights = std::make_shared<TorchWeights>(make_weights(flat.to(*device, /*non_blocking=*/false, /*copy=*/true)));
}

void Flow::Impl::upload_parameters() const {
  if (!device_weights) return;
  torch::NoGradGuard no_grad;
  device_weights->flat.copy_(flat);
}

void Flow::Impl::init_weights(std::uint64_t seed) {
  // torch.nn.Linear.reset_parameters: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), ...),
  // bias U(-1/sqrt(fan_in), ...). nflows MaskedLinear keeps that init and multiplies by the
  // mask in forward; we store the masked entries as exact zeros instead.
  float* w = flat.data_ptr<float>();
  std::size_t idx = 0;
  const std::uint64_t per_block = 2 * (3 + static_cast<std::uint64_t>(L));
  for (int k = 0; k < cfg.n_blocks; ++k) {
    std::vector<std::int64_t> fan_in{D, D, C, C};
    for (int l = 0; l < L; ++l) {
      fan_in.push_back(H);
      fan_in.push_back(H);
    }
    fan_in.push_back(H);
    fan_in.push_back(H);
    for (std::size_t j = 0; j < fan_in.size(); ++j, ++idx) {
      const ParamInfo& p = params[idx];
      Rng rng(seed, RngStream::kFlowInit, static_cast<std::uint64_t>(k) * per_block + j);
      const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in[j]));
      for (std::int64_t r = 0; r < p.rows; ++r)
        for (std::int64_t c = 0; c < p.cols; ++c) {
          const double v = rng.uniform(-bound, bound);
          const bool live = p.live_cols.empty() || c < p.live_cols[r];
          w[p.offset + r * p.cols + c] = live ? static_cast<float>(v) : 0.0f;
        }
    }
  }
  // Fixed random permutations (nflows RandomPermutation: torch.randperm).
  perm.assign(cfg.n_blocks, {});
  inv_perm.assign(cfg.n_blocks, {});
  for (int k = 0; k < cfg.n_blocks; ++k) {
    std::vector<std::int64_t> p(D);
    std::iota(p.begin(), p.end(), 0);
    Rng rng(seed, RngStream::kFlowInit, (std::uint64_t{1} << 40) + static_cast<std::uint64_t>(k));
    for (int i = D - 1; i > 0; --i) std::swap(p[i], p[rng.below(static_cast<std::uint32_t>(i + 1))]);
    std::vector<std::int64_t> ip(D);
    for (int i = 0; i < D; ++i) ip[p[i]] = i;
    perm[k] = p;
    inv_perm[k] = ip;
  }
  make_views();
}

std::unique_ptr<Flow::Impl> Flow::Impl::clone() const {
  auto c = std::make_unique<Impl>(*this);
  c->flat = flat.detach().clone();
  c->make_views();  // and a device copy of its own
  return c;
}

bool Flow::Impl::to_flow_coords(const float* theta, float* y, double* logdet) const {
  double ld = 0.0;
  const bool box = !meta.theta_lower.empty();
  for (int i = 0; i < D; ++i) {
    double u = theta[i];
    if (box) {
      const double lo = meta.theta_lower[i], w = meta.theta_upper[i] - lo;
      const double p = (u - lo) / w;
      if (!(p > 0.0 && p < 1.0)) {
        *logdet = -std::numeric_limits<double>::infinity();
        return false;
      }
      u = std::log(p) - std::log1p(-p);
      ld += -std::log(p) - std::log1p(-p) - std::log(w);
    }
    y[i] = static_cast<float>((u - theta_mean[i]) / theta_std[i]);
    ld -= std::log(theta_std[i]);
  }
  *logdet = ld;
  return true;
}

void Flow::Impl::from_flow_coords(const float* y, float* theta, double* logdet) const {
  double ld = 0.0;
  const bool box = !meta.theta_lower.empty();
  for (int i = 0; i < D; ++i) {
    const double u = static_cast<double>(y[i]) * theta_std[i] + theta_mean[i];
    ld += std::log(theta_std[i]);
    if (box) {
      const double lo = meta.theta_lower[i], hi = meta.theta_upper[i], w = hi - lo;
      // p = sigmoid(u), 1 - p = sigmoid(-u), computed without cancellation.
      const double p = u >= 0 ? 1.0 / (1.0 + std::exp(-u)) : std::exp(u) / (1.0 + std::exp(u));
      const double q = u >= 0 ? std::exp(-u) / (1.0 + std::exp(-u)) : 1.0 / (1.0 + std::exp(u));
      const double t = p < 0.5 ? lo + w * p : hi - w * q;
      float flo = static_cast<float>(lo), fhi = static_cast<float>(hi);
      if (static_cast<double>(flo) <= lo) flo = std::nextafter(flo, fhi);
      if (static_cast<double>(fhi) >= hi) fhi = std::nextafter(fhi, flo);
      theta[i] = std::clamp(static_cast<float>(t), flo, fhi);
      // log dtheta/du = log w + log p + log(1 - p); log p = -softplus(-u).
      const double log_p = -(std::max(-u, 0.0) + std::log1p(std::exp(-std::abs(u))));
      const double log_q = -(std::max(u, 0.0) + std::log1p(std::exp(-std::abs(u))));
      ld += std::log(w) + log_p + log_q;
    } else {
      theta[i] = static_cast<float>(u);
    }
  }
  *logdet = ld;
}

void Flow::Impl::standardize_x(const float* x, float* e) const {
  for (int j = 0; j < C; ++j) e[j] = static_cast<float>((x[j] - x_mean[j]) / x_std[j]);
}

torch::Tensor Flow::Impl::made_dense(int k, const torch::Tensor& y, const torch::Tensor& e) const {
  const MadeViews& b = torch_weights().blocks[k];
  torch::Tensor h = torch::addmm(b.b0, y, b.W0.t()) + torch::tanh(torch::addmm(b.bc, e, b.Wc.t()));
  h = torch::tanh(h);
  for (int l = 0; l < L; ++l) h = torch::tanh(torch::addmm(b.bh[l], h, b.Wh[l].t()));
  return torch::addmm(b.bout, h, b.Wout.t());
}

using torch::indexing::Slice;

torch::Tensor Flow::Impl::forward_torch(const torch::Tensor& y0, const torch::Tensor& e,
                                        torch::Tensor& logdet) const {
  const TorchWeights& w = torch_weights();
  torch::Tensor y = y0;
  logdet = torch::zeros({y0.size(0)}, y0.options());
  for (int k = 0; k < cfg.n_blocks; ++k) {
    torch::Tensor out = made_dense(k, y, e).view({-1, D, P});
    torch::Tensor ld;  // [B, D], log |dy_out / dy_in| per value
    if (is_spline()) y = rq_spline(y, out.index({"...", Slice(2, P)}), spline, /*inverse=*/false, &ld);
    const torch::Tensor s = affine_scale(out.select(2, 0));
    y = s * y + out.select(2, 1);
    ld = ld.defined() ? ld + torch::log(s) : torch::log(s);
    logdet = logdet + ld.sum(1);
    y = y.index_select(1, w.perm_t[k]);
  }
  return y;
}

torch::Tensor Flow::Impl::inverse_torch(const torch::Tensor& z, const torch::Tensor& e,
                                        torch::Tensor& logdet) const {
  const TorchWeights& w = torch_weights();
  const std::int64_t B = z.size(0);
  logdet = torch::zeros({B}, z.options());
  torch::Tensor y = z;
  for (int k = cfg.n_blocks - 1; k >= 0; --k) {
    const torch::Tensor target = y.index_select(1, w.inv_perm_t[k]);
    // Pass p fixes value p (its parameters depend on values < p only); the last pass's
    // parameters are therefore all final, and so is its log-determinant.
    torch::Tensor yin = torch::zeros({B, D}, z.options()), ld;
    for (int i = 0; i < D; ++i) {
      torch::Tensor out = made_dense(k, yin, e).view({B, D, P});
      const bool last = i + 1 == D;
      const torch::Tensor sc = affine_scale(out.select(2, 0));
      yin = (target - out.select(2, 1)) / sc;
      torch::Tensor ld_spline;
      if (is_spline())
        yin = rq_spline(yin, out.index({"...", Slice(2, P)}), spline, /*inverse=*/true, last ? &ld_spline : nullptr);
      if (last) ld = ld_spline.defined() ? ld_spline + torch::log(sc) : torch::log(sc);
    }
    logdet.add_(ld.sum(1));
    y = yin;
  }
  return y;
}

torch::Tensor Flow::Impl::log_prob_train(const torch::Tensor& y, const torch::Tensor& e) const {
  torch::Tensor logdet;
  const torch::Tensor z = forward_torch(y, e, logdet);
  return logdet - 0.5 * z.pow(2).sum(1) - 0.5 * D * kLog2Pi;
}

namespace {
/// Pointers of every MADE's tensors into a buffer laid out like `flat`, in the order of
/// build_layout(). Ptrs: kern::MadePtrs (parameters) or kern::MadeGradPtrs (gradients).
template <class Ptrs, class F>
std::vector<Ptrs> block_pointers(const std::vector<ParamInfo>& params, int n_blocks, int L, F* base) {
  std::vector<Ptrs> blocks(n_blocks);
  std::size_t idx = 0;
  auto next = [&] { return base + params[idx++].offset; };
  for (Ptrs& b : blocks) {
    b.W0 = next();
    b.b0 = next();
    b.Wc = next();
    b.bc = next();
    for (int l = 0; l < L; ++l) {
      b.Wh.push_back(next());
      b.bh.push_back(next());
    }
    b.Wout = next();
    b.bout = next();
  }
  return blocks;
}
}  // namespace

kern::MafView Flow::Impl::kernel_view() const {
  kern::MafView v;
  v.D = D;
  v.C = C;
  v.H = H;
  v.L = L;
  v.group_degree = group_degree;
  v.group_begin = group_begin;
  v.group_end = group_end;
  v.prefix_le = prefix_le;
  v.perm = &perm;
  v.inv_perm = &inv_perm;
  v.blocks = block_pointers<kern::MadePtrs>(params, cfg.n_blocks, L, static_cast<const float*>(flat.data_ptr<float>()));
  return v;
}

std::vector<kern::MadeGradPtrs> Flow::Impl::grad_view(float* base) const {
  return block_pointers<kern::MadeGradPtrs>(params, cfg.n_blocks, L, base);
}

namespace {
/// Rows per chunk of the inference kernels: a chunk's activations ((L + 1) x H x rows floats,
/// 3 MB at SEDflow size) stay in L2/L3 while every weight is used for all its rows.
const std::int64_t kChunkRows =
    std::getenv("SEDPOST_FLOW_CHUNK") ? std::max(16LL, std::atoll(std::getenv("SEDPOST_FLOW_CHUNK"))) : 512;

/// Runs fn(r0, r1, workspace) over [0, n) in chunks of at most kChunkRows rows. Threads take
/// chunks from a shared counter (dynamic scheduling: a thread slowed down by other load on
/// the machine does not hold the others at a barrier). Exceptions are rethrown here.
template <class Fn>
void for_row_chunks(std::int64_t n, Fn&& fn) {
  if (n <= 0) return;
  const std::int64_t threads = std::max(1, at::get_num_threads());
  const std::int64_t per_thread = (n + threads - 1) / threads;
  const std::int64_t chunk = std::min(kChunkRows, (per_thread + kern::kLanes - 1) / kern::kLanes * kern::kLanes);
  const std::int64_t n_chunks = (n + chunk - 1) / chunk;
  std::atomic<std::int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  at::parallel_for(0, std::min(threads, n_chunks), 1, [&](std::int64_t, std::int64_t) {
    kern::Workspace ws;
    try {
      for (std::int64_t c; (c = next.fetch_add(1)) < n_chunks;)
        fn(c * chunk, std::min(n, (c + 1) * chunk), ws);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      error = std::current_exception();
      next = n_chunks;
    }
  });
  if (error) std::rethrow_exception(error);
}
}  // namespace

namespace {
/// Copies a float32 tensor's elements (row-major) to `out`.
void copy_rows(const torch::Tensor& t, float* out) {
  const torch::Tensor c = t.contiguous();
  std::copy_n(c.data_ptr<float>(), c.numel(), out);
}
}  // namespace

namespace {
/// A host array as a tensor on `device` (a copy there; a view of the array on the host).
torch::Tensor on_device(const float* data, std::int64_t rows, std::int64_t cols, const torch::Device& device) {
  const torch::Tensor t = torch::from_blob(const_cast<float*>(data), {rows, cols}, torch::kFloat32);
  return device.is_cpu() ? t : t.to(device);
}
torch::Device torch_path_device(const std::optional<torch::Device>& d) { return d ? *d : torch::Device(torch::kCPU); }
}  // namespace

void Flow::Impl::forward_rows(const float* y, const float* e, std::int64_t n, float* z,
                              float* logdet) const {
  if (uses_torch_path()) {
    c10::InferenceMode guard;
    const torch::Device dev = torch_path_device(torch_device);
    torch::Tensor ld;
    const torch::Tensor zt = forward_torch(on_device(y, n, D, dev), on_device(e, n, C, dev), ld);
    copy_rows(zt.cpu(), z);
    copy_rows(ld.cpu(), logdet);
    return;
  }
  const kern::MafView v = kernel_view();
  for_row_chunks(n, [&](std::int64_t r0, std::int64_t r1, kern::Workspace& ws) {
    kern::forward_chunk(v, y + r0 * D, e + r0 * C, r1 - r0, z + r0 * D, logdet + r0, ws);
  });
}

void Flow::Impl::inverse_rows(const float* z, const float* e_obs, std::int64_t n_obs,
                              const std::int64_t* row_obs, std::int64_t n, float* y,
                              float* logdet) const {
  if (uses_torch_path()) {
    c10::InferenceMode guard;
    const torch::Device dev = torch_path_device(torch_device);
    torch::Tensor rows = torch::from_blob(const_cast<std::int64_t*>(row_obs), {n}, torch::kInt64);
    if (!dev.is_cpu()) rows = rows.to(dev);
    const torch::Tensor e = on_device(e_obs, n_obs, C, dev).index_select(0, rows);
    torch::Tensor ld;
    const torch::Tensor yt = inverse_torch(on_device(z, n, D, dev), e, ld);
    copy_rows(yt.cpu(), y);
    copy_rows(ld.cpu(), logdet);
    return;
  }
  const kern::MafView v = kernel_view();
  for_row_chunks(n, [&](std::int64_t r0, std::int64_t r1, kern::Workspace& ws) {
    kern::inverse_chunk(v, z + r0 * D, e_obs, n_obs, row_obs + r0, r1 - r0, y + r0 * D, logdet + r0, ws);
  });
}

void Flow::Impl::forward_fast(const torch::Tensor& y, const torch::Tensor& e, torch::Tensor& z,
                              torch::Tensor& logdet) const {
  const torch::Tensor yc = y.detach().to(torch::kFloat32).contiguous();
  const torch::Tensor ec = e.detach().to(torch::kFloat32).contiguous();
  const std::int64_t B = yc.size(0);
  z = torch::empty({B, D}, torch::kFloat32);
  logdet = torch::empty({B}, torch::kFloat32);
  forward_rows(yc.data_ptr<float>(), ec.data_ptr<float>(), B, z.data_ptr<float>(), logdet.data_ptr<float>());
}

void Flow::Impl::inverse_fast(const torch::Tensor& z, const torch::Tensor& e,
                              const torch::Tensor& row_to_obs, torch::Tensor& y_out,
                              torch::Tensor& logdet) const {
  const torch::Tensor zc = z.detach().to(torch::kFloat32).contiguous();
  const torch::Tensor ec = e.detach().to(torch::kFloat32).contiguous();
  const torch::Tensor rc = row_to_obs.to(torch::kInt64).contiguous();
  const std::int64_t B = zc.size(0);
  y_out = torch::empty({B, D}, torch::kFloat32);
  logdet = torch::empty({B}, torch::kFloat32);
  inverse_rows(zc.data_ptr<float>(), ec.data_ptr<float>(), ec.size(0), rc.data_ptr<std::int64_t>(), B,
               y_out.data_ptr<float>(), logdet.data_ptr<float>());
}

}  // namespace sedpost::flow
