# Installs the build into a scratch prefix, then, as another team's service would:
#  1. builds a program that links only traffic::link, and checks that neither its CMake
#     lookups nor its link line nor its dynamic dependencies include curl, hiredis,
#     libmaxminddb, RE2 or PCRE2;
#  2. configures, builds and runs examples/ (five narrated programs) through their ctest.
# Inputs: BUILD_DIR, SOURCE_DIR, CTEST, WORK.
file(REMOVE_RECURSE ${WORK})
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}${err}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()

run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK}/prefix)

# 1. Only the link component.
run("configuring the link-only consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/integration/link_only
    -B ${WORK}/link_only -G Ninja -DCMAKE_PREFIX_PATH=${WORK}/prefix -DEXAMPLES_DIR=${SOURCE_DIR}/examples)
run("building the link-only consumer" ${CMAKE_COMMAND} --build ${WORK}/link_only)
run("reading its link line" ninja -C ${WORK}/link_only -t commands decode_link)
set(link_line "${output}")
run("reading its dynamic dependencies" readelf -d ${WORK}/link_only/decode_link)
set(needed "${output}")
foreach(unwanted curl hiredis maxminddb re2 pcre2 yaml-cpp isal zstd traffic_redis traffic_geo traffic_device)
  if(link_line MATCHES "${unwanted}" OR needed MATCHES "NEEDED.*${unwanted}")
    message(FATAL_ERROR "a program linking only traffic::link links ${unwanted}:\n${link_line}\n${needed}")
  endif()
endforeach()
run("running the link-only consumer" ${WORK}/link_only/decode_link)

# 2. The examples, through their own tests.
run("configuring examples" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples -B ${WORK}/examples -G Ninja
    -DCMAKE_PREFIX_PATH=${WORK}/prefix)
run("building examples" ${CMAKE_COMMAND} --build ${WORK}/examples)
run("running examples" ${CTEST} --test-dir ${WORK}/examples --output-on-failure)
