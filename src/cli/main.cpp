// vifi entry point.
#include "app.h"

int main(int argc, char** argv) { return vifi::cli::run(argc, argv); }
