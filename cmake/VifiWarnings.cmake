# Warnings for vifi's own targets; third-party headers come in as SYSTEM so they stay quiet.
function(vifi_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
  # A unity build (CMAKE_UNITY_BUILD, as tools/test.sh builds) includes .cpp files into one
  # another, so GCC takes a class holding a type from a file's anonymous namespace for one in a
  # header; in a .cpp it is not an ODR hazard.
  if(CMAKE_UNITY_BUILD AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
  endif()
  if(VIFI_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
