#!/usr/bin/env bash
# Installs the Debian packages the local stack and the tests use (SIP peers, Java for DynamoDB
# Local, iptables and conntrack for the topology harness, rtpengine and the prompt tools). Idempotent and quick when everything is present.
set -euo pipefail
declare -A need=(
  [sipp]=sip-tester
  [kamailio]=kamailio
  [baresip]=baresip
  [java]=default-jre-headless
  [ip]=iproute2
  [unshare]=util-linux
  # The topology harness: the load balancer and NATs are iptables rules over conntrack.
  [iptables]=iptables
  [conntrack]=conntrack
  # The media relay (userspace forwarding, playback, DTMF) and the tools that make the default prompts.
  [rtpengine]=rtpengine-daemon
  [espeak-ng]=espeak-ng
  [sox]=sox
  # The web pages' tests: Playwright drives Debian's browser (the registries serve no browser builds).
  [chromium]=chromium
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
echo "Installing Debian packages: ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
