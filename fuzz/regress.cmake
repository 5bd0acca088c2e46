# Replays the fuzz corpora and the kept crashers (fuzz/corpus/TARGET,
# fuzz/regressions/TARGET) through the fuzz targets as ctest tests, built
# with the project's own compiler and flags (so under ASan/UBSan too when
# RSICAM_SANITIZE is on). Included at the end of the top-level directory by
# cmake/Sanitizers.cmake, once the rsicam target and testing exist.
set(RSICAM_FUZZ_DIR ${PROJECT_SOURCE_DIR}/fuzz)
foreach(target npy image config results)
  add_executable(fuzz_replay_${target} ${RSICAM_FUZZ_DIR}/replay.c
                 ${RSICAM_FUZZ_DIR}/fuzz_${target}.c)
  # the code under test is librsicam's own, from its static copy
  # (rsicam_internal); fuzz_image also calls libvips directly, fuzz_results
  # jansson
  target_link_libraries(fuzz_replay_${target} PRIVATE rsicam_internal
                        PkgConfig::VIPS PkgConfig::JANSSON)
  rsicam_plugin_home(fuzz_replay_${target})
  # a target without findings yet has no regressions folder
  set(inputs ${RSICAM_FUZZ_DIR}/corpus/${target})
  if(EXISTS ${RSICAM_FUZZ_DIR}/regressions/${target})
    list(APPEND inputs ${RSICAM_FUZZ_DIR}/regressions/${target})
  endif()
  add_test(NAME fuzz_replay_${target} COMMAND fuzz_replay_${target} ${inputs})
  set_tests_properties(fuzz_replay_${target} PROPERTIES LABELS "fuzz"
                       TIMEOUT 300)
endforeach()

# The targets as fuzz/run.sh builds them, from their own source lists.
add_test(NAME fuzz_standalone_build
         COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${CMAKE_BINARY_DIR}/fuzz-standalone
                 -DC_COMPILER=${CMAKE_C_COMPILER}
                 -P ${RSICAM_FUZZ_DIR}/standalone_build.cmake)
set_tests_properties(fuzz_standalone_build PROPERTIES LABELS "fuzz"
                     TIMEOUT 300)
