#!/usr/bin/env bash
# Firecracker conformance of the control API: every request in the table below is sent to the real
# daemon with curl and the status and body it answers are compared verbatim with Firecracker's answer.
#
# Where Firecracker's answers come from (Firecracker v1.16.1, the texts of a running microVM, which usbd is):
#   - path and method routing, "Empty PUT/PATCH request.", "GET request cannot have a body.", "Invalid request
#     method and/or path: ..." and the deserialization prefix: src/firecracker/src/api_server/parsed_request.rs
#   - balloon subpaths ("Unrecognized GET request path ...", PATCH /balloon/<anything> with a body updates the
#     balloon, /balloon/hinting/{start,status,stop}): src/firecracker/src/api_server/request/balloon.rs
#   - request bodies (fields, defaults, deny_unknown_fields): src/vmm/src/vmm_config/balloon.rs and
#     src/vmm/src/devices/virtio/balloon/device.rs (StartHintingCmd), parsed by serde_json 1.0.149; the serde
#     messages in the table were produced by serde_json from those very struct definitions
#   - device errors and their prefixes ("Internal VMM error: ", "Balloon update error: ", "Balloon config error: ",
#     "Balloon: ", "Failed perform action on device: Device not found"): src/vmm/src/rpc_interface.rs,
#     src/vmm/src/lib.rs, src/vmm/src/device_manager/mod.rs, src/vmm/src/devices/virtio/balloon/mod.rs
#   - the balloon cases of Firecracker's own tests: tests/integration_tests/functional/test_api.py
#     (test_api_balloon) and tests/integration_tests/functional/test_balloon.py (PUT, PATCH, statistics)
# Rows marked "usbd:" are usbd's own answers for usbd's own reasons (docs/API.md says why).
source "$(dirname "$0")/lib.sh"
require_root_v1
command -v curl >/dev/null || skip "needs curl"

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
sock=$T_DIR/usbd.sock
# No --grab-lower/--grab-upper: the balloon does not exist until a PUT /balloon.
start_usbd --domain "$T_NAME" "$T_NAME/app" --api-sock "$sock" --spot-listen off
wait_for 10 "the API socket" test -S "$sock"

# The JSON string of $1 (the messages hold no control characters).
jstr() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }

n=0
check() {  # check STATUS METHOD PATH BODY EXPECTED
  local status=$1 method=$2 path=$3 body=$4 want=$5 got code
  local args=(-s --path-as-is -o "$T_DIR/body" -w '%{http_code}' --unix-socket "$sock" -X "$method"
              "http://localhost$path")
  [[ $body == - ]] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
  code=$(curl "${args[@]}") || fail "curl failed on $method $path"
  got=$(cat "$T_DIR/body")
  case $want in
    -) want= ;;
    F:*) want="{\"fault_message\":$(jstr "${want#F:}")}" ;;
  esac
  [[ $code == "$status" ]] || fail "$method $path $body: status $code, expected $status (body: $got)"
  [[ $want == '*' || $got == "$want" ]] || fail "$method $path $body:
  got:      $got
  expected: $want"
  n=$((n + 1))
}

# STATUS | METHOD | PATH | REQUEST BODY (- none) | EXPECTED BODY (- empty, * any, F:msg = {"fault_message": msg})
while IFS='|' read -r status method path body want; do
  [[ -z $status || $status == '#'* ]] && continue
  check "$status" "$method" "$path" "$body" "$want"
