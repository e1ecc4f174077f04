# Helper functions shared by every component's CMakeLists.txt.
#
# sedpost_library(<name> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...])
#   Builds static library `sedpost_<name>` with alias `sedpost::<name>`; include root is the
#   repository root (includes read "core/error.hpp" via src/, "mpi/mpi_comm.hpp" via root).
# sedpost_unit_test(<name> SOURCES ... DEPS ... [LABELS slow])
#   GoogleTest executable, each test registered in CTest with label `unit` (or LABELS, one label, e.g.
#   `slow` for long statistical tests kept out of the default run). Tests read
#   SEDPOST_DATA_DIR (defaults to ../shared/data beside the checkout).
# sedpost_mpi_test(<name> SOURCES ... DEPS ... NPROCS 1 2)
#   GoogleTest executable with an MPI main, run under mpiexec -n <p> for each p, label `mpi`.
# sedpost_benchmark(<name> SOURCES ... DEPS ...)
#   Google Benchmark executable in build/benchmarks/.

function(sedpost_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror)
endfunction()

function(sedpost_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(sedpost_${name} STATIC ${ARG_SOURCES})
  add_library(sedpost::${name} ALIAS sedpost_${name})
  target_include_directories(sedpost_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
  target_link_libraries(sedpost_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  sedpost_warnings(sedpost_${name})
endfunction()

# Environment every test runs with: data directory and Open MPI settings for containers and root.
set(SEDPOST_TEST_ENV
    "SEDPOST_DATA_DIR=${SEDPOST_TEST_DATA_DIR}"
    "OMPI_ALLOW_RUN_AS_ROOT=1" "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
    "OMPI_MCA_rmaps_base_oversubscribe=1"
    "OMPI_MCA_btl_vader_single_copy_mechanism=none"
    "SEDPOST_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
    "SEDPOST_BINARY_DIR=${PROJECT_BINARY_DIR}")

function(sedpost_unit_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT;LABELS" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  sedpost_warnings(${name})
  # gtest_discover_tests splits list values of PROPERTIES into separate arguments, so each
  # property gets a single value: one label, and only the data directory in the environment
  # (unit tests need nothing else). Listing the tests of a LibTorch executable takes a few
  # seconds on a busy machine, hence the long discovery timeout.
  gtest_discover_tests(${name}
    DISCOVERY_MODE PRE_TEST
    DISCOVERY_TIMEOUT 120
    PROPERTIES LABELS ${ARG_LABELS} ENVIRONMENT "SEDPOST_DATA_DIR=${SEDPOST_TEST_DATA_DIR}" TIMEOUT ${ARG_TIMEOUT})
endfunction()

function(sedpost_mpi_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;NPROCS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/tests/mpi/mpi_test_main.cpp)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} sedpost::mpi GTest::gtest)
  sedpost_warnings(${name})
  foreach(np IN LISTS ARG_NPROCS)
    add_test(NAME ${name}_np${np}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} ${MPIEXEC_PREFLAGS}
                     $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS})
    set_tests_properties(${name}_np${np} PROPERTIES LABELS "mpi;${ARG_LABELS}"
                         ENVIRONMENT "${SEDPOST_TEST_ENV}" TIMEOUT ${ARG_TIMEOUT})
  endforeach()
endfunction()

function(sedpost_benchmark name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/benchmarks)
  sedpost_warnings(${name})
endfunction()
