# Runs at install time (see configured_install in CMakeLists.txt): configures USBD_TEMPLATE into USBD_OUTPUT with
# the prefix of this installation (`cmake --install --prefix P`, or the configured one). The caller sets the
# GNUInstallDirs names as configured (relative, or absolute when given so) and PROJECT_VERSION. Defines for the
# template: CMAKE_INSTALL_PREFIX, CMAKE_INSTALL_FULL_<DIR>, and USBD_PC_<DIR>, the same path written relative to
# pkg-config's ${prefix} when it lies under the prefix.
string(REGEX REPLACE "/+$" "" prefix "${CMAKE_INSTALL_PREFIX}")
foreach(dir BINDIR SBINDIR LIBDIR INCLUDEDIR SYSCONFDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(CMAKE_INSTALL_FULL_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(CMAKE_INSTALL_FULL_${dir} "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_${dir}}")
  endif()
  string(FIND "${CMAKE_INSTALL_FULL_${dir}}/" "${prefix}/" at)
  if(at EQUAL 0)
    string(LENGTH "${prefix}" n)
    string(SUBSTRING "${CMAKE_INSTALL_FULL_${dir}}" ${n} -1 rest)
    set(USBD_PC_${dir} "\${prefix}${rest}")
  else()
    set(USBD_PC_${dir} "${CMAKE_INSTALL_FULL_${dir}}")
  endif()
endforeach()
configure_file("${USBD_TEMPLATE}" "${USBD_OUTPUT}" @ONLY)
