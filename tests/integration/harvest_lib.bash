# Shared by the harvest_*.sh integration tests, sourced after lib.sh (named .bash so that ctest does not run it):
# a private swap file, readings of the app cgroup, and the two programs the tests drive.
HARVEST_APP=$HELPERS/harvest_app
HARVEST_DRIVE=$HELPERS/harvest_drive

# make_swap SIZE_MIB: creates, formats and turns on a swap file in /var/tmp; cleanup() turns it off and removes it.
make_swap() {
  local f=/var/tmp/$T_NAME.swap
  T_SWAPS+=("$f")
  fallocate -l "$1M" "$f" || dd if=/dev/zero of="$f" bs=1M count="$1" status=none
  chmod 600 "$f"
  mkswap "$f" >/dev/null
  swapon "$f"
}

# cg_swap CG: the cgroup's swap in bytes (memory.stat total_swap, needs memsw accounting).
cg_swap() { awk '$1 == "total_swap" { print $2 }' "$CGV1/$1/memory.stat"; }

# app_field FILE KEY: a field of harvest_app's status line.
app_field() { tr ' ' '\n' < "$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# in_band VALUE LOW HIGH
in_band() { (( $1 >= $2 && $1 <= $3 )); }
