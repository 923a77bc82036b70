#!/usr/bin/env python3
"""Lists the crate::X edges between crossfire's top-level library modules
(outside #[cfg(test)] items and comments) and the cycles among them.

Usage: scripts/module_edges.py [SRC_DIR] [--without A->B ...]
  SRC_DIR defaults to src; --without drops an edge, to see what cycles
  remain once someone removes it.
Exit code 1 when some modules form a cycle.
"""
import os
import re
import sys

args = sys.argv[1:]
without = set()
while "--without" in args:
    i = args.index("--without")
    a, b = args[i + 1].split("->")
    without.add((a.strip(), b.strip()))
    del args[i : i + 2]
src = args[0] if args else "src"


def strip_comments(text):
    # Line comments (including doc comments, whose intra-doc links are not
    # imports); string literals rarely hold `crate::`, so no lexer here.
    return re.sub(r"//[^\n]*", "", text)


def strip_cfg_test(text):
    """Removes every item that follows #[cfg(test)] (a braced block or a
    `mod x;` line)."""
    out = []
    i = 0
    while True:
        j = text.find("#[cfg(test)]", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        k = j + len("#[cfg(test)]")
        semi = text.find(";", k)
        brace = text.find("{", k)
        if brace < 0 or (0 <= semi < brace):
            i = semi + 1
            continue
        depth = 0
        m = brace
        while m < len(text):
            if text[m] == "{":
                depth += 1
            elif text[m] == "}":
                depth -= 1
                if depth == 0:
                    break
            m += 1
        i = m + 1
    return "".join(out)


def test_only_files(mod_dir):
    """Files declared under #[cfg(test)] `mod x;` in a module folder."""
    skip = set()
    for root, _, files in os.walk(mod_dir):
        for f in files:
            if not f.endswith(".rs"):
                continue
            text = open(os.path.join(root, f)).read()
            for name in re.findall(r"#\[cfg\(test\)\]\s*(?:pub\s+)?mod\s+(\w+)\s*;", text):
                base = root if f in ("mod.rs", "lib.rs") else os.path.join(root, f[:-3])
                skip.add(os.path.join(base, name + ".rs"))
                skip.add(os.path.join(base, name, "mod.rs"))
    return skip


def files_of(module):
    single = os.path.join(src, module + ".rs")
    folder = os.path.join(src, module)
    files = []
    if os.path.isfile(single):
        files.append(single)
    if os.path.isdir(folder):
        skip = test_only_files(folder) | test_only_files(single) if os.path.isfile(single) else test_only_files(folder)
        for root, _, fs in os.walk(folder):
            for f in fs:
                p = os.path.join(root, f)
                if f.endswith(".rs") and p not in skip:
                    files.append(p)
    return files


lib = open(os.path.join(src, "lib.rs")).read()
modules = re.findall(r"^pub mod (\w+);", lib, re.M) + re.findall(r"^mod (\w+);", lib, re.M)

edges = {}
for m in modules:
    deps = set()
    for f in files_of(m):
        text = strip_cfg_test(strip_comments(open(f).read()))
        deps.update(re.findall(r"crate::(\w+)", text))
        # use crate::{a, b::c, ...}
        for group in re.findall(r"crate::\{([^}]*(?:\{[^}]*\}[^}]*)*)\}", text):
            top = re.sub(r"\{[^}]*\}", "", group)
            deps.update(x.strip().split("::")[0] for x in top.split(",") if x.strip())
    deps.discard(m)
    edges[m] = sorted(d for d in deps if d in modules and (m, d) not in without)

for m in sorted(edges):
    print(f"{m} -> {', '.join(edges[m]) or '(leaf)'}")

# Tarjan's strongly connected components.
index = {}
low = {}
stack = []
on = set()
sccs = []
counter = [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges.get(v, []):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        sccs.append(sorted(comp))


sys.setrecursionlimit(10000)
for v in sorted(edges):
    if v not in index:
        visit(v)

cycles = [c for c in sccs if len(c) > 1]
print()
if cycles:
    for c in cycles:
        inner = [f"{a} -> {b}" for a in c for b in edges[a] if b in c]
        print(f"cycle: {', '.join(c)}")
        print(f"  edges: {'; '.join(inner)}")
    sys.exit(1)
print("no cycles")
