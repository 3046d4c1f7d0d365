# Run by CTest (tests/package/CMakeLists.txt): install, build a consumer, run it.
# Every step that fails stops the test with its output.
function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
step("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

foreach(f lib/cmake/mgraph/mgraphConfig.cmake lib/cmake/mgraph/mgraphConfigVersion.cmake
          include/mgraph/graph/graph.hpp include/mgraph/session/script_runner.hpp
          include/mgraph/persistence/store.hpp bin/mgraph bin/mgraphd bin/mgraphctl
          share/mgraph/cluster-configs/local-3.toml share/mgraph/examples/shop.mgs
          share/mgraph/cluster-configs/mgraphd@.service)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "cmake --install did not install ${f}")
  endif()
endforeach()

# Only the prefix: nothing of the source or build tree is on the consumer's paths.
step("configuring the consumer" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build
     -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix}
     -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_C_COMPILER=${C_COMPILER}
     -DMGRAPH_EXAMPLES_DIR=${EXAMPLES_DIR})
step("building the consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
step("the embedded demo, built against the package" ${WORK_DIR}/build/consumer_embedded)
step("the persistent demo, built against the package" ${WORK_DIR}/build/consumer_persistent
     ${WORK_DIR}/session.d)

# The installed programs run from the prefix, and the installed example schema compiles.
step("mgraph --help" ${prefix}/bin/mgraph --help)
step("mgraphd --help" ${prefix}/bin/mgraphd --help)
step("mgraphctl --help" ${prefix}/bin/mgraphctl --help)
step("mgraph eval of the installed example schema" ${prefix}/bin/mgraph eval
     ${prefix}/share/mgraph/examples/shop.mgs --script ${EXAMPLES_DIR}/shop.mgscript)
file(READ ${EXAMPLES_DIR}/shop.expected expected)
if(NOT step_output STREQUAL expected)
  message(FATAL_ERROR "the installed mgraph printed\n${step_output}\ninstead of\n${expected}")
endif()
