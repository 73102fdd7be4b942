#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/seed-* from the project's own test
fixtures: string literals of the unit tests (HTTP heads, URLs, registry JSON/XML, API calls), the
config files of tests/data and examples, the recorded ZooKeeper sessions, and a few hand-made
DNS queries and gRPC Payloads. Re-run after the fixtures change; the regression inputs
(crash-*, regress-*) in the same folders are kept. Usage: tests/fuzz/make_seeds.py"""
import hashlib
import pathlib
import re
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
UNIT = ROOT / "tests/unit"
CORPUS = ROOT / "tests/fuzz/corpus"

ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "0": b"\0", "\\": b"\\", '"': b'"', "'": b"'",
           "?": b"?", "a": b"\a", "b": b"\b", "f": b"\f", "v": b"\v"}


def unescape(body):
    out, i = bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        n = body[i + 1]
        if n == "x":
            m = re.match(r"[0-9a-fA-F]+", body[i + 2:])
            out.append(int(m.group(0), 16) & 0xFF)
            i += 2 + len(m.group(0))
        elif n in "01234567" and re.match(r"[0-7]{1,3}", body[i + 1:]).group(0) != "0":
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            out.append(int(m.group(0), 8) & 0xFF)
            i += 1 + len(m.group(0))
        else:
            out += ESCAPES.get(n, n.encode())
            i += 2
    return bytes(out)


LITERAL = re.compile(r'R"([^(\s]*)\((.*?)\)\1"|"((?:[^"\\\n]|\\.)*)"', re.S)


def literals(path):
    """(skeleton, values): adjacent literals joined, each group replaced by @N@ in skeleton."""
    text = path.read_text()
    text = re.sub(r"//[^\n]*", lambda m: "" if '"' not in m.group(0) else m.group(0), text)
    values, parts, pos = [], [], 0
    for m in LITERAL.finditer(text):
        value = m.group(2).encode() if m.group(2) is not None else unescape(m.group(3))
        gap = text[pos:m.start()]
        if values and parts and parts[-1] == "@" and gap.strip() == "":
            values[-1] += value
        else:
            parts.append(gap)
            parts.append("@")
            values.append(value)
        pos = m.end()
    parts.append(text[pos:])
    skeleton, n = "", 0
    for p in parts:
        if p == "@":
            skeleton += f"@{n}@"
            n += 1
        else:
            skeleton += p
    return skeleton, values


def all_literals(*names):
    out = []
    for name in names:
        for path in sorted(UNIT.glob(name)):
            out += literals(path)[1]
    return out


def write(target, data, prefix=b""):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    data = prefix + data
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    (folder / name).write_bytes(data)


def clear_seeds():
    for old in CORPUS.glob("*/seed-*"):
        old.unlink()


def api_requests(test_file, host):
    """Raw HTTP requests from calls like call("POST", "/x?a=b", body, content_type)."""
    skeleton, values = literals(UNIT / test_file)
    consts = {m.group(1): values[int(m.group(2))]
              for m in re.finditer(r"(k\w+)\s*=\s*@(\d+)@", skeleton)}
    out = []
    call = re.compile(r"\b(?:call|callJson|request)\(\s*@(\d+)@\s*,\s*@(\d+)@"
                      r"(?:\s*,\s*(?:@(\d+)@|(k\w+)))?(?:\s*,\s*@(\d+)@)?")
    for m in call.finditer(skeleton):
        method, target = values[int(m.group(1))], values[int(m.group(2))]
        body = values[int(m.group(3))] if m.group(3) else consts.get(m.group(4), b"")
        ctype = values[int(m.group(5))] if m.group(5) else b""
        if not re.fullmatch(rb"[A-Z]+", method) or not target.startswith(b"/"):
            continue
        head = method + b" " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n"
        if ctype:
            head += b"Content-Type: " + ctype + b"\r\n"
        elif body[:1] in (b"{", b"["):
            head += b"Content-Type: application/json\r\n"
        elif body[:1] == b"<":
            head += b"Content-Type: application/xml\r\n"
        elif body:
            head += b"Content-Type: application/x-www-form-urlencoded\r\n"
        if body:
            head += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        out.append(head + b"\r\n" + body)
    return out


def dns_query(name, qtype, qid=0x1234, flags=0x0100):
    packet = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 0)
    for label in name.split("."):
        packet += bytes([len(label)]) + label.encode()
    return packet + b"\0" + struct.pack(">HH", qtype, 1)


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def payload(type_name, body, headers=None):
    metadata = field(3, type_name.encode())
    for k, v in (headers or {}).items():
        metadata += field(7, field(1, k.encode()) + field(2, v.encode()))
    metadata += field(8, b"127.0.0.1")
    return field(2, metadata) + field(3, field(2, body.encode()))


def framed(*frames):
    return b"".join(struct.pack(">H", len(f)) + f for f in frames)


def h2_frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) \
        + payload


def hpack_literal(name, value):
    """Literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def h2_request(stream, method=b"GET", path=b"/echo", body=b"", extra=()):
    block = b"".join(hpack_literal(n, v) for n, v in
                     [(b":method", method), (b":scheme", b"http"), (b":path", path),
                      (b":authority", b"service-provider:8080"), *extra])
    end = 0x1 if not body else 0
    frames = h2_frame(0x1, 0x4 | end, stream, block)
    if body:
        frames += h2_frame(0x0, 0x1, stream, body)
    return frames


