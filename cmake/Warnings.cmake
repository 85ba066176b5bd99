# Project-wide warning set, applied per target through traffic_warnings().
add_library(traffic_warnings INTERFACE)
target_compile_options(traffic_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wconversion
  -Wimplicit-fallthrough -Wformat=2)
if(TRAFFIC_WERROR)
  target_compile_options(traffic_warnings INTERFACE -Werror)
endif()
