# Schema examples: X.mgs (schema) + X.mgscript (script) + X.expected (stdout), plus an
# optional X.exit holding the expected exit code (default 0). Each test runs
# `mgraph eval X.mgs --script X.mgscript` and compares (run_example.cmake).
if(TARGET mgraph AND MGRAPH_BUILD_TESTS)
  file(GLOB MGRAPH_SCHEMA_EXAMPLES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.mgs)
  foreach(schema ${MGRAPH_SCHEMA_EXAMPLES})
    get_filename_component(name ${schema} NAME_WE)
    set(exit_code 0)
    if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${name}.exit)
      file(READ ${CMAKE_CURRENT_LIST_DIR}/${name}.exit exit_code)
      string(STRIP "${exit_code}" exit_code)
    endif()
    add_test(NAME example.${name}
             COMMAND ${CMAKE_COMMAND} -DMGRAPH=$<TARGET_FILE:mgraph>
                     -DSCHEMA=${schema} -DSCRIPT=${CMAKE_CURRENT_LIST_DIR}/${name}.mgscript
                     -DEXPECTED=${CMAKE_CURRENT_LIST_DIR}/${name}.expected -DEXIT=${exit_code}
                     -P ${CMAKE_CURRENT_LIST_DIR}/run_example.cmake)
    set_tests_properties(example.${name} PROPERTIES TIMEOUT 60)
  endforeach()
endif()
