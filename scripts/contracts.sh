# Sourced by the scripts: CONTRACTS, the keys of contracts.txt (the one list of the
# deployable contracts) in deployment order.
mapfile -t CONTRACTS < <(awk '!/^#/ && NF {print $1}' "$(dirname "${BASH_SOURCE[0]}")/../contracts.txt")
[ ${#CONTRACTS[@]} -gt 0 ] || { echo "contracts.txt lists no contract" >&2; exit 1; }
