#include "core/config.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace sedpost {
namespace {

const char* kToml = R"(
seed = 7
data_dir = "/data"
[train]
batch_size = 50
lr = 5e-4
bands = ["u", "g"]
early = true
)";

TEST(CoreConfig, TypedLookups) {
  Config c = Config::from_text(kToml, "demo.toml");
  EXPECT_EQ(c.get_int("seed", 0), 7);
  EXPECT_EQ(c.get_int("train.batch_size", 0), 50);
  EXPECT_DOUBLE_EQ(c.get_double("train.lr", 0), 5e-4);
  EXPECT_DOUBLE_EQ(c.get_double("train.batch_size", 0), 50.0);  // ints widen to double
  EXPECT_TRUE(c.get_bool("train.early", false));
  EXPECT_EQ(c.get_strings("train.bands", {}), (std::vector<std::string>{"u", "g"}));
  EXPECT_EQ(c.get_int("train.missing", 3), 3);
  EXPECT_FALSE(c.has("train.missing"));
}

TEST(CoreConfig, WrongTypeNamesFileAndKey) {
  Config c = Config::from_text(kToml, "demo.toml");
  try {
    c.get_int("train.lr", 0);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("demo.toml"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("train.lr"), std::string::npos);
  }
  EXPECT_THROW(c.require_string("nothing.here"), ConfigError);
}

TEST(CoreConfig, ParseErrorNamesLine) {
  try {
    Config::from_text("a = 1\nb = = 2\n", "bad.toml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.toml:2"), std::string::npos) << e.what();
  }
}

TEST(CoreConfig, SetFromTextInfersTypesAndRoundTrips) {
  Config c;
  c.set_from_text("train.batch_size", "256");
  c.set_from_text("train.lr", "0.001");
  c.set_from_text("train.resume", "true");
  c.set_from_text("train.out", "model.pt");
  c.set_from_text("model.bands", "u,g,r", true);
  EXPECT_EQ(c.get_int("train.batch_size", 0), 256);
  EXPECT_DOUBLE_EQ(c.get_double("train.lr", 0), 0.001);
  EXPECT_TRUE(c.get_bool("train.resume", false));
  EXPECT_EQ(c.get_string("train.out", ""), "model.pt");
  EXPECT_EQ(c.get_strings("model.bands", {}).size(), 3u);
  Config again = Config::from_text(c.to_toml(), "round trip");
  EXPECT_EQ(again.to_toml(), c.to_toml());
  EXPECT_EQ(*again.get_as_text("model.bands"), "u,g,r");
}

}  // namespace
}  // namespace sedpost
