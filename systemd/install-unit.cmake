# Run by `cmake --install` (install(SCRIPT) in the top CMakeLists.txt): writes cc-relay.service
# from its template with the paths of this install, so a `--prefix` given to `cmake --install`
# is what ExecStart names. CCR_UNIT_IN, CCR_UNIT_OUT, CCR_BINDIR and CCR_DOCDIR are set by the
# install(CODE) before it; CMAKE_INSTALL_PREFIX is the install's (--prefix, else the configured).
foreach(dir BINDIR DOCDIR)
  if(IS_ABSOLUTE "${CCR_${dir}}")
    set(CMAKE_INSTALL_FULL_${dir} "${CCR_${dir}}")
  else()
    set(CMAKE_INSTALL_FULL_${dir} "${CMAKE_INSTALL_PREFIX}/${CCR_${dir}}")
  endif()
endforeach()
configure_file("${CCR_UNIT_IN}" "${CCR_UNIT_OUT}" @ONLY)
# /etc even when the prefix is /usr/local (as for the config); file(INSTALL) adds DESTDIR.
file(INSTALL "${CCR_UNIT_OUT}" DESTINATION "/etc/systemd/system")
