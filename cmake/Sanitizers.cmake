# Sanitizer builds and the fuzz-corpus replay tests.
#
# RSICAM_SANITIZE=ON compiles every C target (the library's C files, the
# command, the plugins, the tests) with AddressSanitizer and
# UndefinedBehaviorSanitizer; UBSan findings abort (no recovery), so a
# finding fails its test. The C++ shim and libtorch itself are not
# instrumented: libtorch comes prebuilt from Debian, and the shim's own
# flags are left alone so that its objects stay ABI-identical to a normal
# build. Everything is linked with -fsanitize so the runtime is there for
# the C objects in librsicam and in plugins that are dlopen'ed.
#
# tools/check-sanitizers configures build-asan with this on, runs ctest
# there with ASAN_OPTIONS/UBSAN_OPTIONS/LSAN_OPTIONS set (leak suppressions
# for uninstrumented libraries: tests/valgrind/lsan.supp), then runs the
# valgrind checks.
if(RSICAM_SANITIZE)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "RSICAM_SANITIZE needs gcc or clang, not "
                        "${CMAKE_C_COMPILER_ID}")
  endif()
  set(RSICAM_SANITIZE_FLAGS -fsanitize=address,undefined
      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options("$<$<COMPILE_LANGUAGE:C>:${RSICAM_SANITIZE_FLAGS}>")
  add_link_options(-fsanitize=address,undefined)
  message(STATUS "rsicam: C targets built with ASan + UBSan")
endif()

# The fuzz targets' corpora and kept crashers become ctest tests
# (fuzz/regress.cmake). They need the rsicam target and testing enabled,
# which exist only at the end of the top-level directory: defer until then.
if(RSICAM_BUILD_TESTS)
  if(CMAKE_VERSION VERSION_LESS 3.19)
    message(STATUS "rsicam: CMake < 3.19, fuzz corpus replay tests skipped")
  else()
    cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL include
                   ${CMAKE_SOURCE_DIR}/fuzz/regress.cmake)
  endif()
endif()
