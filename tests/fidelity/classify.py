"""Feed mock provider answers to real clients and report what each makes of them.

Reads a JSON list of cases on stdin; writes one JSON object per case to the
file named by the first argument: {"id", "exception", "status", "message"}. `exception` is the class name the
client raised ("" when the call succeeded). Used by tests/fidelity.rs: the
mocks are judged by real clients, not by crossfire's own expectations.

Clients: "litellm" (litellm.completion, the SDK under the LiteLLM proxy),
"openai" (the official openai SDK), "anthropic" (the official anthropic SDK).
Every client runs with retries off, so one case is one attempt.
"""

import json
import os
import sys
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# LiteLLM fetches Hugging Face tokenizers for Llama-named models; offline that
# stalls a call for tens of seconds.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MESSAGES = [{"role": "user", "content": "fidelity probe [xf:fidelity:1]"}]


def drain(result, stream, seen):
    """Reads a stream to its end, counting its chunks in `seen[0]`."""
    if stream:
        for _ in result:
            seen[0] += 1


def run_litellm(case, seen):
    import litellm

    dialect = case["dialect"]
    base = case["base_url"]
    prefix = {
        "openai": "openai",
        "azure": "azure",
        "anthropic": "anthropic",
        "gemini": "gemini",
        "groq": "groq",
        "mistral": "mistral",
        "deepseek": "deepseek",
        "vllm": "hosted_vllm",
    }[dialect]
    kwargs = dict(
        model=f"{prefix}/{case['model']}",
        messages=MESSAGES,
        api_key="sk-crossfire-dummy",
        api_base=base,
        max_tokens=16,
        num_retries=0,
        max_retries=0,
        stream=case["stream"],
        timeout=case.get("timeout", 20),
    )
    if dialect == "azure":
        kwargs["api_version"] = "2024-08-01-preview"
    drain(litellm.completion(**kwargs), case["stream"], seen)


def run_openai(case, seen):
    import openai

    base = case["base_url"]
    if case["dialect"] == "azure":
        client = openai.AzureOpenAI(
            api_key="dummy",
            azure_endpoint=base,
            api_version="2024-08-01-preview",
            max_retries=0,
            timeout=case.get("timeout", 20),
        )
    else:
        client = openai.OpenAI(
            api_key="sk-crossfire-dummy",
            base_url=base + "/v1",
            max_retries=0,
            timeout=case.get("timeout", 20),
        )
    result = client.chat.completions.create(
        model=case["model"], messages=MESSAGES, max_tokens=16, stream=case["stream"]
    )
    drain(result, case["stream"], seen)


def run_anthropic(case, seen):
    import anthropic

    client = anthropic.Anthropic(
        api_key="sk-ant-crossfire-dummy",
        base_url=case["base_url"],
        max_retries=0,
        timeout=case.get("timeout", 20),
    )
    result = client.messages.create(
        model=case["model"], messages=MESSAGES, max_tokens=16, stream=case["stream"]
    )
    drain(result, case["stream"], seen)


RUNNERS = {"litellm": run_litellm, "openai": run_openai, "anthropic": run_anthropic}


def attempt(case):
    out = {"id": case["id"], "exception": "", "status": None, "message": ""}
    seen = [0]
    started = time.monotonic()
    try:
        RUNNERS[case["client"]](case, seen)
    except Exception as e:  # noqa: BLE001 - the class is what we report
        out["exception"] = type(e).__name__
        out["status"] = getattr(e, "status_code", None)
        out["message"] = str(e)[:300]
    out["secs"] = round(time.monotonic() - started, 2)
    out["chunks"] = seen[0]
    return out


def classify(case):
    """One case. A stall case (`after_content`) must time out after the
    first chunk arrived: when the client's timer fired before it (a busy
    machine), the case runs again with three times the timeout, so the
    reading is the one after content however fast the machine is."""
    out = attempt(case)
    tries = 1
    while case.get("after_content") and out["chunks"] == 0 and tries < 3:
        case = dict(case, timeout=case["timeout"] * 3)
        out = attempt(case)
        tries += 1
    out["tries"] = tries
    return out


def main():
    from concurrent.futures import ThreadPoolExecutor

    cases = json.load(sys.stdin)
    # Cases are independent (one mock deployment each); timeouts and stalls
    # dominate, so run them side by side.
    # Clients print their own chatter to stdout, so results go to a file.
    with ThreadPoolExecutor(max_workers=16) as pool, open(sys.argv[1], "w") as out:
        for result in pool.map(classify, cases):
            out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
