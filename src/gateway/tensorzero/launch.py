"""crossfire's launcher for TensorZero's embedded HTTP gateway.

Run with the Python of crossfire's cached venv:
    python launch.py CONFIG PINNED_VERSION

It starts the gateway that ships inside the `tensorzero` wheel through the
wheel's private helper `_start_http_gateway` (the gateway binds 127.0.0.1 on
a port the OS picks), prints one JSON line with its address, and keeps it
running until it is killed or its parent (crossfire) dies. The helper is
private, so the installed version, the helper's signature and the address it
returns are checked against what crossfire was written for; anything else
stops here with a message naming the version.
"""

import ctypes
import importlib.metadata
import json
import os
import signal
import sys
import time

# The signature of `tensorzero._start_http_gateway` in tensorzero 2026.6.0.
EXPECTED_SIGNATURE = "(*, config_file, clickhouse_url, postgres_url, valkey_url, async_setup)"
PR_SET_PDEATHSIG = 1


def fail(message, code=3):
    print("crossfire-tensorzero: " + message, file=sys.stderr, flush=True)
    sys.exit(code)


def die_with_parent():
    """SIGKILL when the parent (crossfire) dies; crossfire's watcher ends the
    group too, and the main loop also leaves when the parent changes. The
    gateway has nothing to flush (observability is off), so nothing is lost."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError, ctypes.ArgumentError):
        pass
    parent = os.getppid()
    if parent == 1:
        sys.exit(0)
    return parent


def main():
    if len(sys.argv) != 3:
        fail("usage: launch.py CONFIG PINNED_VERSION", 2)
    config, pinned = sys.argv[1], sys.argv[2]
    parent = die_with_parent()
    try:
        installed = importlib.metadata.version("tensorzero")
    except importlib.metadata.PackageNotFoundError:
        fail("the tensorzero package is not installed in " + sys.prefix)
    if installed != pinned:
        fail("tensorzero %s is installed, crossfire was written for %s and will not run another" % (installed, pinned))
    import tensorzero

    helper = getattr(tensorzero, "_start_http_gateway", None)
    if helper is None:
        fail("tensorzero %s has no _start_http_gateway: the private helper crossfire starts the gateway with is gone" % installed)
    signature = getattr(helper, "__text_signature__", None)
    if signature != EXPECTED_SIGNATURE:
        fail(
            "tensorzero %s: _start_http_gateway%s differs from %s%s, the signature crossfire was written for"
            % (installed, signature, pinned, EXPECTED_SIGNATURE)
        )
    try:
        gateway = helper(
            config_file=config,
            clickhouse_url=None,
            postgres_url=None,
            valkey_url=None,
            async_setup=False,
        )
    except Exception as e:  # TensorZero's own config and startup errors
        fail("TensorZero %s refused to start: %s" % (installed, e), 2)
    base_url = getattr(gateway, "base_url", None)
    if not (isinstance(base_url, str) and base_url.startswith("http://127.0.0.1:") and base_url.endswith("/openai/v1")):
        fail(
            "tensorzero %s: the gateway reports base_url %r; crossfire expects http://127.0.0.1:PORT/openai/v1 as in %s"
            % (installed, base_url, pinned)
        )
    print(
        json.dumps({"crossfire_tensorzero": {"base_url": base_url, "version": installed, "pid": os.getpid()}}),
        flush=True,
    )
    # os._exit: interpreter shutdown would wait on the gateway's threads.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


if __name__ == "__main__":
    main()
