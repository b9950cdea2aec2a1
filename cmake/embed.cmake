# wmgeom_embed(TARGET ROOT GLOB...): a static library exposing the files
# matched by GLOB (relative to ROOT) through wmgeom::embedded_file(path).
# The generated source is rebuilt whenever one of the files changes.
function(wmgeom_embed target root)
  set(files)
  foreach(pattern IN LISTS ARGN)
    file(GLOB matched RELATIVE ${root} CONFIGURE_DEPENDS ${root}/${pattern})
    list(APPEND files ${matched})
  endforeach()
  list(SORT files)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}.cpp)
  set(abs_files)
  foreach(f IN LISTS files)
    list(APPEND abs_files ${root}/${f})
  endforeach()
  string(REPLACE ";" "|" files_arg "${files}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DROOT=${root} "-DFILES=${files_arg}" -DOUT=${out}
            -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_generate.cmake
    DEPENDS ${abs_files} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_generate.cmake
    COMMENT "Embedding ${target}"
    VERBATIM)
  add_library(${target} STATIC ${out})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
endfunction()
