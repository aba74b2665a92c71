#!/usr/bin/env bats
# Every Cloudflare vector file (Google-Roughtime, drafts 08 and 11; batches of 1, 10 and 100)
# replayed through the tool itself: each captured exchange verifies with --verify-exchange under
# the long-term key derived from the files' seed, and the same reply checked against another
# request of its batch is refused. Vectors: $TIMEPIPE_VECTORS, else ../shared/vectors.
bats_require_minimum_version 1.5.0
load common

VEC=${TIMEPIPE_VECTORS:-$BATS_TEST_DIRNAME/../../shared/vectors}/roughtime
CF_KEY=HOkMydVHaAn5CI9SAY2ajluESZUeJGjhPeANAjTVDRQ=

setup() {
  require_cmd roughtime-query
  [ -d "$VEC/cloudflare" ] || { echo "missing vectors at $VEC (set TIMEPIPE_VECTORS)" >&2; return 1; }
}

# split FILE DIR STEP: writes DIR/req.N and DIR/resp.N for every STEP-th exchange of FILE.
split() {
  /usr/bin/python3 - "$@" <<'PY'
import binascii, json, sys
d = json.load(open(sys.argv[1]))
out, step = sys.argv[2], int(sys.argv[3])
assert len(d["request"]) == len(d["replies"]) > 0
for i in range(0, len(d["request"]), step):
    open(f"{out}/req.{i}", "wb").write(binascii.unhexlify(d["request"][i]))
    open(f"{out}/resp.{i}", "wb").write(binascii.unhexlify(d["replies"][i]))
PY
}

verify_file() {  # verify_file NAME VERSION STEP
  local dir=$BATS_TEST_TMPDIR/$1 n=0 i
  mkdir -p "$dir"
  split "$VEC/cloudflare/$1.json" "$dir" "$3"
  for req in "$dir"/req.*; do
    i=${req##*.}
    run --separate-stderr roughtime-query -o text --verify-exchange "$req" "$dir/resp.$i" "$CF_KEY"
    [ "$status" -eq 0 ] || { echo "$1 #$i: $stderr"; return 1; }
    [[ "$output" == *"verified: MIDP 50 (1970-01-01T00:00:50Z) RADI 5 s, version $2" ]] || { echo "$1 #$i: $output"; return 1; }
    n=$((n + 1))
  done
  [ "$n" -gt 0 ]
  # A reply is bound to its own request: checked against another one it must fail.
  if [ -f "$dir/req.1" ] || [ -f "$dir/req.10" ]; then
    other=$dir/req.1; [ -f "$other" ] || other=$dir/req.10
    run --separate-stderr roughtime-query -o text --verify-exchange "$other" "$dir/resp.0" "$CF_KEY"
    [ "$status" -eq 65 ] || { echo "$1: reply 0 accepted for another request: $output"; return 1; }
  fi
}

@test "Google-Roughtime vectors verify through roughtime-query (1, 10, 100 per batch)" {
  verify_file roughtime_google_001 google 1
  verify_file roughtime_google_010 google 1
  verify_file roughtime_google_100 google 10
}

@test "draft-08 vectors verify through roughtime-query (1, 10, 100 per batch)" {
  verify_file roughtime_ietf_draft08_001 draft-08 1
  verify_file roughtime_ietf_draft08_010 draft-08 1
  verify_file roughtime_ietf_draft08_100 draft-08 10
}

@test "draft-11 vectors verify through roughtime-query (1, 10, 100 per batch)" {
  verify_file roughtime_ietf_draft11_001 draft-11 1
  verify_file roughtime_ietf_draft11_010 draft-11 1
  verify_file roughtime_ietf_draft11_100 draft-11 10
}
