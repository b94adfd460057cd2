"""The measuring half of scripts/bench (which builds, starts and stops everything): one subcommand per figure,
each printing its figures as one JSON object; `report` turns them into docs/performance.md.

  seed URL POSTS             a profile and POSTS posts through that origin → {"posts": [ids]}
  answer URL BODY_FILE       an origin's answer: its body into BODY_FILE → its content-type and cache-control
  event POST_ID              the API Gateway HTTP API (v2) event of GET /v1/posts/POST_ID, as the api receives it
  load OHA URL               oha at full speed, then at half the rate it reached → requests/s, p50, p99
  calls EMULATOR ORIGIN OHA HIT_ID MISS_ID
                             DynamoDB calls per request on the origin: a key it holds, a key it never saw
  edge EMULATOR EDGE IDS..   HIT and MISS latency through the edge, and DynamoDB calls behind each
  report RESULTS DOC         the figures in RESULTS/*.json into DOC, between its bench markers; prints the summary

Requests to a host carry X-Edge-Secret from $BENCH_EDGE_SECRET (the hosts answer only the edge); `seed` asks the
local issuer at $AUTH_ISSUER for a token.
"""
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

SECRET_HEADER = "x-edge-secret"


class Client:
    """One keep-alive HTTP/1.1 connection to a host, timing each exchange."""

    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)

    def request(self, method, path, body=None, headers=()):
        headers = dict(headers)
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["content-type"] = "application/json"
        started = time.perf_counter()
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        payload = response.read()
        elapsed_ms = (time.perf_counter() - started) * 1000
        return response, payload, elapsed_ms


def secret_headers():
    return {SECRET_HEADER: os.environ["BENCH_EDGE_SECRET"]}


def expect(status, response, payload, what):
    if response.status != status:
        sys.exit(f"{what}: expected {status}, got {response.status} {payload[:300]!r}")
    return json.loads(payload) if payload else None


# --- seed ------------------------------------------------------------------------------------------------------

def seed(origin, count):
    issuer = Client(os.environ["AUTH_ISSUER"])
    token = expect(200, *issuer.request("POST", "/token", {"expires_in": 3600})[:2], "asking the issuer for a token")
    client = Client(origin)
    writer = {**secret_headers(), "authorization": f"Bearer {token['access_token']}"}
    handle = "bench_" + uuid.uuid4().hex[:12]
    expect(201, *client.request("POST", "/v1/users", {"handle": handle, "display_name": "Bench"}, writer)[:2],
           "creating the bench's profile")
    posts = []
    for n in range(count):
        headers = {**writer, "idempotency-key": str(uuid.uuid4())}
        body = {"body": f"post {n} of a benchmark: the same size every time, about as long as a short post is."}
        posts.append(expect(201, *client.request("POST", "/v1/posts", body, headers)[:2], "creating a post")["id"])
    return {"posts": posts}


def answer(url, body_file):
    parts = urllib.parse.urlsplit(url)
    response, payload, _ = Client(url).request("GET", parts.path, headers=secret_headers())
    expect(200, response, payload, f"GET {url}")
    Path(body_file).write_bytes(payload)
    return {name: response.getheader(name) for name in ("content-type", "cache-control")}


def event(post_id):
    path = f"/v1/posts/{post_id}"
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"accept": "application/json", "host": "bench.lambda-url.us-east-1.on.aws",
                    "x-forwarded-proto": "https", **secret_headers()},
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "domainName": "bench.lambda-url.us-east-1.on.aws",
            "domainPrefix": "bench", "requestId": "bench", "routeKey": "$default", "stage": "$default",
            "time": "23/Nov/2026:12:00:00 +0000", "timeEpoch": 1795953600000,
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                     "userAgent": "bench"},
        },
        "isBase64Encoded": False,
    }


# --- load (oha) ------------------------------------------------------------------------------------------------

def oha(binary, url, extra):
    duration = os.environ.get("BENCH_DURATION", "10s")
    connections = os.environ.get("BENCH_CONNECTIONS", "32")
    command = [binary, "--no-tui", "--output-format", "json", "-z", duration, "-c", connections,
               "-H", f"{SECRET_HEADER}: {os.environ['BENCH_EDGE_SECRET']}", *extra, url]
    report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    statuses = {int(code): n for code, n in report["statusCodeDistribution"].items()}
    # Requests still in flight when the run ends are cut off ("aborted due to deadline"): not failures.
    errors = {error: n for error, n in report["errorDistribution"].items() if "deadline" not in error}
    failed = sum(n for code, n in statuses.items() if code != 200) + sum(errors.values())
    if failed:
        sys.exit(f"{url}: {failed} requests failed ({statuses}, {errors})")
    percentiles = report["latencyPercentiles"]
    return {
        "requests_per_s": report["summary"]["requestsPerSec"],
        "p50_ms": percentiles["p50"] * 1000,
        "p99_ms": percentiles["p99"] * 1000,
        "requests": sum(statuses.values()),
    }


