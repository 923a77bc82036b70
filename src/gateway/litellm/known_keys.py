"""Prints the setting names LiteLLM knows, as crossfire pins them.

Run with the provisioned LiteLLM's Python; tests/litellm_keys.rs checks that
the pinned lists (router_keys.txt, litellm_keys.txt) match what it prints.
- router_settings: the parameters of litellm.Router.__init__ (the proxy passes
  router_settings to it and warns about, then ignores, any other key).
- litellm_settings: the module-level settings of `litellm` (the proxy does
  setattr(litellm, key, value) for every key, silently, so a key that is not
  one of these has no effect).
"""
import inspect
import os
import sys
import types

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm  # noqa: E402

which = sys.argv[1]
if which == "router":
    names = [n for n in inspect.signature(litellm.Router.__init__).parameters if n != "self"]
else:
    names = [
        n
        for n, v in vars(litellm).items()
        if not n.startswith("_")
        and n.islower()
        and not isinstance(v, (types.ModuleType, types.FunctionType, type))
        and not callable(v)
    ]
for n in sorted(set(names)):
    print(n)
