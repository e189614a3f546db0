// The core-only benchmark executable (see vifi/bench/bench_main.h).
#include "vifi/bench/bench_main.h"

int main(int argc, char** argv) { return vifi::bench::bench_main(argc, argv); }
