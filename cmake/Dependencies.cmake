# Every dependency comes from a Debian package, found through its CMake config or pkg-config.
# Nothing is downloaded at configure or build time.
find_package(Boost 1.81 REQUIRED COMPONENTS json)
find_package(OpenSSL 3 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(CURL REQUIRED)
find_package(Threads REQUIRED)

if(TRAFFIC_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(TRAFFIC_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

find_package(PkgConfig REQUIRED)
pkg_check_modules(MAXMINDDB REQUIRED IMPORTED_TARGET libmaxminddb)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
find_package(yaml-cpp REQUIRED)
