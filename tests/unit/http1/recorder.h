// A Sink that records everything a Parser reports (tests of src/http1).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "http1/parser.h"

namespace ambit::http1 {

// Records everything the parser reports.
struct Recorder final : Sink {
  std::vector<h2::RequestHead> requests;
  std::vector<h2::ResponseHead> responses;
  std::vector<MessageInfo> infos;
  std::vector<std::string> bodies;  // one per message
  std::vector<h2::Headers> trailers;
  int ends = 0;

  void OnRequest(h2::RequestHead head, const MessageInfo& info) override {
    requests.push_back(std::move(head));
    infos.push_back(info);
    bodies.emplace_back();
  }
  void OnResponse(h2::ResponseHead head, const MessageInfo& info) override {
    responses.push_back(std::move(head));
    infos.push_back(info);
    bodies.emplace_back();
  }
  void OnBody(std::span<const std::uint8_t> bytes) override {
    bodies.back().append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  void OnTrailers(h2::Headers t) override { trailers.push_back(std::move(t)); }
  void OnMessageEnd() override { ++ends; }
};

inline std::span<const std::uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace ambit::http1
