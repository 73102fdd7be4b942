#include "proxy/dns_proxy.h"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "core/log.h"
#include "core/strings.h"
#include "net/dns_message.h"
#include "net/socket_mark.h"

namespace sluice::proxy {

namespace dns = net::dns;
using asio::ip::tcp;
using asio::ip::udp;

namespace {

constexpr uint32_t kTtlSeconds = 30;
constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxDatagram = 65535;
// Bounds that keep a flood or a stuck client from growing memory without limit.
constexpr size_t kMaxPendingUdp = 4096;  // well below 65536 ids, so a free id is quickly found
constexpr size_t kMaxTcpSessions = 256;
constexpr std::chrono::seconds kTcpIdleTimeout{10};
constexpr int kBindAttempts = 16;

struct NameAnswers {
  std::vector<net::IpAddress> v4;
  std::vector<net::IpAddress> v6;
};
using NameTable = StringMap<NameAnswers>;

// Every host form of every service that has something to answer with. Built once per snapshot
// so the query path is one hash lookup.
std::shared_ptr<const NameTable> buildTable(const MeshSnapshot* snap) {
  auto table = std::make_shared<NameTable>();
  if (snap == nullptr) return table;
  for (const auto& [host, idx] : snap->service_by_host) {
    const MeshService& svc = snap->services[static_cast<size_t>(idx)];
    NameAnswers a;
    auto add = [&](const std::string& text) {
      if (auto ip = net::IpAddress::parse(text)) (ip->v6 ? a.v6 : a.v4).push_back(*ip);
    };
    if (!svc.vip.empty()) {
      add(svc.vip);
    } else {
      for (const auto& addr : svc.addresses) add(addr);
    }
    if (a.v4.empty() && a.v6.empty()) continue;
    table->emplace(toLower(host), std::move(a));
  }
  return table;
}

std::string withId(std::string packet, uint16_t id) {
  packet[0] = static_cast<char>(id >> 8);
  packet[1] = static_cast<char>(id & 0xFF);
  return packet;
}

bool isResponse(std::string_view packet) {
  return packet.size() >= kHeaderSize && (static_cast<uint8_t>(packet[2]) & 0x80) != 0;
}

// An answer to send back; empty = none (UDP: drop, TCP: close the connection).
using Reply = std::function<void(std::string)>;

}  // namespace

std::vector<net::HostPort> parseResolvConf(std::string_view text) {
  std::vector<net::HostPort> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto cut = line.find_first_of("#;");
    if (cut != std::string::npos) line.resize(cut);
    std::istringstream words(line);
    std::string key;
    std::string value;
    if (!(words >> key >> value) || key != "nameserver") continue;
    // A scoped link-local address (fe80::1%eth0) cannot be expressed as a HostPort; skip it.
    auto ip = net::IpAddress::parse(value);
    if (!ip) continue;
    out.push_back(net::HostPort{ip->toString(), 53});
  }
  return out;
}

struct DnsProxy::Impl {
  // Declared before the io_context: handlers destroyed with the io_context (TCP sessions) touch
  // them from their destructors.
  std::atomic<uint64_t> local_answers{0};
  std::atomic<uint64_t> forwarded{0};
  std::atomic<uint64_t> servfail{0};
  std::atomic<uint64_t> format_errors{0};
  std::atomic<uint64_t> loads{0};
  size_t tcp_sessions = 0;  // DNS thread only

  DnsProxyOptions options;
  net::HostPort bound;
  std::vector<net::HostPort> upstream_list;
  std::vector<udp::endpoint> upstream_eps;
  std::atomic<bool> started{false};
  bool stopped = false;
  std::thread thread;

  asio::io_context ctx;
  udp::socket udp_listener{ctx};
  tcp::acceptor tcp_listener{ctx};
  udp::socket upstream_v4{ctx};
  udp::socket upstream_v6{ctx};

  // DNS-thread state.
  std::shared_ptr<const NameTable> table;
  std::array<char, kMaxDatagram> client_buf{};
  udp::endpoint client_from;
  std::array<char, kMaxDatagram> upstream_buf_v4{};
  std::array<char, kMaxDatagram> upstream_buf_v6{};
  udp::endpoint upstream_from_v4;
  udp::endpoint upstream_from_v6;
  std::mt19937 rng{std::random_device{}()};
  std::optional<OnDemandLoader> on_demand;  // made at start (needs the options)

