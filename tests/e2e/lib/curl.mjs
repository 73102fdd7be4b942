// curl (Debian's, scripts/install-deps.sh) as a real HTTP/2 client that upgrades: `curl --http2`
// on http:// URLs sends the first request as HTTP/1.1 with `Upgrade: h2c` + HTTP2-Settings and,
// after a 101, goes on with HTTP/2 on the same connection for the rest.

// Arguments for one curl run over `urls` (one connection); -v lines go to stderr.
export function curlH2cArgs(urls, { host } = {}) {
  const args = ['-sS', '-v', '--http2', '--max-time', '10', '-w', '\n@@%{http_code} %{http_version}@@\n'];
  if (host) args.push('-H', `Host: ${host}`);
  return [...args, ...urls];
}

// curl's stdout for curlH2cArgs: one { status, version, body } per URL.
export function parseCurlResults(stdout) {
  const results = [];
  const re = /([\s\S]*?)\n@@(\d{3}) (\S+)@@\n/g;
  for (let m = re.exec(stdout); m; m = re.exec(stdout)) {
    results.push({ status: Number(m[2]), version: m[3], body: m[1] });
  }
  return results;
}

// What curl's -v trace must show for an upgrade the server took: the request asked for h2c, the
// answer was 101, and the next URL went on the same connection as stream 3.
export function h2cTraceProblems(trace) {
  const expected = [
    [/^> Upgrade: h2c\r?$/mi, 'curl sent Upgrade: h2c'],
    [/^> HTTP2-Settings: \S+/mi, 'curl sent HTTP2-Settings'],
    [/^< HTTP\/1\.1 101 Switching Protocols/mi, 'a 101 came back'],
    [/^< Upgrade: h2c/mi, 'the 101 says Upgrade: h2c'],
    [/Re-using existing connection/i, 'the second URL reused the connection'],
    [/Stream ID: 3\b/, 'the second URL was stream 3'],
  ];
  return expected.filter(([re]) => !re.test(trace)).map(([, what]) => what);
}