def load(binary, url):
    full = oha(binary, url, [])
    rate = full["requests_per_s"] / 2
    half = oha(binary, url, ["-q", f"{rate:.0f}"])
    return {"full": full, "half": {**half, "rate": rate}}


# --- DynamoDB calls --------------------------------------------------------------------------------------------

class Calls:
    """Reads the emulator's count of DynamoDB calls (infra/local/moto_calls.py)."""

    def __init__(self, emulator):
        self.client = Client(emulator)

    def dynamodb(self):
        response, payload, _ = self.client.request("GET", "/_stampede/calls")
        counts = expect(200, response, payload, "reading the emulator's call counts")
        return sum(n for operation, n in counts.items() if operation.startswith("DynamoDB_"))


def oha_requests(binary, url, requests, connections):
    command = [binary, "--no-tui", "--output-format", "json", "-n", str(requests), "-c", str(connections),
               "-H", f"{SECRET_HEADER}: {os.environ['BENCH_EDGE_SECRET']}", url]
    report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    if report["statusCodeDistribution"] != {"200": requests}:
        sys.exit(f"{url}: expected {requests} × 200, got {report['statusCodeDistribution']}")


def calls(emulator, origin, binary, hit_id, miss_id, requests=100):
    """A key the origin reads once and then `requests` times (well within any cache TTL of the first read), and a
    key it never read, `requests` times at once (concurrent misses of one key)."""
    counter = Calls(emulator)
    client = Client(origin)
    expect(200, *client.request("GET", f"/v1/posts/{hit_id}", headers=secret_headers())[:2], "the first read")
    before = counter.dynamodb()
    oha_requests(binary, f"{origin}/v1/posts/{hit_id}", requests, 16)
    hit = counter.dynamodb() - before
    before = counter.dynamodb()
    oha_requests(binary, f"{origin}/v1/posts/{miss_id}", requests, requests)
    miss = counter.dynamodb() - before
    return {"requests": requests, "hit_per_request": hit / requests, "miss_per_request": miss / requests,
            "miss_per_key": miss}


# --- edge --------------------------------------------------------------------------------------------------------

def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# A path the edge answers by itself (a malformed post id: 404, no cache lookup, no rate limit, no upstream): the
# fixed cost every request through `wrangler dev` pays (this client, wrangler's proxy worker, miniflare's entry
# worker, the Worker's own request handling), measured beside HIT and MISS.
FLOOR_PATH = "/v1/posts/not-an-id"


def edge(emulator, base, ids, chunk=20):
    """Each post read twice through the edge: first a MISS (edge → origin), then a HIT, then as many requests of
    FLOOR_PATH. Chunks of posts keep every HIT within the post's s-maxage of its MISS; the emulator's call count
    is read around each pass."""
    client = Client(base)
    counter = Calls(emulator)
    samples = {"MISS": [], "HIT": [], "floor": []}
    dynamodb = {"MISS": 0, "HIT": 0, "floor": 0}
    for start in range(0, len(ids), chunk):
        group = ids[start:start + chunk]
        for expected in ("MISS", "HIT", "floor"):
            before = counter.dynamodb()
            for post in group:
                path = FLOOR_PATH if expected == "floor" else f"/v1/posts/{post}"
                response, payload, elapsed_ms = client.request("GET", path)
                if expected == "floor":
                    expect(404, response, payload, f"GET {path} through the edge")
                    samples[expected].append(elapsed_ms)
                    continue
                expect(200, response, payload, f"GET {path} through the edge")
                state = response.getheader("x-cache")
                if state != expected:
                    sys.exit(f"GET {path} through the edge: expected x-cache {expected}, got {state}")
                samples[expected].append(elapsed_ms)
            dynamodb[expected] += counter.dynamodb() - before
    return {
        state: {"median_ms": statistics.median(values), "p90_ms": percentile(values, 90),
                "p99_ms": percentile(values, 99), "requests": len(values),
                "dynamodb_per_request": dynamodb[state] / len(values)}
        for state, values in samples.items()
    }


# --- report ------------------------------------------------------------------------------------------------------

def mb(size):
    return f"{size / 1e6:.2f} MB"


def kb(size):
    return f"{size / 1e3:.0f} KB"


def ms(value):
    return f"{value:.2f} ms"


