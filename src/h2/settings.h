// HTTP/2 settings for HBONE sessions. Defaults are ztunnel's
// (https://github.com/istio/ztunnel/blob/master/src/proxy/h2/client.rs, src/proxy/h2/server.rs).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ambit::h2 {

struct Settings {
  std::uint32_t stream_window = 4 * 1024 * 1024;       // SETTINGS_INITIAL_WINDOW_SIZE we grant
  std::uint32_t connection_window = 16 * 1024 * 1024;  // connection-level window we grant
  std::uint32_t max_frame_size = 1024 * 1024;          // SETTINGS_MAX_FRAME_SIZE we accept
  // SETTINGS_MAX_CONCURRENT_STREAMS we allow the peer to open (server: 200).
  std::uint32_t max_concurrent_streams = 200;
  std::uint32_t max_header_list_bytes = 64 * 1024;
  // Bytes a stream may queue for sending before its writer must wait: this is
  // the backpressure bound between a downstream socket and the tunnel.
  std::size_t stream_send_buffer = 1024 * 1024;
  // Largest DATA frame we send (also capped by the peer's max frame size).
  std::size_t max_data_frame = 256 * 1024;
  // Most bytes gathered into one transport write.
  std::size_t max_write_batch = 512 * 1024;
  std::chrono::milliseconds ping_interval{10'000};
  std::chrono::milliseconds ping_timeout{20'000};
};

// HTTP/2 error codes (RFC 9113 §7, https://www.rfc-editor.org/rfc/rfc9113#section-7).
enum class ErrorCodeH2 : std::uint32_t {
  kNoError = 0x0,
  kProtocolError = 0x1,
  kInternalError = 0x2,
  kFlowControlError = 0x3,
  kSettingsTimeout = 0x4,
  kStreamClosed = 0x5,
  kFrameSizeError = 0x6,
  kRefusedStream = 0x7,
  kCancel = 0x8,
  kCompressionError = 0x9,
  kConnectError = 0xa,
  kEnhanceYourCalm = 0xb,
  kInadequateSecurity = 0xc,
  kHttp11Required = 0xd,
};

// RFC 9113's name of |code| ("CANCEL", "REFUSED_STREAM"), or "0x.." for a
// code it does not define (peers may send any; they mean INTERNAL_ERROR).
std::string ErrorCodeName(std::uint32_t code);

// A GOAWAY the peer sent: streams above |last_stream_id| were not processed
// and may be retried elsewhere.
struct GoAway {
  std::uint32_t error_code = 0;
  std::int32_t last_stream_id = 0;
  std::string debug_data;  // opaque, for logs (at most 256 bytes kept)
};

}  // namespace ambit::h2
