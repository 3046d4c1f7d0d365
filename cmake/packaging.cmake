# What `cmake --install BUILD [--prefix DIR]` puts where (GNU install directories):
#   include/mgraph/{graph,session,persistence}/   the embedded library's headers
#   lib/libmgraph_*.a                             the static libraries behind them
#   lib/cmake/mgraph/                             the package: find_package(mgraph)
#   bin/{mgraph,mgraphd,mgraphctl}                the programs
#   share/mgraph/cluster-configs/                 an example cluster and a systemd unit
#
# A consumer writes
#   find_package(mgraph 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE mgraph::graph)     # the engine and schema language
#   target_link_libraries(app PRIVATE mgraph::graph_threads)  # + ThreadLanes (GraphOptions::lanes)
#   target_link_libraries(app PRIVATE mgraph::session)   # + scripts, persistent sessions
# and declares `LANGUAGES C CXX` in its project(): Cap'n Proto's CMake package, which the
# session library needs for its checkpoint images, probes libatomic with the C compiler.
# The cluster (CAF actors, node processes) is installed as programs, not as a library: its
# C++ interfaces are internal and change with the protocol.
include(CMakePackageConfigHelpers)

set(MGRAPH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mgraph)

# The libraries a consumer links, by their names in the package (mgraph::NAME). mgraph_codec
# and mgraph_flags come along only because the static libraries above them link them
# privately: CMake must be able to name every library a static library needs.
set(mgraph_package_libraries
  mgraph_flags:flags mgraph_graph:graph mgraph_graph_threads:graph_threads mgraph_ops:ops mgraph_codec:codec
  mgraph_persistence:persistence mgraph_session:session)
set(mgraph_package_targets)
foreach(entry IN LISTS mgraph_package_libraries)
  string(REPLACE ":" ";" pair ${entry})
  list(GET pair 0 target)
  list(GET pair 1 name)
  if(TARGET ${target})
    set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
    add_library(mgraph::${name} ALIAS ${target})
    list(APPEND mgraph_package_targets ${target})
  endif()
endforeach()

install(TARGETS ${mgraph_package_targets} EXPORT mgraphTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(module graph session persistence)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/${module}/include/mgraph
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp")
endforeach()
install(EXPORT mgraphTargets NAMESPACE mgraph:: DESTINATION ${MGRAPH_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/mgraphConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/mgraphConfig.cmake
                              INSTALL_DESTINATION ${MGRAPH_CMAKE_DIR})
# 0.x: a minor version may change the library's interfaces.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/mgraphConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/mgraphConfig.cmake ${CMAKE_BINARY_DIR}/mgraphConfigVersion.cmake
        DESTINATION ${MGRAPH_CMAKE_DIR})

foreach(program mgraph mgraphd mgraphctl)
  if(TARGET ${program})
    install(TARGETS ${program} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
install(DIRECTORY ${CMAKE_SOURCE_DIR}/cluster-configs/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/mgraph/cluster-configs PATTERN "*.in" EXCLUDE)
# The example cluster names its schema as ../examples/shop.mgs: the schemas go beside it.
install(DIRECTORY ${CMAKE_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DATADIR}/mgraph/examples
        FILES_MATCHING PATTERN "*.mgs" PATTERN "*.mgscript")
set(MGRAPH_BINDIR ${CMAKE_INSTALL_FULL_BINDIR})
configure_file(${CMAKE_SOURCE_DIR}/cluster-configs/mgraphd@.service.in
               ${CMAKE_BINARY_DIR}/mgraphd@.service @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/mgraphd@.service
        DESTINATION ${CMAKE_INSTALL_DATADIR}/mgraph/cluster-configs)
