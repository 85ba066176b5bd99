# TRAFFIC_SANITIZE is set by the asan/tsan presets; it applies to every target.
if(TRAFFIC_SANITIZE)
  add_compile_options(-fsanitize=${TRAFFIC_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${TRAFFIC_SANITIZE})
  # GCC warns that TSan does not model std::atomic_thread_fence, which Boost.Asio's
  # handler fences use; Asio's queues synchronise through mutexes TSan does see.
  if(TRAFFIC_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-tsan)
  endif()
endif()

# The fuzz preset instruments every target for coverage (the library is what is fuzzed);
# only the fuzz targets themselves link libFuzzer's main.
if(TRAFFIC_BUILD_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
