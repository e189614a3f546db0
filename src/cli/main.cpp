// vifi entry point.
#include "app.h"
#include "vifi/util/memory.h"

int main(int argc, char** argv) {
  vifi::util::keep_large_buffers_for_reuse();
  return vifi::cli::run(argc, argv);
}