def zookeeper_sessions():
    for path in sorted((ROOT / "tests/data/zookeeper").glob("*.txt")):
        chunks = []
        for line in path.read_text().splitlines():
            if line[:2] in ("C ", "S "):
                data = bytes.fromhex(line[2:].strip())
                for i in range(0, len(data), 0xFFFF):
                    piece = data[i:i + 0xFFFF]
                    chunks.append(bytes([line[0] == "S"]) + struct.pack(">H", len(piece)) + piece)
        yield b"".join(chunks)
        yield b"".join(chunks[:6])


def main():
    clear_seeds()
    http_lits = all_literals("http/*.cc", "proxy/*.cc")
    for v in http_lits:
        if re.match(rb"(\r\n)*[A-Z]+ \S+ HTTP/", v):
            write("http_request_head", v, b"\x07")
            write("http_request_head", v, b"\xff")
        if v.startswith(b"HTTP/1."):
            write("http_response_head", v, b"\x00")
            write("http_response_head", v, b"\x0b")
        if re.match(rb"[0-9a-fA-F]+(;[^\r\n]*)?\r\n", v):
            write("http_chunked", v, b"\x00")
            write("http_chunked", v, b"\x03")
    for v in all_literals("http/url_test.cc", "net/address_test.cc", "registry/*watcher*.cc",
                          "registry/plugins_test.cc"):
        if b"://" in v or re.fullmatch(rb"[\w.:\[\]/-]+", v) or b"=" in v:
            if len(v) < 300:
                write("http_url", v)

    for qtype in (1, 28, 12, 255, 5):
        write("dns_message", dns_query("service-provider.default.svc.cluster.local", qtype))
    write("dns_message", dns_query("service-provider", 1, flags=0))
    pointer = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x01a\xc0\x0c" + b"\0\x01\0\x01"
    write("dns_message", pointer)
    write("dns_message", dns_query("10.0.0.11.in-addr.arpa", 12))

    for path in sorted((ROOT / "tests/data/config").rglob("*")) + \
            sorted((ROOT / "examples").rglob("*.yaml")):
        if path.is_file() and path.suffix in (".yaml", ".yml", ".json"):
            write("config_yaml", path.read_bytes())
    for v in all_literals("config/*.cc"):
        if b"apiVersion" in v or b"kind:" in v:
            write("config_yaml", v)

    for r in api_requests("registry/nacos_api_test.cc", b"127.0.0.1:8848"):
        write("nacos_params", r)
    nacos_lits = all_literals("registry/nacos_*.cc", "registry/list_rewrite_test.cc")
    for v in nacos_lits:
        if v.lstrip()[:1] in (b"{", b"["):
            write("nacos_json", v)
            write("nacos_list_rewrite", v, b"\x00")
        elif b"=" in v and len(v) < 200:
            write("nacos_json", v)
    write("nacos_list_rewrite", b"/nacos/v1/ns/instance/list?serviceName=a&udpPort=53"
          b'{"name":"DEFAULT_GROUP@@a","clusters":"","hosts":[{"ip":"10.0.0.1","port":80}]}',
          bytes([51]))
    instance = ('{"ip":"10.0.0.11","port":8070,"weight":1.0,"healthy":true,"enabled":true,'
                '"ephemeral":true,"clusterName":"DEFAULT","metadata":{"version":"v1"}}')
    write("nacos_json", instance.encode())
    grpc = [
        payload("ServerCheckRequest", '{"requestId":"1"}'),
        payload("ConnectionSetupRequest", '{"clientVersion":"Nacos-Java-Client:v2.3.0",'
                '"abilityTable":{},"tenant":"","labels":{"source":"sdk"}}'),
        payload("InstanceRequest", '{"requestId":"2","namespace":"public","serviceName":'
                '"service-provider","groupName":"DEFAULT_GROUP","type":"registerInstance",'
                '"instance":' + instance + '}', {"app": "fuzz"}),
        payload("SubscribeServiceRequest", '{"requestId":"3","namespace":"public",'
                '"serviceName":"service-provider","groupName":"DEFAULT_GROUP",'
                '"subscribe":true,"clusters":""}'),
        payload("ServiceQueryRequest", '{"requestId":"4","namespace":"public","serviceName":'
                '"service-provider","groupName":"DEFAULT_GROUP","cluster":"","healthyOnly":false}'),
        payload("BatchInstanceRequest", '{"requestId":"5","namespace":"public","serviceName":'
                '"service-provider","groupName":"DEFAULT_GROUP","type":"batchRegisterInstance",'
                '"instances":[' + instance + ']}'),
        payload("PersistentInstanceRequest", '{"requestId":"6","namespace":"public",'
                '"serviceName":"p","groupName":"DEFAULT_GROUP","type":"registerInstance",'
                '"instance":' + instance.replace('"ephemeral":true', '"ephemeral":false') + '}'),
        payload("ServiceListRequest", '{"requestId":"7","namespace":"public","groupName":'
                '"DEFAULT_GROUP","pageNo":1,"pageSize":10}'),
        payload("HealthCheckRequest", '{"requestId":"8"}'),
        payload("NotifySubscriberResponse", '{"requestId":"9","resultCode":200}'),
    ]
    for p in grpc:
        write("nacos_grpc_payload", framed(p))
    write("nacos_grpc_payload", framed(*grpc))
    for p in grpc:
        write("nacos_payload_wire", p)
    # The format's edges the hand-written codec must get right (payload_wire.h): merged
    # messages, duplicate and half map entries, unknown fields of every wire type, groups.
    entry = field(1, b"k") + field(2, b"v")
    for p in [
        field(2, field(3, b"A")) + field(2, field(8, b"1.2.3.4")),
        field(2, field(7, entry) + field(7, field(1, b"k") + field(2, b"w"))),
        field(2, field(7, field(2, b"no key"))),
        varint(9 << 3 | 0) + b"\x01" + varint(9 << 3 | 1) + bytes(8) + varint(9 << 3 | 5) + bytes(4),
        varint(9 << 3 | 3) + varint(1 << 3 | 0) + b"\x01" + varint(9 << 3 | 4),
        varint(2 << 3 | 3) + varint(2 << 3 | 4),
        field(2, varint(3 << 3 | 0) + b"\x05"),
        field(2, field(3, "\u00e9\u4e2d\U0001f600".encode())),
        field(3, field(1, b"type.googleapis.com/x") + field(2, b"\xff\xfe")),
        b"\xf0\x9f\x98\x80\x61\x01",
    ]:
        write("nacos_payload_wire", p)

    eureka_lits = all_literals("registry/eureka_*.cc")
    for v in eureka_lits:
        s = v.lstrip()
        if s[:1] in (b"{", b"["):
            write("eureka_json", v)
            write("eureka_apps_rewrite", v, b"\x00")
            write("eureka_apps_rewrite", v, b"\x01")
        elif s[:1] == b"<":
            write("eureka_xml", v)
            write("eureka_apps_rewrite", v, b"\x00")
    for r in api_requests("registry/eureka_store_test.cc", b"127.0.0.1:8761"):
        write("eureka_api", r)

    for v in all_literals("registry/consul_*.cc"):
        if v.lstrip()[:1] in (b"{", b"[") or re.fullmatch(rb"[0-9hmsun.]+", v):
            write("consul_json", v)

    for session in zookeeper_sessions():
        write("zookeeper_frames", session)
    for v in all_literals("registry/zookeeper/*.cc"):
        if v.lstrip()[:1] == b"{":
            write("zookeeper_instance", v)

    # http2_server prepends the client preface itself; the first byte is the piece size.
    settings = h2_frame(0x4, 0, 0, struct.pack(">HI", 0x3, 100))
    ack = h2_frame(0x4, 0x1, 0)
    write("http2_server", settings + ack + h2_request(1), b"\x3f")
    write("http2_server", settings + h2_request(1, b"POST", b"/p", b"hello") + h2_request(3), b"\x00")
    write("http2_server", settings + h2_request(1, extra=[(b"te", b"trailers")]) +
          h2_frame(0x8, 0, 0, struct.pack(">I", 65535)) + h2_frame(0x6, 0, 0, b"12345678") +
          h2_frame(0x3, 0, 1, struct.pack(">I", 8)) + h2_frame(0x7, 0, 0, struct.pack(">II", 1, 0)),
          b"\x05")
    write("http2_server", settings + h2_request(5, b"HEAD", b"/h") + h2_request(7) +
          h2_frame(0x9, 0x4, 7, b""), b"\x10")

    # http2_upgrade: piece size, an HTTP2-Settings value up to '\n' (curl's, the unit tests'),
    # then frames after the preface on the upgraded connection (stream 1 is taken).
    for value in [b"AAMAAABkAAQCAAAAAAIAAAAA", b"AAEAABAA", b"AAMAAA", b"AAIAAAAC",
                  b"-_v7-_v7"]:
        write("http2_upgrade", value + b"\n" + settings + ack + h2_request(3), b"\x3f")
    write("http2_upgrade", b"AAMAAABk\n" + settings + h2_request(1) + h2_request(5, b"POST",
          b"/p", b"hello"), b"\x07")

    for folder in sorted(CORPUS.iterdir()):
        print(f"{folder.name}: {len(list(folder.iterdir()))} inputs")


if __name__ == "__main__":
    main()
