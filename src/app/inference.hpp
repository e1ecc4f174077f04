#pragma once
/// Catalog inference shared by `sedpost infer` and `sedpost validate`: posteriors for every
/// selected catalog row, chunks claimed dynamically by the ranks, one parallel-HDF5 posterior
/// catalog (ARCHITECTURE.md "Posterior catalog"; docs/file-formats.md).
#include <cstdint>
#include <string>

#include "app/cli.hpp"
#include "catalog/column_map.hpp"
#include "posterior/settings.hpp"
#include "flow/flow.hpp"

namespace sedpost::app {

struct InferJob {
  std::string model;                 ///< model file (trained on a `sedpost simulate` set)
  std::string catalog;               ///< input catalog
  catalog::ColumnMap columns;        ///< how to read it
  std::string out;                   ///< output posterior catalog
  std::string rows;                  ///< "a:b" selection (empty = all)
  posterior::PosteriorSettings settings;
  std::uint64_t chunk = 64;          ///< galaxies per work item (and HDF5 chunk rows)
  int threads = 0;                   ///< flow threads per rank (0 = cores / ranks)
  std::string device = "cpu";        ///< flow device of a flow loaded here (--device; not of `loaded`)
  bool resume = false;               ///< continue <out>.partial
};

/// Job-wide counts of a finished run.
struct InferStats {
  std::uint64_t n_rows = 0;
  std::uint64_t n_flagged = 0;
  std::uint64_t n_no_posterior = 0;
  std::uint64_t n_resumed = 0;       ///< rows already done in the resumed file
  std::uint64_t n_refined = 0;       ///< rows computed here whose weights needed refinement rounds
  double mean_ess = 0;               ///< mean effective sample size over rows computed here with a posterior (NaN: off)
  double mean_acceptance = 0;        ///< mean resample-move acceptance rate over those rows (NaN: moves off)
  double wall_s = 0;
  double galaxies_per_s = 0;         ///< rows computed in this run / wall time
};

/// Collective. Runs the job and commits `job.out`. Throws ConfigError / DataError naming the
/// input (model, catalog column, ...) before any output is created when the inputs are bad.
/// `loaded`: the flow of `job.model` when the caller has already loaded it on every rank
/// (validate); nullptr loads the file.
InferStats run_inference(Context& ctx, const InferJob& job, const flow::Flow* loaded = nullptr);

}  // namespace sedpost::app
