#include "prior/theta_layout.hpp"

namespace sedpost::prior {

std::vector<std::string> ThetaLayout::names() const {
  std::vector<std::string> v = Prior::flow_names();
  if (z_inferred) v.emplace_back("z");
  return v;
}

std::vector<std::string> ThetaLayout::units() const {
  std::vector<std::string> v = Prior::flow_units();
  if (z_inferred) v.emplace_back("");
  return v;
}

std::vector<double> ThetaLayout::lower(const Prior& prior) const {
  std::vector<double> v(prior.flow_lower().begin(), prior.flow_lower().end());
  if (z_inferred) v.push_back(z_min);
  return v;
}

std::vector<double> ThetaLayout::upper(const Prior& prior) const {
  std::vector<double> v(prior.flow_upper().begin(), prior.flow_upper().end());
  if (z_inferred) v.push_back(z_max);
  return v;
}

}  // namespace sedpost::prior
