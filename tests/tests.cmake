# Test registration: drop a file in the right folder and it becomes a test.
#   tests/unit/*.c   C unit tests linked with libtocsin        -> unit.NAME
#   tests/lua/*.lua  runbooks run through the real binary       -> lua.NAME
#                    (tests/run_lua.sh starts the loopback test HTTP server)
#   tests/e2e/*.sh   shell scripts driving the real binary      -> e2e.NAME
# Names starting with pg_ get a real PostgreSQL (fixture "pg": tests/pg/start.sh);
# they share that one server (one restarts it), so they run one at a time.
set(TOCSIN_TEST_ENV "TOCSIN=$<TARGET_FILE:tocsin>;SRC=${CMAKE_SOURCE_DIR};BUILD=${CMAKE_BINARY_DIR}")

file(GLOB UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/*.c)
foreach(src ${UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(unit_${name} ${src})
  target_link_libraries(unit_${name} PRIVATE libtocsin)
  add_test(NAME unit.${name} COMMAND unit_${name})
endforeach()

file(GLOB LUA_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/lua/*.lua)
foreach(src ${LUA_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME lua.${name} COMMAND bash ${CMAKE_SOURCE_DIR}/tests/run_lua.sh ${src})
  set_tests_properties(lua.${name} PROPERTIES ENVIRONMENT "${TOCSIN_TEST_ENV}" TIMEOUT 300)
  if(name MATCHES "^pg_")
    set_tests_properties(lua.${name} PROPERTIES FIXTURES_REQUIRED pg RESOURCE_LOCK pg_server)
  endif()
endforeach()

file(GLOB E2E_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/e2e/*.sh)
foreach(src ${E2E_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME e2e.${name} COMMAND bash ${src})
  set_tests_properties(e2e.${name} PROPERTIES ENVIRONMENT "${TOCSIN_TEST_ENV}" TIMEOUT 300)
  if(name MATCHES "^pg_")
    set_tests_properties(e2e.${name} PROPERTIES FIXTURES_REQUIRED pg RESOURCE_LOCK pg_server)
  endif()
endforeach()

include(${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz.cmake) # tests/fuzz/fuzz_*.c -> fuzz.NAME (clang-14)

add_test(NAME pg.start COMMAND bash ${CMAKE_SOURCE_DIR}/tests/pg/start.sh)
add_test(NAME pg.stop COMMAND bash ${CMAKE_SOURCE_DIR}/tests/pg/stop.sh)
set_tests_properties(pg.start PROPERTIES FIXTURES_SETUP pg ENVIRONMENT "${TOCSIN_TEST_ENV}")
set_tests_properties(pg.stop PROPERTIES FIXTURES_CLEANUP pg ENVIRONMENT "${TOCSIN_TEST_ENV}")

# Style: luacheck over every Lua file we ship or test with, clang-format over
# the C tree (both Debian packages: lua-check, clang-format).
find_program(LUACHECK luacheck)
if(LUACHECK)
  add_test(NAME lint.luacheck COMMAND ${LUACHECK} --no-color -q src scripts tests/lua bench examples
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
endif()
foreach(lint banned_calls public_headers)
  add_test(NAME lint.${lint} COMMAND bash ${CMAKE_SOURCE_DIR}/tests/lint/${lint}.sh)
  set_tests_properties(lint.${lint} PROPERTIES ENVIRONMENT "SRC=${CMAKE_SOURCE_DIR};CC=${CMAKE_C_COMPILER}")
endforeach()
find_program(CLANG_FORMAT clang-format)
if(CLANG_FORMAT)
  file(GLOB_RECURSE FORMAT_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/*.[ch]
       ${CMAKE_SOURCE_DIR}/include/*.h ${CMAKE_SOURCE_DIR}/tests/unit/*.c)
  list(FILTER FORMAT_SOURCES EXCLUDE REGEX "lpattern\\.[ch]$") # copied from Lua: kept as upstream wrote it
  add_test(NAME lint.clang_format COMMAND ${CLANG_FORMAT} --style=file --dry-run -Werror ${FORMAT_SOURCES})
endif()
