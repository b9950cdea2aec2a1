# WMGEOM_SANITIZE (e.g. "address,undefined"): instrumentation for the
# sanitizer build (scripts/test --sanitize). Empty: nothing is added.
if(WMGEOM_SANITIZE)
  message(STATUS "wmgeom: building with -fsanitize=${WMGEOM_SANITIZE}")
endif()
