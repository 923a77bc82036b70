//! Gateway targets from the command line: the `url` target pointed at a
//! gateway already running in front of `crossfire mock` (and SIGINT to
//! `mock`), `run --gateway/--config/--url` overriding the scenario, the
//! sealing and clean environment of a `command` gateway with its template
//! variables exported, and which LiteLLM runs (`--litellm`,
//! `--litellm-version`) with the refusal when versions disagree. None of
//! this is about a real gateway's routing, so the gateways here are the
//! reference gateway and small stand-ins written by the tests.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{crossfire, refgw, wait_with_timeout, ChildGuard};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json_file(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

/// A free loopback port (bound, then released for the gateway to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `url` until it answers, for a gateway the test started itself.
fn wait_up(url: &str) {
    let start = Instant::now();
    loop {
        let ok = std::net::TcpStream::connect(url.trim_start_matches("http://")).is_ok();
        if ok {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{url} never came up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A scenario for the reference gateway on one OpenAI deployment.
const ONE_GPT: &str = r#"name: one-gpt
gateway:
  kind: command
  command: [python3, "REFGW", "{{ config }}"]
  config: gateway.json.tmpl
  ready: /health
deployments:
  - id: gpt
    dialect: openai
    model: gpt-4o
traffic:
  - model: gpt-4o
    requests: 3
"#;

#[test]
fn the_url_target_drives_a_running_gateway_in_front_of_crossfire_mock() {
    let dir = tempfile::tempdir().unwrap();
    // The staging set-up the README describes: `crossfire mock` serves the
    // providers, the team's gateway points at the URLs it prints.
    let journal = dir.path().join("mock.jsonl");
    let mut mock = ChildGuard(
        crossfire()
            .args(["mock", "--deployment", "gpt=openai", "--journal"])
            .arg(&journal)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let lines = support::lines(mock.stdout.take().unwrap());
    let line = lines
        .recv_timeout(Duration::from_secs(20))
        .unwrap()
        .unwrap();
    let mock_url = line.split_whitespace().nth(2).unwrap().to_string();
    assert!(mock_url.starts_with("http://127.0.0.1:"), "{line}");
    let port = free_port();
    let config = dir.path().join("staging.json");
    std::fs::write(
        &config,
        format!(
            "{{\"port\": {port}, \"groups\": {{\"gpt-4o\": {{\"mode\": \"fallback\", \"targets\": [{{\"url\": \"{mock_url}\", \"dialect\": \"openai\", \"model\": \"gpt-4o\"}}]}}}}}}"
        ),
    )
    .unwrap();
    let _gateway = ChildGuard(
        Command::new("python3")
            .arg(refgw())
            .arg(&config)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    wait_up(&url);

    // A scenario written for a `command` gateway, pointed at the running
    // one from the command line: nothing is started, the traffic goes there.
    let c = support::case(ONE_GPT, Some("{}"));
    let report = dir.path().join("run.json");
    let out = crossfire()
        .arg("run")
        .arg(&c.scenario)
        .args(["--gateway", "url", "--url", &url, "--out"])
        .arg(dir.path().join("out"))
        .arg("--json")
        .arg(&report)
        .output()
        .unwrap();
    let said = text(&out.stdout);
    let v = json_file(&report);
    let s = &v["scenarios"][0];
    assert_eq!(s["gateway"], "url", "{said}");
    assert!(
        !dir.path().join("out/01-one-gpt/gateway.log").exists(),
        "a gateway was started"
    );
    // Every request was answered by the running gateway...
    let requests = s["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 3, "{said}");
    assert!(requests.iter().all(|r| r["status"] == 200), "{s}");
    // ...which called the `crossfire mock` providers, with the markers of
    // this run's requests.
    // SIGINT (Ctrl-C) ends `crossfire mock` cleanly, its journal complete.
    // SAFETY: signalling the child this test spawned.
    unsafe { libc::kill(mock.id() as i32, libc::SIGINT) };
    assert_eq!(
        wait_with_timeout(&mut mock, Duration::from_secs(10)),
        Some(0)
    );
    let attempts = mock_providers::journal::read_jsonl(&journal).unwrap();
    let mut seen: Vec<String> = attempts.iter().filter_map(|a| a.marker.clone()).collect();
    seen.sort();
    let mut sent: Vec<String> = requests
        .iter()
        .map(|r| r["marker"].as_str().unwrap().to_string())
        .collect();
    sent.sort();
    assert_eq!(seen, sent);
    // The scenario's own mocks saw none of it, and crossfire says so: the
    // traffic no provider of the scenario saw fails it.
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert_eq!(s["counts"]["unattributed"], 3, "{s}");
}

#[test]
fn run_gateway_and_config_flags_replace_the_scenarios_gateway() {
    let scenario = "scenarios/refgw-same-provider-illusion.yaml";
    let run = |flags: &[&str]| -> Output {
        let dir = tempfile::tempdir().unwrap();
        crossfire()
            .current_dir(root())
            .args(["run", scenario, "--out"])
            .arg(dir.path())
            .args(flags)
            .output()
            .unwrap()
    };
    // As written: the template falls back inside Anthropic, an illusion.
    let own = run(&[]);
    let said = text(&own.stdout);
    assert_eq!(own.status.code(), Some(1), "{said}");
    assert!(said.contains("Failover Illusion: 10 requests"), "{said}");
    // `--config` (relative to the working folder) swaps in the template
    // that crosses to OpenAI: every request crosses and the scenario passes.
    let swapped = run(&[
        "--gateway",
        "command",
        "--config",
        "examples/refgw/cross-provider.json.tmpl",
    ]);
    let said = text(&swapped.stdout);
    assert_eq!(swapped.status.code(), Some(0), "{said}");
    assert!(said.contains("PASS refgw-same-provider-illusion"), "{said}");
    assert!(said.contains("crossed_provider 10"), "{said}");
    // `--config` alone, and a `--config` that is not there, are bad input.
    let alone = run(&["--config", "examples/refgw/cross-provider.json.tmpl"]);
    assert_eq!(alone.status.code(), Some(2));
    assert_eq!(
        text(&alone.stderr).trim(),
        "error: --config: goes with `--gateway KIND`, e.g. `--gateway litellm --config litellm.yaml`"
    );
    let missing = run(&["--gateway", "command", "--config", "nope.tmpl"]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        text(&missing.stderr).trim(),
        "error: --config nope.tmpl: no such file"
    );
    let unknown = run(&["--gateway", "urll"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr)
            .contains("error: --gateway urll: unknown gateway kind; did you mean `url`?"),
        "{}",
        text(&unknown.stderr)
    );
}

/// A `command` gateway written for this test: it records its environment,
/// tries to reach a real provider through the proxy it was given, and
/// forwards requests to the mock named by the exported variable (not the
/// template), so the variable must be right for any request to succeed.
const PROBE_GATEWAY: &str = r#"
import json, os, sys, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port = int(os.environ["CROSSFIRE_PORT"])
upstream = os.environ["CROSSFIRE_DEPLOYMENT_GPT_BASE_URL"]
with open(os.path.join(os.environ["CROSSFIRE_RUN_DIR"], "probe-env.json"), "w") as f:
    json.dump(dict(os.environ), f)
try:
    urllib.request.urlopen("http://api.openai.com/v1/models", timeout=5)
except Exception as e:
    sys.stderr.write("probe: refused: %s\n" % e)
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, status, body):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self.reply(200, b"{}")
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        req = urllib.request.Request(upstream + "/v1/chat/completions", data=body, method="POST")
        req.add_header("content-type", "application/json")
        with direct.open(req) as r:
            self.reply(r.status, r.read())
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"#;

#[test]
fn a_command_gateway_is_sealed_gets_a_clean_environment_and_the_template_variables() {
    let c = support::case(
        "name: probe
gateway:
  kind: command
  command: [python3, probe.py]
  config: gateway.json.tmpl
  ready: /health
  env:
    TEAM_MODEL: \"{{ deployments.gpt.model }}\"
deployments:
  - id: gpt
    dialect: openai
    model: gpt-4o
traffic:
  - model: gpt-4o
    requests: 2
",
        Some("{\"upstream\": \"{{ deployments.gpt.base_url }}\", \"port\": {{ port }}}"),
    );
    std::fs::write(c.dir.path().join("probe.py"), PROBE_GATEWAY).unwrap();
    let out_dir = c.dir.path().join("out");
    let out = crossfire()
        .arg("run")
        .arg(&c.scenario)
        .arg("--out")
        .arg(&out_dir)
        // Keys in the shell that runs crossfire must never reach a gateway.
        .env("OPENAI_API_KEY", "sk-planted-in-the-shell")
        .env("ANTHROPIC_API_KEY", "sk-ant-planted-in-the-shell")
        .env("CROSSFIRE_TEST_PLANTED", "1")
        .output()
        .unwrap();
    let said = text(&out.stdout);
    let run_dir = out_dir.join("01-probe");
    // The attempt to reach OpenAI went to crossfire's sink, was refused and
    // reported, and fails the run.
    assert!(
        said.contains("ESCAPED: the gateway tried to reach http://api.openai.com/v1/models (GET); crossfire's seal refused it"),
        "{said}"
    );
    assert_eq!(out.status.code(), Some(1), "{said}");
    let report = json_file(&run_dir.join("report.json"));
    assert_eq!(
        report["escaped"][0]["target"],
        "http://api.openai.com/v1/models"
    );
    // The requests themselves were served through the exported variable.
    assert_eq!(report["counts"]["direct"], 2, "{report}");

    let env = json_file(&run_dir.join("probe-env.json"));
    let env = env.as_object().unwrap();
    for planted in [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "CROSSFIRE_TEST_PLANTED",
    ] {
        assert!(!env.contains_key(planted), "{planted} reached the gateway");
    }
    // Only the documented variables: the basics, the template variables,
    // the scenario's `env:` and the seal.
    let allowed = [
        "PATH",
        "HOME",
        "LANG",
        "LC_ALL",
        "TMPDIR",
        "TZ",
        "TEAM_MODEL",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "LC_CTYPE",
    ];
    // `python3` may be a shell shim (pyenv) that sets its own on the way.
    let added_by_a_shim = |k: &str| {
        ["PWD", "SHLVL", "_", "OLDPWD"].contains(&k)
            || k.starts_with("PYENV")
            || k.starts_with("_PYENV")
    };
    let extra: Vec<&String> = env
        .keys()
        .filter(|k| {
            !allowed.contains(&k.as_str()) && !k.starts_with("CROSSFIRE_") && !added_by_a_shim(k)
        })
        .collect();
    assert!(
        extra.is_empty(),
        "undocumented variables reached the gateway: {extra:?}"
    );
    assert!(
        env["HTTP_PROXY"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{env:?}"
    );
    // Template variables, exported: the same values the template got.
    let rendered = json_file(&run_dir.join("gateway-gateway.json"));
    assert_eq!(
        env["CROSSFIRE_DEPLOYMENT_GPT_BASE_URL"],
        rendered["upstream"]
    );
    assert_eq!(
        env["CROSSFIRE_PORT"].as_str().unwrap(),
        rendered["port"].to_string()
    );
    assert_eq!(env["CROSSFIRE_DEPLOYMENT_GPT_MODEL"], "gpt-4o");
    assert_eq!(env["CROSSFIRE_DEPLOYMENT_GPT_DIALECT"], "openai");
    assert_eq!(env["CROSSFIRE_DEPLOYMENT_GPT_PROVIDER"], "openai");
    assert_eq!(
        env["CROSSFIRE_BASE_URL"].as_str().unwrap(),
        format!("http://127.0.0.1:{}", rendered["port"])
    );
    assert_eq!(
        Path::new(env["CROSSFIRE_RUN_DIR"].as_str().unwrap()),
        std::path::absolute(&run_dir).unwrap()
    );
    assert_eq!(env["TEAM_MODEL"], "gpt-4o");
}

/// A stand-in for the `litellm` program: it records how it was started,
/// lists the `api_base`s of the rewritten config as its deployments,
/// forwards a request to the first of them, and reports `VERSION` in
/// `x-litellm-version` as LiteLLM does.
const FAKE_LITELLM: &str = r#"#!/usr/bin/env python3
import json, os, re, sys, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
args = sys.argv[1:]
config = args[args.index("--config") + 1]
port = int(args[args.index("--port") + 1])
with open("fake-litellm.json", "w") as f:
    json.dump({"argv": sys.argv, "env": dict(os.environ)}, f)
bases = re.findall(r"""api_base: *["']?([^"'\s]+)""", open(config).read())
direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, status, body):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("x-litellm-version", "VERSION")
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        data = [{"litellm_params": {"api_base": b}, "model_info": {}} for b in bases]
        self.reply(200, json.dumps({"data": data}).encode())
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        req = urllib.request.Request(bases[0].rstrip("/") + "/chat/completions", data=body, method="POST")
        req.add_header("content-type", "application/json")
        with direct.open(req) as r:
            self.reply(r.status, r.read())
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"#;

/// Makes `<env>/bin/litellm` (reporting `reports`) beside an installed
/// `litellm-<installed>.dist-info`, the layout of a virtual environment.
fn fake_litellm_env(env: &Path, reports: &str, installed: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = env.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(
        env.join("lib/python3.11/site-packages")
            .join(format!("litellm-{installed}.dist-info")),
    )
    .unwrap();
    let program = bin.join("litellm");
    std::fs::write(&program, FAKE_LITELLM.replace("VERSION", reports)).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    program
}

/// A scenario on a one-group LiteLLM config, beside it.
fn litellm_case() -> support::Case {
    let c = support::case(
        "name: which-litellm\ngateway: {kind: litellm, config: litellm.yaml}\ntraffic:\n  - model: gpt-4o\n    requests: 2\nexpect:\n  - status: 200\n",
        None,
    );
    std::fs::write(
        c.dir.path().join("litellm.yaml"),
        "model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: os.environ/OPENAI_API_KEY\n",
    )
    .unwrap();
    c
}

#[test]
fn litellm_flag_runs_that_program_on_the_rewritten_config_and_reports_its_version() {
    let c = litellm_case();
    let program = fake_litellm_env(&c.dir.path().join("venv"), "9.9.9", "9.9.9");
    let out_dir = c.dir.path().join("out");
    let out = crossfire()
        .arg("run")
        .arg(&c.scenario)
        .arg("--litellm")
        .arg(&program)
        .arg("--out")
        .arg(&out_dir)
        .env("OPENAI_API_KEY", "sk-planted-in-the-shell")
        .output()
        .unwrap();
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    let run_dir = std::path::absolute(out_dir.join("01-which-litellm")).unwrap();
    let report = json_file(&run_dir.join("report.json"));
    assert_eq!(report["gateway_version"], "9.9.9");
    assert_eq!(report["counts"]["direct"], 2, "{report}");
    let started = json_file(&run_dir.join("fake-litellm.json"));
    let argv: Vec<&str> = started["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(argv[0], program.to_str().unwrap());
    let config = run_dir.join("litellm-config.yaml");
    assert_eq!(argv[1..4], ["--config", config.to_str().unwrap(), "--host"]);
    assert_eq!(argv[4], "127.0.0.1");
    // The proxy gets no key from the shell: the config's
    // `os.environ/OPENAI_API_KEY` is a dummy, and crossfire's offline settings.
    let env = started["env"].as_object().unwrap();
    assert_eq!(env["OPENAI_API_KEY"], "crossfire-dummy");
    assert_eq!(env["LITELLM_LOCAL_MODEL_COST_MAP"], "True");
    assert!(!std::fs::read_to_string(&config)
        .unwrap()
        .contains("sk-planted"));
}

/// `--litellm-version V` with crossfire's cache at `cache`, where an
/// environment for V is already installed.
fn run_version(c: &support::Case, cache: &Path, version: &str) -> Output {
    crossfire()
        .arg("run")
        .arg(&c.scenario)
        .args(["--litellm-version", version, "--out"])
        .arg(cache.join("out"))
        .env("CROSSFIRE_CACHE", cache)
        .output()
        .unwrap()
}

/// An installed environment for `litellm[proxy]==pinned` in `cache`, whose
/// Python says `importlib.metadata` finds `installed`, and whose proxy
/// reports `reports`.
fn cached_env(cache: &Path, pinned: &str, installed: &str, reports: &str) {
    use std::os::unix::fs::PermissionsExt;
    let env = cache.join("python").join(format!("litellm-{pinned}"));
    fake_litellm_env(&env, reports, installed);
    std::fs::write(
        env.join(".crossfire-ready"),
        format!("litellm[proxy]=={pinned}"),
    )
    .unwrap();
    let python = env.join("bin/python");
    std::fs::write(&python, format!("#!/bin/sh\necho {installed}\n")).unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn litellm_version_runs_the_cached_install_and_refuses_a_version_mismatch() {
    let c = litellm_case();
    // The installed version is the one asked for, and the proxy says so.
    let cache = c.dir.path().join("cache-ok");
    cached_env(&cache, "9.9.9", "9.9.9", "9.9.9");
    let ok = run_version(&c, &cache, "9.9.9");
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stdout));
    assert!(
        text(&ok.stdout).contains("(litellm 9.9.9 gateway, 2 requests"),
        "{}",
        text(&ok.stdout)
    );

    // pip put another version in the environment: refused before the start.
    let cache = c.dir.path().join("cache-other-install");
    cached_env(&cache, "9.9.9", "9.9.8", "9.9.8");
    let refused = run_version(&c, &cache, "9.9.9");
    let said = text(&refused.stdout);
    assert_eq!(refused.status.code(), Some(3), "{said}");
    assert!(
        said.contains("error: pip installed litellm 9.9.8, but 9.9.9 was pinned; crossfire will not run an unpinned version"),
        "{said}"
    );
    assert!(
        !cache
            .join("out/01-which-litellm/fake-litellm.json")
            .exists(),
        "the proxy was started"
    );

    // The running proxy reports another version than was installed: the
    // run cannot be trusted.
    let cache = c.dir.path().join("cache-other-proxy");
    cached_env(&cache, "9.9.9", "9.9.9", "1.0.0");
    let refused = run_version(&c, &cache, "9.9.9");
    let said = text(&refused.stdout);
    assert_eq!(refused.status.code(), Some(3), "{said}");
    assert!(
        said.contains("the gateway reports version 1.0.0, but crossfire installed 9.9.9: refusing to trust the run"),
        "{said}"
    );
}
