// Ctrl-C / SIGTERM handling for long runs: the first signal sets a flag the trainer polls at a
// safe point (it saves a resumable checkpoint and stops); a second signal exits at once.
#pragma once

namespace vifi::util {

void install_interrupt_handler();
bool interrupt_requested();
// The signal that raised the flag (SIGINT or SIGTERM; 0 if none): `vifi launch` forwards it.
int interrupt_signal();
// For tests: raise or clear the flag as a signal would.
void request_interrupt();
void clear_interrupt();

}  // namespace vifi::util
