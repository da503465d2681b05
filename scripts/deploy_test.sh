#!/usr/bin/env bash
# Tests scripts/deploy.sh --dry-run (no chain is reachable from here): every step printed,
# the JSON well formed with one address per contract of contracts.txt, and each bad input refused with exit 2
# and a message naming it. Needs target-wasm/deploy/ (scripts/build-wasm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "deploy_test: $*" >&2; exit 1; }

export RPC_URL=http://127.0.0.1:8547
export PRIVATE_KEY=0x$(printf 'ab%.0s' {1..32})
export OWNER=0x$(printf '11%.0s' {1..20})
export QUOTE_TOKEN=0x$(printf '22%.0s' {1..20})
export FEED=0x$(printf '33%.0s' {1..20})
export MARKET=0x$(printf '44%.0s' {1..20})

out=$(scripts/deploy.sh --dry-run 2>"${TMPDIR:-/tmp}/deploy_test.err") || fail "dry run failed: $(cat "${TMPDIR:-/tmp}/deploy_test.err")"
steps=$(cat "${TMPDIR:-/tmp}/deploy_test.err")
source scripts/contracts.sh
python3 - "$out" "${CONTRACTS[@]}" <<'PY' || fail "JSON: $out"
import json, sys
d = json.loads(sys.argv[1])
names = sys.argv[2:]
assert d["dryRun"] is True and d["chainId"] is None
assert [k for k in d if k in names] == names
assert len(names) == 8 and len({d[k] for k in names}) == 8 and all(len(d[k]) == 42 for k in names)
PY
# Every call the script makes is a function of the callee's generated ABI (abi/*.json), by
# its canonical signature (a struct argument as its tuple): a setter whose arguments change
# fails here, not on a chain.
python3 - "$out" "$steps" <<'PY' || fail "a call is not in the ABI: $steps"
import json, re, sys
d, steps = json.loads(sys.argv[1]), sys.argv[2]
iface = {}
for line in open("contracts.txt"):
    f = line.split("#")[0].split()
    if len(f) >= 3:
        iface[f[0]] = f[2]
by_addr = {d[k].lower(): k for k in iface}
def canon(t):
    if t["type"].startswith("tuple"):
        return "(" + ",".join(canon(c) for c in t["components"]) + ")" + t["type"][5:]
    return t["type"]
calls = re.findall(r"call (0x[0-9a-fA-F]{40}) (\w+\(\S*\))", steps)
for addr, sig in calls:
    k = by_addr[addr.lower()]
    abi = json.load(open(f"abi/{iface[k]}.json"))
    sigs = {e["name"] + "(" + ",".join(canon(i) for i in e["inputs"]) + ")"
            for e in abi if e["type"] == "function"}
    assert sig in sigs, f"{k}: {sig} is not a function of abi/{iface[k]}.json"
assert len(calls) == 11, calls
PY
# 8 deployments + 4 wiring calls + quote listing + underlying (2) + feeder + insurance
# account (2) + market = 19 steps.
[ "$(grep -c '^\[' <<<"$steps")" = 19 ] || fail "expected 19 steps, got: $steps"
# The insurance fund is an account opened in the vault and named to the keeper (without it
# every liquidation bid reverts with InsuranceAccountNotSet).
grep -q "call 0x0000000000000000000000000000000000000001 openAccount()" <<<"$steps" || fail "no insurance account opened: $steps"
grep -q "call 0x0000000000000000000000000000000000000007 setInsuranceAccount(uint256) 1" <<<"$steps" || fail "insurance account not set: $steps"
grep -q 'deploy reader: .*--constructor-args 0x1111111111111111111111111111111111111111 0x0000000000000000000000000000000000000001 0x0000000000000000000000000000000000000002 0x0000000000000000000000000000000000000003 0x0000000000000000000000000000000000000004' <<<"$steps" \
  || fail "reader constructor arguments not wired: $steps"
grep -q 'deploy lens: .*--constructor-args 0x0000000000000000000000000000000000000005' <<<"$steps" \
  || fail "lens not pointed at the reader: $steps"
grep -q 'setKeeper(address) 0x0000000000000000000000000000000000000007' <<<"$steps" || fail "keeper not wired"
grep -q '<PRIVATE_KEY>' <<<"$steps" && ! grep -q "$PRIVATE_KEY" <<<"$steps" || fail "the key must never be printed"

expect_refusal() { # VAR VALUE MESSAGE
  local code=0 err
  err=$(env "$1=$2" scripts/deploy.sh --dry-run 2>&1 >/dev/null) || code=$?
  [ "$code" = 2 ] || fail "$1='$2': exit $code, expected 2"
  grep -q "$3" <<<"$err" || fail "$1='$2': message '$err' does not say '$3'"
}
expect_refusal RPC_URL "not a url" "RPC_URL must be"
expect_refusal PRIVATE_KEY 0x1234 "PRIVATE_KEY must be"
expect_refusal OWNER 0x12 "OWNER must be a 0x address"
expect_refusal QUOTE_TOKEN "" "QUOTE_TOKEN is not set"
expect_refusal FEED 0xzz33333333333333333333333333333333333333 "FEED must be a 0x address"
expect_refusal UNDERLYING 0 "UNDERLYING must be"
expect_refusal MARKET nope "MARKET must be"
expect_refusal CACHE_BID 1e18 "CACHE_BID must be"
# With a cache bid: five more steps, one per program a margin check enters.
steps=$(CACHE_BID=1000 scripts/deploy.sh --dry-run 2>&1 >/dev/null)
[ "$(grep -c '^\[.*cache bid' <<<"$steps")" = 5 ] || fail "expected 5 cache bids: $steps"
echo "deploy_test: dry run, every call in the ABI, cache bids and 8 refusals ok"
