// How an error reads to a user (see header).
#include "vifi/util/error_message.h"

#include <c10/util/Exception.h>

#include <cstdlib>
#include <cstring>
#include <new>

namespace vifi::util {

std::string error_message(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) {
    const char* show = std::getenv("TORCH_SHOW_CPP_STACKTRACES");
    if (show && std::strcmp(show, "1") == 0) return c10->what();
    return c10->what_without_backtrace();
  }
  // Its what() is the bare type name ("std::bad_alloc"), which says nothing to a user.
  if (dynamic_cast<const std::bad_alloc*>(&e))
    return "out of memory (an allocation failed: std::bad_alloc); ask for less at once: fewer frames, clips per batch or "
           "worker threads, or a smaller resolution";
  return e.what();
}

}  // namespace vifi::util
