#!/usr/bin/env bash
# Container smoke test: build the relay image from ./Dockerfile, run it the
# way production does (non-root, read-only root filesystem, no capabilities,
# port published on loopback only), wait for /readyz, and run one encrypted
# greedy generation against it with the host's CLI; the token ids must match
# models/stories260K/reference.json.
#
# No Docker engine is needed: buildah builds, podman (runc) runs, on a stand-in
# node:24-bookworm-slim made by scripts/build-base-image.sh. Needs root and a
# workspace after `npm ci` (the CLI runs on the workspace's Node 24).
#
# Environment: IMAGE (default localhost/fhe-llm-relay:dev), READY_TIMEOUT
# (seconds, default 120), SMOKE_WORKERS (default 2), STORAGE_DRIVER (vfs).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

IMAGE=${IMAGE:-localhost/fhe-llm-relay:dev}
READY_TIMEOUT=${READY_TIMEOUT:-120}
SMOKE_WORKERS=${SMOKE_WORKERS:-2}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
NAME=fhe-llm-smoke
NODE=$root/node_modules/.bin/node
started=$SECONDS

log() { printf '[container-smoke] %s\n' "$*" >&2; }
reported=0
result() {
  local status=$1
  shift
  reported=1
  printf 'container-smoke: %s (%s s) %s\n' "$status" "$((SECONDS - started))" "$*"
}
fail() {
  result FAIL "$*"
  exit 1
}

[[ -x $NODE ]] || fail "no $NODE: run npm ci first"
[[ $(id -u) -eq 0 ]] || fail "must run as root (buildah/podman with the vfs driver)"

podman_() { podman --storage-driver "$STORAGE_DRIVER" "$@"; }

key_dir=""
cleanup() {
  local rc=$?
  if ((rc != 0)) && podman_ container exists "$NAME" 2>/dev/null; then
    log "container logs (last 40 lines):"
    podman_ logs --tail 40 "$NAME" >&2 2>&1 || true
  fi
  podman_ rm -f --ignore --time 5 "$NAME" >/dev/null 2>&1 || true
  [[ -n $key_dir ]] && rm -rf "$key_dir"
  if ((rc != 0 && reported == 0)); then result FAIL "exit status $rc"; fi
}
trap cleanup EXIT

# --- build ------------------------------------------------------------------------
bash scripts/build-base-image.sh
# A build secret with this machine's CA bundle lets npm ci through a TLS-
# intercepting egress proxy; it never lands in a layer.
ca_args=()
for ca in "${NODE_EXTRA_CA_CERTS:-}" "$(npm config get cafile 2>/dev/null || true)" /etc/ssl/certs/ca-certificates.crt; do
  if [[ -n $ca && $ca != null && -s $ca ]]; then
    ca_args=(--secret "id=npm_cafile,src=$ca")
    break
  fi
done
log "building $IMAGE"
build_started=$SECONDS
build_log=$(mktemp "${TMPDIR:-/tmp}/fhe-llm-container-build.XXXXXX")
podman_ rm -f --ignore "$NAME" >/dev/null 2>&1 || true
previous=$(podman_ image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
# No --layers: with the vfs driver every cached step is a full copy of the
# root filesystem (gigabytes); one commit per stage is faster here.
# --format docker keeps the HEALTHCHECK (OCI image configs have none).
buildah --storage-driver "$STORAGE_DRIVER" bud --isolation chroot --pull=never --format docker \
  "${ca_args[@]}" -t "$IMAGE" . >"$build_log" 2>&1 || {
  tail -n 40 "$build_log" >&2
  rm -f "$build_log"
  fail "image build failed"
}
rm -f "$build_log"
log "built in $((SECONDS - build_started)) s"
# The image this tag named before is left untagged: remove it so repeated
# runs do not pile up copies.
current=$(podman_ image inspect --format '{{.Id}}' "$IMAGE")
if [[ -n $previous && $previous != "$current" ]]; then podman_ rmi "$previous" >/dev/null 2>&1 || true; fi

# --- run --------------------------------------------------------------------------
port=$("$NODE" -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
relay=http://127.0.0.1:$port
log "starting $NAME on $relay"
# runc and explicit ulimits: crun and the default limits fail on these machines.
# The systemd healthcheck timer cannot be set up without systemd (harmless
# "unable to get systemd connection" errors); the check is run below instead.
podman_ run -d --name "$NAME" --runtime runc \
  --ulimit nofile=20000:20000 --ulimit nproc=32768:32768 \
  --read-only --tmpfs /tmp:rw,size=64m,mode=1777 \
  --cap-drop ALL --security-opt no-new-privileges \
  --memory 2g \
  -e FHE_LLM_WORKERS="$SMOKE_WORKERS" -e FHE_LLM_LOG_LEVEL=warn \
  -p "127.0.0.1:$port:8080" \
  "$IMAGE" >/dev/null 2> >(grep -v 'unable to get systemd connection' >&2)

# --- wait for /readyz -------------------------------------------------------------
"$NODE" -e '
  const [url, timeoutS] = process.argv.slice(1);
  const deadline = Date.now() + Number(timeoutS) * 1000;
  for (;;) {
    try {
      const r = await fetch(url + "/readyz", { signal: AbortSignal.timeout(2000) });
      if (r.ok) { console.error(`[container-smoke] ready: ${await r.text()}`); process.exit(0); }
    } catch {}
    if (Date.now() > deadline) { console.error(`[container-smoke] not ready after ${timeoutS} s`); process.exit(1); }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
' "$relay" "$READY_TIMEOUT" || fail "relay did not become ready within $READY_TIMEOUT s"

# --- the image's own HEALTHCHECK, the uid and the read-only root --------------------
podman_ healthcheck run "$NAME" >/dev/null 2>&1 || fail "HEALTHCHECK failed"
uid=$(podman_ exec "$NAME" node -p 'process.getuid()')
[[ $uid == 10001 ]] || fail "relay runs as uid $uid, expected 10001"
if podman_ exec "$NAME" node -e 'require("node:fs").writeFileSync("/app/probe", "x")' >/dev/null 2>&1; then
  fail "root filesystem is writable"
fi

# --- one encrypted greedy generation through the containerized relay ----------------
key_dir=$(mktemp -d)
log "encrypted generation through $relay"
out=$("$NODE" packages/sdk/bin/fhe-llm.js generate --relay "$relay" --prompt "Once upon a time" --max-tokens 8 --json --key-dir "$key_dir") ||
  fail "fhe-llm generate failed"
"$NODE" -e '
  const [out, referencePath] = process.argv.slice(1);
  const got = JSON.parse(out);
  const ref = require(referencePath).find((c) => c.prompt === "Once upon a time");
  const want = ref.next_token_ids.slice(0, got.token_ids.length);
  const ok = got.token_ids.length >= 8 && got.token_ids.every((id, i) => id === want[i]);
  console.error(`[container-smoke] got  ${JSON.stringify(got.token_ids)} ${JSON.stringify(got.text)}`);
  if (!ok) console.error(`[container-smoke] want ${JSON.stringify(want)}`);
  process.exit(ok ? 0 : 1);
' "$out" "$root/models/stories260K/reference.json" || fail "token ids differ from reference.json"

result PASS "image $IMAGE: ready, healthy, uid 10001, read-only root, encrypted generation matches reference.json"
