// Signal flag. A signal handler can only touch lock-free atomics, so this one piece of global
// state (the count and the last signal) is unavoidable.
#include "vifi/util/interrupt.h"

#include <atomic>
#include <csignal>
#include <cstdlib>

namespace vifi::util {
namespace {

std::atomic<int> g_signals{0};
std::atomic<int> g_signal_number{0};  // which signal it was, for forwarding

extern "C" void on_signal(int signal) {
  g_signal_number.store(signal);
  if (g_signals.fetch_add(1) >= 1) std::_Exit(128 + signal);  // second signal: stop now
}

}  // namespace

void install_interrupt_handler() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupt_requested() { return g_signals.load() > 0; }
int interrupt_signal() { return g_signal_number.load(); }
void request_interrupt() { g_signals.store(1); }
void clear_interrupt() {
  g_signals.store(0);
  g_signal_number.store(0);
}

}  // namespace vifi::util