  struct Pending {
    explicit Pending(asio::io_context& ctx) : timer(ctx) {}
    uint16_t client_id = 0;
    dns::Query query;                           // for the SERVFAIL answer
    std::shared_ptr<const std::string> packet;  // with our id; shared with in-flight sends
    size_t upstream = 0;                        // index being tried
    uint32_t attempt = 0;                       // bumps per try: stale timer/send handlers ignore
    Reply reply;
    asio::steady_timer timer;
  };
  std::unordered_map<uint16_t, std::unique_ptr<Pending>> pending;

  Status start(const DnsProxyOptions& opts, std::shared_ptr<const MeshSnapshot> initial);
  void closeAll();

  // Query path (DNS thread).
  void handle(std::string_view packet, bool via_tcp, Reply reply, bool may_load = true);
  std::string localAnswer(const dns::Query& q, const NameAnswers& a);
  std::string servFail(const dns::Query& q) {
    servfail.fetch_add(1, std::memory_order_relaxed);
    return dns::buildResponse(q, dns::ResponseCode::kServerFailure, {});
  }
  void forwardUdp(dns::Query query, std::string_view packet, Reply reply);
  void sendAttempt(uint16_t id);
  void attemptFailed(uint16_t id, uint32_t attempt);
  void forwardTcp(dns::Query query, std::string_view packet, Reply reply);

  void readClientUdp();
  void readUpstream(udp::socket& socket, std::array<char, kMaxDatagram>& buf, udp::endpoint& from);
  void onUpstreamResponse(std::string_view packet, const udp::endpoint& from);
  void accept();

  class TcpSession;
  class TcpForward;
};

// One TCP client connection: length-prefixed queries answered one after the other (a pipelining
// client's next query waits in the socket until the current one is answered).
class DnsProxy::Impl::TcpSession : public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(Impl& impl, tcp::socket socket)
      : impl_(impl), socket_(std::move(socket)), idle_(impl.ctx) {
    ++impl_.tcp_sessions;
  }
  ~TcpSession() { --impl_.tcp_sessions; }

  void readQuery() {
    auto self = shared_from_this();
    idle_.expires_after(kTcpIdleTimeout);
    idle_.async_wait([self](const asio::error_code& ec) {
      if (!ec) self->close();
    });
    asio::async_read(socket_, asio::buffer(len_), [self](const asio::error_code& ec, size_t) {
      if (ec) return self->close();
      size_t size = (size_t{self->len_[0]} << 8) | self->len_[1];
      if (size == 0) return self->close();
      self->body_.resize(size);
      asio::async_read(
          self->socket_, asio::buffer(self->body_), [self](const asio::error_code& ec2, size_t) {
            if (ec2) return self->close();
            self->idle_.cancel();
            self->impl_.handle(self->body_, true,
                               [self](std::string answer) { self->respond(std::move(answer)); });
          });
    });
  }

 private:
  void respond(std::string answer) {
    if (answer.empty() || !socket_.is_open() || answer.size() > 0xFFFF) return close();
    out_.clear();
    out_.push_back(static_cast<char>(answer.size() >> 8));
    out_.push_back(static_cast<char>(answer.size() & 0xFF));
    out_ += answer;
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(out_), [self](const asio::error_code& ec, size_t) {
      if (ec) return self->close();
      self->readQuery();
    });
  }

  void close() {
    asio::error_code ignored;
    socket_.close(ignored);
    idle_.cancel();
  }

  Impl& impl_;
  tcp::socket socket_;
  asio::steady_timer idle_;
  std::array<uint8_t, 2> len_{};
  std::string body_;
  std::string out_;
};

// One query forwarded over TCP: a fresh marked connection per upstream attempt, the whole attempt
// (connect, write, read) bounded by the upstream timeout.
class DnsProxy::Impl::TcpForward : public std::enable_shared_from_this<TcpForward> {
 public:
  TcpForward(Impl& impl, dns::Query query, std::string_view packet, Reply reply)
      : impl_(impl),
        query_(std::move(query)),
        socket_(impl.ctx),
        timer_(impl.ctx),
        reply_(std::move(reply)) {
    out_.push_back(static_cast<char>(packet.size() >> 8));
    out_.push_back(static_cast<char>(packet.size() & 0xFF));
    out_.append(packet);
  }

