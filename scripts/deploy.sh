#!/usr/bin/env bash
# Deploys the Stylus Margin contracts to a chain, wires them, lists a quote asset and a
# first underlying with its feed, and prints the addresses as JSON.
#
#   scripts/deploy.sh [--dry-run]
#
# Environment (all checked before anything is sent):
#   RPC_URL        http(s) endpoint of an Arbitrum (Stylus) chain
#   PRIVATE_KEY    0x + 64 hex: the deployer, who becomes the owner of every contract
#   OWNER          0x address of the deployer (the owner; checked against nothing on chain
#                  in --dry-run)
#   QUOTE_TOKEN    0x address of the quote ERC20 (e.g. USDC)
#   FEED           0x address of the first underlying's Chainlink AggregatorV3 feed
#   UNDERLYING     the first underlying's id (default 1)
#   FEEDER         0x address allowed to post volatility surfaces (default OWNER)
#   MARKET         0x address of a first authorised market (optional)
#   CACHE_BID      wei to bid for each of the five programs a margin check enters (vault,
#                  registry, oracle, calculator, reader) in ArbOS's program cache
#                  (`cargo stylus cache bid`); a cached program's entry costs ~2k gas
#                  instead of ~21k (optional; skipped when unset)
#
# Tools: cargo-stylus (`cargo stylus deploy`) for the WASM programs and Foundry's `cast` for
# the wiring calls. --dry-run needs neither and no chain: it checks the inputs and the
# binaries (target-wasm/deploy/, made by scripts/build-wasm.sh) and prints every command it
# would run, with placeholder addresses, then the JSON. Exit code 2 on bad input.
#
# Nothing here has run against a chain from this repository's machines (no chain is
# reachable): only --dry-run is tested (scripts/deploy_test.sh, part of scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

dry=0
case "${1:-}" in
  --dry-run) dry=1 ;;
  "") ;;
  *) echo "usage: scripts/deploy.sh [--dry-run]" >&2; exit 2 ;;
esac

bad() { echo "deploy.sh: $*" >&2; exit 2; }
is_addr() { [[ "$1" =~ ^0x[0-9a-fA-F]{40}$ ]]; }

