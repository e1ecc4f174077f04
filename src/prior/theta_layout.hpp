#pragma once
/// The flow's theta vector: the prior's 11 flow coordinates, then, when the redshift is
/// inferred (config `[model] redshift = "inferred"`, docs/photo-z.md), the redshift z as a 12th
/// coordinate, uniform on [z_min, z_max] and independent of the others. With z given (the
/// default) the layout is the 11 flow coordinates alone and z is part of the conditioning vector.
#include <cstddef>
#include <string>
#include <vector>

#include "prior/prior.hpp"

namespace sedpost::prior {

struct ThetaLayout {
  bool z_inferred = false;
  double z_min = 0.0, z_max = 0.2;  ///< redshift prior range (z_inferred only)

  /// Column of z in theta (z_inferred only).
  static constexpr std::size_t kZ = kNumFlow;

  /// 11, or 12 with z inferred.
  std::size_t dim() const { return kNumFlow + (z_inferred ? 1 : 0); }
  /// Prior::flow_names(), then "z".
  std::vector<std::string> names() const;
  /// Prior::flow_units(), then "" (z is dimensionless).
  std::vector<std::string> units() const;
  /// The prior's flow box, then [z_min, z_max].
  std::vector<double> lower(const Prior& prior) const;
  std::vector<double> upper(const Prior& prior) const;
};

}  // namespace sedpost::prior
