// Floating-point flags (cli/flag_checks): NaN, infinities, hex floats, values past an integer
// conversion and values outside the range are refused by name at parse time, before anything
// runs; a valid value still parses (each control fails later, on its missing file).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/test_paths.h"

namespace vifi {
namespace {

struct FlagCase {
  std::string command;  // with {} where the value goes
  std::string flag;
  std::string range;    // as the message prints it
};

const std::vector<FlagCase> kCases{
    {"launch --nproc-per-node 1 --kill-grace {} -- train --config missing.yaml", "--kill-grace", "[0, 3600]"},
    {"train --config missing.yaml --dist-timeout {}", "--dist-timeout", "[0.001, 604800]"},
    {"eval --setting zeroshot --config missing.yaml --output out --dist-timeout {}", "--dist-timeout", "[0.001, 604800]"},
    {"serve --weights missing.pt --labels a,b --max-upload-mb {}", "--max-upload-mb", "[0.001, 4096]"},
    {"explain missing.mp4 --weights missing.pt --label a --fps {}", "--fps", "[0.1, 240]"},
    {"bench loader --synthetic kinetics --work missing-dir --gpu-clips-per-s {}", "--gpu-clips-per-s", "[0.001, 1e+06]"},
    {"data synth --out missing-dir --fps {}", "--fps", "[1, 240]"},
};

std::string with_value(std::string command, const std::string& value) {
  return command.replace(command.find("{}"), 2, value);
}

TEST(FlagChecks, NonFiniteAndOutOfRangeNumbersAreRefusedByName) {
  for (const auto& c : kCases) {
    for (const std::string value : {"nan", "inf", "1e300", "0x10", "-5"}) {
      std::string out;
      const int rc = test::run_vifi(with_value(c.command, value) + " 2>&1", &out);
      EXPECT_NE(rc, 0) << c.command << " with " << value << ":\n" << out;
      EXPECT_NE(out.find(c.flag), std::string::npos) << out;
      EXPECT_NE(out.find("expected a number in " + c.range + ", got '" + value + "'"), std::string::npos)
          << c.command << " with " << value << ":\n" << out;
    }
  }
}

TEST(FlagChecks, ValidNumbersStillParse) {
  const std::vector<std::pair<std::string, std::string>> controls{
      {"launch --nproc-per-node 1 --kill-grace 0 -- train --config missing.yaml", "missing.yaml"},
      {"train --config missing.yaml --dist-timeout 0.5 --threads 0", "missing.yaml"},
      {"explain missing.mp4 --weights missing.pt --label a --out out --fps 2.5", "missing"},
      {"serve --weights missing.pt --labels a,b --max-upload-mb 1e-2", "missing.pt"},
  };
  for (const auto& [command, named] : controls) {
    std::string out;
    EXPECT_NE(test::run_vifi(command + " 2>&1", &out), 0) << command;
    EXPECT_EQ(out.find("expected a number"), std::string::npos) << command << ":\n" << out;
    EXPECT_NE(out.find(named), std::string::npos) << command << ":\n" << out;
  }
}

TEST(FlagChecks, NegativeThreadCountsAreRefused) {
  for (const std::string command : {"train --config missing.yaml --threads -3", "demo --out missing-dir --threads -1"}) {
    std::string out;
    EXPECT_NE(test::run_vifi(command + " 2>&1", &out), 0) << command;
    EXPECT_NE(out.find("--threads"), std::string::npos) << command << ":\n" << out;
    EXPECT_EQ(out.find("missing"), std::string::npos) << "ran past the flag check:\n" << out;
  }
}

}  // namespace
}  // namespace vifi
