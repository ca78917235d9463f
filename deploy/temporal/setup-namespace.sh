#!/bin/sh
# The namespace the engine runs in, and every custom search attribute the workflow sets
# (SEARCH_ATTRIBUTES: "Name=Type ..."; tests/test_deploy.py holds it equal to
# workflows/attributes.py). Idempotent: what exists is left as it is.
set -eu

: "${TEMPORAL_ADDRESS:?the Temporal frontend, host:port}"
: "${TEMPORAL_NAMESPACE:?the namespace to create}"
: "${SEARCH_ATTRIBUTES:?Name=Type pairs to register}"
RETENTION="${NAMESPACE_RETENTION:-30d}"
NS="$TEMPORAL_NAMESPACE"

tctl() {  # the temporal CLI against this cluster
  temporal --address "$TEMPORAL_ADDRESS" "$@"
}

# Wait (up to a minute) until a command succeeds: the server starting, a new namespace
# reaching every frontend.
patiently() {
  what=$1
  shift
  attempt=0
  until "$@" >/dev/null 2>&1; do
    attempt=$((attempt + 1))
    [ "$attempt" -le 30 ] || { echo "gave up waiting for $what" >&2; exit 1; }
    echo "waiting for $what"
    sleep 2
  done
}

patiently "Temporal at $TEMPORAL_ADDRESS" tctl operator cluster health

if tctl operator namespace describe --namespace "$NS" >/dev/null 2>&1; then
  echo "namespace $NS exists"
else
  tctl operator namespace create --namespace "$NS" --retention "$RETENTION"
  patiently "namespace $NS" tctl operator search-attribute list --namespace "$NS"
fi

known=$(tctl operator search-attribute list --namespace "$NS")
for pair in $SEARCH_ATTRIBUTES; do
  name=${pair%%=*}
  kind=${pair#*=}
  if printf '%s\n' "$known" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    tctl operator search-attribute create --namespace "$NS" --name "$name" --type "$kind"
  fi
done
echo "namespace $NS is ready"
