# The sidecar binary maps none of the libraries issue #15 took out of it: grpc++ and protobuf
# (and what they bring: abseil, c-ares, upb, gpr) live in the module sluice-nacos-grpc.so that
# only `sluice registry` loads, and libcrypto was only an MD5. Run by ctest (test
# `lint_sidecar_libraries`): cmake -DBIN=<path to sluice> -P cmake/check_sidecar_libraries.cmake
cmake_minimum_required(VERSION 3.25)
# `make sanitize` builds the unit tests only, not the binary: nothing to check there.
if(NOT EXISTS ${BIN})
  message(STATUS "${BIN} not built: skipped")
  return()
endif()
execute_process(COMMAND ldd ${BIN} OUTPUT_VARIABLE libs RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ldd ${BIN} failed (${rc})")
endif()
string(REGEX MATCHALL "(libgrpc|libgpr|libprotobuf|libabsl_|libcares|libupb|libaddress_sorting|libcrypto|libssl)[^ \t\n]*" found "${libs}")
if(found)
  list(REMOVE_DUPLICATES found)
  list(JOIN found "\n  " text)
  message(FATAL_ERROR "${BIN} links libraries the sidecar must not map (issue #15; the gRPC "
                      "server belongs in the sluice-nacos-grpc module):\n  ${text}")
endif()
message(STATUS "${BIN}: no grpc, protobuf, abseil, c-ares or OpenSSL library")
