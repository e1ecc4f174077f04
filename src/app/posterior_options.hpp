#pragma once
/// Command-line options of the likelihood-checked posterior, shared by `infer`, `sample` and
/// `validate` (config keys in their own tables: weighting, min_ess, max_rounds, moves, move_draws,
/// model_error, chi2_pvalue).
#include <CLI/CLI.hpp>

#include "posterior/settings.hpp"

namespace sedpost::app {

/// Adds --weighting, --min-ess, --max-rounds, --moves, --move-draws, --defensive, --model-error,
/// --noise-likelihood, --z-mode-weight and --chi2-pvalue bound to `s`
/// (which must outlive the parse). `model_error_help` explains the default of the command.
void add_posterior_options(CLI::App* sub, posterior::PosteriorSettings& s, const std::string& model_error_help);

}  // namespace sedpost::app
