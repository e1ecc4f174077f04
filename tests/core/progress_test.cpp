#include "core/progress.hpp"

#include <gtest/gtest.h>

namespace sedpost {
namespace {

TEST(CoreProgress, FormatsDurations) {
  EXPECT_EQ(ProgressMeter::format_duration(12.34), "12.3s");
  EXPECT_EQ(ProgressMeter::format_duration(185), "3m05s");
  EXPECT_EQ(ProgressMeter::format_duration(3725), "1h02m");
}

TEST(CoreProgress, CountsWorkAndResumes) {
  ProgressMeter meter("test", 100, "items", /*enabled=*/false);
  meter.set_done(40);
  meter.advance(10);
  meter.advance(5);
  EXPECT_EQ(meter.done(), 55u);
  EXPECT_GE(meter.rate(), 0.0);
  meter.finish();
}

}  // namespace
}  // namespace sedpost
