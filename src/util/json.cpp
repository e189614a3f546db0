// JSON output rules (see header).
#include "vifi/util/json.h"

#include <cmath>

namespace vifi::util {

Json json_number(double value) { return std::isfinite(value) ? Json(value) : Json(nullptr); }

std::string json_text(const Json& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

}  // namespace vifi::util
