// A plain HTTP/1.1 GET to an address inside a network namespace (e.g. a
// node's ztunnel admin at 127.0.0.1:15000 in /run/netns/ambit-C-node1). The
// socket is created inside the namespace (the calling thread enters it only
// for socket(2)), then connected and read from the caller's thread. Needs
// CAP_SYS_ADMIN (setns), as every ambitctl command that reaches into the cluster.
//
// Synchronous, bounded by |timeout_ms| for the whole exchange. Thread-compatible.
#pragma once

#include <string>

#include "core/result.h"

namespace ambit::ctl {

struct HttpReply {
  int status = 0;
  std::string body;
};

// Parses a complete HTTP/1.x response (status line, headers, body up to
// Content-Length or to the end of |raw|). Pure; errors name what is malformed.
Result<HttpReply> ParseHttpReply(const std::string& raw);

// GET http://|ip|:|port||path| from inside the namespace at |netns_path|
// ("" = the caller's own namespace). Fails naming the step that failed
// (namespace, connect, send, read, timeout, malformed reply).
Result<HttpReply> HttpGetInNetns(const std::string& netns_path, const std::string& ip,
                                 int port, const std::string& path, int timeout_ms);

}  // namespace ambit::ctl
