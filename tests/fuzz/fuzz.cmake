# libFuzzer targets: every tests/fuzz/fuzz_NAME.c becomes the program
# build/fuzz/fuzz_NAME and the test fuzz.NAME, which fuzzes for a short while
# (seeded from tests/fuzz/corpus/NAME/ when that folder exists, with the
# libFuzzer dictionary tests/fuzz/NAME.dict when there is one).  See
# tests/fuzz/README.md.
#
# The project is compiled by gcc; libFuzzer needs clang's coverage
# instrumentation in the code under test.  So the engine's sources are
# compiled a second time here, by clang-14, into build/fuzz/libtocsin_fuzz.a
# (custom commands: one project, one compiler per target is all CMake allows).
find_program(TOCSIN_CLANG14 clang-14)
set(_fuzz_found OFF)
if(TOCSIN_CLANG14)
  execute_process(COMMAND ${TOCSIN_CLANG14} -print-file-name=libclang_rt.fuzzer-x86_64.a
                  OUTPUT_VARIABLE _fuzz_rt OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT EXISTS "${_fuzz_rt}")
    execute_process(COMMAND ${TOCSIN_CLANG14} --print-runtime-dir
                    OUTPUT_VARIABLE _fuzz_rtdir OUTPUT_STRIP_TRAILING_WHITESPACE)
    set(_fuzz_rt "${_fuzz_rtdir}/libclang_rt.fuzzer-x86_64.a")
  endif()
  if(EXISTS "${_fuzz_rt}")
    set(_fuzz_found ON)
  else()
    message(STATUS "clang-14 without libFuzzer (package libclang-rt-14-dev): no fuzz targets")
  endif()
endif()
option(TOCSIN_FUZZ "Build the libFuzzer targets (tests/fuzz) with clang-14" ${_fuzz_found})
set(TOCSIN_FUZZ_SECONDS 20 CACHE STRING "How long each fuzz.NAME test fuzzes")

if(TOCSIN_FUZZ)
  if(NOT _fuzz_found)
    message(FATAL_ERROR "TOCSIN_FUZZ needs clang-14 and libclang-rt-14-dev")
  endif()
  set(FUZZ_DIR ${CMAKE_BINARY_DIR}/fuzz)
  file(MAKE_DIRECTORY ${FUZZ_DIR}/obj)
  set(FUZZ_CFLAGS -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
      -fno-sanitize-recover=undefined -Wall -Wno-unused-parameter
      -D_GNU_SOURCE "-DTOCSIN_VERSION=\"${PROJECT_VERSION}\""
      -I${CMAKE_SOURCE_DIR}/include -I${CMAKE_SOURCE_DIR}/src
      ${LUA_CFLAGS} ${UV_CFLAGS} ${CURL_CFLAGS} ${PQ_CFLAGS})
  set(FUZZ_LIBS ${LUA_LINK_LIBRARIES} ${UV_LINK_LIBRARIES}
      ${CURL_LINK_LIBRARIES} ${PQ_LINK_LIBRARIES} ${SQLITE_LINK_LIBRARIES} ${HTTP_PARSER_LIB} -lm)

  # The engine (libtocsin's sources, main.c excluded) built by clang-14 with
  # coverage for libFuzzer, once for all targets.
  set(FUZZ_OBJS)
  foreach(src ${TOCSIN_SOURCES} ${EMBEDDED_C})
    get_filename_component(n ${src} NAME_WE)
    set(obj ${FUZZ_DIR}/obj/${n}.o)
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${TOCSIN_CLANG14} ${FUZZ_CFLAGS} -fsanitize=fuzzer-no-link -MD -MF ${obj}.d
              -c ${src} -o ${obj}
      DEPENDS ${src}
      DEPFILE ${obj}.d
      COMMENT "clang-14 (fuzz) ${n}.c"
      VERBATIM)
    list(APPEND FUZZ_OBJS ${obj})
  endforeach()
  set(FUZZ_LIB ${FUZZ_DIR}/libtocsin_fuzz.a)
  add_custom_command(
    OUTPUT ${FUZZ_LIB}
    COMMAND ${CMAKE_COMMAND} -E rm -f ${FUZZ_LIB}
    COMMAND ${CMAKE_AR} qcs ${FUZZ_LIB} ${FUZZ_OBJS}
    DEPENDS ${FUZZ_OBJS}
    COMMENT "archive libtocsin_fuzz.a"
    VERBATIM)
  # One target owns the archive: with several targets running its command
  # (make -j) they would write it concurrently.
  add_custom_target(tocsin_fuzz_lib DEPENDS ${FUZZ_LIB})

  file(GLOB FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.c)
  foreach(src ${FUZZ_TARGETS})
    get_filename_component(exe ${src} NAME_WE)       # fuzz_NAME
    string(REGEX REPLACE "^fuzz_" "" name ${exe})  # NAME
    set(bin ${FUZZ_DIR}/${exe})
    add_custom_command(
      OUTPUT ${bin}
      COMMAND ${TOCSIN_CLANG14} ${FUZZ_CFLAGS} -fsanitize=fuzzer -MD -MF ${bin}.d
              ${src} ${FUZZ_LIB} ${FUZZ_LIBS} -o ${bin}
      DEPENDS ${src} ${FUZZ_LIB}
      DEPFILE ${bin}.d
      COMMENT "clang-14 (fuzz) ${exe}"
      VERBATIM)
    add_custom_target(${exe} ALL DEPENDS ${bin})
    add_dependencies(${exe} tocsin_fuzz_lib)

    # New inputs go to the build tree's corpus (listed first); the seeds in
    # the source tree are only read.  Crashes land in build/fuzz/artifacts/.
    set(corpus ${FUZZ_DIR}/corpus/${name})
    set(seeds)
    if(IS_DIRECTORY ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
      set(seeds ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
    endif()
    set(dict)
    if(EXISTS ${CMAKE_SOURCE_DIR}/tests/fuzz/${name}.dict)
      set(dict -dict=${CMAKE_SOURCE_DIR}/tests/fuzz/${name}.dict)
    endif()
    file(MAKE_DIRECTORY ${corpus} ${FUZZ_DIR}/artifacts)
    add_test(NAME fuzz.${name}
             COMMAND ${bin} -max_total_time=${TOCSIN_FUZZ_SECONDS} -timeout=25 -print_final_stats=1
                     -artifact_prefix=${FUZZ_DIR}/artifacts/${name}- ${dict} ${corpus} ${seeds}
             WORKING_DIRECTORY ${FUZZ_DIR})
    math(EXPR _fuzz_timeout "${TOCSIN_FUZZ_SECONDS} + 120")
    set_tests_properties(fuzz.${name} PROPERTIES TIMEOUT ${_fuzz_timeout}
      ENVIRONMENT "ASAN_OPTIONS=detect_leaks=1;LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lsan.supp;${TOCSIN_TEST_ENV}")
  endforeach()
endif()
