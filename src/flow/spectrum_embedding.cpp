#include "flow/spectrum_embedding.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/logger.hpp"
#include "core/rng.hpp"
#include "flow/embedding_model.hpp"
#include "flow/serial.hpp"

namespace sedpost::flow {

namespace {

constexpr int kKernel = 7;  // kernel of the later convolutions (stride 2, padding 3)
/// 2: + pooling, rest-frame shift, ln(lambda) step, ln(1 + z_max) (version 1 files read as
/// attention pooling in the observed frame).
constexpr std::uint32_t kEmbeddingVersion = 2;
/// Rng index base of the embedding's initial weights (the flow's own draws use small indices).
constexpr std::uint64_t kInitIndex = std::uint64_t{0xE3B} << 40;

void check(const EmbeddingConfig& c) {
  if (c.pooling != Pooling::kAttention && c.pooling != Pooling::kFlatten)
    throw ConfigError(cat("spectrum embedding: unknown pooling ", static_cast<int>(c.pooling)));
  if (c.rest_shift < 0 || c.rest_shift > 10 * c.n_pixels ||
      (c.rest_shift > 0 && (!(c.ln_step > 0.0) || !std::isfinite(c.ln_step) || !(c.ln1pz_max >= 0.0) ||
                            !std::isfinite(c.ln1pz_max))))
    throw ConfigError(cat("spectrum embedding: bad rest frame (shift ", c.rest_shift, " pixels, ln(lambda) step ",
                          c.ln_step, ", ln(1 + z_max) ", c.ln1pz_max, ")"));
  if (c.n_pixels < 16 * c.input_stride || c.input_stride < 1 || c.input_stride > 1024 || c.out_dim < 1 || c.channels < 1 || c.n_conv < 1 || c.heads < 1 || c.hidden < 1 ||
      c.n_pixels > 10000000 || c.out_dim > 4096 || c.channels > 4096 || c.n_conv > 16 || c.heads > 256 ||
      c.hidden > 65536)
    throw ConfigError(cat("spectrum embedding: bad architecture (pixels ", c.n_pixels, ", out ", c.out_dim,
                          ", channels ", c.channels, ", convolutions ", c.n_conv, ", input stride ", c.input_stride, ", heads ", c.heads,
                          ", hidden ", c.hidden, ")"));
}

/// Shapes of the weights in the order of Impl::weights, with their fan-in; fan_in 0 marks a
/// bias (initialised to 0).
struct Shape {
  std::vector<std::int64_t> dims;
  std::int64_t fan_in;
};

/// Input positions P' = P + rest_shift and channels (value, position; + coverage mask in the
/// rest frame).
std::int64_t input_positions(const EmbeddingConfig& c) { return std::int64_t{c.n_pixels} + c.rest_shift; }
std::int64_t input_channels(const EmbeddingConfig& c) { return c.rest_shift > 0 ? 3 : 2; }

/// Positions after the convolutions: floor(P' / input_stride), then (L - 1) / 2 + 1 per later one.
std::int64_t pooled_positions(const EmbeddingConfig& c) {
  std::int64_t L = input_positions(c) / c.input_stride;
  for (int l = 1; l < c.n_conv; ++l) L = (L - 1) / 2 + 1;
  return L;
}

std::vector<Shape> shapes(const EmbeddingConfig& c) {
  std::vector<Shape> s;
  std::int64_t in = input_channels(c);
  for (int l = 0; l < c.n_conv; ++l) {
    const std::int64_t k = l == 0 ? 2 * c.input_stride : kKernel;
    s.push_back({{c.channels, in, k}, in * k});
    s.push_back({{c.channels}, 0});
    in = c.channels;
  }
  std::int64_t pooled = pooled_positions(c) * c.channels;  // flatten
  if (c.pooling == Pooling::kAttention) {
    s.push_back({{c.heads, c.channels, 1}, c.channels});
    s.push_back({{pooled_positions(c), c.heads}, 0});  // per position: where each head looks
    pooled = std::int64_t{c.heads} * c.channels;
  }
  s.push_back({{c.hidden, pooled}, pooled});
  s.push_back({{c.hidden}, 0});
  s.push_back({{c.out_dim, c.hidden}, c.hidden});
  s.push_back({{c.out_dim}, 0});
  return s;
}

}  // namespace

Pooling pooling_from_string(const std::string& s) {
  if (s == "attention") return Pooling::kAttention;
  if (s == "flatten") return Pooling::kFlatten;
  throw ConfigError(cat("spectrum embedding: pooling '", s, "' is not one of attention, flatten"));
}

std::string to_string(Pooling p) { return p == Pooling::kFlatten ? "flatten" : "attention"; }

int rest_frame_shift(double ln_step, double z_min, double z_max) {
  if (!(ln_step > 0.0) || !(z_min > -1.0) || !(z_max >= z_min))
    throw ConfigError(cat("spectrum embedding: no rest frame for ln(lambda) step ", ln_step, " and z in [", z_min, ", ",
                          z_max, "]"));
  return static_cast<int>(std::ceil((std::log1p(z_max) - std::log1p(z_min)) / ln_step - 1e-9));
}

SpectrumEmbedding::Impl::Impl(const EmbeddingConfig& c) : cfg(c) {
  check(c);
  std::uint64_t index = kInitIndex;
  for (const Shape& sh : shapes(c)) {
    torch::Tensor w = torch::empty(sh.dims, torch::kFloat32);
    // He (Kaiming) uniform for the GELU layers: U(+-sqrt(6 / fan_in)) keeps the activations
    // spread from layer to layer (torch.nn's default, sqrt(1 / fan_in), shrinks it about
    // twofold per layer); biases start at 0.
    const double bound = sh.fan_in > 0 ? std::sqrt(6.0 / static_cast<double>(sh.fan_in)) : 0.0;
    float* p = w.data_ptr<float>();
    Rng rng(c.seed, RngStream::kFlowInit, index++);
    for (std::int64_t i = 0; i < w.numel(); ++i) p[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
    weights.push_back(w.set_requires_grad(true));
  }
  pixel_mean = torch::zeros({c.n_pixels}, torch::kFloat32);
  pixel_std = torch::ones({c.n_pixels}, torch::kFloat32);
  position = torch::linspace(-1.0, 1.0, input_positions(c), torch::kFloat32);
}

namespace {

/// 1-D convolution in the [B, L, C] layout (positions, then channels): h [B, L, C_in], w [C_out,
/// C_in, K], b [C_out] -> [B, L_out, C_out] with zero padding `pad` on both sides. Written as
/// unfold + matrix product (im2col) rather than torch::conv1d, whose oneDNN backward in the
/// LibTorch this project builds against gives wrong weight gradients for these shapes.
torch::Tensor conv(const torch::Tensor& h, const torch::Tensor& w, const torch::Tensor& b, std::int64_t stride,
                   std::int64_t pad) {
  const std::int64_t B = h.size(0), c_out = w.size(0), k = w.size(2);
  const torch::Tensor cols = torch::constant_pad_nd(h, {0, 0, pad, pad}).unfold(1, k, stride);  // [B, L_out, C_in, K]
  return torch::matmul(cols.reshape({B, cols.size(1), -1}), w.reshape({c_out, -1}).t()) + b;
}

}  // namespace

torch::Tensor SpectrumEmbedding::Impl::input(const torch::Tensor& spectra, const torch::Tensor& z) const {
  const std::int64_t B = spectra.size(0), P = cfg.n_pixels, Pin = input_positions(cfg);
  const torch::Tensor pos = position.reshape({1, -1, 1}).expand({B, Pin, 1});
  const torch::Tensor v = (spectra - pixel_mean) / pixel_std;  // [B, P]
  if (cfg.rest_shift == 0) return torch::cat({v.unsqueeze(2), pos}, 2);
  if (!z.defined() || z.numel() != B)
    throw ConfigError("spectrum embedding: a rest-frame embedding needs the redshift of every spectrum");
  // Rest pixel j shows observed pixel j - offset, offset = round((ln(1 + z_max) - ln(1 + z)) / step),
  // clamped to [0, rest_shift] (a z outside the training range keeps the nearest alignment).
  const torch::Tensor offset =
      ((cfg.ln1pz_max - torch::log1p(z.to(torch::kFloat64))) / cfg.ln_step).round().clamp(0, cfg.rest_shift).to(torch::kLong);
  const torch::Tensor idx = torch::arange(Pin, torch::kLong).unsqueeze(0) - offset.unsqueeze(1);  // [B, P']
  const torch::Tensor covered = ((idx >= 0) & (idx < P)).to(torch::kFloat32);
  const torch::Tensor rest = torch::gather(v, 1, idx.clamp(0, P - 1)) * covered;
  return torch::cat({rest.unsqueeze(2), covered.unsqueeze(2), pos}, 2);  // [B, P', 3]
}

torch::Tensor SpectrumEmbedding::Impl::forward(const torch::Tensor& spectra, const torch::Tensor& z) const {
  const std::int64_t B = spectra.size(0);
  torch::Tensor h = input(spectra, z);  // [B, P', C_in]
  std::size_t k = 0;
  for (int l = 0; l < cfg.n_conv; ++l, k += 2)
    h = torch::gelu(conv(h, weights[k], weights[k + 1], l == 0 ? cfg.input_stride : 2,
                         l == 0 ? cfg.input_stride / 2 : kKernel / 2));                           // [B, L, C]
  torch::Tensor pooled;
  if (cfg.pooling == Pooling::kAttention) {
    // Softmax over positions of each head's score; pooled [B, heads C].
    const torch::Tensor score = (torch::linear(h, weights[k].reshape({cfg.heads, -1})) + weights[k + 1]).softmax(1);  // [B, L, heads]
    pooled = torch::bmm(score.transpose(1, 2), h).reshape({B, -1});
    k += 2;
  } else {
    pooled = h.reshape({B, -1});  // [B, L C], position-major
  }
  const torch::Tensor hidden = torch::gelu(torch::linear(pooled, weights[k], weights[k + 1]));
  return torch::linear(hidden, weights[k + 2], weights[k + 3]);
}

std::int64_t SpectrumEmbedding::Impl::n_params() const {
  std::int64_t n = 0;
  for (const torch::Tensor& w : weights) n += w.numel();
  return n;
}

torch::Tensor SpectrumEmbedding::Impl::flat() const {
  std::vector<torch::Tensor> parts;
  for (const torch::Tensor& w : weights) parts.push_back(w.detach().reshape({-1}));
  return torch::cat(parts).contiguous();
}

void SpectrumEmbedding::Impl::set_flat(const float* p) {
  torch::NoGradGuard no_grad;
  for (torch::Tensor& w : weights) {
    std::copy_n(p, w.numel(), w.data_ptr<float>());
    p += w.numel();
  }
}

void SpectrumEmbedding::Impl::take_grad(float* out) {
  for (torch::Tensor& w : weights) {
    const std::int64_t n = w.numel();
    if (w.grad().defined()) {
      const torch::Tensor g = w.grad().contiguous();
      std::copy_n(g.data_ptr<float>(), n, out);
    } else {
      std::fill_n(out, n, 0.0f);
    }
    w.mutable_grad() = torch::Tensor();
    out += n;
  }
}

SpectrumEmbedding::SpectrumEmbedding(const EmbeddingConfig& cfg) : impl_(std::make_unique<Impl>(cfg)) {}
SpectrumEmbedding::SpectrumEmbedding(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SpectrumEmbedding::~SpectrumEmbedding() = default;
SpectrumEmbedding::SpectrumEmbedding(SpectrumEmbedding&&) noexcept = default;
SpectrumEmbedding& SpectrumEmbedding::operator=(SpectrumEmbedding&&) noexcept = default;

const EmbeddingConfig& SpectrumEmbedding::config() const { return impl_->cfg; }
std::int64_t SpectrumEmbedding::parameter_count() const { return impl_->n_params(); }

void SpectrumEmbedding::set_standardization(const std::vector<float>& mean, const std::vector<float>& std) {
  const auto P = static_cast<std::size_t>(n_pixels());
  if (mean.size() != P || std.size() != P)
    throw ConfigError(cat("spectrum embedding: ", mean.size(), " / ", std.size(), " pixel statistics for ", P,
                          " pixels"));
  for (std::size_t p = 0; p < P; ++p)
    if (!std::isfinite(mean[p]) || !(std[p] > 0.0f) || !std::isfinite(std[p]))
      throw ConfigError(cat("spectrum embedding: pixel ", p, " has mean ", mean[p], " and std ", std[p]));
  impl_->pixel_mean = torch::tensor(mean, torch::kFloat32);
  impl_->pixel_std = torch::tensor(std, torch::kFloat32);
}

void SpectrumEmbedding::embed(const float* spectra, const float* z, std::int64_t n, float* out) const {
  if (rest_frame() && z == nullptr && n > 0)
    throw ConfigError("spectrum embedding: a rest-frame embedding needs the redshift of every spectrum");
  c10::InferenceMode guard;
  constexpr std::int64_t kRows = 256;  // rows per pass: bounds the activations (rows x channels x P / 2)
  const std::int64_t P = n_pixels(), E = out_dim();
  for (std::int64_t r0 = 0; r0 < n; r0 += kRows) {
    const std::int64_t m = std::min(kRows, n - r0);
    const torch::Tensor s =
        torch::from_blob(const_cast<float*>(spectra + r0 * P), {m, P}, torch::kFloat32);
    const torch::Tensor zr =
        rest_frame() ? torch::from_blob(const_cast<float*>(z + r0), {m}, torch::kFloat32) : torch::Tensor();
    const torch::Tensor e = impl_->forward(s, zr).contiguous();
    std::copy_n(e.data_ptr<float>(), m * E, out + r0 * E);
  }
}

void SpectrumEmbedding::standardize_outputs(const std::vector<double>& mean, const std::vector<double>& std) {
  const auto E = static_cast<std::size_t>(out_dim());
  if (mean.size() != E || std.size() != E)
    throw ConfigError(cat("spectrum embedding: ", mean.size(), " / ", std.size(), " output statistics for ", E, " outputs"));
  torch::NoGradGuard no_grad;
  torch::Tensor& W = impl_->weights[impl_->weights.size() - 2];  // [E, hidden]
  torch::Tensor& b = impl_->weights.back();                      // [E]
  for (std::size_t k = 0; k < E; ++k) {
    if (!(std[k] > 0) || !std::isfinite(std[k]) || !std::isfinite(mean[k]))
      throw ConfigError(cat("spectrum embedding: output ", k, " has mean ", mean[k], " and std ", std[k]));
    const auto i = static_cast<std::int64_t>(k);
    W[i].div_(std[k]);
    b[i].sub_(mean[k]).div_(std[k]);
  }
}

std::vector<float> SpectrumEmbedding::parameters() const {
  const torch::Tensor f = impl_->flat();
  return {f.data_ptr<float>(), f.data_ptr<float>() + f.numel()};
}

void SpectrumEmbedding::set_parameters(const std::vector<float>& p) {
  if (static_cast<std::int64_t>(p.size()) != impl_->n_params())
    throw ConfigError(cat("spectrum embedding: ", p.size(), " parameters given, ", impl_->n_params(), " needed"));
  impl_->set_flat(p.data());
}

std::string SpectrumEmbedding::to_bytes() const {
  const EmbeddingConfig& c = config();
  Writer w;
  for (int v : {c.n_pixels, c.out_dim, c.channels, c.n_conv, c.input_stride, c.heads, c.hidden}) w.pod<std::int32_t>(v);
  w.pod<std::uint64_t>(c.seed);
  w.pod<std::int32_t>(static_cast<std::int32_t>(c.pooling));
  w.pod<std::int32_t>(c.rest_shift);
  w.pod<double>(c.ln_step);
  w.pod<double>(c.ln1pz_max);
  auto vec_of = [](const torch::Tensor& t) {
    return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  };
  w.vec(vec_of(impl_->pixel_mean.contiguous()));
  w.vec(vec_of(impl_->pixel_std.contiguous()));
  w.vec(parameters());
  return w.finish(FileKind::kEmbedding, kEmbeddingVersion);
}

SpectrumEmbedding SpectrumEmbedding::from_bytes(const std::string& bytes, const std::string& what) {
  Reader r(bytes, FileKind::kEmbedding, kEmbeddingVersion, what, 1);
  EmbeddingConfig c;
  for (int* v : {&c.n_pixels, &c.out_dim, &c.channels, &c.n_conv, &c.input_stride, &c.heads, &c.hidden})
    *v = r.pod<std::int32_t>();
  c.seed = r.pod<std::uint64_t>();
  c.pooling = Pooling::kAttention;  // version 1 had no other
  if (r.version() >= 2) {
    c.pooling = static_cast<Pooling>(r.pod<std::int32_t>());
    c.rest_shift = r.pod<std::int32_t>();
    c.ln_step = r.pod<double>();
    c.ln1pz_max = r.pod<double>();
  }
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(c);
  } catch (const ConfigError& e) {
    throw DataError(what + ": " + e.what());
  }
  SpectrumEmbedding out(std::move(impl));
  std::vector<float> mean = r.vec<float>(), sd = r.vec<float>(), p = r.vec<float>();
  if (!r.at_end() || static_cast<std::int64_t>(p.size()) != out.parameter_count()) r.fail();
  try {
    out.set_standardization(mean, sd);
  } catch (const ConfigError& e) {
    throw DataError(what + ": " + e.what());
  }
  out.set_parameters(p);
  return out;
}

}  // namespace sedpost::flow
