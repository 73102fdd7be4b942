#include "http/h2/session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "core/strings.h"

namespace sluice::http::h2 {

namespace {

// Connection-specific fields (RFC 9113 §8.2.2) never go out on HTTP/2; Host becomes :authority.
bool isConnectionSpecific(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"};
  for (std::string_view n : kNames) {
    if (equalsIgnoreCase(name, n)) return true;
  }
  return false;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Name/value storage for one nghttp2_submit_* call (nghttp2 copies them).
struct NvList {
  std::vector<std::string> storage;
  std::vector<nghttp2_nv> nv;
  void add(std::string name, std::string_view value) {
    storage.push_back(std::move(name));
    storage.emplace_back(value);
  }
  void addFields(const Headers& headers, bool request) {
    for (const auto& [name, value] : headers.entries()) {
      if (isConnectionSpecific(name)) continue;
      // TE is only allowed as "trailers" (RFC 9113 §8.2.2), and only on requests.
      if (equalsIgnoreCase(name, "te") && (!request || !equalsIgnoreCase(trim(value), "trailers")))
        continue;
      if (!name.empty() && name.front() == ':') continue;
      add(lowercase(name), value);
    }
  }
  nghttp2_nv* build() {
    nv.clear();
    for (size_t i = 0; i + 1 < storage.size(); i += 2) {
      nv.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(storage[i].data()),
                              reinterpret_cast<uint8_t*>(storage[i + 1].data()), storage[i].size(),
                              storage[i + 1].size(), NGHTTP2_NV_FLAG_NONE});
    }
    return nv.data();
  }
};

class SessionImpl final : public Session {
 public:
  SessionImpl(bool server, const Settings& settings, SessionCallbacks& callbacks)
      : server_(server), settings_(settings), cb_(callbacks) {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &SessionImpl::onBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &SessionImpl::onHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &SessionImpl::onFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &SessionImpl::onDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &SessionImpl::onStreamClose);
    nghttp2_session_callbacks_set_error_callback2(cbs, &SessionImpl::onError);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    // Window credit goes back only when the caller forwarded the bytes (consume()).
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_send_header_block_length(opt, 256 * 1024);
    if (server_) {
      nghttp2_session_server_new2(&s_, cbs, this, opt);
    } else {
      nghttp2_session_client_new2(&s_, cbs, this, opt);
    }
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings_.max_header_list_size},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, settings_.max_frame_size},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.initial_window_size},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    // ENABLE_PUSH is a client's setting (a server sending it is a PROTOCOL_ERROR for some peers):
    // the client says 0, the server leaves it out.
    size_t n = server_ ? 4 : 5;
    nghttp2_submit_settings(s_, NGHTTP2_FLAG_NONE, iv, n);
    if (settings_.connection_window_size > 65535) {
      nghttp2_session_set_local_window_size(s_, NGHTTP2_FLAG_NONE, 0,
                                            static_cast<int32_t>(settings_.connection_window_size));
    }
  }
  ~SessionImpl() override { nghttp2_session_del(s_); }

  Result<void> receive(std::string_view bytes) override {
    ssize_t rv =
        nghttp2_session_mem_recv(s_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    if (rv < 0) {
      failed_ = true;
      std::string why = last_error_.empty() ? nghttp2_strerror(static_cast<int>(rv)) : last_error_;
      nghttp2_session_terminate_session(s_, NGHTTP2_PROTOCOL_ERROR);
      return tl::unexpected(Error{sluice::ErrorCode::kInvalidArgument, ErrorSource::kDownstream,
                                  "HTTP/2: " + why, false});
    }
    return {};
  }

  void takeOutput(std::string& out) override {
    for (;;) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(s_, &data);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (!progressed_.empty()) {
      std::vector<int32_t> ids;
      ids.swap(progressed_);
      for (int32_t id : ids) cb_.onSendProgress(id);
    }
  }

  bool done() const override {
    return failed_ || (nghttp2_session_want_read(s_) == 0 && nghttp2_session_want_write(s_) == 0);
  }

  Result<void> upgrade(std::string_view settings_payload, bool head_request) override {
    int rv = nghttp2_session_upgrade2(s_, reinterpret_cast<const uint8_t*>(settings_payload.data()),
                                      settings_payload.size(), head_request ? 1 : 0, nullptr);
    if (rv != 0) return submitError("the h2c upgrade", rv);
    Stream& st = streams_[1];
    st.id = 1;
    return {};
  }

  Result<void> submitResponse(int32_t stream, const ResponseHead& head, bool end_stream) override {
    NvList nv;
    nv.add(":status", std::to_string(head.status));
    nv.addFields(head.headers, false);
    auto it = streams_.find(stream);
    if (it == streams_.end()) {
      return tl::unexpected(Error{sluice::ErrorCode::kNotFound, ErrorSource::kDownstream,
                                  "HTTP/2: the stream is gone (reset by the client)", false});
    }
    Stream& st = it->second;
    nghttp2_data_provider prd{};
    prd.read_callback = &SessionImpl::readBody;
    st.provider = !end_stream;
    const nghttp2_nv* nva = nv.build();
    int rv = nghttp2_submit_response(s_, stream, nva, nv.nv.size(), end_stream ? nullptr : &prd);
    if (rv != 0) return submitError("response", rv);
    return {};
  }

  Result<int32_t> submitRequest(const RequestHead& head, bool end_stream) override {
    NvList nv;
    nv.add(":method", head.method);
    nv.add(":scheme", head.scheme.empty() ? std::string_view("http") : head.scheme);
    nv.add(":authority", head.authority);
    nv.add(":path", head.path.empty() ? std::string_view(head.target) : head.path);
    nv.addFields(head.headers, true);
    nghttp2_data_provider prd{};
    prd.read_callback = &SessionImpl::readBody;
    const nghttp2_nv* nva = nv.build();
    int32_t id = nghttp2_submit_request(s_, nullptr, nva, nv.nv.size(), end_stream ? nullptr : &prd,
                                        nullptr);
    if (id < 0) return tl::unexpected(submitError("request", id).error());
    Stream& st = streams_[id];
    st.id = id;
    st.provider = !end_stream;
    return id;
  }

  void sendData(int32_t stream, std::string_view data, bool end) override {
    auto it = streams_.find(stream);
    if (it == streams_.end()) return;
    Stream& st = it->second;
    st.out.append(data);
    if (end) st.out_end = true;
    if (st.provider) nghttp2_session_resume_data(s_, stream);
  }

  void submitTrailers(int32_t stream, const Headers& trailers) override {
    auto it = streams_.find(stream);
    if (it == streams_.end()) return;
    Stream& st = it->second;
    st.trailers = trailers;
    st.has_trailers = true;
    st.out_end = true;
    if (st.provider) nghttp2_session_resume_data(s_, stream);
  }

  void resetStream(int32_t stream, ErrorCode code) override {
    nghttp2_submit_rst_stream(s_, NGHTTP2_FLAG_NONE, stream, static_cast<uint32_t>(code));
  }

  size_t queuedBytes(int32_t stream) const override {
    auto it = streams_.find(stream);
    return it == streams_.end() ? 0 : it->second.out.size() - it->second.out_off;
  }

  void consume(int32_t stream, size_t n) override {
    if (n > 0) nghttp2_session_consume(s_, stream, n);
  }

  void goAway() override {
    if (going_away_) return;
    going_away_ = true;
    nghttp2_submit_goaway(s_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
  }

  size_t openStreams() const override { return streams_.size(); }

  bool canOpenStream() const override {
    if (failed_ || going_away_ || peer_going_away_) return false;
    if (nghttp2_session_check_request_allowed(s_) == 0) return false;
    uint32_t max = nghttp2_session_get_remote_settings(s_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    return streams_.size() < max;
  }

 private:
  struct Stream {
    int32_t id = 0;
    // Incoming head / trailers under construction.
    RequestHead request;
    ResponseHead response;
    Headers fields;
    size_t header_bytes = 0;
    bool too_large = false;
    bool final_response = false;  // client: the final (non-1xx) head arrived
    bool rejected = false;        // server: answered locally (431), the rest is dropped
    // Outgoing body.
    std::string out;
    size_t out_off = 0;
    bool out_end = false;
    bool has_trailers = false;
    bool provider = false;
    Headers trailers;
  };

  Result<void> submitError(std::string_view what, int rv) {
    return tl::unexpected(
        Error{sluice::ErrorCode::kUnavailable, ErrorSource::kInternal,
              fmt::format("HTTP/2: cannot submit {}: {}", what, nghttp2_strerror(rv)), false});
  }

  static SessionImpl& self(void* user) { return *static_cast<SessionImpl*>(user); }

  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    SessionImpl& me = self(user);
    Stream& st = me.streams_[frame->hd.stream_id];
    st.id = frame->hd.stream_id;
    st.fields.clear();
    st.header_bytes = 0;
    st.too_large = false;
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) st.request = RequestHead{};
    if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE ||
        (frame->headers.cat == NGHTTP2_HCAT_HEADERS && !me.server_ && !st.final_response)) {
      st.response = ResponseHead{};
    }
    return 0;
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name_p,
                      size_t namelen, const uint8_t* value_p, size_t valuelen, uint8_t,
                      void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    SessionImpl& me = self(user);
    auto it = me.streams_.find(frame->hd.stream_id);
    if (it == me.streams_.end()) return 0;
    Stream& st = it->second;
    st.header_bytes += namelen + valuelen + 32;
    if (st.header_bytes > me.settings_.max_header_list_size) st.too_large = true;
    if (st.too_large || st.rejected) return 0;
    std::string_view name(reinterpret_cast<const char*>(name_p), namelen);
    std::string_view value(reinterpret_cast<const char*>(value_p), valuelen);
    // nghttp2 has validated the pseudo-headers (which, where, how many) already.
    if (!name.empty() && name.front() == ':') {
      if (name == ":method") {
        st.request.method = value;
      } else if (name == ":scheme") {
        st.request.scheme = value;
      } else if (name == ":authority") {
        st.request.authority = value;
      } else if (name == ":path") {
        st.request.path = value;
      } else if (name == ":status") {
        int status = 0;
        std::from_chars(value.data(), value.data() + value.size(), status);
        st.response.status = status;
      }
      return 0;
    }
    // Cookie may be split into several fields on HTTP/2; one field for HTTP/1.1 (RFC 9113
    // §8.2.3).
    if (name == "cookie" && st.fields.has("cookie")) {
      auto joined = std::string(*st.fields.get("cookie")) + "; " + std::string(value);
      st.fields.set("cookie", joined);
      return 0;
    }
    st.fields.add(name, value);
    return 0;
  }

  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    SessionImpl& me = self(user);
    const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    const int32_t id = frame->hd.stream_id;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        auto it = me.streams_.find(id);
        if (it == me.streams_.end()) return 0;
        me.headersDone(it->second, frame->headers.cat, end);
        break;
      }
      case NGHTTP2_DATA: {
        auto it = me.streams_.find(id);
        if (end && it != me.streams_.end() && !it->second.rejected) me.cb_.onEnd(id);
        break;
      }
      case NGHTTP2_GOAWAY:
        me.peer_going_away_ = true;
        me.cb_.onGoAway(frame->goaway.last_stream_id,
                        static_cast<ErrorCode>(frame->goaway.error_code));
        break;
      default:
        break;
    }
    return 0;
  }

  void headersDone(Stream& st, nghttp2_headers_category cat, bool end) {
    const int32_t id = st.id;
    if (st.rejected) return;
    const bool trailers =
        server_ ? cat == NGHTTP2_HCAT_HEADERS : cat == NGHTTP2_HCAT_HEADERS && st.final_response;
    if (st.too_large) {
      if (server_ && cat == NGHTTP2_HCAT_REQUEST) {
        // RFC 9113 §10.5.1: a server may answer an oversized header list with 431.
        st.rejected = true;
        NvList nv;
        nv.add(":status", "431");
        const nghttp2_nv* nva = nv.build();
        nghttp2_submit_response(s_, id, nva, nv.nv.size(), nullptr);
        return;
      }
      st.rejected = true;
      resetStream(id, ErrorCode::kProtocolError);
      return;
    }
    if (trailers) {
      cb_.onTrailers(id, st.fields);
      if (end) cb_.onEnd(id);
      return;
    }
    if (server_) {
      RequestHead& h = st.request;
      h.version = Version::kHttp11;
      h.headers = std::move(st.fields);
      if (h.authority.empty()) {
        if (auto host = h.headers.get("host")) h.authority = std::string(*host);
      }
      h.target = h.path;
      cb_.onRequestHead(id, h, end);
    } else {
      if (st.response.status >= 100 && st.response.status < 200) return;  // interim
      st.final_response = true;
      st.response.version = Version::kHttp11;
      st.response.headers = std::move(st.fields);
      cb_.onResponseHead(id, st.response, end);
    }
    if (end) cb_.onEnd(id);
  }

  static int onDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                         void* user) {
    SessionImpl& me = self(user);
    auto it = me.streams_.find(id);
    if (it == me.streams_.end() || it->second.rejected) {
      nghttp2_session_consume(me.s_, id, len);  // dropped: give the window back at once
      return 0;
    }
    me.cb_.onData(id, std::string_view(reinterpret_cast<const char*>(data), len));
    return 0;
  }

  static int onStreamClose(nghttp2_session*, int32_t id, uint32_t code, void* user) {
    SessionImpl& me = self(user);
    auto it = me.streams_.find(id);
    if (it == me.streams_.end()) return 0;
    bool rejected = it->second.rejected;
    me.streams_.erase(it);
    if (!rejected) me.cb_.onClose(id, static_cast<ErrorCode>(code));
    return 0;
  }

  static int onError(nghttp2_session*, int, const char* msg, size_t len, void* user) {
    self(user).last_error_.assign(msg, len);
    return 0;
  }

  static ssize_t readBody(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                          uint32_t* flags, nghttp2_data_source*, void* user) {
    SessionImpl& me = self(user);
    auto it = me.streams_.find(id);
    if (it == me.streams_.end()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    Stream& st = it->second;
    size_t avail = st.out.size() - st.out_off;
    size_t n = std::min(avail, length);
    if (n > 0) {
      std::memcpy(buf, st.out.data() + st.out_off, n);
      st.out_off += n;
      if (st.out_off == st.out.size()) {
        st.out.clear();
        st.out_off = 0;
      }
      me.progressed_.push_back(id);
    }
    if (st.out_off == st.out.size() || st.out.empty()) {
      if (!st.out_end) {
        if (n == 0) return NGHTTP2_ERR_DEFERRED;
        return static_cast<ssize_t>(n);
      }
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (st.has_trailers) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        NvList nv;
        nv.addFields(st.trailers, false);
        const nghttp2_nv* nva = nv.build();
        nghttp2_submit_trailer(session, id, nva, nv.nv.size());
      }
    }
    return static_cast<ssize_t>(n);
  }

  bool server_;
  Settings settings_;
  SessionCallbacks& cb_;
  nghttp2_session* s_ = nullptr;
  std::unordered_map<int32_t, Stream> streams_;
  std::vector<int32_t> progressed_;
  std::string last_error_;
  bool failed_ = false;
  bool going_away_ = false;
  bool peer_going_away_ = false;
};

}  // namespace

std::unique_ptr<Session> Session::server(const Settings& settings, SessionCallbacks& callbacks) {
  return std::make_unique<SessionImpl>(true, settings, callbacks);
}

std::unique_ptr<Session> Session::client(const Settings& settings, SessionCallbacks& callbacks) {
  return std::make_unique<SessionImpl>(false, settings, callbacks);
}

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNoError:
      return "NO_ERROR";
    case ErrorCode::kProtocolError:
      return "PROTOCOL_ERROR";
    case ErrorCode::kInternalError:
      return "INTERNAL_ERROR";
    case ErrorCode::kFlowControlError:
      return "FLOW_CONTROL_ERROR";
    case ErrorCode::kStreamClosed:
      return "STREAM_CLOSED";
    case ErrorCode::kFrameSizeError:
      return "FRAME_SIZE_ERROR";
    case ErrorCode::kRefusedStream:
      return "REFUSED_STREAM";
    case ErrorCode::kCancel:
      return "CANCEL";
    case ErrorCode::kEnhanceYourCalm:
      return "ENHANCE_YOUR_CALM";
  }
  return "UNKNOWN";
}

}  // namespace sluice::http::h2
