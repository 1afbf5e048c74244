# Shared build settings and helpers for every part of Aion.
include_guard(GLOBAL)
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

add_compile_options(-Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes
                    -Wmissing-prototypes -fno-common)
if(AION_WERROR)
  add_compile_options(-Werror)
endif()
add_compile_definitions(_GNU_SOURCE)

if(AION_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

if(AION_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "AION_FUZZ needs clang (CC=clang)")
  endif()
  # Everything gets coverage instrumentation; only fuzz targets link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_custom_target(fuzzers)
endif()

set(AION_SHARED_DIR "${CMAKE_SOURCE_DIR}/../shared" CACHE PATH "shared material beside the project")
set(AION_PLUGIN_OUTPUT_DIR "${CMAKE_BINARY_DIR}/plugins")

# aion_add_test(NAME n SOURCES s... [LIBS l...] [LABELS x...] [TIMEOUT sec])
# A cmocka (or any exit-code) test program registered with ctest.
function(aion_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  if(NOT AION_TESTS)
    return()
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} PkgConfig::CMOCKA Threads::Threads)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "AION_SOURCE_DIR=${CMAKE_SOURCE_DIR};AION_BINARY_DIR=${CMAKE_BINARY_DIR};AION_SHARED_DIR=${AION_SHARED_DIR};ASAN_OPTIONS=detect_leaks=1:abort_on_error=0;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  if(T_LABELS)
    set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()

# aion_add_fuzzer(NAME fuzz_x SOURCES s... [LIBS l...])
# A libFuzzer target. With AION_FUZZ it is built and registered as a ctest test
# that runs for AION_FUZZ_SECONDS over a scratch corpus seeded from
# tests/fuzz/corpus/<name>/. Without AION_FUZZ the same source is built with a
# small driver that replays the seed corpus, so the target always compiles.
set(AION_FUZZ_SECONDS 15 CACHE STRING "seconds each fuzz target runs in the test suite")
function(aion_add_fuzzer)
  cmake_parse_arguments(F "" "NAME" "SOURCES;LIBS" ${ARGN})
  if(NOT AION_TESTS)
    return()
  endif()
  set(corpus ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${F_NAME})
  if(AION_FUZZ)
    add_executable(${F_NAME} ${F_SOURCES})
    target_link_options(${F_NAME} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${F_NAME} PRIVATE ${F_LIBS} Threads::Threads)
    add_dependencies(fuzzers ${F_NAME})
    add_test(NAME ${F_NAME}
      COMMAND ${CMAKE_SOURCE_DIR}/scripts/run-fuzzer $<TARGET_FILE:${F_NAME}> ${corpus} ${AION_FUZZ_SECONDS})
    set_tests_properties(${F_NAME} PROPERTIES LABELS fuzz TIMEOUT 600)
  else()
    add_executable(${F_NAME} ${F_SOURCES} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.c)
    target_link_libraries(${F_NAME} PRIVATE ${F_LIBS} Threads::Threads)
    add_test(NAME ${F_NAME}_replay COMMAND ${F_NAME} ${corpus})
    set_tests_properties(${F_NAME}_replay PROPERTIES LABELS fuzz TIMEOUT 120)
  endif()
endfunction()

pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

# aion_add_plugin(NAME n SOURCES s... [LIBS l...])
# A plugin: a MODULE library built to ${build}/plugins/<n>.so that exports
# only aion_plugin_entry and sees only the SDK headers (plus the lib/ engines
# it links statically).
function(aion_add_plugin)
  cmake_parse_arguments(P "" "NAME" "SOURCES;LIBS" ${ARGN})
  add_library(${P_NAME} MODULE ${P_SOURCES})
  set_target_properties(${P_NAME} PROPERTIES PREFIX "" OUTPUT_NAME ${P_NAME}
    LIBRARY_OUTPUT_DIRECTORY ${AION_PLUGIN_OUTPUT_DIR}
    C_VISIBILITY_PRESET hidden)
  target_link_libraries(${P_NAME} PRIVATE aion_sdk ${P_LIBS})
  # Engines linked in statically stay private to the plugin: the .so exports
  # aion_plugin_entry only, so two plugins never clash over lib/ symbols.
  target_link_options(${P_NAME} PRIVATE -Wl,--exclude-libs,ALL)
  if(NOT AION_SANITIZE AND NOT AION_FUZZ)
    # A plugin must not need any host symbol: everything comes through aion_api.
    target_link_options(${P_NAME} PRIVATE -Wl,--no-undefined)
  endif()
  install(TARGETS ${P_NAME} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/aion/plugins)
endfunction()
