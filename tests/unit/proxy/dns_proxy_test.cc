#include "proxy/dns_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "control/snapshot/build_snapshot.h"
#include "net/dns_message.h"

namespace sluice::proxy {
namespace {

namespace dns = net::dns;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Wire helpers (independent of the codec under test where it matters: the query is built here).

std::string makeQuery(uint16_t id, std::string_view name, uint16_t type) {
  std::string q;
  auto put16 = [&](uint16_t v) {
    q.push_back(static_cast<char>(v >> 8));
    q.push_back(static_cast<char>(v & 0xFF));
  };
  put16(id);
  put16(0x0100);  // RD
  put16(1);
  put16(0);
  put16(0);
  put16(0);
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    if (dot > start) {
      q.push_back(static_cast<char>(dot - start));
      q.append(name.substr(start, dot - start));
    }
    start = dot + 1;
  }
  q.push_back('\0');
  put16(type);
  put16(1);
  return q;
}

uint16_t rd16(std::string_view p, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[at]) << 8) |
                               static_cast<uint8_t>(p[at + 1]));
}

struct Answer {
  uint16_t id = 0;
  int rcode = -1;
  std::vector<std::string> addresses;  // A/AAAA data in text form
};

// Reads a response whose answer names are compression pointers or plain names.
Answer parseAnswer(std::string_view p) {
  Answer a;
  if (p.size() < 12) return a;
  a.id = rd16(p, 0);
  a.rcode = rd16(p, 2) & 0xF;
  uint16_t qd = rd16(p, 4);
  uint16_t an = rd16(p, 6);
  size_t pos = 12;
  auto skipName = [&] {
    while (pos < p.size()) {
      auto len = static_cast<uint8_t>(p[pos]);
      if ((len & 0xC0) == 0xC0) {
        pos += 2;
        return;
      }
      pos += 1 + len;
      if (len == 0) return;
    }
  };
  for (int i = 0; i < qd; ++i) {
    skipName();
    pos += 4;
  }
  for (int i = 0; i < an && pos < p.size(); ++i) {
    skipName();
    if (pos + 10 > p.size()) break;
    uint16_t type = rd16(p, pos);
    uint16_t len = rd16(p, pos + 8);
    pos += 10;
    if (pos + len > p.size()) break;
    net::IpAddress ip;
    if (type == 1 && len == 4) {
      std::copy(p.begin() + pos, p.begin() + pos + 4, ip.bytes.begin());
      a.addresses.push_back(ip.toString());
    } else if (type == 28 && len == 16) {
      ip.v6 = true;
      std::copy(p.begin() + pos, p.begin() + pos + 16, ip.bytes.begin());
      a.addresses.push_back(ip.toString());
    }
    pos += len;
  }
  return a;
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

bool waitReadable(int fd, std::chrono::milliseconds timeout) {
  pollfd pfd{fd, POLLIN, 0};
  return ::poll(&pfd, 1, static_cast<int>(timeout.count())) == 1;
}

// One UDP exchange; nullopt when nothing came back within `timeout`.
std::optional<std::string> udpAsk(uint16_t port, const std::string& packet,
                                  std::chrono::milliseconds timeout = 3000ms) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  auto to = loopback(port);
  ::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  std::optional<std::string> out;
  if (waitReadable(fd, timeout)) {
    std::string buf(65535, '\0');
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0) out = buf.substr(0, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

bool readFull(int fd, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    if (!waitReadable(fd, 3000ms)) return false;
    ssize_t r = ::recv(fd, buf + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

bool writeFramed(int fd, const std::string& packet) {
  std::string framed;
  framed.push_back(static_cast<char>(packet.size() >> 8));
  framed.push_back(static_cast<char>(packet.size() & 0xFF));
  framed += packet;
  return ::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(framed.size());
}

std::optional<std::string> readFramed(int fd) {
  char len[2];
  if (!readFull(fd, len, 2)) return std::nullopt;
  size_t size = (static_cast<uint8_t>(len[0]) << 8) | static_cast<uint8_t>(len[1]);
  std::string body(size, '\0');
  if (!readFull(fd, body.data(), size)) return std::nullopt;
  return body;
}

int tcpConnect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  auto to = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Several queries on one TCP connection (answered in order).
std::vector<std::string> tcpAsk(uint16_t port, const std::vector<std::string>& packets) {
  std::vector<std::string> out;
  int fd = tcpConnect(port);
  if (fd < 0) return out;
  for (const auto& p : packets) {
    if (!writeFramed(fd, p)) break;
    auto r = readFramed(fd);
    if (!r) break;
    out.push_back(*r);
  }
  ::close(fd);
  return out;
}

// ---------------------------------------------------------------------------------------------
// A fake upstream resolver on 127.0.0.1 (UDP and TCP on one port): every A query is answered
// with `address`; `silent` = reads and never answers (a resolver that is down but whose port is
// held, so the proxy's timeout is what moves it on).

class FakeResolver {
 public:
  explicit FakeResolver(std::string address, bool silent = false)
      : address_(std::move(address)), silent_(silent) {
    // The kernel picks a free UDP port; the same number may be taken for TCP (by another test's
    // connection), so try a few UDP ports until both bind.
    for (int attempt = 0; attempt < 20 && !tcp_ok_; ++attempt) {
      if (udp_ >= 0) ::close(udp_);
      if (tcp_ >= 0) ::close(tcp_);
      udp_ = ::socket(AF_INET, SOCK_DGRAM, 0);
      auto any = loopback(0);
      ::bind(udp_, reinterpret_cast<sockaddr*>(&any), sizeof any);
      sockaddr_in bound{};
      socklen_t len = sizeof bound;
      ::getsockname(udp_, reinterpret_cast<sockaddr*>(&bound), &len);
      port_ = ntohs(bound.sin_port);
      tcp_ = ::socket(AF_INET, SOCK_STREAM, 0);
      int one = 1;
      ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      auto same = loopback(port_);
      tcp_ok_ = ::bind(tcp_, reinterpret_cast<sockaddr*>(&same), sizeof same) == 0 &&
                ::listen(tcp_, 16) == 0;
    }
    thread_ = std::thread([this] { run(); });
  }
  ~FakeResolver() {
    stop_ = true;
    thread_.join();
    ::close(udp_);
    ::close(tcp_);
  }
  uint16_t port() const { return port_; }
  bool tcpOk() const { return tcp_ok_; }
  net::HostPort hostPort() const { return {"127.0.0.1", port_}; }
  int udpQueries() const { return udp_queries_; }
  int tcpQueries() const { return tcp_queries_; }
  uint16_t lastUdpId() const { return last_udp_id_; }

 private:
  std::string answer(std::string_view packet) {
    auto q = dns::parseQuery(packet);
    if (!q) return {};
    std::vector<net::IpAddress> ips;
    if (q->question.type == 1) ips.push_back(*net::IpAddress::parse(address_));
    auto r = dns::buildResponse(*q, dns::ResponseCode::kNoError, ips, 60);
    r[2] = static_cast<char>(r[2] & ~0x04);  // not authoritative: a recursive resolver's answer
    return r;
  }

  void run() {
    // Bounded by the destructor's stop flag; each poll wakes up at least every 20 ms.
    while (!stop_) {
      pollfd fds[2] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}};
      if (::poll(fds, tcp_ok_ ? 2 : 1, 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        std::string buf(65535, '\0');
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t n =
            ::recvfrom(udp_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) continue;
        ++udp_queries_;
        buf.resize(static_cast<size_t>(n));
        last_udp_id_ = rd16(buf, 0);
        if (silent_) continue;
        auto r = answer(buf);
        ::sendto(udp_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
      if (tcp_ok_ && (fds[1].revents & POLLIN)) {
        int c = ::accept(tcp_, nullptr, nullptr);
        if (c < 0) continue;
        auto q = readFramed(c);
        if (q) {
          ++tcp_queries_;
          if (!silent_) writeFramed(c, answer(*q));
        }
        ::close(c);
      }
    }
  }

  std::string address_;
  bool silent_;
  int udp_ = -1;
  int tcp_ = -1;
  bool tcp_ok_ = false;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> udp_queries_{0};
  std::atomic<int> tcp_queries_{0};
  std::atomic<uint16_t> last_udp_id_{0};
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// Snapshots

registry::Service registryService(const std::string& name) {
  registry::Service s;
  s.name = name;
  registry::Instance i;
  i.ip = "10.0.0.1";
  i.port = 8080;
  s.instances.push_back(i);
  return s;
}

control::SnapshotInputs meshInputs(const std::vector<std::string>& registry_names) {
  control::SnapshotInputs in;
  in.vip_range = *net::Cidr::parse("240.240.0.0/16");
  for (const auto& n : registry_names) in.registry_services.push_back(registryService(n));
  config::ServiceEntry with_addresses;
  with_addresses.meta.name = "api";
  with_addresses.hosts = {"api.example.com"};
  with_addresses.addresses = {"192.0.2.10", "2001:db8::10", "198.51.100.0/24"};
  with_addresses.resolution = config::ServiceEntry::Resolution::kStatic;
  with_addresses.ports.push_back(config::ServicePort{});
  with_addresses.ports.back().number = 443;
  with_addresses.ports.back().name = "https";
  config::ServiceEntry by_dns;
  by_dns.meta.name = "dns";
  by_dns.hosts = {"db.example.com"};
  by_dns.resolution = config::ServiceEntry::Resolution::kDns;
  by_dns.ports.push_back(config::ServicePort{});
  by_dns.ports.back().number = 5432;
  by_dns.ports.back().name = "tcp";
  in.config.service_entries = {with_addresses, by_dns};
  return in;
}

std::shared_ptr<const MeshSnapshot> meshSnapshot(const std::vector<std::string>& names) {
  return control::buildSnapshot(meshInputs(names));
}

class DnsProxyTest : public ::testing::Test {
 protected:
  void startProxy(std::vector<net::HostPort> upstreams,
                  std::shared_ptr<const MeshSnapshot> snap = nullptr,
                  std::chrono::milliseconds timeout = 2000ms) {
    if (!snap) snap = meshSnapshot({"service-provider", "service-consumer"});
    snap_ = snap;
    DnsProxyOptions o;
    o.listen = {"127.0.0.1", 0};
    o.upstreams = std::move(upstreams);
    o.upstream_timeout = timeout;
    auto st = proxy_.start(o, snap);
    ASSERT_TRUE(st) << st.error().describe();
    port_ = proxy_.boundAddress().port;
    ASSERT_NE(port_, 0);
  }
  Answer ask(std::string_view name, uint16_t type, uint16_t id = 0x1234) {
    auto r = udpAsk(port_, makeQuery(id, name, type));
    if (!r) return {};
    return parseAnswer(*r);
  }
  std::string vipOf(const std::string& fqdn) {
    const MeshService* s = snap_->findService(fqdn);
    return s == nullptr ? "" : s->vip;
  }

  DnsProxy proxy_;
  uint16_t port_ = 0;
  std::shared_ptr<const MeshSnapshot> snap_;
};

TEST_F(DnsProxyTest, EveryHostFormOfARegistryServiceAnswersItsVip) {
  FakeResolver upstream("203.0.113.7");
  startProxy({upstream.hostPort()});
  std::string vip = vipOf("service-provider.default.svc.cluster.local");
  ASSERT_FALSE(vip.empty());
  for (const char* name :
       {"service-provider", "service-provider.default", "service-provider.default.svc",
        "service-provider.default.svc.cluster.local",
        "Service-Provider.Default.SVC.cluster.local."}) {
    auto a = ask(name, 1);
    EXPECT_EQ(a.rcode, 0) << name;
    EXPECT_EQ(a.id, 0x1234) << name;
    EXPECT_EQ(a.addresses, std::vector<std::string>{vip}) << name;
  }
  EXPECT_NE(vipOf("service-consumer.default.svc.cluster.local"), vip);
  EXPECT_EQ(upstream.udpQueries(), 0);
}

TEST_F(DnsProxyTest, OtherTypesOfAMeshNameAreNodataNotNxdomain) {
  FakeResolver upstream("203.0.113.7");
  startProxy({upstream.hostPort()});
  for (uint16_t type : {28, 15, 16, 33}) {  // AAAA, MX, TXT, SRV
    auto a = ask("service-provider", type);
    EXPECT_EQ(a.rcode, 0) << type;
    EXPECT_TRUE(a.addresses.empty()) << type;
  }
  EXPECT_EQ(upstream.udpQueries(), 0);
}

TEST_F(DnsProxyTest, ServiceEntryAddressesAnswerAAndAaaaCidrsLeftOut) {
  FakeResolver upstream("203.0.113.7");
  startProxy({upstream.hostPort()});
  auto a = ask("api.example.com", 1);
  EXPECT_EQ(a.rcode, 0);
  EXPECT_EQ(a.addresses, std::vector<std::string>{"192.0.2.10"});
  auto aaaa = ask("api.example.com", 28);
  EXPECT_EQ(aaaa.rcode, 0);
  EXPECT_EQ(aaaa.addresses, std::vector<std::string>{"2001:db8::10"});
  EXPECT_EQ(upstream.udpQueries(), 0);
}

TEST_F(DnsProxyTest, DnsResolutionServiceEntryWithoutAddressesIsForwarded) {
  // The sidecar resolves such hosts itself through getaddrinfo; a VIP here would loop.
  FakeResolver upstream("203.0.113.7");
  startProxy({upstream.hostPort()});
  EXPECT_TRUE(vipOf("db.example.com").empty());
  auto a = ask("db.example.com", 1);
  EXPECT_EQ(a.rcode, 0);
  EXPECT_EQ(a.addresses, std::vector<std::string>{"203.0.113.7"});
  EXPECT_EQ(upstream.udpQueries(), 1);
}

TEST_F(DnsProxyTest, UnknownNamesAreForwardedAndTheClientIdRestored) {
  FakeResolver upstream("203.0.113.7");
  startProxy({upstream.hostPort()});
  for (uint16_t id : {0x0001, 0xBEEF, 0xFFFF}) {
    auto a = ask("www.example.org", 1, id);
    EXPECT_EQ(a.id, id);
    EXPECT_EQ(a.rcode, 0);
    EXPECT_EQ(a.addresses, std::vector<std::string>{"203.0.113.7"});
  }
  EXPECT_EQ(upstream.udpQueries(), 3);
  EXPECT_EQ(proxy_.stats().forwarded, 3u);
}

TEST_F(DnsProxyTest, TimeoutMovesOnToTheNextUpstream) {
  FakeResolver down("192.0.2.1", /*silent=*/true);
  FakeResolver up("203.0.113.8");
  startProxy({down.hostPort(), up.hostPort()}, nullptr, 200ms);
  auto a = ask("www.example.org", 1, 0x4242);
  EXPECT_EQ(a.id, 0x4242);
  EXPECT_EQ(a.addresses, std::vector<std::string>{"203.0.113.8"});
  EXPECT_EQ(down.udpQueries(), 1);
  EXPECT_EQ(up.udpQueries(), 1);
}

TEST_F(DnsProxyTest, NoUpstreamAnsweringIsServfail) {
  FakeResolver down1("192.0.2.1", true);
  FakeResolver down2("192.0.2.2", true);
  startProxy({down1.hostPort(), down2.hostPort()}, nullptr, 150ms);
  auto a = ask("www.example.org", 1, 0x5151);
  EXPECT_EQ(a.id, 0x5151);
  EXPECT_EQ(a.rcode, 2);
  EXPECT_EQ(proxy_.stats().servfail, 1u);
  // Over TCP as well.
  auto tcp = tcpAsk(port_, {makeQuery(0x5252, "www.example.org", 1)});
  ASSERT_EQ(tcp.size(), 1u);
  EXPECT_EQ(parseAnswer(tcp[0]).rcode, 2);
  EXPECT_EQ(parseAnswer(tcp[0]).id, 0x5252);
}

TEST_F(DnsProxyTest, NoUpstreamConfiguredIsServfailButMeshNamesStillAnswer) {
  char path[] = "/tmp/sluice-resolv-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  DnsProxyOptions o;
  o.listen = {"127.0.0.1", 0};
  o.resolv_conf = path;
  snap_ = meshSnapshot({"service-provider"});
  ASSERT_TRUE(proxy_.start(o, snap_));
  ::unlink(path);
  port_ = proxy_.boundAddress().port;
  EXPECT_TRUE(proxy_.upstreams().empty());
  EXPECT_EQ(ask("www.example.org", 1).rcode, 2);
  EXPECT_EQ(ask("service-provider", 1).addresses,
            std::vector<std::string>{vipOf("service-provider.default.svc.cluster.local")});
}

TEST_F(DnsProxyTest, TcpAnswersLocallyAndForwardsOverTcp) {
  FakeResolver upstream("203.0.113.9");
  ASSERT_TRUE(upstream.tcpOk());
  startProxy({upstream.hostPort()});
  auto answers =
      tcpAsk(port_, {makeQuery(7, "service-provider", 1), makeQuery(8, "www.example.org", 1),
                     makeQuery(9, "service-provider", 28)});
  ASSERT_EQ(answers.size(), 3u);
  auto local = parseAnswer(answers[0]);
  EXPECT_EQ(local.id, 7);
  EXPECT_EQ(local.addresses,
            std::vector<std::string>{vipOf("service-provider.default.svc.cluster.local")});
  auto fwd = parseAnswer(answers[1]);
  EXPECT_EQ(fwd.id, 8);
  EXPECT_EQ(fwd.addresses, std::vector<std::string>{"203.0.113.9"});
  EXPECT_EQ(upstream.tcpQueries(), 1);
  EXPECT_EQ(upstream.udpQueries(), 0);
  auto nodata = parseAnswer(answers[2]);
  EXPECT_EQ(nodata.rcode, 0);
  EXPECT_TRUE(nodata.addresses.empty());
}

TEST_F(DnsProxyTest, MalformedQueriesGetFormerrOrAreDroppedAndTheProxyLivesOn) {
  FakeResolver upstream("203.0.113.7");
  startProxy({upstream.hostPort()});
  // Readable header, no question: FORMERR with the same id.
  std::string no_question = makeQuery(0x7777, "x", 1).substr(0, 12);
  no_question[5] = 0;  // qdcount 0
  auto r = udpAsk(port_, no_question);
  ASSERT_TRUE(r);
  EXPECT_EQ(parseAnswer(*r).id, 0x7777);
  EXPECT_EQ(parseAnswer(*r).rcode, 1);
  // A name that runs past the end, and a compression loop: FORMERR.
  std::string truncated = makeQuery(0x7778, "service-provider", 1);
  truncated.resize(20);
  r = udpAsk(port_, truncated);
  ASSERT_TRUE(r);
  EXPECT_EQ(parseAnswer(*r).rcode, 1);
  std::string loop = makeQuery(0x7779, "a", 1).substr(0, 12);
  loop += std::string("\xC0\x0C\x00\x01\x00\x01", 6);
  r = udpAsk(port_, loop);
  ASSERT_TRUE(r);
  EXPECT_EQ(parseAnswer(*r).rcode, 1);
  // A runt and a response: no answer at all.
  EXPECT_FALSE(udpAsk(port_, std::string("\x01\x02\x03", 3), 200ms));
  std::string response = makeQuery(0x777A, "service-provider", 1);
  response[2] = static_cast<char>(response[2] | 0x80);
  EXPECT_FALSE(udpAsk(port_, response, 200ms));
  // TCP: a runt closes the connection without an answer.
  EXPECT_TRUE(tcpAsk(port_, {std::string("\x01\x02", 2)}).empty());
  // Still serving.
  EXPECT_EQ(ask("service-provider", 1).rcode, 0);
  EXPECT_EQ(upstream.udpQueries(), 0);
}

TEST_F(DnsProxyTest, PublishChangesTheAnswersAndKeepsVipsStable) {
  FakeResolver upstream("203.0.113.7");
  auto first = meshSnapshot({"service-provider"});
  startProxy({upstream.hostPort()}, first);
  std::string provider_vip = vipOf("service-provider.default.svc.cluster.local");
  EXPECT_EQ(ask("late-service", 1).addresses, std::vector<std::string>{"203.0.113.7"});

  auto in = meshInputs({"late-service", "service-provider", "another"});
  in.previous_vips = first->vipAssignments();
  auto second = control::buildSnapshot(in);
  ASSERT_EQ(second->findService("service-provider")->vip, provider_vip);
  std::string late_vip = second->findService("late-service")->vip;
  ASSERT_FALSE(late_vip.empty());
  proxy_.publish(second);
  // publish() hands the snapshot over asynchronously: ask until it shows (bounded).
  Answer a;
  for (int i = 0; i < 50; ++i) {
    a = ask("late-service", 1);
    if (a.addresses == std::vector<std::string>{late_vip}) break;
  }
  EXPECT_EQ(a.addresses, std::vector<std::string>{late_vip});
  EXPECT_EQ(ask("service-provider", 1).addresses, std::vector<std::string>{provider_vip});
}

TEST_F(DnsProxyTest, StopIsIdempotentAndStartTwiceFails) {
  FakeResolver upstream("203.0.113.7");
  startProxy({upstream.hostPort()});
  DnsProxyOptions o;
  o.upstreams = {upstream.hostPort()};
  EXPECT_FALSE(proxy_.start(o, snap_));
  proxy_.stop();
  proxy_.stop();
  EXPECT_FALSE(udpAsk(port_, makeQuery(1, "service-provider", 1), 100ms));
}

TEST(DnsProxyStart, BadAddressesAreReported) {
  DnsProxy p;
  DnsProxyOptions o;
  o.listen = {"not-an-ip", 0};
  o.upstreams = {{"127.0.0.1", 53}};
  auto st = p.start(o, nullptr);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  DnsProxy q;
  o.listen = {"127.0.0.1", 0};
  o.upstreams = {{"dns.google", 53}};
  EXPECT_FALSE(q.start(o, nullptr));
}

TEST(DnsProxyStart, UpstreamThatIsTheProxyItselfIsSkipped) {
  // Bind once to learn a free port, then ask the proxy to use it and to forward to it.
  DnsProxy probe;
  DnsProxyOptions o;
  o.listen = {"127.0.0.1", 0};
  o.upstreams = {{"127.0.0.1", 9}};
  ASSERT_TRUE(probe.start(o, nullptr));
  uint16_t port = probe.boundAddress().port;
  probe.stop();
  DnsProxy p;
  o.listen = {"127.0.0.1", port};
  o.upstreams = {{"127.0.0.1", port}};
  auto st = p.start(o, nullptr);
  if (!st) GTEST_SKIP() << "port taken meanwhile: " << st.error().describe();
  EXPECT_TRUE(p.upstreams().empty());
}

TEST(ResolvConf, NameserverLines) {
  auto ns = parseResolvConf(
      "# comment\nsearch default.svc.cluster.local\nnameserver 10.96.0.10\n"
      "nameserver 2001:db8::53 # trailing\nnameserver fe80::1%eth0\nnameserver bogus\n"
      "options ndots:5\n");
  ASSERT_EQ(ns.size(), 2u);
  EXPECT_EQ(ns[0].host, "10.96.0.10");
  EXPECT_EQ(ns[0].port, 53);
  EXPECT_EQ(ns[1].host, "2001:db8::53");
}

}  // namespace
}  // namespace sluice::proxy
