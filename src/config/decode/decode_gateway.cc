// Gateway: selector and servers (port, hosts, TLS, bind).

#include <limits>
#include <set>

#include "config/decode/decoder.h"
#include "core/strings.h"

namespace sluice::config::decode {

namespace {

constexpr Field<GatewayPort> kGatewayPortFields[] = {
    {"number",
     [](Decoder& d, const At& v, GatewayPort& p) {
       // 0 is decoded here and rejected by the validator unless the server binds a unix socket.
       auto x =
           d.integer(v, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
       if (!x) return;
       if (*x < 0 || *x > 65535) {
         d.error(v, fmt::format("port number {} must be in the range 1..65535", *x));
         return;
       }
       p.number = static_cast<uint32_t>(*x);
     }},
    {"name", [](Decoder& d, const At& v, GatewayPort& p) { p.name = d.strOr(v); }},
    {"protocol",
     [](Decoder& d, const At& v, GatewayPort& p) {
       p.protocol = toLower(d.strOr(v));
       for (auto& c : p.protocol) c = static_cast<char>(std::toupper(c));
     }},
    {"targetPort", [](Decoder& d, const At& v,
                      GatewayPort&) { d.error(v, "targetPort has no impact on Gateways"); }},
};

constexpr Field<ServerTLSSettings> kServerTlsFields[] = {
    {"httpsRedirect",
     [](Decoder& d, const At& v, ServerTLSSettings& t) {
       t.https_redirect = d.boolean(v).value_or(false);
     }},
    {"mode",
     [](Decoder& d, const At& v, ServerTLSSettings& t) {
       t.mode = d.strOr(v);
       static const std::set<std::string> kModes = {"PASSTHROUGH",  "SIMPLE",
                                                    "MUTUAL",       "AUTO_PASSTHROUGH",
                                                    "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"};
       if (!kModes.count(t.mode)) d.error(v, fmt::format("invalid TLS mode \"{}\"", t.mode));
     }},
    {"serverCertificate",
     [](Decoder& d, const At& v, ServerTLSSettings& t) { t.server_certificate = d.strOr(v); }},
    {"privateKey",
     [](Decoder& d, const At& v, ServerTLSSettings& t) { t.private_key = d.strOr(v); }},
    {"caCertificates",
     [](Decoder& d, const At& v, ServerTLSSettings& t) { t.ca_certificates = d.strOr(v); }},
    {"caCrl", ignoreString<ServerTLSSettings>},
    {"credentialName",
     [](Decoder& d, const At& v, ServerTLSSettings& t) { t.credential_name = d.strOr(v); }},
    {"credentialNames", [](Decoder& d, const At& v, ServerTLSSettings&) { d.stringList(v); }},
    {"caCertCredentialName", ignoreString<ServerTLSSettings>},
    {"tlsCertificates",
     [](Decoder& d, const At& v, ServerTLSSettings&) { d.list(v, [](const At&) {}); }},
    {"subjectAltNames",
     [](Decoder& d, const At& v, ServerTLSSettings& t) { t.subject_alt_names = d.stringList(v); }},
    {"verifyCertificateSpki", [](Decoder& d, const At& v, ServerTLSSettings&) { d.stringList(v); }},
    {"verifyCertificateHash", [](Decoder& d, const At& v, ServerTLSSettings&) { d.stringList(v); }},
    {"minProtocolVersion",
     [](Decoder& d, const At& v, ServerTLSSettings& t) { t.min_protocol_version = d.strOr(v); }},
    {"maxProtocolVersion",
     [](Decoder& d, const At& v, ServerTLSSettings& t) { t.max_protocol_version = d.strOr(v); }},
    {"cipherSuites",
     [](Decoder& d, const At& v, ServerTLSSettings& t) { t.cipher_suites = d.stringList(v); }},
};

ServerTLSSettings serverTls(Decoder& d, const At& n) {
  ServerTLSSettings t;
  t.pos = d.pos(n.node);
  d.object(n, kServerTlsFields, t);
  return t;
}

constexpr Field<Server> kServerFields[] = {
    {"port",
     [](Decoder& d, const At& v, Server& s) {
       if (v.node.IsNull()) return;
       GatewayPort p;
       d.object(v, kGatewayPortFields, p);
       s.port = p;
     }},
    {"hosts", [](Decoder& d, const At& v, Server& s) { s.hosts = d.stringList(v); }},
    {"tls",
     [](Decoder& d, const At& v, Server& s) {
       if (!v.node.IsNull()) s.tls = serverTls(d, v);
     }},
    {"bind", [](Decoder& d, const At& v, Server& s) { s.bind = d.strOr(v); }},
    {"name", [](Decoder& d, const At& v, Server& s) { s.name = d.strOr(v); }},
    {"defaultEndpoint", ignoreString<Server>},
};

constexpr Field<Gateway> kGatewayFields[] = {
    {"selector", [](Decoder& d, const At& v, Gateway& gw) { gw.selector = d.stringMap(v); }},
    {"servers",
     [](Decoder& d, const At& v, Gateway& gw) {
       d.list(v, [&](const At& item) {
         Server s;
         s.pos = d.pos(item.node);
         d.object(item, kServerFields, s);
         gw.servers.push_back(std::move(s));
       });
     }},
};

}  // namespace

void decodeGateway(Decoder& d, const YAML::Node& spec) {
  Gateway gw;
  gw.meta = d.meta();
  d.object(At{spec, "spec"}, kGatewayFields, gw);
  d.out().gateways.push_back(std::move(gw));
}

}  // namespace sluice::config::decode
