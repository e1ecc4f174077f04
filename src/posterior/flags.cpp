#include "posterior/flags.hpp"

namespace sedpost::posterior {

const std::vector<std::string>& infer_flag_names() {
  static const std::vector<std::string> names = {"bad_photometry",      "bad_redshift",     "noisier_than_training",
                                                 "colour_out_of_range", "chi2_implausible", "weights_degenerate",
                                                 "outside_flux_range",  "z_multimodal"};
  return names;
}

void add_reason(std::string* reason, const std::string& text) {
  if (!reason) return;
  if (!reason->empty()) *reason += "; ";
  *reason += text;
}

}  // namespace sedpost::posterior
