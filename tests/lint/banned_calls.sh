#!/usr/bin/env bash
# Calls we do not use in src/ (as curl's checksrc bans them): unbounded
# copies and formats, and parsers that cannot report errors.  lpattern.c is
# Lua's own code, kept as upstream wrote it.
set -u
cd "${SRC:?}"
banned='\b(sprintf|vsprintf|strcpy|strcat|stpcpy|gets|strncpy|strncat|atoi|atol|atof|strtok)[[:space:]]*\('
hits=$(grep -nE "$banned" src/*.c src/*.h include/tocsin/*.h | grep -v '^src/lpattern\.' |
       grep -vE '^[^:]+:[0-9]+:\s*(/\*|\*)')
if [ -n "$hits" ]; then
  echo "banned calls (use snprintf, buf.h, strtol/strtod with error checks):"
  echo "$hits"
  exit 1
fi
echo "no banned calls in src/"
