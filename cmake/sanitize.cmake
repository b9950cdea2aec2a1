# WMGEOM_SANITIZE (e.g. "address,undefined"): instrumentation for the
# sanitizer build (scripts/test --sanitize, in build-asan/). Empty: nothing is
# added and the build is exactly the normal one.
#
# What is instrumented. LibTorch's headers make a translation unit slow to
# compile (tens of seconds each on one core), more than the sanitizer build
# can afford on CI's two cores. So every target that can include them (it
# links LibTorch, or a library that exports LibTorch, e.g. wmgeom_nets,
# wmgeom_decoders: the analyze/train/features/capture stages and their tests,
# test_nets, test_linear, the report stage's tests) is compiled with exactly
# the normal build's flags: ccache (CCACHE_BASEDIR, sibling build folders)
# hits the objects scripts/build made. Everything else (the engine: core,
# config, cache, graph, cluster, cli; the torch-free stages and libraries:
# render, tasks, report, nback, sheet; the test support and the torch-free
# test executables) is compiled with -fsanitize=... at -O1 -g. Every
# executable is linked with the sanitizer runtimes, so ASan's allocator also
# watches the uninstrumented code's heap (double and mismatched frees, leaks).
# The list of uninstrumented targets is printed at configure time.
if(NOT WMGEOM_SANITIZE)
  return()
endif()
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "WMGEOM_SANITIZE needs gcc or clang (have ${CMAKE_CXX_COMPILER_ID})")
endif()
message(STATUS "wmgeom: building with -fsanitize=${WMGEOM_SANITIZE}")

set(WMGEOM_SANITIZE_COMPILE_OPTIONS
  -fsanitize=${WMGEOM_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer
  -O1 -g)  # after the build type's -O3: the last -O wins
set(WMGEOM_SANITIZE_LINK_OPTIONS -fsanitize=${WMGEOM_SANITIZE})

# True when `lib` passes LibTorch's headers on to what links it: it is LibTorch
# (torch, or a library it names like c10), or its interface (not
# $<LINK_ONLY:...>) names such a library.
function(_wmgeom_exports_torch lib out)
  set(${out} FALSE PARENT_SCOPE)
  if(lib STREQUAL "torch" OR lib IN_LIST TORCH_LIBRARIES)
    set(${out} TRUE PARENT_SCOPE)
    return()
  endif()
  if(NOT TARGET ${lib})
    return()
  endif()
  get_target_property(imported ${lib} IMPORTED)
  if(imported)
    return()
  endif()
  get_target_property(deps ${lib} INTERFACE_LINK_LIBRARIES)
  if(NOT deps)
    return()
  endif()
  foreach(dep ${deps})
    if(dep MATCHES "^\\$<")
      continue()
    endif()
    _wmgeom_exports_torch(${dep} dep_exports)
    if(dep_exports)
      set(${out} TRUE PARENT_SCOPE)
      return()
    endif()
  endforeach()
endfunction()

function(_wmgeom_targets_in dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub ${subdirs})
    _wmgeom_targets_in(${sub} more)
    list(APPEND targets ${more})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

# Run once every target is defined (end of the top-level CMakeLists.txt).
function(_wmgeom_sanitize_apply)
  _wmgeom_targets_in(${CMAKE_SOURCE_DIR} targets)
  set(plain "")
  foreach(t ${targets})
    get_target_property(type ${t} TYPE)
    if(NOT type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|SHARED_LIBRARY|MODULE_LIBRARY|OBJECT_LIBRARY)$")
      continue()
    endif()
    if(type STREQUAL "EXECUTABLE" OR type MATCHES "^(SHARED|MODULE)_LIBRARY$")
      target_link_options(${t} PRIVATE ${WMGEOM_SANITIZE_LINK_OPTIONS})
    endif()
    set(uses_torch FALSE)
    get_target_property(deps ${t} LINK_LIBRARIES)
    if(deps)
      foreach(dep ${deps})
        _wmgeom_exports_torch(${dep} uses_torch)
        if(uses_torch)
          break()
        endif()
      endforeach()
    endif()
    if(uses_torch)
      list(APPEND plain ${t})
    else()
      target_compile_options(${t} PRIVATE ${WMGEOM_SANITIZE_COMPILE_OPTIONS})
    endif()
  endforeach()
  list(JOIN plain " " plain)
  message(STATUS "wmgeom: not instrumented (LibTorch; normal flags, ccache hits): ${plain}")
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _wmgeom_sanitize_apply)
