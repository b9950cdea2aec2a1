# wmgeom_add_tests(FILES test_a.cpp ...   one GoogleTest executable per file, named
#                                         after it (test_a), so a failing test's
#                                         binary is found from its file name
#   [PREFIX p]                            ctest names "p.<Suite>.<Test>"
#   [LINK ...]                            libraries (GoogleTest's main is added)
#   [TIMEOUT seconds]                     per-test ctest timeout (default 300)
#   [NO_TESTCLI]                          the tests never start the CLI driver
#   [PROPERTIES ...])                     more ctest properties (e.g. RESOURCE_LOCK)
# Every test gets WMGEOM_SOURCE_DIR and, unless NO_TESTCLI, WMGEOM_TESTCLI (the
# CLI with the engine's test stages, for tests that need separate processes).
function(wmgeom_add_tests)
  cmake_parse_arguments(T "NO_TESTCLI" "PREFIX;TIMEOUT" "FILES;LINK;PROPERTIES" ${ARGN})
  include(GoogleTest)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set(prefix "")
  if(T_PREFIX)
    set(prefix "${T_PREFIX}.")
  endif()
  foreach(file ${T_FILES})
    get_filename_component(test ${file} NAME_WE)
    add_executable(${test} ${file})
    target_link_libraries(${test} PRIVATE ${T_LINK} GTest::gtest_main wmgeom_warnings)
    target_compile_definitions(${test} PRIVATE WMGEOM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    if(NOT T_NO_TESTCLI)
      target_compile_definitions(${test} PRIVATE WMGEOM_TESTCLI="$<TARGET_FILE:wmgeom_testcli>")
      add_dependencies(${test} wmgeom_testcli)
    endif()
    gtest_discover_tests(${test} DISCOVERY_TIMEOUT 60 TEST_PREFIX "${prefix}" PROPERTIES TIMEOUT ${T_TIMEOUT} ${T_PROPERTIES})
  endforeach()
endfunction()

# wmgeom_add_stage(NAME
#   SOURCES a.cpp ...        the stage library wmgeom_stage_<NAME>; headers are
#                            included as "<NAME>/<file>.h" from stages/
#   [PUBLIC_DEPS ...]        libraries whose types its headers use
#   [DEPS ...]               private link libraries (wmgeom_engine is public,
#                            the warnings are added)
#   [DEFINITIONS ...]        private compile definitions of the library
#   [TESTS test_a.cpp ...]   wmgeom_add_tests: one executable per file, named
#                            after it, linked to the stage, wmgeom_stages, the
#                            test support and the stage kit
#                            (tests/support/stage_kit.h); ctest names prefixed
#                            "<NAME>." so `ctest -R <NAME>` selects its suites
#   [TEST_DEPS ...]          extra libraries of the tests
#   [TEST_SUPPORT f.cpp ...] fixtures shared by the stage's tests, built once
#                            (wmgeom_stage_<NAME>_test_support) and linked to each
#   [TEST_TIMEOUT seconds]   per-test ctest timeout (default 300)
#   [BENCH bench_<NAME>.cpp] the stage's Google Benchmark suite, built as
#                            bench_<NAME> beside the tests when
#                            WMGEOM_BUILD_BENCH (bench/bench_main.h available)
#   [BENCH_DEPS ...])        extra libraries of the benchmark (it may use the
#                            stage's TEST_SUPPORT fixtures: built with the tests)
function(wmgeom_add_stage name)
  cmake_parse_arguments(S "" "TEST_TIMEOUT;BENCH" "SOURCES;PUBLIC_DEPS;DEPS;DEFINITIONS;TESTS;TEST_DEPS;TEST_SUPPORT;BENCH_DEPS" ${ARGN})
  if(NOT S_SOURCES)
    message(FATAL_ERROR "wmgeom_add_stage(${name}): SOURCES is required")
  endif()
  set(lib wmgeom_stage_${name})
  add_library(${lib} STATIC ${S_SOURCES})
  target_include_directories(${lib} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/..)
  target_link_libraries(${lib} PUBLIC wmgeom_engine ${S_PUBLIC_DEPS} PRIVATE ${S_DEPS} wmgeom_warnings)
  if(S_DEFINITIONS)
    target_compile_definitions(${lib} PRIVATE ${S_DEFINITIONS})
  endif()
  if(WMGEOM_BUILD_TESTS AND S_TESTS)
    set(support "")
    if(S_TEST_SUPPORT)
      set(support ${lib}_test_support)
      add_library(${support} STATIC ${S_TEST_SUPPORT})
      target_link_libraries(${support} PUBLIC ${lib} wmgeom_stages wmgeom_test_support GTest::gtest PRIVATE wmgeom_warnings)
    endif()
    wmgeom_add_tests(FILES ${S_TESTS} PREFIX ${name} TIMEOUT ${S_TEST_TIMEOUT}
                     LINK ${support} ${lib} ${S_DEPS} ${S_TEST_DEPS} wmgeom_stages wmgeom_stage_kit wmgeom_test_support)
  endif()
  if(WMGEOM_BUILD_BENCH AND S_BENCH)
    add_executable(bench_${name} ${S_BENCH})
    target_include_directories(bench_${name} PRIVATE ${PROJECT_SOURCE_DIR}/bench)
    target_link_libraries(bench_${name} PRIVATE ${lib} ${S_DEPS} ${S_BENCH_DEPS} benchmark::benchmark wmgeom_warnings)
  endif()
endfunction()
