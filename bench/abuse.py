#!/usr/bin/env python3
"""Replays the attacks of a hostile guest against a running quizcast and prints, for each,
the status the server gives and how long it took. Standard library only.

    ./target/release/quizcast --addr 127.0.0.1:8090 &
    python3 bench/abuse.py http://127.0.0.1:8090
"""
import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8090"
U = urllib.parse.urlparse(BASE)
ROWS = []


def req(method, path, body=None, headers=None, token=None, timeout=60):
    h = dict(headers or {})
    if token:
        h["authorization"] = f"Bearer {token}"
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h.setdefault("content-type", "application/json")
    conn = http.client.HTTPConnection(U.hostname, U.port, timeout=timeout)
    t = time.perf_counter()
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    ms = (time.perf_counter() - t) * 1000
    conn.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data, ms


def row(attack, status, ms, note=""):
    ROWS.append((attack, status, ms, note))
    print(f"{attack:<58} {status!s:<9} {ms:>9.1f} ms  {note}", flush=True)


def csv_rows(text):
    import csv
    import io
    return list(csv.reader(io.StringIO(text)))


def guest(name):
    s, _, d, _ = req("POST", "/api/v1/auth/guest", {"display_name": name})
    assert s == 201, (s, d)
    return json.loads(d)


def quiz_body(n=2, choices=4):
    return {"title": "t", "questions": [
        {"prompt": f"w{i}", "choices": [f"c{i}-{c}" for c in range(choices)], "correct_choice": 0}
        for i in range(n)]}


