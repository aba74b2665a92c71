#!/usr/bin/env bats
# make demo's script: a real exchange on loopback, table and JSON shown, server stopped after.
load common

@test "scripts/demo runs a client/server exchange and stops the server" {
  run env TIMEPIPE_BIN="$TIMEPIPE_BUILD/bin" "$BATS_TEST_DIRNAME/../scripts/demo"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *remote*refid*st*when*poll*reach*delay*offset*jitter* ]]
  [[ "$output" == *'"type":"sample"'* ]]
  [[ "$output" == *'"source":"ntp://127.0.0.1:'* ]]
  [[ "$output" == *"demo: done"* ]]
  # the server the demo started (its PID is in the kill line) is gone
  pid=$(sed -n 's/.*kill -TERM \([0-9]*\).*/\1/p' <<<"$output" | head -n 1)
  [ -n "$pid" ]
  run kill -0 "$pid"
  [ "$status" -ne 0 ]
}
