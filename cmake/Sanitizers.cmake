# TRAFFIC_SANITIZE is set by the asan/tsan presets; it applies to every target.
if(TRAFFIC_SANITIZE)
  add_compile_options(-fsanitize=${TRAFFIC_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${TRAFFIC_SANITIZE})
endif()
