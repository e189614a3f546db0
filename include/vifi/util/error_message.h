// How an error reads to a user: the one place that turns a caught exception into the line vifi
// prints (the CLI's "vifi: error: ...", a failed video's reason, a server's reply).
// Why: a c10::Error (TORCH_CHECK in vifi's own argument checks, LibTorch's checks) carries a C++
// backtrace in what(): a screen of frame addresses after the one line that says what is wrong.
// PyTorch hides it from Python users unless TORCH_SHOW_CPP_STACKTRACES=1; vifi does the same.
#pragma once
#include <exception>
#include <string>

namespace vifi::util {

// e.what(), but for a c10::Error its message without the backtrace (with it when the
// environment has TORCH_SHOW_CPP_STACKTRACES=1), and for std::bad_alloc "out of memory ...".
std::string error_message(const std::exception& e);

}  // namespace vifi::util
