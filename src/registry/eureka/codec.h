#pragma once
// Eureka's wire formats, both of them: the JSON of the Netflix Jackson codec and the XML of its
// XStream codec, for instances, one application and the whole registry (full and delta fetches).
//
// Decoding is tolerant where real servers and clients differ (a number written as a string,
// `port` as {"$":8080,"@enabled":"true"} or bare, a single application or instance written as an
// object instead of an array, "overriddenStatus" or "overriddenstatus") and strict where the
// data would be wrong (no instance id, a port that is no port, an unknown status, a document that
// is not JSON/XML or lacks the expected root). Errors are kInvalidArgument, source kRegistry,
// with a message naming the field.
//
// Encoding writes what the Netflix server writes, so Java, Spring and Node clients read it:
// timestamps inside leaseInfo as numbers, the @Auto fields (lastUpdatedTimestamp...) as strings,
// empty metadata as {"@class":"java.util.Collections$EmptyMap"}.
//
// Plain functions, no state.

#include <string>
#include <string_view>

#include "core/result.h"
#include "registry/eureka/model.h"

namespace sluice::registry::eureka {

enum class Format { kJson, kXml };

// The Eureka server's rule: JSON when Accept mentions application/json, XML otherwise.
Format formatForAccept(std::string_view accept);
// The Content-Type a response in `format` carries.
const char* contentType(Format format);
// JSON when the first non-blank byte is '{' or '[', XML when it is '<'; nullopt otherwise.
std::optional<Format> sniffFormat(std::string_view body);

// {"applications":{...}} or <applications>...</applications>, format sniffed.
Result<EurekaApplications> decodeApplications(std::string_view body);
// A registration body: {"instance":{...}} (or the bare instance object) or
// <instance>...</instance>.
Result<EurekaInstance> decodeInstance(std::string_view body);

std::string encodeApplications(const EurekaApplications& apps, Format format);
std::string encodeApplication(const EurekaApplication& app, Format format);
std::string encodeInstance(const EurekaInstance& instance, Format format);

}  // namespace sluice::registry::eureka
