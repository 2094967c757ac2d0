# The supervisor's pure policies (restart decisions, output line handling,
# rolling reload, scaling, autoscaling):
# no libuv, no processes, so they are unit-tested on their own. Included
# from supervisor/CMakeLists.txt.
add_library(corral_policy STATIC
  ${CMAKE_CURRENT_LIST_DIR}/exit_status.cc
  ${CMAKE_CURRENT_LIST_DIR}/restart_policy.cc
  ${CMAKE_CURRENT_LIST_DIR}/line_splitter.cc
  ${CMAKE_CURRENT_LIST_DIR}/rolling_reload.cc
  ${CMAKE_CURRENT_LIST_DIR}/scale_policy.cc
  ${CMAKE_CURRENT_LIST_DIR}/autoscale_policy.cc
  ${CMAKE_CURRENT_LIST_DIR}/orphans.cc
)
target_link_libraries(corral_policy PUBLIC corral_base corral_config PRIVATE fmt::fmt)
