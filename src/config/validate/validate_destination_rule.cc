// DestinationRule: subsets, traffic policies, exportTo with a workload selector.

#include <set>

#include "config/validate/rules.h"

namespace sluice::config::validation {

namespace {

void checkTrafficPolicy(DiagnosticReporter& r, const TrafficPolicy& tp, const std::string& path) {
  auto lb = [&](const LoadBalancerSettings& l, const std::string& p) {
    if (l.simple && l.consistent_hash) {
      r.error(l.pos, p, "only one of simple or consistentHash may be set");
    }
  };
  auto tls = [&](const ClientTLSSettings& t, const std::string& p) {
    if (t.mode == "ISTIO_MUTUAL" &&
        (!t.client_certificate.empty() || !t.private_key.empty() || !t.ca_certificates.empty() ||
         !t.credential_name.empty() || !t.subject_alt_names.empty() || !t.sni.empty())) {
      r.error(t.pos, p,
              "ISTIO_MUTUAL TLS cannot have client certificates, keys, CA "
              "certificates, credentialName, subjectAltNames or sni");
    }
    if (!t.credential_name.empty() &&
        (!t.client_certificate.empty() || !t.private_key.empty() || !t.ca_certificates.empty())) {
      r.error(t.pos, p,
              "cannot specify client certificates or CA certificate or CA CRL If "
              "credentialName is set");
    }
    if (t.insecure_skip_verify.value_or(false) &&
        (!t.ca_certificates.empty() || !t.credential_name.empty() ||
         !t.subject_alt_names.empty())) {
      r.error(t.pos, p,
              "cannot specify CaCertificates or CredentialName or SubjectAltNames "
              "when InsecureSkipVerify is set true");
    }
  };
  if (tp.load_balancer) lb(*tp.load_balancer, path + ".loadBalancer");
  if (tp.tls) tls(*tp.tls, path + ".tls");
  std::set<uint32_t> ports;
  for (size_t i = 0; i < tp.port_level_settings.size(); ++i) {
    const auto& pl = tp.port_level_settings[i];
    const std::string p = fmt::format("{}.portLevelSettings[{}]", path, i);
    if (pl.load_balancer) lb(*pl.load_balancer, p + ".loadBalancer");
    if (pl.tls) tls(*pl.tls, p + ".tls");
    if (pl.port && !ports.insert(*pl.port).second) {
      r.error(pl.pos, p + ".port",
              fmt::format("duplicate port level setting for port {}", *pl.port));
    }
    if (!pl.load_balancer && !pl.connection_pool && !pl.outlier_detection && !pl.tls) {
      r.error(pl.pos, p, "port traffic policy must have at least one field");
    }
  }
}

}  // namespace

void validateDestinationRule(ConfigSet& set, const DestinationRule& dr) {
  DiagnosticReporter r(set.diagnostics, dr.meta);
  std::set<std::string> names;
  for (size_t i = 0; i < dr.subsets.size(); ++i) {
    const auto& s = dr.subsets[i];
    const std::string path = fmt::format("spec.subsets[{}]", i);
    if (!s.name.empty() && !names.insert(s.name).second) {
      r.error(s.pos, path + ".name", fmt::format("duplicate subset names: {}", s.name));
    }
    checkLabels(r, s.labels, s.pos, path + ".labels");
    if (s.traffic_policy) checkTrafficPolicy(r, *s.traffic_policy, path + ".trafficPolicy");
  }
  if (dr.traffic_policy) checkTrafficPolicy(r, *dr.traffic_policy, "spec.trafficPolicy");
  checkExportTo(r, dr.export_to, false);
  if (!dr.workload_selector.empty()) {
    if (dr.export_to.size() > 1) {
      r.error({}, "spec.exportTo",
              "destination rule with workload selector cannot have multiple entries in exportTo");
    } else if (dr.export_to.size() == 1 && dr.export_to[0] != "." &&
               dr.export_to[0] != dr.meta.ns) {
      r.error({}, "spec.exportTo",
              "destination rule with workload selector cannot have exportTo beyond current "
              "namespace");
    }
  }
}

}  // namespace sluice::config::validation
