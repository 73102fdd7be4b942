# The data plane consumes the immutable MeshSnapshot and never reaches into config parsing or
# registry clients (DESIGN.md, STYLE.md): no file under src/proxy/ may include "config/..." or
# "registry/...". Run by ctest (test `layering_proxy`):
#   cmake -DSOURCE_DIR=<repo> -P cmake/check_layering.cmake
# SLUICE_LAYERING_EXCEPTIONS lists "file|include" pairs still allowed, each with its reason; an
# exception that no longer occurs fails too, so the list only shrinks.
cmake_minimum_required(VERSION 3.25)
set(SLUICE_LAYERING_EXCEPTIONS)

file(GLOB_RECURSE files RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/src/proxy/*.h ${SOURCE_DIR}/src/proxy/*.cc)
list(SORT files)
set(violations "")
set(seen_exceptions "")
foreach(f ${files})
  file(STRINGS ${SOURCE_DIR}/${f} lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<](config|registry)/")
  foreach(line ${lines})
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[\"<]([^\">]+)[\">].*$" "\\1" inc "${line}")
    if("${f}|${inc}" IN_LIST SLUICE_LAYERING_EXCEPTIONS)
      list(APPEND seen_exceptions "${f}|${inc}")
    else()
      list(APPEND violations "${f}: includes \"${inc}\"")
    endif()
  endforeach()
endforeach()
foreach(e ${SLUICE_LAYERING_EXCEPTIONS})
  if(NOT e IN_LIST seen_exceptions)
    list(APPEND violations "exception '${e}' no longer occurs: remove it from cmake/check_layering.cmake")
  endif()
endforeach()
if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "layering: src/proxy/ must not include config/ or registry/ "
                      "(the data plane reads MeshSnapshot only):\n  ${text}")
endif()
list(LENGTH files n)
list(LENGTH SLUICE_LAYERING_EXCEPTIONS n_exceptions)
message(STATUS "layering: ${n} files under src/proxy/ checked, ${n_exceptions} named exception(s)")
