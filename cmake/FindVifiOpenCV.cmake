# OpenCV core/imgproc/imgcodecs. Debian's split -dev packages ship the headers and libraries
# but not OpenCVConfig.cmake (that comes with the 59-package libopencv-dev), so look for the
# pieces directly when the config file is absent. Defines the target vifi::opencv.
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
add_library(vifi::opencv INTERFACE IMPORTED)
if(OpenCV_FOUND)
  target_include_directories(vifi::opencv SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
  target_link_libraries(vifi::opencv INTERFACE ${OpenCV_LIBS})
else()
  find_path(VIFI_OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
  foreach(component core imgproc imgcodecs)
    find_library(VIFI_OPENCV_${component} opencv_${component} REQUIRED)
    target_link_libraries(vifi::opencv INTERFACE ${VIFI_OPENCV_${component}})
  endforeach()
  target_include_directories(vifi::opencv SYSTEM INTERFACE ${VIFI_OPENCV_INCLUDE_DIR})
endif()
