# Warning flags applied to every Ambit target through ambit_warnings.
add_library(ambit_warnings INTERFACE)
target_compile_options(ambit_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(AMBIT_WERROR)
  target_compile_options(ambit_warnings INTERFACE -Werror)
endif()

# ambit_library(NAME SOURCES... [DEPS ...]) — one static library per component under src/.
function(ambit_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ambit_warnings ${ARG_PRIVATE_DEPS})
endfunction()

# ambit_unit_test(NAME SOURCES... DEPS ... [LABELS ...] [THREADED]) — a GoogleTest
# binary registered with ctest, label "unit" unless LABELS says otherwise.
# Unit and integration binaries join the target test_binaries (what the ASan
# tree builds). THREADED marks a binary whose tests run code on several threads
# (std::thread, WorkerPool, ServiceLoop, SecretManager, gRPC servers...): it gets
# the label "threaded" and joins threaded_tests, which the ThreadSanitizer tree
# of `make test` builds and runs (docs/testing.md).
function(ambit_unit_test name)
  cmake_parse_arguments(ARG "THREADED" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main ambit_warnings)
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT "e2e" IN_LIST ARG_LABELS)
    add_dependencies(test_binaries ${name})
  endif()
  if(ARG_THREADED)
    list(APPEND ARG_LABELS threaded)
    add_dependencies(threaded_tests ${name})
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
  # Labels are set by a script ctest runs after the discovered tests are added:
  # a list value (e.g. "unit;threaded") does not survive gtest_discover_tests'
  # PROPERTIES. ${name}_TESTS is the list the discovery script defines.
  set(labels_script "${CMAKE_CURRENT_BINARY_DIR}/${name}_labels.cmake")
  file(WRITE "${labels_script}"
       "if(DEFINED ${name}_TESTS)\n  set_tests_properties(\${${name}_TESTS} PROPERTIES LABELS \"${ARG_LABELS}\")\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${labels_script}")
endfunction()

# ambit_fuzz_target(NAME SOURCES... DEPS ...) — a libFuzzer target (only with AMBIT_FUZZ).
function(ambit_fuzz_target name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(fuzz_all ${name})
endfunction()

# ambit_e2e_scripts(PREFIX TIMEOUT): every *_test.sh in the calling directory
# becomes the ctest "<PREFIX>_<name>" (label e2e), run as `bash script BIN_DIR`;
# exit status 77 means skipped (e.g. not root).
function(ambit_e2e_scripts prefix timeout)
  file(GLOB scripts CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.sh)
  foreach(script ${scripts})
    get_filename_component(name ${script} NAME_WE)
    add_test(NAME ${prefix}_${name} COMMAND bash ${script} ${CMAKE_BINARY_DIR}/bin)
    set_tests_properties(${prefix}_${name} PROPERTIES LABELS e2e TIMEOUT ${timeout}
                         SKIP_RETURN_CODE 77)
  endforeach()
endfunction()
