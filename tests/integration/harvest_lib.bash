# Shared by the harvest_*.sh integration tests, sourced after lib.sh (named .bash so that ctest does not run it):
# readings of harvest_app's status and the two programs the tests drive (swap: lib.sh's make_swap; the cgroup's
# swap: lib.sh's cg_swap).
HARVEST_APP=$HELPERS/harvest_app
HARVEST_DRIVE=$HELPERS/harvest_drive

# app_field FILE KEY: a field of harvest_app's status line.
app_field() { tr ' ' '\n' < "$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# in_band VALUE LOW HIGH
in_band() { (( $1 >= $2 && $1 <= $3 )); }
