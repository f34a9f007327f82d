# Installing the programs and `cpack -G DEB` (docs/operations.md, "The
# Debian package"). Two packages: coapgw (the three programs, their man
# pages and bash completion, the example configuration as the conffile
# /etc/coapgw/coapgw.json, the systemd units, the coapgw system user) and
# coapgw-dev (the engine's static libraries, headers and pkg-config file,
# installed by coap/ and base/ in the component "dev").
include(GNUInstallDirs)

install(TARGETS coapgw coapgw-client coapgw-sim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT coapgw)
# Man pages go in compressed, as Debian's policy asks (gzip -9n: no name or
# time stamp inside, the same bytes on every build).
set(COAPGW_MAN_GZ)
foreach(page coapgw.1 coapgw-client.1 coapgw-sim.1 coapgw.json.5)
  set(gz ${CMAKE_BINARY_DIR}/man/${page}.gz)
  add_custom_command(
    OUTPUT ${gz}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND sh -c "gzip -9nc '${PROJECT_SOURCE_DIR}/man/${page}' > '${gz}'"
    DEPENDS ${PROJECT_SOURCE_DIR}/man/${page}
    VERBATIM)
  list(APPEND COAPGW_MAN_GZ ${gz})
  string(REGEX REPLACE ".*\\." "" section ${page})
  install(FILES ${gz} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section} COMPONENT coapgw)
endforeach()
add_custom_target(coapgw_man ALL DEPENDS ${COAPGW_MAN_GZ})
install(FILES completions/coapgw completions/coapgw-client completions/coapgw-sim
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT coapgw)
install(FILES packaging/coapgw.socket packaging/coapgw-coap.socket
        DESTINATION lib/systemd/system COMPONENT coapgw)
# The service names the program by its installed path, whatever the prefix
# is at install time (cpack installs under /usr, a plain install under
# CMAKE_INSTALL_PREFIX).
install(CODE "
  set(unit_dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
  file(READ \"${PROJECT_SOURCE_DIR}/packaging/coapgw.service\" unit)
  string(REPLACE \"/usr/local/bin/coapgw\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/coapgw\" unit \"\${unit}\")
  file(MAKE_DIRECTORY \"\${unit_dir}\")
  file(WRITE \"\${unit_dir}/coapgw.service\" \"\${unit}\")
" COMPONENT coapgw)
# The conffile lives in /etc whatever the prefix: only in the package (a
# component install), never written by a plain `cmake --install`.
install(FILES config/coapgw.example.json DESTINATION /etc/coapgw RENAME coapgw.json
        COMPONENT coapgw EXCLUDE_FROM_ALL)

set(CPACK_PACKAGE_NAME coapgw)
set(CPACK_PACKAGE_VENDOR "coapgw")
set(CPACK_PACKAGE_CONTACT "coapgw maintainers <coapgw@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_COMPONENTS_ALL coapgw dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_COAPGW_PACKAGE_NAME coapgw)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME coapgw-dev)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_COAPGW_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_COAPGW_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles ${PROJECT_SOURCE_DIR}/packaging/debian/postinst ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# the first line of each is the summary (CPACK_PACKAGE_DESCRIPTION_SUMMARY
# unset: CPack would put it before both)
set(CPACK_DEBIAN_COAPGW_DESCRIPTION
    "CoAP <-> HTTP cross-proxy gateway\n coapgw, coapgw-client and coapgw-sim, their man pages and bash completion, the configuration /etc/coapgw/coapgw.json and systemd units.")
set(CPACK_DEBIAN_DEV_DESCRIPTION
    "coapgw's CoAP engine as a static library\n The codec, message layer, client and server roles, Observe and block-wise transfer, with headers and a pkg-config file.")
include(CPack)
