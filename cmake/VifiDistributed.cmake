# Multi-process training on c10d (src/dist/process_group.cpp). LibTorch ships c10d's symbols in
# libtorch_cpu (Gloo) and libtorch_cuda (NCCL), but whether its headers and Gloo's are installed
# varies (Debian: libtorch-dev + libgloo-dev; pip wheels ship c10d's headers but not Gloo's), so
# the switch is detected: VIFI_DISTRIBUTED=AUTO turns it on when the Gloo process group's header
# compiles. Without it vifi still builds and runs single-process; WORLD_SIZE>1 then fails with a
# message saying why. NCCL needs no switch: a CUDA LibTorch defines USE_C10D_NCCL itself and
# process_group.cpp uses it when <nccl.h> is found.
include(CheckIncludeFileCXX)
set(VIFI_DISTRIBUTED AUTO CACHE STRING "c10d multi-process training (AUTO, ON, OFF)")

function(vifi_configure_distributed source)
  set(defs "")
  if(NOT VIFI_DISTRIBUTED STREQUAL "OFF")
    set(CMAKE_REQUIRED_INCLUDES ${TORCH_INCLUDE_DIRS})
    set(CMAKE_REQUIRED_DEFINITIONS -DUSE_C10D_GLOO)
    set(CMAKE_REQUIRED_FLAGS "${TORCH_CXX_FLAGS}")  # try_compile takes CMAKE_CXX_STANDARD (2.x may need 20)
    # Compile only: linking would need LibTorch's imported targets, which a pip wheel's try_compile
    # project cannot resolve (protobuf::libprotobuf), and c10d's inline code needs c10 to link.
    set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
    set(CMAKE_REQUIRED_QUIET ON)
    check_include_file_cxx(torch/csrc/distributed/c10d/ProcessGroupGloo.hpp VIFI_HAVE_C10D_GLOO_HPP)
    if(VIFI_HAVE_C10D_GLOO_HPP)
      list(APPEND defs VIFI_DISTRIBUTED USE_C10D_GLOO)
    elseif(VIFI_DISTRIBUTED STREQUAL "ON")
      message(FATAL_ERROR "VIFI_DISTRIBUTED=ON but c10d/Gloo headers do not compile (Debian: libgloo-dev)")
    endif()
  endif()
  # Only the file that includes c10d gets the definitions, so the shared precompiled header and
  # every other file compile the same with or without them.
  set_source_files_properties(${source} PROPERTIES COMPILE_DEFINITIONS "${defs}")
  message(STATUS "vifi distributed (c10d): ${defs}")
endfunction()
