# wmgeom_add_stage(NAME
#   SOURCES a.cpp ...        the stage library wmgeom_stage_<NAME>; headers are
#                            included as "<NAME>/<file>.h" from stages/
#   [PUBLIC_DEPS ...]        libraries whose types its headers use
#   [DEPS ...]               private link libraries (wmgeom_engine is public,
#                            the warnings are added)
#   [DEFINITIONS ...]        private compile definitions of the library
#   [TESTS test_a.cpp ...]   one executable per file, named after it, linked
#                            to the stage, wmgeom_stages, the test support and
#                            GoogleTest; ctest names prefixed "<NAME>." so that
#                            `ctest -R <NAME>` selects exactly its suites
#   [TEST_DEPS ...]          extra libraries of the tests
#   [TEST_SUPPORT f.cpp ...] fixtures shared by the stage's tests, built once
#                            (wmgeom_stage_<NAME>_test_support) and linked to each
#   [TEST_TIMEOUT seconds])  per-test ctest timeout (default 300)
# Every test gets WMGEOM_SOURCE_DIR and WMGEOM_TESTCLI (the CLI test driver).
function(wmgeom_add_stage name)
  cmake_parse_arguments(S "" "TEST_TIMEOUT" "SOURCES;PUBLIC_DEPS;DEPS;DEFINITIONS;TESTS;TEST_DEPS;TEST_SUPPORT" ${ARGN})
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
    include(GoogleTest)
    if(NOT S_TEST_TIMEOUT)
      set(S_TEST_TIMEOUT 300)
    endif()
    set(support "")
    if(S_TEST_SUPPORT)
      set(support ${lib}_test_support)
      add_library(${support} STATIC ${S_TEST_SUPPORT})
      target_link_libraries(${support} PUBLIC ${lib} wmgeom_stages wmgeom_test_support GTest::gtest PRIVATE wmgeom_warnings)
    endif()
    foreach(file ${S_TESTS})
      get_filename_component(test ${file} NAME_WE)
      add_executable(${test} ${file})
      target_link_libraries(${test} PRIVATE ${support} ${lib} ${S_DEPS} ${S_TEST_DEPS} wmgeom_stages wmgeom_test_support
                            GTest::gtest_main wmgeom_warnings)
      target_compile_definitions(${test} PRIVATE WMGEOM_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                 WMGEOM_TESTCLI="$<TARGET_FILE:wmgeom_testcli>")
      add_dependencies(${test} wmgeom_testcli)
      gtest_discover_tests(${test} DISCOVERY_TIMEOUT 60 TEST_PREFIX "${name}." PROPERTIES TIMEOUT ${S_TEST_TIMEOUT})
    endforeach()
  endif()
endfunction()