  void tryUpstream() {
    if (upstream_ >= impl_.upstream_eps.size()) return finish(impl_.servFail(query_));
    uint32_t attempt = ++attempt_;
    asio::error_code ec;
    socket_.close(ec);
    tcp::endpoint ep(impl_.upstream_eps[upstream_].address(), impl_.upstream_eps[upstream_].port());
    socket_.open(ep.protocol(), ec);
    if (ec || !net::markOutboundSocket(socket_.native_handle())) return next();
    auto self = shared_from_this();
    timer_.expires_after(impl_.options.upstream_timeout);
    timer_.async_wait([self, attempt](const asio::error_code& e) {
      if (!e && self->current(attempt)) self->next();
    });
    socket_.async_connect(ep, [self, attempt](const asio::error_code& e) {
      if (!self->current(attempt)) return;
      if (e) return self->next();
      asio::async_write(self->socket_, asio::buffer(self->out_),
                        [self, attempt](const asio::error_code& e2, size_t) {
                          if (!self->current(attempt)) return;
                          if (e2) return self->next();
                          self->readLength(attempt);
                        });
    });
  }

 private:
  bool current(uint32_t attempt) const { return !done_ && attempt == attempt_; }

  void readLength(uint32_t attempt) {
    auto self = shared_from_this();
    asio::async_read(socket_, asio::buffer(len_),
                     [self, attempt](const asio::error_code& e, size_t) {
                       if (!self->current(attempt)) return;
                       size_t size = (size_t{self->len_[0]} << 8) | self->len_[1];
                       if (e || size < kHeaderSize) return self->next();
                       self->in_.resize(size);
                       asio::async_read(self->socket_, asio::buffer(self->in_),
                                        [self, attempt](const asio::error_code& e2, size_t) {
                                          if (!self->current(attempt)) return;
                                          if (e2) return self->next();
                                          self->finish(std::move(self->in_));
                                        });
                     });
  }

  void next() {
    ++upstream_;
    tryUpstream();
  }

  void finish(std::string answer) {
    done_ = true;
    asio::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
    Reply reply = std::move(reply_);
    reply(std::move(answer));
  }

  Impl& impl_;
  dns::Query query_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  Reply reply_;
  std::string out_;
  std::array<uint8_t, 2> len_{};
  std::string in_;
  size_t upstream_ = 0;
  uint32_t attempt_ = 0;
  bool done_ = false;
};

// ---------------------------------------------------------------------------------------------
// Query path

void DnsProxy::Impl::handle(std::string_view packet, bool via_tcp, Reply reply, bool may_load) {
  auto query = dns::parseQuery(packet);
  if (!query) {
    format_errors.fetch_add(1, std::memory_order_relaxed);
    // Answering a response (or a runt) could start a ping-pong with whoever sent it: drop those.
    if (packet.size() >= kHeaderSize && !isResponse(packet)) {
      return reply(dns::formatError(*dns::peekId(packet)));
    }
    return reply({});
  }
  if (query->opcode() == 0 && query->question.klass == 1) {
    std::string_view name = query->question.name;
    if (name.ends_with('.')) name.remove_suffix(1);
    auto it = table->find(name);
    if (it != table->end()) {
      local_answers.fetch_add(1, std::memory_order_relaxed);
      return reply(localAnswer(*query, it->second));
    }
    // Maybe a mesh service not loaded yet: ask control, then answer from the new table (or
    // forward, as for any name the mesh does not have).
    if (may_load && on_demand && on_demand->enabled() &&
        !on_demand->rememberedAbsent(toLower(name))) {
      loads.fetch_add(1, std::memory_order_relaxed);
      auto load = [this, host = toLower(name), copy = std::string(packet), via_tcp,
                   reply = std::move(reply)]() mutable -> asio::awaitable<void> {
        auto known = [this, &host] { return table->find(host) != table->end(); };
        co_await on_demand->load(host, known);
        handle(copy, via_tcp, std::move(reply), false);
      };
      asio::co_spawn(ctx, std::move(load), asio::detached);
      return;
    }
  }
  forwarded.fetch_add(1, std::memory_order_relaxed);
  if (upstream_eps.empty()) return reply(servFail(*query));
  if (via_tcp) {
    std::make_shared<TcpForward>(*this, std::move(*query), packet, std::move(reply))->tryUpstream();
  } else {
    forwardUdp(std::move(*query), packet, std::move(reply));
  }
}

