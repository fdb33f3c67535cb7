# Shared by the harvest_*.sh and fault_swapoff*.sh integration tests, sourced after lib.sh (named .bash so that
# ctest does not run it): readings of harvest_app's status and the two programs the tests drive (swap: lib.sh's
# make_swap; the cgroup's swap: lib.sh's cg_swap).
HARVEST_APP=$HELPERS/harvest_app
HARVEST_DRIVE=$HELPERS/harvest_drive

# app_field FILE KEY: a field of harvest_app's status line.
app_field() { tr ' ' '\n' < "$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# in_band VALUE LOW HIGH
in_band() { (( $1 >= $2 && $1 <= $3 )); }

# swapoff_setup: for the swapoff tests (v1): a 1 GiB swap file (its path in $swapfile), the domain $T_NAME (3 GiB)
# and $T_NAME/app ($limit its limit), where harvest_app holds 768 MiB, 64 MiB of it hot ($app its pid).
swapoff_setup() {
  make_swap 1024
  swapfile=${T_SWAPS[-1]}
  mkcg "$T_NAME" $((3 << 30))
  mkcg "$T_NAME/app"
  limit=$(cg_get "$T_NAME/app" memory.limit_in_bytes)
  run_in_cg "$T_NAME/app" "$HARVEST_APP" --hot 64M --status "$T_DIR/app" 768M &
  app=$!
  T_PIDS+=("$app")
  wait_for 60 "the app to hold 768 MiB" bash -c "[[ -f $T_DIR/app ]] && grep -q 'size=805306368 growing=0' $T_DIR/app"
}