def rate(value):
    return f"{value:,.0f}/s".replace(",", " ")


def machine_facts(facts):
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                         if line.startswith("MemTotal")))
    return [
        f"- Date: {facts['date']}; commit `{facts['commit']}`",
        f"- Machine: {cpu}, {os.cpu_count()} cores, {memory_kb / 1024 / 1024:.1f} GiB memory, Linux "
        f"{platform.release()}",
        f"- Load average {facts['load_before']} as the measurements began (the build's, and any other work's)",
        f"- Tools: {facts['rustc']}; {facts['oha']} ({facts['duration']} per load run, {facts['connections']} "
        f"connections); wrangler {facts['wrangler']}",
    ]


def summary(results):
    """(figure, this run, goal, met) for each goal of the read path."""
    bare, cached = results["load-bare"]["full"], results["load-cached"]
    hello, api = results["lambda-hello"], results["lambda-api"]
    calls_cached, edge_run, sizes = results["calls-cached"], results["edge"], results["sizes"]
    vs_bare = cached["full"]["requests_per_s"] / bare["requests_per_s"]
    init_ratio = api["init_ms"] / hello["init_ms"]
    hit_vs_miss = edge_run["HIT"]["median_ms"] / edge_run["MISS"]["median_ms"]
    return [
        ("origin cached GET vs bare axum, same run",
         f"{vs_bare:.3f}× ({rate(cached['full']['requests_per_s'])} vs {rate(bare['requests_per_s'])})",
         "≥ 0.8×", vs_bare >= 0.8),
        ("origin cached GET p99 at half load", f"{ms(cached['half']['p99_ms'])} at {rate(cached['half']['rate'])}",
         "≤ 5 ms", cached["half"]["p99_ms"] <= 5),
        ("DynamoDB calls per cached read: hit", f"{calls_cached['hit_per_request']:.2f} per request", "0",
         calls_cached["hit_per_request"] == 0),
        ("DynamoDB calls per cached read: miss",
         f"{calls_cached['miss_per_key']} for one key read {calls_cached['requests']} times at once",
         "≤ 1 per key per TTL", calls_cached["miss_per_key"] <= 1),
        ("api function init vs hello bootstrap",
         f"{ms(api['init_ms'])} vs {ms(hello['init_ms'])} ({init_ratio:.1f}×)", "≤ 1.5×", init_ratio <= 1.5),
        ("api zip", mb(sizes["api_zip"]), "≤ 4 MB", sizes["api_zip"] <= 4e6),
        ("edge HIT vs MISS (wrangler dev)",
         f"{ms(edge_run['HIT']['median_ms'])} vs {ms(edge_run['MISS']['median_ms'])} ({hit_vs_miss:.2f}×; "
         f"floor {ms(edge_run['floor']['median_ms'])})",
         "HIT ≤ 0.3× MISS", hit_vs_miss <= 0.3),
        ("edge wasm gzipped", kb(sizes["wasm_gzip"]), "≤ 250 KB", sizes["wasm_gzip"] <= 250e3),
    ]