std::string DnsProxy::Impl::localAnswer(const dns::Query& q, const NameAnswers& a) {
  // Other types (MX, TXT, SRV...) of a mesh name: NODATA, so resolvers do not conclude the name
  // does not exist.
  static const std::vector<net::IpAddress> kNone;
  switch (static_cast<dns::RecordType>(q.question.type)) {
    case dns::RecordType::kA:
      return dns::buildResponse(q, dns::ResponseCode::kNoError, a.v4, kTtlSeconds);
    case dns::RecordType::kAaaa:
      return dns::buildResponse(q, dns::ResponseCode::kNoError, a.v6, kTtlSeconds);
    case dns::RecordType::kAny: {
      std::vector<net::IpAddress> all = a.v4;
      all.insert(all.end(), a.v6.begin(), a.v6.end());
      return dns::buildResponse(q, dns::ResponseCode::kNoError, all, kTtlSeconds);
    }
    default:
      return dns::buildResponse(q, dns::ResponseCode::kNoError, kNone, kTtlSeconds);
  }
}

void DnsProxy::Impl::forwardUdp(dns::Query query, std::string_view packet, Reply reply) {
  if (pending.size() >= kMaxPendingUdp) return reply(servFail(query));
  // Random ids (not a counter) so an off-path sender cannot guess the next one.
  std::optional<uint16_t> id;
  for (int i = 0; i < 64 && !id; ++i) {
    auto candidate = static_cast<uint16_t>(rng());
    if (!pending.contains(candidate)) id = candidate;
  }
  if (!id) return reply(servFail(query));
  auto p = std::make_unique<Pending>(ctx);
  p->client_id = query.id;
  p->query = std::move(query);
  p->packet = std::make_shared<const std::string>(withId(std::string(packet), *id));
  p->reply = std::move(reply);
  pending.emplace(*id, std::move(p));
  sendAttempt(*id);
}

void DnsProxy::Impl::sendAttempt(uint16_t id) {
  auto it = pending.find(id);
  if (it == pending.end()) return;
  Pending& p = *it->second;
  const udp::endpoint& ep = upstream_eps[p.upstream];
  udp::socket& socket = ep.address().is_v6() ? upstream_v6 : upstream_v4;
  uint32_t attempt = ++p.attempt;
  socket.async_send_to(asio::buffer(*p.packet), ep,
                       [this, id, attempt, keep = p.packet](const asio::error_code& ec, size_t) {
                         if (ec && ec != asio::error::operation_aborted) attemptFailed(id, attempt);
                       });
  p.timer.expires_after(options.upstream_timeout);
  p.timer.async_wait([this, id, attempt](const asio::error_code& ec) {
    if (!ec) attemptFailed(id, attempt);
  });
}

void DnsProxy::Impl::attemptFailed(uint16_t id, uint32_t attempt) {
  auto it = pending.find(id);
  if (it == pending.end() || it->second->attempt != attempt) return;
  Pending& p = *it->second;
  if (++p.upstream < upstream_eps.size()) return sendAttempt(id);
  Reply reply = std::move(p.reply);
  std::string answer = servFail(p.query);
  pending.erase(it);
  reply(std::move(answer));
}

void DnsProxy::Impl::onUpstreamResponse(std::string_view packet, const udp::endpoint& from) {
  if (!isResponse(packet)) return;
  auto it = pending.find(*dns::peekId(packet));
  if (it == pending.end()) return;
  Pending& p = *it->second;
  // Only from an upstream this query was sent to (a slow earlier one is as good as the current).
  bool expected = false;
  for (size_t i = 0; i <= p.upstream && i < upstream_eps.size(); ++i) {
    expected = expected || upstream_eps[i] == from;
  }
  if (!expected) return;
  Reply reply = std::move(p.reply);
  std::string answer = withId(std::string(packet), p.client_id);
  pending.erase(it);
  reply(std::move(answer));
}

// ---------------------------------------------------------------------------------------------
// Sockets