: "${UNDERLYING:=1}"
[ -n "${RPC_URL:-}" ] || bad "RPC_URL is not set"
[[ "$RPC_URL" =~ ^https?://[^[:space:]]+$ ]] || bad "RPC_URL must be an http(s) URL, got '$RPC_URL'"
[ -n "${PRIVATE_KEY:-}" ] || bad "PRIVATE_KEY is not set"
[[ "$PRIVATE_KEY" =~ ^0x[0-9a-fA-F]{64}$ ]] || bad "PRIVATE_KEY must be 0x followed by 64 hex digits"
for v in OWNER QUOTE_TOKEN FEED; do
  [ -n "${!v:-}" ] || bad "$v is not set"
  is_addr "${!v}" || bad "$v must be a 0x address (40 hex digits), got '${!v}'"
done
: "${FEEDER:=$OWNER}"
is_addr "$FEEDER" || bad "FEEDER must be a 0x address, got '$FEEDER'"
if [ -n "${MARKET:-}" ]; then is_addr "$MARKET" || bad "MARKET must be a 0x address, got '$MARKET'"; fi
if [ -n "${CACHE_BID:-}" ]; then [[ "$CACHE_BID" =~ ^[0-9]+$ ]] || bad "CACHE_BID must be an integer (wei), got '$CACHE_BID'"; fi
[[ "$UNDERLYING" =~ ^[0-9]+$ ]] && [ "$UNDERLYING" -ge 1 ] && [ "$UNDERLYING" -le 4294967295 ] \
  || bad "UNDERLYING must be an integer in 1..2^32-1, got '$UNDERLYING'"

source scripts/contracts.sh
for c in "${CONTRACTS[@]}"; do
  [ -f "target-wasm/deploy/$c.wasm" ] || bad "target-wasm/deploy/$c.wasm is missing: run scripts/build-wasm.sh"
done
if [ "$dry" = 0 ]; then
  cargo stylus --version >/dev/null 2>&1 || bad "cargo-stylus is required (cargo install cargo-stylus)"
  command -v cast >/dev/null 2>&1 || bad "Foundry's cast is required (https://getfoundry.sh)"
fi

declare -A ADDR
step=0
say() { step=$((step + 1)); printf '[%02d] %s\n' "$step" "$*" >&2; }

# Deploys target-wasm/deploy/$1.wasm with constructor arguments $2...; sets ADDR[$1].
deploy() {
  local name=$1; shift
  local cmd=(cargo stylus deploy --no-verify --wasm-file "target-wasm/deploy/$name.wasm"
             --endpoint "$RPC_URL" --private-key "$PRIVATE_KEY")
  [ $# -gt 0 ] && cmd+=(--constructor-args "$@")
  say "deploy $name: ${cmd[*]/$PRIVATE_KEY/<PRIVATE_KEY>}"
  if [ "$dry" = 1 ]; then
    # A placeholder address per contract: 0x00..0<n>.
    ADDR[$name]=$(printf '0x%040x' "$step")
  else
    local out
    out=$("${cmd[@]}" 2>&1) || { echo "$out" >&2; bad "deploying $name failed"; }
    ADDR[$name]=$(grep -oiE 'deployed code at address:? *0x[0-9a-f]{40}' <<<"$out" | grep -oiE '0x[0-9a-f]{40}' | tail -1)
    is_addr "${ADDR[$name]}" || { echo "$out" >&2; bad "no address in cargo stylus output for $name"; }
  fi
}

# Sends one transaction: send <contract> <signature> <args...>.
send() {
  local to=${ADDR[$1]}; shift
  local cmd=(cast send --rpc-url "$RPC_URL" --private-key "$PRIVATE_KEY" "$to" "$@")
  say "call $to $*"
  [ "$dry" = 1 ] || "${cmd[@]}" >/dev/null || bad "call $* failed"
}

deploy vault "$OWNER"
deploy registry "$OWNER"
deploy oracle "$OWNER"
deploy calculator
deploy reader "$OWNER" "${ADDR[vault]}" "${ADDR[registry]}" "${ADDR[oracle]}" "${ADDR[calculator]}"
deploy engine "$OWNER" "${ADDR[vault]}" "${ADDR[registry]}" "${ADDR[reader]}" "${ADDR[oracle]}"
deploy keeper "$OWNER" "${ADDR[vault]}" "${ADDR[registry]}" "${ADDR[reader]}"
deploy lens "${ADDR[reader]}"

# Wiring: the vault and the registry learn the engine and the keeper module (once each).
send vault "setEngine(address)" "${ADDR[engine]}"
send registry "setEngine(address)" "${ADDR[engine]}"
send vault "setKeeper(address)" "${ADDR[keeper]}"
send registry "setKeeper(address)" "${ADDR[keeper]}"
# The quote asset: AssetConfig word (src/collateral.rs) with only the `enabled` flag (bit 40;
# the vault sets decimals and the quote flag itself), no haircut; deposit cap 1e9 tokens
# (18 decimals); isQuote = true.
QUOTE_CONFIG=$(printf '0x%064x' $((1 << 40)))
send vault "listAsset(address,uint256,uint256,bool)" "$QUOTE_TOKEN" "$QUOTE_CONFIG" 1000000000000000000000000000 true
# The first underlying: the registry accepts instruments on it; the oracle reads its feed
# (1 h max age, surfaces 1 h, method 1 (full revaluation), rate 4%, reference vol 80%, EWMA lambda 0.94,
# stable price 0.03% per second).
send registry "addUnderlying(uint32)" "$UNDERLYING"
# UnderlyingParams (feed, maxAge, surfaceMaxAge, method, rate, refVol, lambda, stableRate)
# as one tuple argument.
send oracle "setUnderlying(uint32,(address,uint32,uint32,uint8,int64,uint64,uint64,uint64))" \
  "$UNDERLYING" "($FEED,3600,3600,1,40000000000000000,800000000000000000,940000000000000000,300000000000000)"
send oracle "setFeeder(address,bool)" "$FEEDER" true
# The insurance fund: a vault account of the deployer (ids are sequential from 1, so on a
# freshly deployed vault the first account opened is 1), named to the keeper module.
# Without it every liquidation bid reverts with InsuranceAccountNotSet.
send vault "openAccount()"
INSURANCE_ACCOUNT=1
if [ "$dry" = 0 ]; then
  INSURANCE_ACCOUNT=$(cast call --rpc-url "$RPC_URL" "${ADDR[vault]}" "accountCount()(uint256)")
fi
send keeper "setInsuranceAccount(uint256)" "$INSURANCE_ACCOUNT"
if [ -n "${MARKET:-}" ]; then send engine "setMarket(address,bool)" "$MARKET" true; fi
if [ -n "${CACHE_BID:-}" ]; then
  for c in vault registry oracle calculator reader; do
    cmd=(cargo stylus cache bid --endpoint "$RPC_URL" --private-key "$PRIVATE_KEY" "${ADDR[$c]}" "$CACHE_BID")
    say "cache $c: ${cmd[*]/$PRIVATE_KEY/<PRIVATE_KEY>}"
    [ "$dry" = 1 ] || "${cmd[@]}" >/dev/null || bad "cache bid for $c failed"
  done
fi

chain_id=null
if [ "$dry" = 0 ]; then chain_id=$(cast chain-id --rpc-url "$RPC_URL"); fi
printf '{\n  "chainId": %s,\n  "dryRun": %s,\n' "$chain_id" "$([ "$dry" = 1 ] && echo true || echo false)"
for c in "${CONTRACTS[@]}"; do
  sep=","; [ "$c" = "${CONTRACTS[-1]}" ] && sep=""
  printf '  "%s": "%s"%s\n' "$c" "${ADDR[$c]}" "$sep"
done
printf '}\n'
