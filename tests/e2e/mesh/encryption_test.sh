#!/usr/bin/env bash
# Issue 4 (a)+(e): client on node1, nginx on node2. Not enrolled, a capture in
# node1's netns shows the request and the page in clear (so the check can
# fail); with the namespace labelled ambient, curl by service name still gets
# the page, and the capture shows TLS to 15008 and not one byte of either.
# Removing the label returns to plaintext, re-adding encrypts again; the pods'
# processes (PIDs) stay the same throughout.
source "$(dirname "$0")/lib.sh" "$1"

ctl cluster up --nodes 2 >/dev/null
deploy_app
pids=$(mesh_pids)
log "pods: $pids"

log "not enrolled: plaintext"
wait_enrolled no
plaintext_exchange plain1

log "label the namespace ambient"
ctl apply -f "$TESTDATA/ns-ambient.yaml"
wait_enrolled yes
encrypted_exchange mesh1
# The same seen from the server's node.
capture_start "$WORK/mesh1-node2.pcap" node2
request_page
capture_stop
expect_encrypted "$WORK/mesh1-node2.pcap"
expect_eq "PIDs after enrolling" "$pids" "$(mesh_pids)"

log "remove the label: plaintext again"
ctl apply -f "$TESTDATA/ns-plain.yaml"
wait_enrolled no
plaintext_exchange plain2
expect_eq "PIDs after releasing" "$pids" "$(mesh_pids)"

log "label again: encrypted again"
ctl apply -f "$TESTDATA/ns-ambient.yaml"
wait_enrolled yes
encrypted_exchange mesh2
expect_eq "PIDs after re-enrolling" "$pids" "$(mesh_pids)"

ctl cluster down
expect_cluster_gone
echo PASS