void DnsProxy::Impl::readClientUdp() {
  udp_listener.async_receive_from(
      asio::buffer(client_buf), client_from, [this](const asio::error_code& ec, size_t n) {
        if (!udp_listener.is_open()) return;
        if (!ec) {
          udp::endpoint to = client_from;
          handle(std::string_view(client_buf.data(), n), false, [this, to](std::string answer) {
            if (answer.empty() || !udp_listener.is_open()) return;
            auto out = std::make_shared<const std::string>(std::move(answer));
            udp_listener.async_send_to(asio::buffer(*out), to,
                                       [out](const asio::error_code&, size_t) {});
          });
        }
        readClientUdp();
      });
}

void DnsProxy::Impl::readUpstream(udp::socket& socket, std::array<char, kMaxDatagram>& buf,
                                  udp::endpoint& from) {
  socket.async_receive_from(asio::buffer(buf), from,
                            [this, &socket, &buf, &from](const asio::error_code& ec, size_t n) {
                              if (!socket.is_open()) return;
                              if (!ec) onUpstreamResponse(std::string_view(buf.data(), n), from);
                              readUpstream(socket, buf, from);
                            });
}

void DnsProxy::Impl::accept() {
  tcp_listener.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
    if (!tcp_listener.is_open()) return;
    if (!ec) {
      if (tcp_sessions < kMaxTcpSessions) {
        std::make_shared<TcpSession>(*this, std::move(socket))->readQuery();
      } else {
        asio::error_code ignored;
        socket.close(ignored);
      }
    }
    accept();
  });
}

void DnsProxy::Impl::closeAll() {
  asio::error_code ignored;
  udp_listener.close(ignored);
  tcp_listener.close(ignored);
  upstream_v4.close(ignored);
  upstream_v6.close(ignored);
  pending.clear();
}

Status DnsProxy::Impl::start(const DnsProxyOptions& opts,
                             std::shared_ptr<const MeshSnapshot> initial) {
  options = opts;
  on_demand.emplace(ctx, OnDemandLoader::Options{opts.service_load, opts.service_load_wait});
  asio::error_code ec;
  auto listen_ip = asio::ip::make_address(opts.listen.host, ec);
  if (ec) {
    return invalidArgument("DNS proxy: listen address '{}' is not an IP address", opts.listen.host);
  }

  // UDP first (port 0 = the kernel picks), then TCP on the same port; when that TCP port is
  // taken, pick another UDP port and try again.
  std::string last_error;
  for (int i = 0; i < kBindAttempts; ++i) {
    closeAll();
    udp::endpoint uep(listen_ip, opts.listen.port);
    udp_listener.open(uep.protocol(), ec);
    if (!ec) udp_listener.bind(uep, ec);
    if (ec) {
      last_error = fmt::format("UDP bind {}: {}", opts.listen.toString(), ec.message());
      if (opts.listen.port != 0) break;
      continue;
    }
    uint16_t port = udp_listener.local_endpoint(ec).port();
    tcp::endpoint tep(listen_ip, port);
    tcp_listener.open(tep.protocol(), ec);
    if (!ec) tcp_listener.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) tcp_listener.bind(tep, ec);
    if (!ec) tcp_listener.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      last_error = fmt::format("TCP bind {}:{}: {}", opts.listen.host, port, ec.message());
      if (opts.listen.port != 0) break;
      continue;
    }
    bound = net::HostPort{listen_ip.to_string(), port};
    last_error.clear();
    break;
  }
  if (!last_error.empty()) {
    closeAll();
    return makeError(ErrorCode::kIo, ErrorSource::kInternal, "DNS proxy: " + last_error);
  }

  upstream_list = opts.upstreams;
  if (upstream_list.empty()) {
    std::ifstream in(opts.resolv_conf);
    std::stringstream text;
    text << in.rdbuf();
    upstream_list = parseResolvConf(text.str());
  }
  std::vector<net::HostPort> usable;
  for (const auto& hp : upstream_list) {
    auto addr = asio::ip::make_address(hp.host, ec);
    if (ec) {
      closeAll();
      return invalidArgument("DNS proxy: upstream '{}' is not an IP address", hp.host);
    }
    udp::endpoint ep(addr, hp.port);
    // Forwarding to ourselves would bounce every unknown name around until it times out.
    if (ep == udp_listener.local_endpoint(ec) || (addr.is_unspecified() && hp.port == bound.port)) {
      SLUICE_LOG_WARN("DNS proxy: upstream {} is this proxy; skipped", hp.toString());
      continue;
    }
    upstream_eps.push_back(ep);
    usable.push_back(hp);
  }
  upstream_list = std::move(usable);
  if (upstream_eps.empty()) {
    SLUICE_LOG_WARN(
        "DNS proxy: no upstream resolver (none given, none in {}); names outside "
        "the mesh get SERVFAIL",
        opts.resolv_conf);
  }

  auto openUpstream = [&](udp::socket& socket, udp protocol) -> Status {
    socket.open(protocol, ec);
    if (!ec) socket.bind(udp::endpoint(protocol, 0), ec);
    if (ec) {
      return makeError(ErrorCode::kIo, ErrorSource::kInternal,
                       "DNS proxy: upstream socket: " + ec.message());
    }
    auto marked = net::markOutboundSocket(socket.native_handle());
    if (!marked) {
      // Unmarked, the forwarded queries would be redirected back here by the interception rules.
      return makeError(ErrorCode::kIo, ErrorSource::kInternal,
                       "DNS proxy: upstream socket: " + marked.error().message);
    }
    return ok();
  };
  bool any_v4 = false;
  bool any_v6 = false;
  for (const auto& ep : upstream_eps) (ep.address().is_v6() ? any_v6 : any_v4) = true;
  Status opened = ok();
  if (any_v4) opened = openUpstream(upstream_v4, udp::v4());
  if (opened && any_v6) opened = openUpstream(upstream_v6, udp::v6());
  if (!opened) {
    closeAll();
    return opened;
  }

  table = buildTable(initial.get());
  readClientUdp();
  accept();
  if (upstream_v4.is_open()) readUpstream(upstream_v4, upstream_buf_v4, upstream_from_v4);
  if (upstream_v6.is_open()) readUpstream(upstream_v6, upstream_buf_v6, upstream_from_v6);
  try {
    thread = std::thread([this] { ctx.run(); });
  } catch (const std::system_error& e) {
    closeAll();
    return makeError(ErrorCode::kResourceExhausted, ErrorSource::kInternal,
                     std::string("DNS proxy: thread: ") + e.what());
  }
  SLUICE_LOG_INFO("DNS proxy listening on {} (UDP and TCP), {} upstream(s)", bound.toString(),
                  upstream_eps.size());
  return ok();
}

