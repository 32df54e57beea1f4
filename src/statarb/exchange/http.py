"""The only web code: a threading HTTP/1.1 server on 127.0.0.1 in front of ``LocalExchange``.

It turns sockets into ``api.Request`` objects and back, and applies the transport-level faults:
latency, injected HTTP errors (before or after processing) and dropped answers (the order was
processed and saved, then the socket is closed without a reply, at once or after a hold).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# importing the endpoint modules registers their routes
from statarb.exchange import (
    endpoints_account,  # noqa: F401
    endpoints_market,  # noqa: F401
    endpoints_orders,  # noqa: F401
    protocol,
)
from statarb.exchange.api import LocalExchange, Request, Response
from statarb.exchange.endpoints_admin import handle_admin
from statarb.exchange.faults import Fault
from statarb.exchange.protocol import Params

logger = logging.getLogger("statarb.exchange.http")


def http_error_response(fault: Fault, now_ms: int) -> Response:
    """Binance's answer for an injected 429 / 418 / 500 / 503."""
    retry = {"Retry-After": str(fault.retry_after_s)}
    if fault.status == 429:
        err = protocol.err_too_many_requests()
        return Response(429, err.body(), retry)
    if fault.status == 418:
        err = protocol.err_banned(now_ms + fault.retry_after_s * 1000)
        return Response(418, err.body(), retry)
    if fault.status == 500:
        err = protocol.err_internal()
        return Response(500, err.body())
    if fault.after:
        return Response(503, protocol.err_unknown_execution().body())
    return Response(503, {"code": -1001, "msg": "Service Unavailable."})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ExchangeHTTPServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without NODELAY, Nagle + delayed ACK
        # add ~40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - " + format, self.client_address[0], *args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _read_request(self, method: str) -> Request:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        headers = {k.lower(): v for k, v in self.headers.items()}
        params: dict[str, str] = dict(parse_qsl(split.query, keep_blank_values=True))
        json_body: Any = None
        if split.path.startswith("/admin/"):
            if raw_body.strip():
                try:
                    json_body = json.loads(raw_body)
                except json.JSONDecodeError:
                    json_body = raw_body
        elif raw_body:
            params.update(parse_qsl(raw_body, keep_blank_values=True))
        return Request(
            method=method,
            path=split.path,
            params=Params(params),
            headers=headers,
            raw_query=split.query,
            raw_body=raw_body,
            client_ip=self.client_address[0],
            json_body=json_body,
        )

    def _serve(self, method: str) -> None:
        started = time.perf_counter()
        req = self._read_request(method)
        app = self.server.app
        if req.path.startswith("/admin/"):
            self._send(handle_admin(app, req))
            return
        scope = app.scope(req)
        arrived_ms = app.venue.now_ms()
        latency = app.faults.take("latency", scope)
        if latency is not None:
            time.sleep(latency.latency_ms / 1000)
        garbage = app.faults.take("garbage", scope)
        if garbage is not None:
            if scope.is_order:
                app.log_unprocessed_order(req, outcome=f"garbage_{garbage.status}", code=None)
            self._send_raw(garbage.status, garbage.body_text.encode(), "application/json")
            return
        http_fault = app.faults.take("http_error", scope)
        if http_fault is not None and not http_fault.after:
            if scope.is_order:
                app.log_unprocessed_order(req, outcome=f"http_{http_fault.status}", code=None)
            self._send(http_error_response(http_fault, app.venue.now_ms()))
            return
        drop = app.faults.take("drop_response", scope) if scope.is_order else None
        resp = app.handle(req)
        if http_fault is not None:
            app.mark_dropped(resp.order_log_entries, "replaced_by_http_503")
            resp = http_error_response(http_fault, app.venue.now_ms())
        if drop is not None:
            app.mark_dropped(resp.order_log_entries, f"dropped_{drop.mode}")
            if drop.mode == "timeout":
                time.sleep(drop.hold_ms / 1000)
            self._abort()
            return
        self._send(resp)
        took_ms = (time.perf_counter() - started) * 1000
        app.log_request(scope, arrived_ms=arrived_ms, status=resp.status, took_ms=took_ms)
        logger.debug("%s %s -> %s in %.2f ms", method, req.path, resp.status, took_ms)

    def _abort(self) -> None:
        """Close the connection without a byte of answer (the client sees a reset/EOF)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, resp: Response) -> None:
        payload = json.dumps(resp.body, separators=(",", ":")).encode()
        self._send_raw(resp.status, payload, "application/json;charset=UTF-8", resp.headers)

    def _send_raw(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class ExchangeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: LocalExchange, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def start_in_thread(
    app: LocalExchange, port: int = 0
) -> tuple[ExchangeHTTPServer, threading.Thread]:
    """Serve in a background thread (benchmarks, the demo); ``server.shutdown()`` stops it."""
    server = ExchangeHTTPServer(app, port=port)
    thread = threading.Thread(target=server.serve_forever, name="local-exchange", daemon=True)
    thread.start()
    return server, thread
