# Run at install time (see CMakeLists.txt): writes the unit files with the
# paths of this installation into CORRAL_UNITS_STAGED, from where install()
# copies them. CMAKE_INSTALL_PREFIX is the prefix of this install run;
# DESTDIR (a packaging stage) is not part of the installed paths.
foreach(dir BINDIR DOCDIR)
  set(path "${CORRAL_INSTALL_${dir}}")
  if(NOT IS_ABSOLUTE "${path}")
    set(path "${CMAKE_INSTALL_PREFIX}/${path}")
  endif()
  set(CORRAL_${dir} "${path}")
endforeach()
foreach(unit IN LISTS CORRAL_UNITS)
  configure_file("${CORRAL_UNITS_SOURCE}/${unit}.in" "${CORRAL_UNITS_STAGED}/${unit}" @ONLY)
endforeach()
