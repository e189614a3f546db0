// JSON output shared by every file vifi writes (metrics.jsonl, results.json, predict --json), on
// nlohmann-json. Owns two rules JSON itself leaves open:
//   - a non-finite double (the NaN loss of a diverged run) is written as null, so readers see an
//     absent value instead of a parse error (JSON has no NaN or Infinity);
//   - text that is not valid UTF-8 (a Latin-1 file name or class name) is written with U+FFFD in
//     place of the bad bytes, where nlohmann's dump() would throw mid-report.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace vifi::util {

// Keys stay in the order they are inserted, so written files read in a fixed, logical order.
using Json = nlohmann::ordered_json;

// `value` as a JSON number, or null when it is NaN or infinite.
Json json_number(double value);

// `value` as text: one line when indent < 0, else pretty-printed with `indent` spaces.
std::string json_text(const Json& value, int indent = -1);

}  // namespace vifi::util
