// How an error reads to a user (see header).
#include "vifi/util/error_message.h"

#include <c10/util/Exception.h>

#include <cstdlib>
#include <cstring>

namespace vifi::util {

std::string error_message(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) {
    const char* show = std::getenv("TORCH_SHOW_CPP_STACKTRACES");
    if (show && std::strcmp(show, "1") == 0) return c10->what();
    return c10->what_without_backtrace();
  }
  return e.what();
}

}  // namespace vifi::util
