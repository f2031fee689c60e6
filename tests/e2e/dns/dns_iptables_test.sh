#!/usr/bin/env bash
# dns_proxy_test.sh with the iptables backend of the in-pod redirection (the DNS
# capture rules of Istio's iptables variant: nat REDIRECT to 15053, raw CT zones).
export AMBIT_DNS_TEST_REDIRECT=iptables
exec bash "$(dirname "$0")/dns_proxy_test.sh" "$1"