def details(results):
    bare = results["load-bare"]["full"]
    hello, api, by_value = results["lambda-hello"], results["lambda-api"], results["lambda-api-secrets-by-value"]
    calls_cached, calls_uncached = results["calls-cached"], results["calls-uncached"]
    edge_run, sizes = results["edge"], results["sizes"]
    lines = [
        "### (a, b) Origin `GET /v1/posts/{id}` vs a bare axum server answering the same bytes",
        "",
        "| server | requests/s | p50 | p99 | × bare axum | at half that rate: p50 | p99 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, key in (("bare axum", "load-bare"), ("origin, cached", "load-cached"),
                      ("origin, uncached (`READ_CACHE_TTL_MS=0`)", "load-uncached")):
        full, half = results[key]["full"], results[key]["half"]
        lines.append(f"| {name} | {rate(full['requests_per_s'])} | {ms(full['p50_ms'])} | {ms(full['p99_ms'])} | "
                     f"{full['requests_per_s'] / bare['requests_per_s']:.3f}× | {ms(half['p50_ms'])} | "
                     f"{ms(half['p99_ms'])} |")
    cached_vs_uncached = results["load-cached"]["full"]["requests_per_s"] / results["load-uncached"]["full"][
        "requests_per_s"]
    lines += [
        "",
        f"Cached vs uncached: {cached_vs_uncached:.1f}× the requests/s.",
        "",
        "### (c) The api function under a local Lambda Runtime API",
        "",
        f"Medians over {api['starts']} starts of each bootstrap ({api['warm_invokes']} warm invokes).",
        "",
        "| bootstrap | init | first invoke | warm invoke | binary |",
        "|---|---|---|---|---|",
        f"| hello world (`lambda_runtime`) | {ms(hello['init_ms'])} | {ms(hello['first_invoke_ms'])} | "
        f"{ms(hello['warm_invoke_ms'])} | {mb(sizes['hello_binary'])} |",
        f"| api, `GET /v1/posts/{{id}}` | {ms(api['init_ms'])} | {ms(api['first_invoke_ms'])} | "
        f"{ms(api['warm_invoke_ms'])} | {mb(sizes['api_binary'])} |",
        f"| api, its secrets given by value | {ms(by_value['init_ms'])} | {ms(by_value['first_invoke_ms'])} | "
        f"{ms(by_value['warm_invoke_ms'])} | same |",
        "",
        f"Init {api['init_ms'] / hello['init_ms']:.1f}× hello's ({by_value['init_ms'] / hello['init_ms']:.1f}× "
        "without reading its two secrets from Secrets Manager);",
        f"warm invokes {ms(api['warm_invoke_ms'] - hello['warm_invoke_ms'])} above hello's; "
        f"zip {mb(sizes['api_zip'])} ({sizes['api_zip']} bytes).",
        "",
        "### (d) The edge under `wrangler dev`, in front of the cached origin",
        "",
        "| x-cache | median | p90 | p99 | requests |",
        "|---|---|---|---|---|",
        *(f"| {state} | {ms(edge_run[state]['median_ms'])} | {ms(edge_run[state]['p90_ms'])} | "
          f"{ms(edge_run[state]['p99_ms'])} | {edge_run[state]['requests']} |" for state in ("HIT", "MISS")),
        f"| floor: `GET {FLOOR_PATH}`, the edge's own 404 | {ms(edge_run['floor']['median_ms'])} | "
        f"{ms(edge_run['floor']['p90_ms'])} | {ms(edge_run['floor']['p99_ms'])} | {edge_run['floor']['requests']} |",
        "",
        f"Above the floor (what every request through `wrangler dev` pays: this client, wrangler's proxy worker, "
        f"miniflare's entry worker, the Worker's request handling): HIT "
        f"+{ms(edge_run['HIT']['median_ms'] - edge_run['floor']['median_ms'])}, MISS "
        f"+{ms(edge_run['MISS']['median_ms'] - edge_run['floor']['median_ms'])}.",
        "",
        f"Worker wasm {kb(sizes['wasm'])}, {kb(sizes['wasm_gzip'])} gzipped ({sizes['wasm']} and "
        f"{sizes['wasm_gzip']} bytes).",
        "",
        "### (e) DynamoDB calls per request, counted at the emulator",
        "",
        "| read | calls per request |",
        "|---|---|",
        f"| origin, cached: a post it has read ({calls_cached['requests']} reads) | "
        f"{calls_cached['hit_per_request']:.2f} |",
        f"| origin, cached: a post it never read ({calls_cached['requests']} reads at once) | "
        f"{calls_cached['miss_per_request']:.2f} ({calls_cached['miss_per_key']} calls for the key) |",
        f"| origin, uncached: a post it has read ({calls_uncached['requests']} reads) | "
        f"{calls_uncached['hit_per_request']:.2f} |",
        f"| edge HIT | {edge_run['HIT']['dynamodb_per_request']:.2f} |",
        f"| edge MISS (the cached origin reads a post it never read) | "
        f"{edge_run['MISS']['dynamodb_per_request']:.2f} |",
    ]
    return lines


BEGIN, END = "<!-- scripts/bench writes from here -->", "<!-- to here -->"


def report(results_dir, doc):
    results = {path.stem: json.loads(path.read_text()) for path in Path(results_dir).glob("*.json")}
    table = ["| figure | this run | goal | met |", "|---|---|---|---|"]
    table += [f"| {figure} | {value} | {goal} | {'✓' if ok else '✗'} |"
              for figure, value, goal, ok in summary(results)]
    generated = [BEGIN, *machine_facts(results["machine"]), "", *table, "", *details(results), END]
    text = Path(doc).read_text()
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    Path(doc).write_text(head + "\n".join(generated) + tail)
    print("\n".join(table))


def main(argv):
    command, args = argv[0], argv[1:]
    if command == "report":
        report(*args)
        return
    figures = {
        "seed": lambda: seed(args[0], int(args[1])),
        "answer": lambda: answer(*args),
        "event": lambda: event(*args),
        "load": lambda: load(*args),
        "calls": lambda: calls(*args),
        "edge": lambda: edge(args[0], args[1], args[2:]),
    }[command]()
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
