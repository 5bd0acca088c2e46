# cmake -DBUILD_DIR=DIR -DC_COMPILER=CC -P fuzz/standalone_build.cmake
# Configures and builds fuzz/ on its own, as fuzz/run.sh does, but with
# replay.c for libFuzzer (RSICAM_FUZZ_REPLAY), so that any compiler can
# check that each target's hand-picked core sources still link; ctest runs
# it as fuzz_standalone_build (fuzz/regress.cmake).
foreach(var BUILD_DIR C_COMPILER)
  if(NOT ${var})
    message(FATAL_ERROR "standalone_build.cmake: -D${var}=... is required")
  endif()
endforeach()
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR} -B ${BUILD_DIR}
          -DCMAKE_C_COMPILER=${C_COMPILER} -DRSICAM_FUZZ_REPLAY=ON
  COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} -j2
                COMMAND_ERROR_IS_FATAL ANY)
