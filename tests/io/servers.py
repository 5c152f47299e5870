"""Servers the storage tests start on 127.0.0.1 and stop themselves.

- `MotoS3`: moto's real S3 server (HTTP on a free port), reached through the standard
  AWS_ENDPOINT_URL / AWS_* variables exactly as a MinIO endpoint would be.
- `FaultyHttp`: an HTTP file server that misbehaves on purpose, per request path prefix:
  `/truncate/N/<file>` sends a full Content-Length and half the body, then closes (N times);
  `/reset/N/<file>` closes the connection without an answer (N times);
  `/503/N/<file>` answers 503 (N times); `/always-truncate/<file>` never sends a full body;
  `/badmd5/N/<file>` sends a wrong Content-MD5 (N times); `/norange/...` (a prefix before
  any of these) ignores Range headers; `/md5/<file>` sends the correct Content-MD5.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import logging
import os
import re
import threading
from collections import Counter
from pathlib import Path
from typing import Any

BUCKET = "llamapipe-realdata"


class MotoS3:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> MotoS3:
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        for key, value in env.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value
        import boto3

        self.client = boto3.client("s3")
        self.client.create_bucket(Bucket=BUCKET)
        return self

    def upload_tree(self, root: Path, prefix: str = "") -> None:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                key = prefix + path.relative_to(root).as_posix()
                self.client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_MODE_RE = re.compile(r"^/(truncate|reset|503|badmd5)/(\d+)(/.*)$")


class _FaultyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root: Path
    hits: Counter

    def log_message(self, *args: object) -> None:
        return None

    def do_HEAD(self) -> None:  # noqa: N802 (http.server API)
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        path = self.path
        ranges = True
        if path.startswith("/norange/"):
            ranges, path = False, path[len("/norange") :]
        mode, times = "ok", 0
        match = _MODE_RE.match(path)
        if match:
            mode, times, path = match.group(1), int(match.group(2)), match.group(3)
        elif path.startswith("/always-truncate/"):
            mode, times, path = "truncate", 1 << 30, path[len("/always-truncate") :]
        send_md5 = path.startswith("/md5/")
        if send_md5:
            path = path[len("/md5") :]
        file = self.root / path.lstrip("/")
        if not file.is_file():
            self.send_error(404, "not found")
            return
        data = file.read_bytes()
        if not head:
            self.hits[self.path] += 1
        failing = not head and self.hits[self.path] <= times
        if failing and mode == "503":
            self.send_error(503, "slow down")
            return
        if failing and mode == "reset":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        start = 0
        header = self.headers.get("Range")
        if ranges and header and (m := re.match(r"bytes=(\d+)-$", header)):
            start = int(m.group(1))
        body = data[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        if ranges:
            self.send_header("Accept-Ranges", "bytes")
        digest = hashlib.md5(data).digest()
        if mode == "badmd5" and (failing or head):
            digest = hashlib.md5(data + b"x").digest()
        if (send_md5 or mode == "badmd5") and not start:
            self.send_header("Content-MD5", base64.b64encode(digest).decode())
        self.end_headers()
        if head:
            return
        if failing and mode == "truncate":
            self.wfile.write(body[: max(1, len(body) // 2)])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


class FaultyHttp:
    def __init__(self, root: Path) -> None:
        handler: Any = type("Handler", (_FaultyHandler,), {"root": root, "hits": Counter()})
        self.hits = handler.hits
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultyHttp:
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def url(self, rel: str) -> str:
        return f"{self.base}/{rel.lstrip('/')}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
