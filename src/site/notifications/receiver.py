#!/usr/bin/env python3
"""A minimal receiver of Parley's offline notifications (operations.md, "Offline notifications").

Checks each POST's X-Parley-Signature (sha256=<hex HMAC-SHA256 of the raw body> under the shared
secret, compared in constant time), drops repeats by X-Parley-Delivery, prints the notification
and answers 204. A bad signature is answered 401 (Parley retries it, then gives up: fix the secret).
Replace print_notification() with the call to your push service (APNs, FCM, e-mail, ...).

  PARLEY_NOTIFICATIONS_SECRET='at-least-16-bytes-secret' python3 receiver.py --port 18210
  # and on the node(s):
  PARLEY_NOTIFICATIONS_URL=http://127.0.0.1:18210/notify PARLEY_NOTIFICATIONS_SECRET=... parley server

Only the Python 3 standard library. --fail N answers 500 to the first N notifications (to watch
Parley retry with backoff).
"""
import argparse
import collections
import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEEN = collections.OrderedDict()  # delivery ids already handled (bounded)
MAX_SEEN = 100_000


def print_notification(n):
    message = n.get("message", {})
    text = message.get("text")
    print(
        f"notify {n['user']}: {n['unread']} unread in {n.get('title') or n['conversation']}"
        f" ({n['messages']} new; latest #{message.get('seq')} from {message.get('sender')}"
        + (f": {text!r}" if text is not None else "")
        + ")",
        flush=True,
    )


def handler(secret, fail):
    remaining = [fail]

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, self.headers.get("X-Parley-Signature", "")):
                self.send_response(401)
                self.end_headers()
                return
            if remaining[0] > 0:
                remaining[0] -= 1
                self.send_response(500)
                self.end_headers()
                return
            delivery = self.headers.get("X-Parley-Delivery", "")
            if delivery not in SEEN:
                SEEN[delivery] = True
                if len(SEEN) > MAX_SEEN:
                    SEEN.popitem(last=False)
                print_notification(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    return Receiver


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18210)
    parser.add_argument("--fail", type=int, default=0, help="answer 500 to the first N notifications")
    args = parser.parse_args()
    secret = os.environ.get("PARLEY_NOTIFICATIONS_SECRET", "").encode()
    if len(secret) < 16:
        sys.exit("set PARLEY_NOTIFICATIONS_SECRET (at least 16 bytes, the same as the nodes')")
    server = ThreadingHTTPServer((args.host, args.port), handler(secret, args.fail))
    print(f"receiving Parley notifications on http://{args.host}:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