done <<'TABLE'
# --- no balloon yet: a running microVM without a balloon device (rpc_interface.rs RuntimeApiController) ---
400|GET|/balloon|-|F:Internal VMM error: Failed perform action on device: Device not found
400|PATCH|/balloon|{"amount_mib":0}|F:Balloon update error: Failed perform action on device: Device not found
400|GET|/balloon/statistics|-|F:Internal VMM error: Failed perform action on device: Device not found
400|PATCH|/balloon/statistics|{"stats_polling_interval_s":1}|F:Balloon update error: Failed perform action on device: Device not found
400|PATCH|/balloon/hinting/start|-|F:Balloon update error: Failed perform action on device: Device not found
400|GET|/balloon/hinting/status|-|F:Balloon update error: Failed perform action on device: Device not found
400|PATCH|/balloon/hinting/stop|-|F:Balloon update error: Failed perform action on device: Device not found
200|GET|/metrics|-|*
# --- request framing and routing (parsed_request.rs, request/balloon.rs) ---
400|PUT|/balloon|-|F:Empty PUT request.
400|PATCH|/balloon|-|F:Empty PATCH request.
400|PATCH|/balloon/statistics|-|F:Empty PATCH request.
400|PATCH|/nope|-|F:Empty PATCH request.
400|GET|/balloon|{}|F:GET request cannot have a body.
400|GET|/balloon/statistics|{"a":1}|F:GET request cannot have a body.
400|GET|/nope|-|F:Invalid request method and/or path: GET nope.
400|GET|/nope/balloon|-|F:Invalid request method and/or path: GET nope.
400|PUT|/nope|{"amount_mib":1}|F:Invalid request method and/or path: PUT nope.
400|PATCH|/nope|{"amount_mib":1}|F:Invalid request method and/or path: PATCH nope.
400|DELETE|/balloon|-|F:Invalid request method and/or path: DELETE balloon.
400|DELETE|/balloon|{}|F:Empty Delete request.
400|GET|/balloon/nope|-|F:Unrecognized GET request path `nope`.
400|GET|/balloon/hinting|-|F:Unrecognized GET request path `/hinting/`.
400|GET|/balloon/hinting/nope|-|F:Unrecognized GET request path `/hinting/nope`.
400|PATCH|/balloon/hinting|-|F:Unrecognized PATCH request path `/hinting/`.
400|PATCH|/balloon/hinting/nope|{}|F:Unrecognized PATCH request path `/hinting/nope`.
400|GET|/usbd/nope|-|F:Invalid request method and/or path: GET usbd.
# usbd: micro_http refuses other methods with this text, but in a body that is not a fault_message
400|POST|/balloon|{}|F:Invalid HTTP Method: Unsupported HTTP method.
# --- PUT /balloon bodies (BalloonDeviceConfig, serde_json) ---
400|PUT|/balloon|{"amount_mib":1,"deflate_on_oom":true,"foo":1}|F:An error occurred when deserializing the json body of a request: unknown field `foo`, expected one of `amount_mib`, `deflate_on_oom`, `stats_polling_interval_s`, `free_page_hinting`, `free_page_reporting` at line 1 column 43.
400|PUT|/balloon|{"deflate_on_oom":true}|F:An error occurred when deserializing the json body of a request: missing field `amount_mib` at line 1 column 23.
400|PUT|/balloon|{"amount_mib":1}|F:An error occurred when deserializing the json body of a request: missing field `deflate_on_oom` at line 1 column 16.
400|PUT|/balloon|{"amount_mib":"bar","deflate_on_oom":true}|F:An error occurred when deserializing the json body of a request: invalid type: string "bar", expected u32 at line 1 column 19.
400|PUT|/balloon|{"amount_mib":-1,"deflate_on_oom":true}|F:An error occurred when deserializing the json body of a request: invalid value: integer `-1`, expected u32 at line 1 column 16.
400|PUT|/balloon|{"amount_mib":4294967296,"deflate_on_oom":true}|F:An error occurred when deserializing the json body of a request: invalid value: integer `4294967296`, expected u32 at line 1 column 24.
400|PUT|/balloon|{"amount_mib":1.5,"deflate_on_oom":true}|F:An error occurred when deserializing the json body of a request: invalid type: floating point `1.5`, expected u32 at line 1 column 17.
400|PUT|/balloon|{"amount_mib":null,"deflate_on_oom":true}|F:An error occurred when deserializing the json body of a request: invalid type: null, expected u32 at line 1 column 18.
400|PUT|/balloon|{"amount_mib":1,"deflate_on_oom":1}|F:An error occurred when deserializing the json body of a request: invalid type: integer `1`, expected a boolean at line 1 column 34.
400|PUT|/balloon|{"amount_mib":1,"deflate_on_oom":"true"}|F:An error occurred when deserializing the json body of a request: invalid type: string "true", expected a boolean at line 1 column 39.
400|PUT|/balloon|{"amount_mib":1,"deflate_on_oom":true,"stats_polling_interval_s":65536}|F:An error occurred when deserializing the json body of a request: invalid value: integer `65536`, expected u16 at line 1 column 70.
400|PUT|/balloon|{"amount_mib":1,"amount_mib":2,"deflate_on_oom":true}|F:An error occurred when deserializing the json body of a request: duplicate field `amount_mib` at line 1 column 28.
400|PUT|/balloon|{"amount_mib":1,"deflate_on_oom":true} x|F:An error occurred when deserializing the json body of a request: trailing characters at line 1 column 40.
400|PUT|/balloon|{"amount_mib":1,"deflate_on_oom":tru}|F:An error occurred when deserializing the json body of a request: expected ident at line 1 column 37.
400|PUT|/balloon|{"amount_mib":1,|F:An error occurred when deserializing the json body of a request: EOF while parsing a value at line 1 column 16.
400|PUT|/balloon|{"amount_mib" 1}|F:An error occurred when deserializing the json body of a request: expected `:` at line 1 column 15.
400|PUT|/balloon|{amount_mib:1}|F:An error occurred when deserializing the json body of a request: key must be a string at line 1 column 2.
400|PUT|/balloon|{"amount_mib":1,}|F:An error occurred when deserializing the json body of a request: trailing comma at line 1 column 17.
400|PUT|/balloon|{"amount_mib":1 "deflate_on_oom":true}|F:An error occurred when deserializing the json body of a request: expected `,` or `}` at line 1 column 17.
400|PUT|/balloon|5|F:An error occurred when deserializing the json body of a request: invalid type: integer `5`, expected struct BalloonDeviceConfig at line 1 column 1.
400|PUT|/balloon|"x"|F:An error occurred when deserializing the json body of a request: invalid type: string "x", expected struct BalloonDeviceConfig at line 1 column 3.
400|PUT|/balloon| |F:An error occurred when deserializing the json body of a request: EOF while parsing a value at line 1 column 1.
400|PUT|/balloon|invalid_payload|F:An error occurred when deserializing the json body of a request: expected value at line 1 column 1.
400|PUT|/balloon|{"amount_mib":[1],"deflate_on_oom":true}|F:An error occurred when deserializing the json body of a request: invalid type: sequence, expected u32 at line 1 column 14.
400|PUT|/balloon|{"amount_mib":{},"deflate_on_oom":true}|F:An error occurred when deserializing the json body of a request: invalid type: map, expected u32 at line 1 column 14.
400|PUT|/balloon|{"amount_mib":01}|F:An error occurred when deserializing the json body of a request: invalid number at line 1 column 16.
400|PUT|/balloon|{"amount_mib":1,"deflate_on_oom":true,"free_page_hinting":null}|F:An error occurred when deserializing the json body of a request: invalid type: null, expected a boolean at line 1 column 62.
400|PUT|/balloon|{"am\u0061":1}|F:An error occurred when deserializing the json body of a request: unknown field `ama`, expected one of `amount_mib`, `deflate_on_oom`, `stats_polling_interval_s`, `free_page_hinting`, `free_page_reporting` at line 1 column 11.
# --- PATCH bodies (BalloonUpdateConfig, BalloonUpdateStatsConfig, StartHintingCmd; request/balloon.rs's own unit cases) ---
400|PATCH|/balloon|invalid_payload|F:An error occurred when deserializing the json body of a request: expected value at line 1 column 1.
400|PATCH|/balloon|{"amount_mib":"bar","foo":"bar"}|F:An error occurred when deserializing the json body of a request: invalid type: string "bar", expected u32 at line 1 column 19.
400|PATCH|/balloon|{"amount_mib":1000,"stats_polling_interval_s":"false"}|F:An error occurred when deserializing the json body of a request: unknown field `stats_polling_interval_s`, expected `amount_mib` at line 1 column 45.
400|PATCH|/balloon|{"amount_mib":-1000,"stats_polling_interval_s":true}|F:An error occurred when deserializing the json body of a request: invalid value: integer `-1000`, expected u32 at line 1 column 19.
400|PATCH|/balloon|{}|F:An error occurred when deserializing the json body of a request: missing field `amount_mib` at line 1 column 2.
400|PATCH|/balloon/statistics|{}|F:An error occurred when deserializing the json body of a request: missing field `stats_polling_interval_s` at line 1 column 2.
400|PATCH|/balloon/statistics|{"stats_polling_interval_s":-1}|F:An error occurred when deserializing the json body of a request: invalid value: integer `-1`, expected u16 at line 1 column 30.
400|PATCH|/balloon/statistics|{"stats_polling_interval_s":1,"amount_mib":1}|F:An error occurred when deserializing the json body of a request: unknown field `amount_mib`, expected `stats_polling_interval_s` at line 1 column 42.
400|PATCH|/balloon/hinting/start|{"acknowledge_on_stop":1}|F:An error occurred when deserializing the json body of a request: invalid type: integer `1`, expected a boolean at line 1 column 24.
400|PATCH|/balloon/hinting/start|{"foo":|F:An error occurred when deserializing the json body of a request: EOF while parsing a value at line 1 column 7.
# --- creating the balloon (PUT: usbd has no boot, so PUT is allowed while running; docs/API.md) ---
400|PUT|/balloon|{"amount_mib":2048,"deflate_on_oom":true}|F:Balloon config error: Amount of pages requested is too large.
# usbd: free page hinting/reporting need a guest driver; usbd's balloon is a process holding memory
400|PUT|/balloon|{"amount_mib":64,"deflate_on_oom":true,"free_page_hinting":true}|F:free_page_hinting is not supported: usbd's balloon is a process holding memory, there is no guest driver to hint free pages
400|PUT|/balloon|{"amount_mib":64,"deflate_on_oom":true,"free_page_reporting":true}|F:free_page_reporting is not supported: usbd's balloon is a process holding memory, there is no guest driver to report free pages
400|GET|/balloon|-|F:Internal VMM error: Failed perform action on device: Device not found
# a client replaying Firecracker's own GET /balloon object (test_api.py's /vm/config balloon)
204|PUT|/balloon|{"amount_mib":1,"deflate_on_oom":true,"stats_polling_interval_s":0,"free_page_reporting":false,"free_page_hinting":false}|-
200|GET|/balloon|-|{"amount_mib":1,"deflate_on_oom":true,"stats_polling_interval_s":0,"free_page_hinting":false,"free_page_reporting":false}
# test_api.py test_api_balloon: overwriting is fine; GET answers the configuration
204|PUT|/balloon|{"amount_mib":0,"deflate_on_oom":false,"stats_polling_interval_s":5}|-
200|GET|/balloon|-|{"amount_mib":0,"deflate_on_oom":false,"stats_polling_interval_s":5,"free_page_hinting":false,"free_page_reporting":false}
204|PATCH|/balloon|{"amount_mib":4}|-
400|PATCH|/balloon|{"amount_mib":1025}|F:Balloon update error: Balloon: Requested memory should be less than 1025MiB
204|PATCH|/balloon/statistics|{"stats_polling_interval_s":5}|-
200|GET|/balloon|-|{"amount_mib":4,"deflate_on_oom":false,"stats_polling_interval_s":5,"free_page_hinting":false,"free_page_reporting":false}
400|PATCH|/balloon|{"amount_mib":33554432}|F:Balloon update error: Balloon: Requested memory should be less than 33554432MiB
# statistics: on at creation, so the interval may change but they cannot be switched off (device.rs)
400|PATCH|/balloon/statistics|{"stats_polling_interval_s":0}|F:Balloon update error: Balloon: Statistics cannot be enabled/disabled after activation.
204|PATCH|/balloon/statistics|{"stats_polling_interval_s":2}|-
200|GET|/balloon/statistics|-|*
200|GET|/balloon/statistics/|-|*
# paths: leading slashes are trimmed and one trailing slash dropped (trim_start_matches, split_terminator)
200|GET|//balloon|-|{"amount_mib":4,"deflate_on_oom":false,"stats_polling_interval_s":2,"free_page_hinting":false,"free_page_reporting":false}
200|GET|/balloon/|-|{"amount_mib":4,"deflate_on_oom":false,"stats_polling_interval_s":2,"free_page_hinting":false,"free_page_reporting":false}
204|PATCH|/balloon/|{"amount_mib":8}|-
204|PATCH|//balloon/anything|{"amount_mib":16}|-
200|GET|/balloon|-|{"amount_mib":16,"deflate_on_oom":false,"stats_polling_interval_s":2,"free_page_hinting":false,"free_page_reporting":false}
# hinting: never enabled (free_page_hinting is false), so every hinting call is refused after parsing
400|PATCH|/balloon/hinting/start|-|F:Balloon update error: Balloon: Attempting to use hinting when not enabled
400|PATCH|/balloon/hinting/start|{"acknowledge_on_stop":false,"other":[1,{"a":null}]}|F:Balloon update error: Balloon: Attempting to use hinting when not enabled
400|GET|/balloon/hinting/status|-|F:Balloon update error: Balloon: Attempting to use hinting when not enabled
400|PATCH|/balloon/hinting/stop|{"x":1}|F:Balloon update error: Balloon: Attempting to use hinting when not enabled
# statistics off by a new PUT, then the statistics query is refused (test_balloon.py installs with 0)
204|PUT|/balloon|{"amount_mib":0,"deflate_on_oom":true,"stats_polling_interval_s":0}|-
400|GET|/balloon/statistics|-|F:Internal VMM error: Balloon: Received stats query when stats are disabled.
400|PATCH|/balloon/statistics|{"stats_polling_interval_s":1}|F:Balloon update error: Balloon: Statistics cannot be enabled/disabled after activation.
204|PATCH|/balloon/statistics|{"stats_polling_interval_s":0}|-
204|PATCH|/balloon|{"amount_mib":200}|-
204|PATCH|/balloon|{"amount_mib":0}|-
200|GET|/balloon|-|{"amount_mib":0,"deflate_on_oom":true,"stats_polling_interval_s":0,"free_page_hinting":false,"free_page_reporting":false}
# --- usbd's own endpoints follow the same path and framing rules ---
200|GET|/usbd/targets|-|*
200|GET|/usbd/status/|-|*
204|PATCH|/usbd/targets|{"headroom_mib":200}|-
400|PATCH|/usbd/targets|-|F:Empty PATCH request.
400|PATCH|/usbd/targets|{"nope":1}|F:An error occurred when deserializing the json body of a request: unknown field `nope`, expected one of `grab_lower_mib`, `grab_upper_mib`, `swap_target_mib`, `headroom_mib`, `threshold_mib` at line 1 column 7.
# usbd: at least one target
400|PATCH|/usbd/targets|{}|F:expected at least one of grab_lower_mib, grab_upper_mib, swap_target_mib, headroom_mib, threshold_mib
TABLE

(( n >= 60 )) || fail "only $n requests were checked"
pass "$n requests answered as Firecracker does"
