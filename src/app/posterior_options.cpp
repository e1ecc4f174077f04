#include "app/posterior_options.hpp"

namespace sedpost::app {

void add_posterior_options(CLI::App* sub, posterior::PosteriorSettings& s, const std::string& model_error_help) {
  sub->add_option("--weighting", s.weighting,
                  "Likelihood-checked posteriors (SED models): weight the flow's draws by the exact likelihood x "
                  "prior / flow density and refine where the effective sample size is low (true|false)")
      ->capture_default_str();
  sub->add_option("--min-ess", s.min_ess,
                  "Effective sample size each galaxy's weighted draws must reach; below it refinement rounds add "
                  "draws, and a galaxy still below it after --max-rounds is flagged weights_degenerate")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 1e9));
  sub->add_option("--max-rounds", s.max_rounds,
                  "Refinement rounds per galaxy at most (each adds n-samples likelihood evaluations, and as many "
                  "flow densities with --defensive true: the per-galaxy budget)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  sub->add_option("--moves", s.moves,
                  "Resample-move: after the weights, resample --move-draws draws by weight and move each this many "
                  "random-walk Metropolis steps on the exact posterior (amplitude coordinates); the summaries and "
                  "stored draws come from the moved draws. Spreads the tails that few effective draws leave thin "
                  "(docs/metrics.md). 0: off")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  sub->add_option("--move-draws", s.move_draws,
                  "Draws resampled and moved with --moves (each step costs this many likelihood evaluations); at "
                  "least the stored draws (--n-store; `sample` moves at least its --n)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  sub->add_option("--defensive", s.defensive,
                  "Weight every draw against one mixture of the flow and the refinement proposals (defensive "
                  "importance sampling: one flow density per refinement draw, about as costly as the draw itself "
                  "with a large flow); false: the flow's and the refinement's draws are weighted as two groups, "
                  "each against its own proposal")
      ->capture_default_str();
  sub->add_option("--model-error", s.model_error,
                  "Model-systematics floor: fractional flux error added in quadrature to every band's error in the "
                  "likelihood and the chi^2 (" + model_error_help + ")")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.999));
  sub->add_option("--noise-likelihood", s.noise_likelihood,
                  "Include the noise model's density of each observed error given the model flux, p(sigma | f), in "
                  "the weighting's target, as the simulator drew them (true|false; docs/metrics.md)")
      ->capture_default_str();
  sub->add_option("--z-mode-weight", s.z_mode_weight,
                  "Models that infer z: flag z_multimodal when the redshift posterior has two or more modes with at "
                  "least this share of the weight each")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 0.5));
  sub->add_option("--chi2-pvalue", s.chi2_pvalue,
                  "Flag chi2_implausible when the best-fitting draw's chi^2 (one degree of freedom per band) has "
                  "p-value below this; under the model it fires on at most this fraction of galaxies")
      ->capture_default_str();
}

}  // namespace sedpost::app
