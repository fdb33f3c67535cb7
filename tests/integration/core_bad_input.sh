#!/usr/bin/env bash
# Core: bad command lines get a clear error, a non-zero exit, and change nothing (no cgroup created, no
# limit changed, no process left).
source "$(dirname "$0")/lib.sh"
require_root_v1

mkcg "$T_NAME" $((1 << 30))
mkcg "$T_NAME/app"
mkcg "$T_NAME-other"
mkcg "$T_NAME-other/x"
limit_before=$(cg_get "$T_NAME" memory.limit_in_bytes)

expect_error() {  # expect_error PATTERN ARGS...
  local pattern=$1 status; shift
  set +e
  timeout 10 "$USBD" "${USBD_PRIVATE[@]}" --api-sock off --spot-listen off "$@" > "$T_DIR/out" 2>&1
  status=$?
  set -e
  (( status != 0 && status != 124 )) || fail "usbd $* exited with $status; expected an error"
  grep -qE -- "$pattern" "$T_DIR/out" || fail "usbd $*: expected /$pattern/, got: $(cat "$T_DIR/out")"
  [[ ! -d $CGV1/$T_NAME/usbd-balloon ]] || fail "usbd $* created its cgroup anyway"
  [[ $(cg_get "$T_NAME" memory.limit_in_bytes) == "$limit_before" ]] || fail "usbd $* changed the domain limit"
  echo "ok: usbd $* -> $(head -n 1 "$T_DIR/out")"
}

expect_error "cgcreate -g memory:$T_NAME/nope" --domain "$T_NAME" "$T_NAME/nope"
expect_error "cgcreate -g memory:no-such-domain-$$" --domain "no-such-domain-$$" "$T_NAME/app"
expect_error "not inside the domain" --domain "$T_NAME" "$T_NAME-other"
expect_error "not inside the domain" --domain "$T_NAME" "$T_NAME"
expect_error "not valid" --domain "$T_NAME" "$T_NAME/app/../app"
expect_error "not valid" --domain "$T_NAME/.." "$T_NAME/app"
expect_error "too large" --domain "$T_NAME" --grab-lower 99999999999999999999 "$T_NAME/app"
expect_error "too large" --domain "$T_NAME" --grab-upper 17592186044416 "$T_NAME/app"
expect_error "not a size" --domain "$T_NAME" --headroom 1.5G "$T_NAME/app"
expect_error "grab_lower .512M. is larger than grab_upper .256M." --domain "$T_NAME" --grab-lower 512M --grab-upper 256M "$T_NAME/app"
expect_error "larger than the domain" --domain "$T_NAME" --grab-lower 2G "$T_NAME/app"
expect_error "headroom" --domain "$T_NAME" --headroom 900M "$T_NAME/app"
expect_error "no memory limit" --domain "$T_NAME-other" "$T_NAME-other/x"
expect_error "unknown option" --bogus "$T_NAME/app"
expect_error "missing APP_CGROUP" --domain "$T_NAME"
pass "bad input is refused with a clear message and changes nothing"
