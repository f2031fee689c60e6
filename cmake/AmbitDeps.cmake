# Third-party dependencies, all from Debian 12 packages (see scripts/deps.txt).
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)
# RE2 (libre2-dev) ships a pkg-config file only.
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
# http-parser (libhttp-parser-dev) ships no CMake or pkg-config file.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIBRARY NAMES http_parser REQUIRED)
add_library(http_parser::http_parser UNKNOWN IMPORTED)
set_target_properties(http_parser::http_parser PROPERTIES
  IMPORTED_LOCATION "${HTTP_PARSER_LIBRARY}" INTERFACE_INCLUDE_DIRECTORIES "${HTTP_PARSER_INCLUDE_DIR}")
find_package(GTest REQUIRED)
include(GoogleTest)
if(NOT AMBIT_FUZZ)
  find_package(benchmark REQUIRED)
endif()

# Standalone Asio is header-only; include it only where an event loop is needed.
add_library(ambit_asio INTERFACE)
target_compile_definitions(ambit_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
  # Standalone Asio 1.22 decides between std::aligned_alloc/std::free and
  # operator new/delete for its recycled handler memory
  # (asio/detail/memory.hpp) on _GLIBCXX_HAVE_ALIGNED_ALLOC, which is defined
  # only if a standard header came before the first Asio header. Translation
  # units that include in different orders then disagree, and the linker keeps
  # one aligned_new from one and one aligned_delete from another: memory from
  # operator new freed with free() (AddressSanitizer: alloc-dealloc-mismatch in
  # thread_info_base's destructor, ztunnel and waypoint at exit). One choice for
  # every translation unit; glibc and libstdc++ have aligned_alloc (C++17).
  ASIO_HAS_STD_ALIGNED_ALLOC=1)
target_link_libraries(ambit_asio INTERFACE Threads::Threads)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # Asio 1.22 detects C++20 coroutines only on GCC/MSVC; clang (the fuzz build)
  # supports them with libstdc++'s <coroutine> too.
  target_compile_definitions(ambit_asio INTERFACE ASIO_HAS_CO_AWAIT=1)
endif()

# ---- Static node proxies ----------------------------------------------------
# ztunnel and waypoint are linked statically where Debian ships archives
# (OpenSSL, nghttp2, protobuf; libstdc++/libgcc via -static-libstdc++), with
# section GC and packed relative relocations: their baseline RSS is mostly the
# file-backed text they map, and one compact binary maps far less than a
# dozen shared libraries (bench/notes.md "Baseline RSS"). glibc stays shared.
# Every other binary (ambitd, tests) links the shared libraries as before.
#
# Mechanism: libraries link the ambit_dep_* targets below instead of the
# packages' own targets; each picks the archive when the executable being
# linked has the property AMBIT_STATIC_LINK (set by ambit_static_proxy()).
# A missing archive falls back to the shared library, with a message.
option(AMBIT_STATIC_PROXY "Link ztunnel and waypoint statically (archives, --gc-sections)" ON)
if(AMBIT_SANITIZE OR AMBIT_FUZZ OR AMBIT_TSAN)
  set(AMBIT_STATIC_PROXY OFF)
endif()

set(_ambit_static_link "$<BOOL:$<TARGET_PROPERTY:AMBIT_STATIC_LINK>>")
# ambit_dep(<name> <shared target> <archive file name> [<extra link items for the archive>...])
function(ambit_dep name shared archive)
  add_library(${name} INTERFACE)
  set(found "")
  if(AMBIT_STATIC_PROXY)
    find_library(AMBIT_ARCHIVE_${name} NAMES ${archive} NO_CACHE)
    set(found "${AMBIT_ARCHIVE_${name}}")
    if(NOT found)
      message(STATUS "AMBIT_STATIC_PROXY: ${archive} not found; proxies link ${shared} (shared)")
    endif()
  endif()
  if(found)
    # Usage requirements (include dirs, definitions) always come from the package target.
    target_include_directories(${name} INTERFACE $<TARGET_PROPERTY:${shared},INTERFACE_INCLUDE_DIRECTORIES>)
    target_compile_definitions(${name} INTERFACE $<TARGET_PROPERTY:${shared},INTERFACE_COMPILE_DEFINITIONS>)
    target_link_libraries(${name} INTERFACE
      "$<${_ambit_static_link}:${found};${ARGN}>"
      "$<$<NOT:${_ambit_static_link}>:${shared}>")
  else()
    target_link_libraries(${name} INTERFACE ${shared})
  endif()
endfunction()

find_package(ZLIB)
ambit_dep(ambit_dep_crypto OpenSSL::Crypto libcrypto.a Threads::Threads)
ambit_dep(ambit_dep_ssl OpenSSL::SSL libssl.a ambit_dep_crypto)
ambit_dep(ambit_dep_nghttp2 PkgConfig::NGHTTP2 libnghttp2.a)
ambit_dep(ambit_dep_re2 PkgConfig::RE2 libre2.a Threads::Threads)
ambit_dep(ambit_dep_http_parser http_parser::http_parser libhttp_parser.a)
ambit_dep(ambit_dep_protobuf protobuf::libprotobuf libprotobuf.a Threads::Threads $<$<TARGET_EXISTS:ZLIB::ZLIB>:ZLIB::ZLIB>)

# Logging: Debian ships spdlog and fmt as shared libraries only. With
# AMBIT_STATIC_PROXY every target uses them header-only (one mode for the whole
# build, so ambit_core's objects agree with every binary they land in).
add_library(ambit_dep_log INTERFACE)
if(AMBIT_STATIC_PROXY)
  target_compile_definitions(ambit_dep_log INTERFACE SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY=1)
  target_link_libraries(ambit_dep_log INTERFACE Threads::Threads)
else()
  target_link_libraries(ambit_dep_log INTERFACE spdlog::spdlog fmt::fmt)
endif()

if(AMBIT_STATIC_PROXY)
  # Lets --gc-sections drop unused functions and data of our own code.
  add_compile_options(-ffunction-sections -fdata-sections)
  include(CheckLinkerFlag)
  check_linker_flag(CXX "-Wl,-z,pack-relative-relocs" AMBIT_HAVE_PACK_RELATIVE_RELOCS)
endif()

# ambit_static_proxy(<executable>): the static link described above (no-op
# when AMBIT_STATIC_PROXY is OFF).
function(ambit_static_proxy target)
  if(NOT AMBIT_STATIC_PROXY)
    return()
  endif()
  set_target_properties(${target} PROPERTIES AMBIT_STATIC_LINK ON)
  target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc -Wl,--gc-sections -Wl,--as-needed)
  if(AMBIT_HAVE_PACK_RELATIVE_RELOCS)
    # DT_RELR: the PIE's relative relocations in a few KB instead of ~650 KB
    # of .rela.dyn the loader reads at start-up.
    target_link_options(${target} PRIVATE -Wl,-z,pack-relative-relocs)
  endif()
endfunction()
