// The vifi command line as a function, so tests can run subcommands in-process.
#pragma once

namespace vifi::cli {

// Parses argv, runs the chosen subcommand, prints errors as "vifi: error: ..." on stderr.
// Returns the process exit code.
int run(int argc, char** argv);

}  // namespace vifi::cli
