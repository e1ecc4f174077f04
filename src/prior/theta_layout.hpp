#pragma once
/// The flow's theta vector: the prior's 11 flow coordinates, then, when the redshift is
/// inferred (config `[model] redshift = "inferred"`, docs/photo-z.md), the redshift z as a 12th
/// coordinate on [z_min, z_max] with the prior RedshiftPrior (uniform unless `z_weights` give a
/// histogram), independent of the others. With z given (the
/// default) the layout is the 11 flow coordinates alone and z is part of the conditioning vector.
#include <cstddef>
#include <string>
#include <vector>

#include "prior/prior.hpp"
#include "prior/redshift_prior.hpp"

namespace sedpost::prior {

struct ThetaLayout {
  bool z_inferred = false;
  double z_min = 0.0, z_max = 0.2;  ///< redshift prior range (z_inferred only)
  std::vector<double> z_weights;    ///< histogram bin weights of the z prior (empty: uniform)

  /// Column of z in theta (z_inferred only).
  static constexpr std::size_t kZ = kNumFlow;

  /// 11, or 12 with z inferred.
  std::size_t dim() const { return kNumFlow + (z_inferred ? 1 : 0); }
  /// Prior::flow_names(), then "z".
  std::vector<std::string> names() const;
  /// Prior::flow_units(), then "" (z is dimensionless).
  std::vector<std::string> units() const;
  /// The redshift prior on [z_min, z_max] (ConfigError for a bad range or weights).
  RedshiftPrior z_prior() const { return RedshiftPrior(z_min, z_max, z_weights); }
  /// The prior's flow box, then [z_min, z_max].
  std::vector<double> lower(const Prior& prior) const;
  std::vector<double> upper(const Prior& prior) const;
};

}  // namespace sedpost::prior
