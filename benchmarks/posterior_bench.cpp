// Cost of one spectral-likelihood evaluation (docs/spectra.md, "Spectral likelihood"), split
// into its two stages, at the default [spectrum] settings (3,600-9,800 A, R = 2,000, 4,006
// pixels) and the demo model (SDSS ugriz), one thread:
//   SpectrumChi2      SpectrumLikelihood::chi2 at the galaxy's fixed z (what the MCMC calls
//                     per draw; the spectrograph's map precomputed as a banded matrix)
//   SpectrumChi2FreeZ the same without the matrix (z free: Spectrograph::observe per call)
//   ObservationMatrixApply the banded product alone
//   SedModelSpectrum  SedModel::spectrum alone (the SED on the model's wavelength nodes)
//   Observe           Spectrograph::observe alone (line-spread function and pixel sampling)
// Run with --benchmark_repetitions=5 --benchmark_report_aggregates_only=true for medians.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "posterior/spectrum_likelihood.hpp"
#include "sps/sed_model.hpp"
#include "sps/spectrograph.hpp"

namespace {

std::string data_dir() {
  if (const char* d = std::getenv("SEDPOST_DATA_DIR"); d && *d) return d;
  if (const char* s = std::getenv("SEDPOST_SOURCE_DIR"); s && *s) return std::string(s) + "/../shared/data";
  return "../shared/data";
}

const sedpost::sps::SedModel& model() {
  static const sedpost::sps::SedModel m([] {
    sedpost::sps::SedModelSettings s;
    s.data_dir = data_dir();
    return s;
  }());
  return m;
}

const sedpost::sps::Spectrograph& spectrograph() {
  static const sedpost::sps::Spectrograph s{sedpost::sps::SpectrographSettings{}};
  return s;
}

// A mid-prior galaxy: log M* = 10, flat-ish SFH, a small burst, moderate dust.
const double kTheta[12] = {10.0, 0.25, 0.25, 0.25, 0.25, 0.1, 2.0, 1e-3, 1e-3, 0.3, 0.3, 0.0};
constexpr double kZ = 0.08;

void BM_SpectrumChi2(benchmark::State& state) {
  std::vector<double> f = spectrograph().observe(model().spectrum(kTheta, kZ));
  spectrograph().normalise(f);
  const std::vector<float> obs(f.begin(), f.end());
  const sedpost::posterior::SpectrumLikelihood like(model(), spectrograph(), obs.data(), kZ);
  double theta[12];
  std::copy(kTheta, kTheta + 12, theta);
  for (auto _ : state) {
    theta[9] = 0.3 + 1e-6 * static_cast<double>(state.iterations() % 7);  // vary tau_bc a little
    benchmark::DoNotOptimize(like.chi2(theta, kZ));
  }
  state.counters["pixels"] = like.num_pixels();
}
BENCHMARK(BM_SpectrumChi2)->Unit(benchmark::kMicrosecond);

void BM_SpectrumChi2FreeZ(benchmark::State& state) {  // no precomputed matrix (z free)
  std::vector<double> f = spectrograph().observe(model().spectrum(kTheta, kZ));
  spectrograph().normalise(f);
  const std::vector<float> obs(f.begin(), f.end());
  const sedpost::posterior::SpectrumLikelihood like(model(), spectrograph(), obs.data());
  for (auto _ : state) benchmark::DoNotOptimize(like.chi2(kTheta, kZ));
}
BENCHMARK(BM_SpectrumChi2FreeZ)->Unit(benchmark::kMicrosecond);

void BM_ObservationMatrixApply(benchmark::State& state) {
  const sedpost::sps::Spectrum s = model().spectrum(kTheta, kZ);
  const sedpost::sps::ObservationMatrix m = spectrograph().observation_matrix(s.wavelength);
  std::vector<double> out(static_cast<std::size_t>(m.num_pixels()));
  for (auto _ : state) {
    m.apply(s.flambda.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["weights"] = static_cast<double>(m.weight.size());
}
BENCHMARK(BM_ObservationMatrixApply)->Unit(benchmark::kMicrosecond);

void BM_SedModelSpectrum(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(model().spectrum(kTheta, kZ));
  state.counters["nodes"] = static_cast<double>(model().spectrum(kTheta, kZ).wavelength.size());
}
BENCHMARK(BM_SedModelSpectrum)->Unit(benchmark::kMicrosecond);

void BM_Observe(benchmark::State& state) {
  const sedpost::sps::Spectrum s = model().spectrum(kTheta, kZ);
  for (auto _ : state) benchmark::DoNotOptimize(spectrograph().observe(s));
}
BENCHMARK(BM_Observe)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
