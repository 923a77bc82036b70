#!/usr/bin/env python3
"""refgw: a small reference LLM gateway for crossfire's `command` target.

It needs nothing but Python 3's standard library. Clients speak OpenAI chat
completions to it (POST /v1/chat/completions); it forwards to the upstreams of
the model group, in the OpenAI or Anthropic dialect, and moves on as its
config says. Anthropic upstreams are called without streaming; a streaming
client gets their answer as an OpenAI stream of one content chunk. Its behaviour is set per model group, so one file can show every
routing behaviour crossfire classifies:

  mode "fallback"     try targets in order; move on when a status is in `fallback_on`
                      (default 429, 500, 502, 503, 529) or the connection fails
  mode "retry"        retry the first target `retries` times, never move on
  mode "answer_self"  answer 200 without calling any provider
  drop_marker         strip crossfire's `[xf:...]` marker before forwarding
  overhead_ms N       wait N ms before forwarding (a known gateway overhead)
  stop_failover_after N   a planted bug: after N upstream failures, stop
                      failing over (for `crossfire explore`)
  spawn_helper        start a child process (to prove crossfire stops the whole
                      process group)

Usage: refgw.py CONFIG.json   (the config names the port; crossfire renders it)
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MARKER = re.compile(r"\s*\[xf:[A-Za-z0-9:_-]+\]")
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
STATE = {"failures": 0}
LOCK = threading.Lock()


def openai_to_anthropic(body, model):
    system = [m["content"] for m in body.get("messages", []) if m.get("role") == "system"]
    out = {
        "model": model,
        "max_tokens": body.get("max_tokens") or 256,
        "messages": [m for m in body.get("messages", []) if m.get("role") != "system"],
    }
    if system:
        out["system"] = "\n".join(system)
    return out


def anthropic_to_openai(answer, model):
    text = "".join(b.get("text", "") for b in answer.get("content", []))
    usage = answer.get("usage", {})
    prompt = usage.get("input_tokens", 0) + usage.get("cache_read_input_tokens", 0)
    return {
        "id": answer.get("id", "refgw"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": usage.get("output_tokens", 0),
            "total_tokens": prompt + usage.get("output_tokens", 0),
        },
    }


def call(target, body, stream, timeout):
    """One upstream attempt: (status, headers, body bytes or a response to stream)."""
    dialect = target.get("dialect", "openai")
    if dialect == "anthropic":
        url = target["url"].rstrip("/") + "/v1/messages"
        payload = openai_to_anthropic(body, target["model"])
        headers = {"x-api-key": "refgw-dummy", "anthropic-version": "2023-06-01"}
        stream = False
    else:
        url = target["url"].rstrip("/") + "/v1/chat/completions"
        payload = dict(body, model=target["model"])
        headers = {"authorization": "Bearer refgw-dummy"}
    payload["stream"] = bool(stream)
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST")
    req.add_header("content-type", "application/json")
    for k, v in headers.items():
        req.add_header(k, v)
    try:
        resp = OPENER.open(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
        return 502, {}, json.dumps({"error": {"message": f"refgw: upstream connection failed: {e}"}}).encode()
    if stream:
        return 200, dict(resp.headers), resp
    try:
        data = resp.read()
    except Exception as e:  # noqa: BLE001 - a cut body is an upstream failure
        return 502, {}, json.dumps({"error": {"message": f"refgw: upstream body broke: {e}"}}).encode()
    if dialect == "anthropic":
        try:
            data = json.dumps(anthropic_to_openai(json.loads(data), target["model"])).encode()
        except ValueError:
            return 502, {}, b'{"error":{"message":"refgw: upstream answered invalid JSON"}}'
    return 200, dict(resp.headers), data


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    config = {}

    def log_message(self, fmt, *args):
        sys.stderr.write("refgw: " + (fmt % args) + "\n")

    def send_json(self, status, data, extra=None):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self.send_json(200, b'{"status":"ok"}')
        else:
            self.send_json(404, b'{"error":{"message":"not found"}}')

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.send_json(400, b'{"error":{"message":"refgw: invalid JSON"}}')
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            return self.send_json(404, b'{"error":{"message":"refgw: unknown path"}}')
        group = self.config["groups"].get(body.get("model"))
        if group is None:
            return self.send_json(404, b'{"error":{"message":"refgw: unknown model group"}}')
        if group.get("drop_marker"):
            for m in body.get("messages", []):
                if isinstance(m.get("content"), str):
                    m["content"] = MARKER.sub("", m["content"])
        if group.get("overhead_ms"):
            time.sleep(float(group["overhead_ms"]) / 1000)
        if group.get("mode") == "answer_self":
            answer = {
                "id": "refgw-self",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "refgw answered this itself"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }
            return self.send_json(200, json.dumps(answer).encode(), {"x-refgw-target": "self"})
        stream = bool(body.get("stream"))
        timeout = float(group.get("timeout", 10))
        fallback_on = set(group.get("fallback_on", [429, 500, 502, 503, 529]))
        targets = group["targets"]
        if group.get("mode") == "retry":
            plan = [targets[0]] * (1 + int(group.get("retries", 2)))
        else:
            plan = []
            for t in targets:
                plan.extend([t] * (1 + int(group.get("retries", 0))))
        status, headers, data, used = 502, {}, b'{"error":{"message":"refgw: no target"}}', None
        for target in plan:
            status, headers, data = call(target, body, stream, timeout)
            used = target
            if status < 400:
                break
            with LOCK:
                STATE["failures"] += 1
                broken = group.get("stop_failover_after") is not None and STATE["failures"] > group["stop_failover_after"]
            moves_on = status in fallback_on and not broken
            if not moves_on:
                break
        tag = {"x-refgw-target": used["url"] if used else "none"}
        if status == 200 and stream:
            if isinstance(data, (bytes, bytearray)):
                # An upstream that was not streamed (Anthropic): stream its answer.
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return self.send_as_stream(bytes(data), include_usage, tag)
            return self.relay_stream(data, tag)
        if isinstance(data, (bytes, bytearray)):
            return self.send_json(status, bytes(data), tag)
        return self.send_json(status, data.read(), tag)

    def send_as_stream(self, data, include_usage, tag):
        """Sends a whole OpenAI chat completion as an OpenAI chat stream: one
        chunk with the content, the final chunk, the usage chunk when the client
        asked for it, then `[DONE]`."""
        try:
            answer = json.loads(data)
            choice = answer["choices"][0]
            base = {
                "id": answer.get("id", "refgw"),
                "object": "chat.completion.chunk",
                "created": answer.get("created", int(time.time())),
                "model": answer.get("model"),
            }
            content = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return self.send_json(502, b'{"error":{"message":"refgw: upstream answer is not a chat completion"}}', tag)
        chunks = [
            dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": None}]),
            dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason") or "stop"}]),
        ]
        if include_usage and "usage" in answer:
            chunks.append(dict(base, choices=[], usage=answer["usage"]))
        events = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(events)))
        for k, v in tag.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(events)

    def relay_stream(self, upstream, tag):
        """Relays an upstream SSE stream as it comes; an upstream cut becomes a
        clean end of this response, as many gateways do."""
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        for k, v in tag.items():
            self.send_header(k, v)
        self.end_headers()
        try:
            while True:
                chunk = upstream.read1(65536) if hasattr(upstream, "read1") else upstream.read(65536)
                if not chunk:
                    break
                self.wfile.write(chunk)
                self.wfile.flush()
        except Exception as e:  # noqa: BLE001 - the cut is what we pass on
            sys.stderr.write(f"refgw: upstream stream broke: {e}\n")
        self.close_connection = True


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: refgw.py CONFIG.json")
    with open(sys.argv[1]) as f:
        config = json.load(f)
    Handler.config = config
    if config.get("spawn_helper"):
        subprocess.Popen(["sleep", "600"])
    server = ThreadingHTTPServer(("127.0.0.1", int(config["port"])), Handler)
    server.daemon_threads = True
    sys.stderr.write(f"refgw: listening on 127.0.0.1:{config['port']} pid={os.getpid()}\n")
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
