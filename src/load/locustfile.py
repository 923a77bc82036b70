# Written by crossfire for `crossfire load --engine locust`: open-loop,
# marked requests on the schedule in the plan file, spread over Locust's
# workers; every request's record goes back to the master, which writes
# them all to one file. Run it with crossfire's pinned Locust:
#   master: locust -f locustfile.py --master ...   (crossfire starts it)
#   worker: XF_PLAN=plan.json locust -f locustfile.py --worker --master-host HOST
import json
import os
import time

import gevent
import gevent.pool
from gevent.lock import Semaphore
from locust import HttpUser, constant, events, task
from requests.adapters import HTTPAdapter

PLAN = json.load(open(os.environ["XF_PLAN"]))
# On another machine the gateway, and that machine's own `crossfire mock`
# for the direct requests, may be at other addresses than the master's.
for _key, _env in (("gateway", "XF_GATEWAY"), ("direct", "XF_DIRECT")):
    if os.environ.get(_env):
        PLAN[_key]["base_url"] = os.environ[_env].rstrip("/")
STATE = {"t0": None, "done": set()}


@events.init.add_listener
def on_init(environment, **_kwargs):
    runner = environment.runner
    if runner is None:
        return
    if type(runner).__name__ == "MasterRunner":
        records = open(PLAN["records"], "a", buffering=1)

        def on_records(environment, msg, **_kw):
            for r in msg.data:
                records.write(json.dumps(r) + "\n")

        def on_done(environment, msg, **_kw):
            STATE["done"].add(msg.data)
            if len(STATE["done"]) >= PLAN["workers"]:
                records.flush()
                gevent.spawn_later(0.2, environment.runner.quit)

        runner.register_message("xf_records", on_records)
        runner.register_message("xf_done", on_done)
    else:

        def on_t0(environment, msg, **_kw):
            STATE["t0"] = msg.data

        runner.register_message("xf_t0", on_t0)


@events.test_start.add_listener
def on_test_start(environment, **_kwargs):
    runner = environment.runner
    if type(runner).__name__ == "MasterRunner":
        # Every worker is connected (--expect-workers): one time zero for
        # all, a moment ahead so each has it before its first request.
        t0 = time.time() + PLAN["lead_s"]
        with open(PLAN["t0_file"], "w") as f:
            f.write(repr(t0))
        runner.send_message("xf_t0", t0)


def schedule():
    """(global index, step index, offset from t0) of every request pair."""
    i, at = 0, 0.0
    for s, step in enumerate(PLAN["steps"]):
        gap = 1.0 / step["rate"]
        for k in range(step["count"]):
            yield i, s, at + k * gap, gap
            i += 1
        at += step["secs"]


class Marked(HttpUser):
    host = PLAN["gateway"]["base_url"]
    wait_time = constant(1)

    def on_start(self):
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=PLAN["max_in_flight"])
        self.client.mount("http://", adapter)
        self.finished = False

    @task
    def run_schedule(self):
        if self.finished:
            return
        self.finished = True
        runner = self.environment.runner
        me, workers = runner.worker_index, PLAN["workers"]
        while STATE["t0"] is None:
            gevent.sleep(0.01)
        t0 = STATE["t0"]
        cap = max(1, PLAN["max_in_flight"] // workers)
        in_flight = [0]
        out, lock = [], Semaphore()
        pool = gevent.pool.Group()

        def send(target, n, step, intended):
            record = {"n": n, "step": step, "direct": target is PLAN["direct"],
                      "worker": me, "intended_s": intended - t0}
            body = target["body"].replace("__XF_N__", str(n))
            headers = dict(target["headers"])
            if target.get("marker_header"):
                headers[target["marker_header"]] = target["marker"].replace("__XF_N__", str(n))
            try:
                with self.client.post(target["base_url"] + target["path"], data=body,
                                      headers=headers, timeout=PLAN["timeout_s"],
                                      name=target["name"], catch_response=True,
                                      stream=False) as r:
                    record["status"] = r.status_code
                    text = r.text
                    ok = 200 <= r.status_code < 300
                    if ok and target["stream_end"]:
                        ok = target["stream_end"] in text
                        if not ok:
                            record["error"] = "the stream ended without its last event"
                    if ok:
                        r.success()
                    else:
                        r.failure("status %s" % r.status_code)
                    record["ok"] = ok
            except Exception as e:  # a transport error: the record says which
                record["ok"] = False
                record["error"] = "%s: %s" % (type(e).__name__, e)
            record["latency_us"] = int((time.time() - intended) * 1e6)
            in_flight[0] -= 1
            with lock:
                out.append(record)

        def flush():
            with lock:
                batch = out[:]
                del out[:]
            if batch:
                runner.send_message("xf_records", batch)

        def flusher():
            while True:
                gevent.sleep(0.5)
                flush()

        flushing = gevent.spawn(flusher)
        for i, s, offset, gap in schedule():
            if i % workers != me:
                continue
            for target, extra in ((PLAN["gateway"], 0.0), (PLAN["direct"], gap / 2)):
                intended = t0 + offset + extra
                wait = intended - time.time()
                if wait > 0:
                    gevent.sleep(wait)
                n = 2 * i + (2 if target is PLAN["direct"] else 1)
                if in_flight[0] >= cap:
                    with lock:
                        out.append({"n": n, "step": s, "direct": target is PLAN["direct"],
                                    "worker": me, "intended_s": intended - t0, "ok": False,
                                    "latency_us": 0, "error": "not sent: more in flight than the cap"})
                    continue
                in_flight[0] += 1
                pool.spawn(send, target, n, s, intended)
        pool.join()
        flushing.kill()
        flush()
        runner.send_message("xf_done", me)
