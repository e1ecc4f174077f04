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

/// OUT = ln(X) in double precision for a finite normal X > 0, within 1 ulp (fdlibm/musl's
/// log: X = 2^k m with m in [sqrt(1/2), sqrt(2)), log(1 + f) by its s = f / (2 + f) series).
/// Branch-free, so loops calling it vectorise; a macro for the same reason as above.
#define SEDPOST_SPS_LN(X, OUT)                                                                   \
  do {                                                                                          \
    const double x_ = (X);                                                                      \
    std::uint64_t u_;                                                                           \
    std::memcpy(&u_, &x_, sizeof u_);                                                           \
    const std::int64_t k_ = static_cast<std::int64_t>(u_ - 0x3fe6a09e667f3bcdULL) >> 52;        \
    const std::uint64_t mb_ = u_ - (static_cast<std::uint64_t>(k_) << 52);                     \
    double m_;                                                                                  \
    std::memcpy(&m_, &mb_, sizeof m_);                                                          \
    const double f_ = m_ - 1.0;                                                                 \
    const double s_ = f_ / (2.0 + f_);                                                          \
    const double z_ = s_ * s_, w_ = z_ * z_;                                                    \
    const double t1_ = w_ * (3.999999999940941908e-01 +                                         \
                             w_ * (2.222219843214978396e-01 + w_ * 1.531383769920937332e-01));  \
    const double t2_ = z_ * (6.666666666666735130e-01 +                                         \
                             w_ * (2.857142874366239149e-01 +                                   \
                                   w_ * (1.818357216161805012e-01 + w_ * 1.479819860511658591e-01))); \
    const double hfsq_ = 0.5 * f_ * f_;                                                         \
    const double dk_ = static_cast<double>(static_cast<std::int32_t>(k_));                      \
    (OUT) = dk_ * 6.93147180369123816490e-01 -                                                  \
            ((hfsq_ - (s_ * (hfsq_ + (t2_ + t1_)) + dk_ * 1.90821492927058770002e-10)) - f_);     \
  } while (0)

}  // namespace sedpost::sps::detail
