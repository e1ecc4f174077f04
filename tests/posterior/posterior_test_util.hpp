#pragma once
/// Shared by the posterior tests: the SED model of the demo config (BC03, SDSS ugriz, z <= 0.2)
/// from $SEDPOST_DATA_DIR (else ../shared/data).
#include <cstdlib>
#include <string>

#include "sps/sed_model.hpp"

namespace sedpost::posterior::test {

inline const sps::SedModel& sed_model() {
  static const sps::SedModel m([] {
    sps::SedModelSettings s;
    const char* d = std::getenv("SEDPOST_DATA_DIR");
    s.data_dir = d && *d ? d : "../shared/data";
    s.z_max = 0.2;
    return s;
  }());
  return m;
}

}  // namespace sedpost::posterior::test