def main():
    host = guest("Host")["token"]
    # 1. One question of 100,000 choices.
    big = {"title": "t", "questions": [{"prompt": "p", "choices": [f"c{i}" for i in range(100_000)], "correct_choice": 0}]}
    s, _, d, ms = req("POST", "/api/v1/quizzes", big, token=host)
    row("100k choices in one question (%d KB)" % (len(json.dumps(big)) // 1024), s, ms, f"body {len(d)} B")
    # 2. Two 30k-choice requests while /healthz is asked.
    mid = {"title": "t", "questions": [{"prompt": "p", "choices": [f"c{i}" for i in range(30_000)], "correct_choice": 0}]}
    worst = [0.0]
    done = threading.Event()

    def probe():
        while not done.is_set():
            _, _, _, ms = req("GET", "/healthz")
            worst[0] = max(worst[0], ms)
    p = threading.Thread(target=probe)
    p.start()
    ts = [threading.Thread(target=req, args=("POST", "/api/v1/quizzes", mid), kwargs={"token": host}) for _ in range(2)]
    t0 = time.perf_counter()
    [t.start() for t in ts]
    [t.join() for t in ts]
    done.set()
    p.join()
    row("two 30k-choice quizzes at once: slowest /healthz", 200, worst[0], f"both answered in {(time.perf_counter()-t0)*1000:.0f} ms")
    # 3. 12,000 invalid questions.
    bad = {"title": "t", "questions": [{"prompt": "", "choices": ["a"], "correct_choice": 9} for _ in range(12_000)]}
    s, _, d, ms = req("POST", "/api/v1/quizzes", bad, token=host)
    row("12,000 invalid questions (%d KB)" % (len(json.dumps(bad)) // 1024), s, ms, f"problem body {len(d)} B")
    # 4. Word list of 40,000 rows.
    csv = "".join(f"word{i},meaning{i}\n" for i in range(40_000)).encode()
    s, _, d, ms = req("POST", "/api/v1/quizzes/import", csv, {"content-type": "text/csv"}, token=host)
    row("word list of 40,000 rows (%d KB)" % (len(csv) // 1024), s, ms)
    # 5. Sessions as fast as possible.
    s, _, d, _ = req("POST", "/api/v1/quizzes", quiz_body(), token=host)
    quiz = json.loads(d)["quiz_id"]
    codes, first_403, t0 = [], None, time.perf_counter()
    for i in range(40):
        s, _, d, _ = req("POST", "/api/v1/sessions", {"quiz_id": quiz}, token=host)
        if s == 201:
            codes.append(json.loads(d)["session_id"])
        elif first_403 is None:
            first_403 = (i + 1, s, json.loads(d)["detail"])
    row("40 sessions in a row by one host", f"{len(codes)}x201", (time.perf_counter() - t0) * 1000,
        f"then {first_403[1]} at #{first_403[0]}: {first_403[2]}" if first_403 else "no limit")
    # 6. Hosting someone else's quiz to read its answers.
    spy = guest("Spy")["token"]
    s, _, d, ms = req("POST", "/api/v1/sessions", {"quiz_id": quiz}, token=spy)
    row("host another author's quiz", s, ms, json.loads(d).get("detail", ""))
    # 7. The host joins their own session.
    s, _, d, ms = req("POST", f"/api/v1/sessions/{codes[0]}/join", {}, token=host)
    row("host joins own session", s, ms)
    # 8. Names with bidi overrides / zero-width characters.
    for label, name in [("bidi override", "Ana\u202egnp.exe"), ("zero-width", "A\u200bna"), ("BOM", "\ufeffAna")]:
        s, _, d, ms = req("POST", "/api/v1/auth/guest", {"display_name": name})
        row(f"display name with {label}", s, ms)
    # 9. Formula injection through a name, seen in the CSV.
    evil = guest('=HYPERLINK("http://x","y")')
    code = codes[1]
    req("POST", f"/api/v1/sessions/{code}/join", {}, token=evil["token"])
    req("POST", f"/api/v1/sessions/{code}/start", {}, token=host)
    req("POST", f"/api/v1/sessions/{code}/end", {}, token=host)
    s, _, d, ms = req("GET", f"/api/v1/sessions/{code}/results?format=csv", token=host)
    cells = [c for r in csv_rows(d.decode()) for c in r]
    cell = next((c for c in cells if "HYPERLINK" in c), "")
    row("formula name in results CSV", s, ms, f"cell starts {cell[:4]!r}")
    # 10. Unknown-code lookups.
    got = []
    t0 = time.perf_counter()
    for i in range(35):
        code = f"ZZZ{i:03d}".replace("0", "Z").replace("1", "Y")
        s, _, _, _ = req("GET", f"/api/v1/sessions/{code}", token=spy)
        got.append(s)
    row("35 unknown session codes in a row", "/".join(f"{got.count(c)}x{c}" for c in sorted(set(got))), (time.perf_counter() - t0) * 1000)
    # 11. Cross-site cookie POST (CSRF).
    s, _, _, ms = req("POST", f"/api/v1/sessions/{codes[2]}/start", b"{}",
                      {"cookie": f"quiz_token={host}", "origin": "http://127.0.0.1:9999", "content-type": "application/json"})
    row("cookie POST from another origin", s, ms)
    # 12. ?access_token= on a POST.
    s, _, _, ms = req("POST", f"/api/v1/sessions/{codes[2]}/start?access_token={host}", b"{}", {"content-type": "application/json"})
    row("?access_token= on a POST", s, ms)
    # 13. Headers.
    s, h, _, ms = req("GET", "/")
    row("HTML security headers", s, ms, "CSP=%s nosniff=%s referrer=%s" % (
        "frame-ancestors 'none'" in h.get("content-security-policy", ""), h.get("x-content-type-options"), h.get("referrer-policy")))
    s, h, _, ms = req("POST", "/api/v1/auth/guest", {"display_name": "Cache"})
    row("token reply Cache-Control", s, ms, h.get("cache-control", "-"))
    # 14. Metrics on a fresh server.
    s, _, d, ms = req("GET", "/metrics")
    fams = sum(1 for l in d.decode().splitlines() if l.startswith("# TYPE"))
    row("GET /metrics", s, ms, f"{fams} families")
    # 15. A reader that never reads.
    host2 = guest("Host2")["token"]
    s_, _, d, _ = req("POST", "/api/v1/quizzes", {"title": "t", "questions": [
        {"prompt": "p" * 500, "choices": ["a" * 500, "b" * 500], "correct_choice": 0, "time_limit_ms": 5000} for _ in range(200)]}, token=host2)
    q = json.loads(d)["quiz_id"]
    s_, _, d, _ = req("POST", "/api/v1/sessions", {"quiz_id": q}, token=host2)
    c = json.loads(d)["session_id"]
    lazy = guest("Lazy")["token"]
    sock = socket.create_connection((U.hostname, U.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(f"GET /api/v1/sessions/{c}/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {lazy}\r\n\r\n".encode())
    t0 = time.perf_counter()
    for _ in range(200):
        req("POST", f"/api/v1/sessions/{c}/next", {}, token=host2)
        req("POST", f"/api/v1/sessions/{c}/next", {}, token=host2)
    # Read nothing for 35 s, then see whether the server has cut the connection.
    time.sleep(35)
    sock.settimeout(5)
    closed = False
    try:
        while True:
            if not sock.recv(1 << 20):
                closed = True
                break
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        pass
    row("SSE client that never reads (checked after 35 s)", "closed" if closed else "OPEN",
        (time.perf_counter() - t0) * 1000)


if __name__ == "__main__":
    main()