// ---------------------------------------------------------------------------------------------
// Public face

DnsProxy::DnsProxy() : impl_(std::make_unique<Impl>()) {}

DnsProxy::~DnsProxy() { stop(); }

Status DnsProxy::start(const DnsProxyOptions& options,
                       std::shared_ptr<const MeshSnapshot> initial) {
  if (impl_->started.load() || impl_->stopped) {
    return makeError(ErrorCode::kAlreadyExists, ErrorSource::kInternal,
                     "DNS proxy: already started");
  }
  auto st = impl_->start(options, std::move(initial));
  if (st) impl_->started.store(true);
  return st;
}

void DnsProxy::publish(std::shared_ptr<const MeshSnapshot> snapshot) {
  if (!impl_->started.load()) return;
  auto table = buildTable(snapshot.get());
  Impl* impl = impl_.get();
  asio::post(impl->ctx,
             [impl, table = std::move(table)]() mutable { impl->table = std::move(table); });
}

net::HostPort DnsProxy::boundAddress() const { return impl_->bound; }

std::vector<net::HostPort> DnsProxy::upstreams() const { return impl_->upstream_list; }

DnsProxyStats DnsProxy::stats() const {
  DnsProxyStats s;
  s.local_answers = impl_->local_answers.load(std::memory_order_relaxed);
  s.loads = impl_->loads.load(std::memory_order_relaxed);
  s.forwarded = impl_->forwarded.load(std::memory_order_relaxed);
  s.servfail = impl_->servfail.load(std::memory_order_relaxed);
  s.format_errors = impl_->format_errors.load(std::memory_order_relaxed);
  return s;
}

void DnsProxy::stop() {
  if (!impl_->started.exchange(false)) return;
  impl_->stopped = true;
  Impl* impl = impl_.get();
  // Handlers run in order on the one DNS thread: the sockets close, then the loop ends.
  asio::post(impl->ctx, [impl] {
    impl->closeAll();
    impl->ctx.stop();
  });
  if (impl->thread.joinable()) impl->thread.join();
}

}  // namespace sluice::proxy
