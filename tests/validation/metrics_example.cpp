/// Writes OUT_DIR/metrics.json from synthetic data (conjugate Gaussian posteriors, calibrated
/// for two quantities and too narrow for a third; flags; flow vs MCMC for 25 galaxies) so that
/// the schema can be checked by Python and the report script has a real metrics.json.
/// Usage: validation_metrics_example OUT_DIR
#include <cstdio>
#include <exception>

#include "conjugate.hpp"
#include "validation/metrics_json.hpp"

int main(int argc, char** argv) {
  using namespace sedpost::validation;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    constexpr std::size_t kN = 300, kS = 399, kK = 3;
    auto d = testing::conjugate_gaussian(kN, kS, kK, 1.0, 7);
    const auto narrow = testing::conjugate_gaussian(kN, kS, kK, 0.5, 7);
    for (std::size_t i = 0; i < kN; ++i)  // quantity 2 overconfident
      for (std::size_t s = 0; s < kS; ++s)
        d.samples[(i * kS + s) * kK + 2] = narrow.samples[(i * kS + s) * kK + 2];
    const std::vector<std::string> names = {"log_mstar", "log_sfr_100myr", "tau_ism"};
    MetricsReport r;
    r.run_info = {{"generator", "validation_metrics_example"}, {"test_set", "synthetic conjugate Gaussian"}};
    r.calibration = calibrate(d.samples.data(), d.truth.data(), kN, kS, kK, names);
    std::vector<std::uint32_t> flags(kN, 0);
    for (std::size_t i = 0; i < kN; i += 7) flags[i] = 1u << (i % 3);
    r.flags = summarize_flags(flags.data(), kN, {"noisier_than_training", "colour_out_of_range", "chi2_implausible"});
    set_flag_expectations(*r.flags, expected_flag_rates(r.flags->names, 5, 3.0, 0.001, 1e-3));
    std::vector<double> chi2_draw(kN), chi2_best(kN), ess(kN);
    std::vector<std::uint32_t> n_draws(kN), rounds(kN);
    for (std::size_t i = 0; i < kN; ++i) {  // deterministic stand-ins with the right ranges
      chi2_draw[i] = 5.0 * (0.5 + static_cast<double>(i) / kN);
      chi2_best[i] = 0.3 * chi2_draw[i];
      ess[i] = 100.0 + static_cast<double>(i);
      n_draws[i] = 1000 * (1 + static_cast<std::uint32_t>(i % 3));
      rounds[i] = static_cast<std::uint32_t>(i % 3);
    }
    r.goodness_of_fit = goodness_of_fit(chi2_draw, chi2_best, 5.0);
    r.weighting = summarize_weighting(ess, n_draws, rounds);
    constexpr std::size_t kG = 25;
    const auto mcmc = testing::conjugate_gaussian(kG, kS, kK, 1.1, 7);  // same posteriors, 10 % wider
    FlowMcmcSettings st;
    st.c2st.max_samples = 400;
    r.flow_vs_mcmc = compare_flow_mcmc({d.samples.data(), kG, kS, kK, 0},
                                       {mcmc.samples.data(), kG, kS, kK, 0}, names, {}, st);
    write_metrics_json(std::string(argv[1]) + "/metrics.json", r);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
