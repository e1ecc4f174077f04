#pragma once
/// Modes of a galaxy's redshift posterior (photo-z mode, docs/photo-z.md), for the
/// `z_multimodal` flag: a second peak of the weighted z draws carrying a real share of the
/// posterior means the photometry allows two redshifts (typically a Balmer / Lyman-break
/// confusion), and the summaries (means, percentiles) then straddle both.
///
/// Method: a weighted histogram of the draws on G = 200 bins over [lo, hi], smoothed by a
/// Gaussian of Silverman's width h = 0.9 min(sd, IQR / 1.34) n_eff^(-1/5) (n_eff the Kish
/// effective sample size; h at least two bins), then split at the density minima between
/// neighbouring maxima. Neighbouring segments merge while the minimum between them is above
/// `max_dip` times the lower of the two peaks (noise, not a valley). A mode is a segment holding at
/// least `min_weight` of the total weight.
#include <cstddef>
#include <string>
#include <vector>

namespace sedpost::posterior {

struct RedshiftMode {
  double z = 0;       ///< location of the peak
  double weight = 0;  ///< share of the posterior weight in its segment
};

/// Modes of draws z [n] with weights w [n] (>= 0, any normalisation; null = equal), ordered by
/// weight, heaviest first. Draws outside [lo, hi] and NaN draws are ignored. Empty when no draw
/// carries weight.
std::vector<RedshiftMode> redshift_modes(const double* z, const double* w, std::size_t n, double lo, double hi,
                                         double min_weight, double max_dip = 0.5);

/// "z = 0.31 (0.72), 0.78 (0.28)".
std::string describe_modes(const std::vector<RedshiftMode>& modes);

}  // namespace sedpost::posterior
