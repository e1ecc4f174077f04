#include <gtest/gtest.h>

#include "app/cli.hpp"
#include "core/comm.hpp"
#include "core/error.hpp"

namespace sedpost::app {
namespace {

struct TrainOptions {
  int batch_size = 50;
  double lr = 5e-4;
  std::vector<std::string> bands;
  bool shuffle = false;
};

CLI::App* make_train(CLI::App& app, TrainOptions& o) {
  CLI::App* sub = app.add_subcommand("train");
  sub->add_option("--batch-size", o.batch_size, "")->capture_default_str();
  sub->add_option("--lr", o.lr, "")->capture_default_str();
  sub->add_option("--bands", o.bands, "")->delimiter(',');
  sub->add_flag("--shuffle", o.shuffle, "");
  return sub;
}

TEST(AppCli, ConfigSetsOptionsTheCommandLineDidNotGive) {
  CLI::App app;
  TrainOptions o;
  CLI::App* sub = make_train(app, o);
  std::vector<const char*> argv{"sedpost", "train", "--lr", "0.01"};
  app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  Config cfg = Config::from_text("[train]\nbatch_size = 256\nlr = 0.5\nbands = [\"u\", \"g\"]\nshuffle = true\n", "c.toml");
  apply_config(*sub, "train", cfg);
  EXPECT_EQ(o.batch_size, 256);   // from config
  EXPECT_DOUBLE_EQ(o.lr, 0.01);   // command line wins
  EXPECT_EQ(o.bands, (std::vector<std::string>{"u", "g"}));
  EXPECT_TRUE(o.shuffle);
  // The effective config records the command-line value.
  EXPECT_DOUBLE_EQ(cfg.get_double("train.lr", 0), 0.01);
}

TEST(AppCli, TopLevelKeysApplyToEverySubcommand) {
  CLI::App app;
  TrainOptions o;
  CLI::App* sub = make_train(app, o);
  std::vector<const char*> argv{"sedpost", "train"};
  app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  Config cfg = Config::from_text("batch_size = 64\n", "c.toml");
  apply_config(*sub, "train", cfg);
  EXPECT_EQ(o.batch_size, 64);
  EXPECT_EQ(cfg.get_int("train.batch_size", 0), 64);
  EXPECT_DOUBLE_EQ(cfg.get_double("train.lr", 0), 5e-4);  // defaults recorded too
}

TEST(AppCli, UsageErrorsExitAsConfigErrorsAndHelpSucceeds) {
  Cli cli;
  int batch = 50, runs = 0;
  std::string device = "cpu";
  CLI::App* sub = cli.add("train", "test subcommand", [&](Context&) { return ++runs, 0; });
  sub->add_option("--batch-size", batch, "")->check(CLI::PositiveNumber);
  sub->add_option("--device", device, "")->check(CLI::IsMember({"cpu", "cuda"}));
  SerialComm comm;
  EXPECT_EQ(cli.main({"sedpost", "train", "--help"}, comm), 0);
  EXPECT_EQ(cli.main({"sedpost", "train", "--no-such-option"}, comm), 2);  // CLI11: 109
  EXPECT_EQ(cli.main({"sedpost", "train", "--batch-size", "-3"}, comm), 2);  // CLI11: 105
  EXPECT_EQ(cli.main({"sedpost", "train", "--device", "gpu"}, comm), 2);
  EXPECT_EQ(runs, 0);
}

TEST(AppCli, BadConfigValueNamesKeyAndOption) {
  CLI::App app;
  TrainOptions o;
  CLI::App* sub = make_train(app, o);
  std::vector<const char*> argv{"sedpost", "train"};
  app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  Config cfg = Config::from_text("[train]\nbatch_size = \"many\"\n", "c.toml");
  try {
    apply_config(*sub, "train", cfg);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("train.batch_size"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--batch-size"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sedpost::app
