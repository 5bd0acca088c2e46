# Replays the fuzz corpora and the kept crashers (fuzz/corpus/TARGET,
# fuzz/regressions/TARGET) through the fuzz targets as ctest tests, built
# with the project's own compiler and flags (so under ASan/UBSan too when
# RSICAM_SANITIZE is on). Included at the end of the top-level directory by
# cmake/Sanitizers.cmake, once the rsicam target and testing exist.
set(RSICAM_FUZZ_DIR ${PROJECT_SOURCE_DIR}/fuzz)
foreach(target npy image config)
  add_executable(fuzz_replay_${target} ${RSICAM_FUZZ_DIR}/replay.c
                 ${RSICAM_FUZZ_DIR}/fuzz_${target}.c)
  # the code under test is librsicam's own (its internal symbols are
  # exported); fuzz_image also calls libvips directly
  target_link_libraries(fuzz_replay_${target} PRIVATE rsicam_internal
                        PkgConfig::VIPS)
  add_test(NAME fuzz_replay_${target}
           COMMAND fuzz_replay_${target} ${RSICAM_FUZZ_DIR}/corpus/${target}
                   ${RSICAM_FUZZ_DIR}/regressions/${target})
  set_tests_properties(fuzz_replay_${target} PROPERTIES LABELS "fuzz"
                       TIMEOUT 300)
endforeach()
