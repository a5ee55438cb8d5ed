#!/usr/bin/env python3
"""Load for the offline-notification benchmark (notifications.sh): one in-process webhook receiver
(verifies each signature, counts, records message -> notification latency from the payload's
message.ts) and SENDERS threads posting messages through the HTTP API (keep-alive) at RATE msgs/s
to CONVERSATIONS conversations whose other MEMBERS-1 members never connect, so every message is
for MEMBERS-1 offline people. Prints one JSON line of results.

  notifications-load.py --api http://127.0.0.1:18221 --token T --secret S --port 18220 \
      --conversations 200 --members 5 --rate 200 --duration 60 --warmup 10
"""
import argparse, hashlib, hmac, http.client, json, threading, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
received = []  # (receive time s, message ts ms, messages covered)
bad = [0]


def receiver(secret):
    class R(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Parley's client uses

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            now = time.time()
            ok = hmac.compare_digest("sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest(),
                                     self.headers.get("X-Parley-Signature", ""))
            if ok:
                n = json.loads(body)
                with lock:
                    received.append((now, n["message"]["ts"], n["messages"]))
            else:
                bad[0] += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    return R


def post(conn, path, token, body):
    conn.request("POST", path, json.dumps(body), {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    return r.status


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--api", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--port", type=int, default=18220)
    p.add_argument("--conversations", type=int, default=200)
    p.add_argument("--members", type=int, default=5)
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--warmup", type=float, default=10)
    p.add_argument("--senders", type=int, default=4)
    p.add_argument("--run", default=str(int(time.time())))
    p.add_argument("--off", action="store_true", help="notifications are off on the node: expect none")
    a = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", a.port), receiver(a.secret.encode()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    u = urllib.parse.urlparse(a.api)
    setup = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    convs = []
    for c in range(a.conversations):
        cid = f"nb-{a.run}-{c}"
        members = [f"off-{a.run}-{c}-{m}" for m in range(a.members - 1)]
        status = post(setup, "/v1/conversations", a.token, {"conversation": cid, "members": members})
        if status not in (200, 201):
            raise SystemExit(f"creating {cid} answered HTTP {status}")
        convs.append(cid)
    time.sleep(2)  # the inbox projection sees the conversations' members
    start = time.time()
    measure_from, end = start + a.warmup, start + a.warmup + a.duration
    sent = [0] * a.senders
    sent_measured = [0] * a.senders
    failures = [0]

    def sender(i):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        interval = a.senders / a.rate
        k = 0
        next_at = start + i * interval / a.senders
        while True:
            now = time.time()
            if now >= end:
                return
            if now < next_at:
                time.sleep(next_at - now)
            cid = convs[(k * a.senders + i) % len(convs)]
            try:
                status = post(conn, f"/v1/conversations/{cid}/messages", a.token, {"clientMsgId": f"{i}-{k}", "text": "load " * 10})
                if status != 201:
                    failures[0] += 1
            except Exception:
                failures[0] += 1
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
            sent[i] += 1
            if measure_from <= next_at < end:
                sent_measured[i] += 1
            k += 1
            next_at += interval

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(a.senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = 0 if a.off else sum(sent) * (a.members - 1)
    deadline = time.time() + 60
    while time.time() < deadline:
        with lock:
            covered = sum(r[2] for r in received)
        if covered >= expected:
            break
        time.sleep(0.5)
    with lock:
        window = [r for r in received if measure_from <= r[1] / 1000.0 < end]
        covered = sum(r[2] for r in received)
        lat = sorted(r[0] * 1000.0 - r[1] for r in window)
    q = lambda f: round(lat[min(len(lat) - 1, int(f * len(lat)))], 1) if lat else None
    print(json.dumps({
        "messages_sent": sum(sent), "send_failures": failures[0], "messages_measured": sum(sent_measured),
        "offered_msgs_per_s": a.rate, "recipients_per_message": a.members - 1,
        "notifications_in_window": len(window), "notifications_per_s": round(len(window) / a.duration, 1),
        "messages_covered_total": covered, "expected_covered_total": expected, "bad_signatures": bad[0],
        "latency_ms_p50": q(0.5), "latency_ms_p99": q(0.99), "latency_ms_max": q(1.0) if lat else None,
    }))
    server.shutdown()


if __name__ == "__main__":
    main()
