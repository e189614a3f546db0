# Warnings for vifi's own targets; third-party headers come in as SYSTEM so they stay quiet.
function(vifi_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
  if(VIFI_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
