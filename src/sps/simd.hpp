#pragma once
/// Internal: run-time dispatched vector clones for the model's hot loops. The project builds for
/// baseline x86-64; GCC's target_clones adds AVX2/FMA and AVX-512 versions chosen at load time.
/// The files using it are compiled with -fno-trapping-math (src/sps/CMakeLists.txt) so that the
/// branch-free selects below if-convert and vectorise; results are unchanged.
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SEDPOST_SPS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SEDPOST_SPS_CLONES
#endif

namespace sedpost::sps::detail {

/// OUT = exp(X) in single precision (Cephes expf polynomial, ~2 ulp; rounding to the nearest
/// power of two with the 1.5 * 2^23 trick). X must lie in [-87, 88]; callers clamp. A macro, not a
/// function: GCC does not inline a default-target function into the AVX clones, which then do
/// not vectorise.
#define SEDPOST_SPS_FAST_EXPF(X, OUT)                                                   \
  do {                                                                                  \
    const float x_ = (X);                                                               \
    const float fx_ = (x_ * 1.44269504088896341f + 12582912.0f) - 12582912.0f;          \
    float r_ = x_ - fx_ * 0.693359375f;                                                 \
    r_ = r_ - fx_ * -2.12194440e-4f;                                                    \
    float y_ = 1.9875691500e-4f;                                                        \
    y_ = y_ * r_ + 1.3981999507e-3f;                                                    \
    y_ = y_ * r_ + 8.3334519073e-3f;                                                    \
    y_ = y_ * r_ + 4.1665795894e-2f;                                                    \
    y_ = y_ * r_ + 1.6666665459e-1f;                                                    \
    y_ = y_ * r_ + 5.0000001201e-1f;                                                    \
    y_ = y_ * r_ * r_ + r_ + 1.0f;                                                      \
    const int32_t bits_ = (static_cast<int32_t>(fx_) + 127) * 8388608;                 \
    float scale_;                                                                       \
    std::memcpy(&scale_, &bits_, sizeof scale_);                                        \
    (OUT) = y_ * scale_;                                                                \
  } while (0)

}  // namespace sedpost::sps::detail
