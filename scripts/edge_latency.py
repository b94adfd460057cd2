"""HIT vs MISS latency through the edge (see scripts/edge-latency)."""
import json
import statistics
import sys
import time
import urllib.request
import uuid

base, count = sys.argv[1].rstrip("/"), int(sys.argv[2])


def request(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={"content-type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(req) as response:
        payload = response.read()
        elapsed_ms = (time.perf_counter() - started) * 1000
        return response.headers.get("x-cache"), elapsed_ms, payload


handle = "lat_" + uuid.uuid4().hex[:12]
_, _, created = request("POST", "/v1/users", {"handle": handle, "display_name": "Latency"})
profile = "/v1/users/" + json.loads(created)["id"]
request("GET", profile)  # store it

samples = {"HIT": [], "MISS": []}
for n in range(count):
    for path in (profile, f"{profile}?n={n}"):  # a new query string is a new cache key: a MISS
        state, elapsed_ms, _ = request("GET", path)
        samples.setdefault(state, []).append(elapsed_ms)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


print(f"edge latency through {base} ({count} requests each):")
for state in ("HIT", "MISS"):
    values = samples.get(state, [])
    if not values:
        sys.exit(f"no {state} responses: is the edge caching?")
    print(
        f"  {state:4}  median {statistics.median(values):6.2f} ms   p90 {percentile(values, 90):6.2f} ms"
        f"   p99 {percentile(values, 99):6.2f} ms   (n={len(values)})"
    )
