# RSICAM_ONEDNN_RELU: whether the shim runs a frozen head's relus inside
# libtorch's oneDNN calls (core/torch/onednn_relu.cpp). That code reaches
# libtorch's oneDNN tensors through ideep's headers, which must be the ones
# libtorch was built with: true of a libtorch that links the system's
# shared oneDNN (Debian's, beside libideep-dev), not of a pip libtorch,
# which carries its own oneDNN inside. Without it the heads are the same,
# each relu a pass of its own.
find_path(RSICAM_IDEEP_INCLUDE_DIR ideep.hpp)
find_package(dnnl CONFIG QUIET)
set(RSICAM_ONEDNN_RELU OFF)
if(TARGET torch_cpu AND TARGET DNNL::dnnl AND RSICAM_IDEEP_INCLUDE_DIR)
  get_target_property(rsicam_torch_cpu torch_cpu LOCATION)
  execute_process(COMMAND ${CMAKE_OBJDUMP} -p ${rsicam_torch_cpu}
                  OUTPUT_VARIABLE rsicam_torch_cpu_headers ERROR_QUIET)
  if(rsicam_torch_cpu_headers MATCHES "NEEDED +libdnnl\\.so")
    set(RSICAM_ONEDNN_RELU ON)
  endif()
endif()
message(STATUS "rsicam: relus inside oneDNN's calls: ${RSICAM_ONEDNN_RELU}")
