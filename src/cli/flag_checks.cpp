// Finite-number flag validators (see header).
#include "flag_checks.h"

#include <sstream>

#include "vifi/util/parse_number.h"

namespace vifi::cli {

CLI::Validator finite_in(double min, double max) {
  std::ostringstream range;
  range << "[" << min << ", " << max << "]";
  const auto text = range.str();
  return CLI::Validator(
      [min, max, text](std::string& input) -> std::string {
        const auto value = util::parse_double(input);
        if (!value || *value < min || *value > max) return "expected a number in " + text + ", got '" + input + "'";
        return {};
      },
      "NUMBER in " + text);
}

}  // namespace vifi::cli
