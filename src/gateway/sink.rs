//! The egress sink: the proxy every gateway process is given as
//! HTTP_PROXY/HTTPS_PROXY/ALL_PROXY. It records what the gateway tried to
//! reach and refuses it with a 502, so a gateway can never reach a real
//! provider during a drill, and anything that tries is reported as escaped.

use serde::Serialize;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// One request that tried to leave the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escape {
    /// `CONNECT`, `GET`, `POST`...
    pub method: String,
    /// Where it wanted to go (`api.openai.com:443`, `http://host/path`).
    pub target: String,
}

/// A running sink; stops when dropped.
#[derive(Debug)]
pub struct Sink {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Escape>>>,
    stop: CancellationToken,
}

impl Sink {
    /// Starts a sink on 127.0.0.1, port chosen by the OS.
    pub async fn start() -> std::io::Result<Sink> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let (s, token) = (seen.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    _ = token.cancelled() => return,
                    c = listener.accept() => c,
                };
                let Ok((mut stream, _)) = conn else { continue };
                let s = s.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut len = 0;
                    while len < buf.len() {
                        match stream.read(&mut buf[len..]).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => len += n,
                        }
                        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                            break;
                        }
                    }
                    let head = String::from_utf8_lossy(&buf[..len]);
                    let mut first = head.lines().next().unwrap_or("").split_whitespace();
                    let method = first.next().unwrap_or("").to_string();
                    let target = first.next().unwrap_or("").to_string();
                    if !method.is_empty() {
                        s.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(Escape { method, target });
                    }
                    let body = b"{\"error\":{\"message\":\"crossfire sealed this gateway: no traffic may leave the machine during a drill\"}}";
                    let reply = format!(
                        "HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                    let _ = stream.write_all(body).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Ok(Sink { addr, seen, stop })
    }

    /// `http://127.0.0.1:PORT`, for the proxy variables.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Environment variables that seal a process: every proxy variable points
    /// here, loopback stays direct.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let url = self.url();
        let no_proxy = "127.0.0.1,localhost,::1".to_string();
        vec![
            ("HTTP_PROXY", url.clone()),
            ("HTTPS_PROXY", url.clone()),
            ("ALL_PROXY", url.clone()),
            ("http_proxy", url.clone()),
            ("https_proxy", url.clone()),
            ("all_proxy", url),
            ("NO_PROXY", no_proxy.clone()),
            ("no_proxy", no_proxy),
        ]
    }

    /// Everything that tried to leave so far.
    pub fn escapes(&self) -> Vec<Escape> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
/// What a seal inside a gateway recorded in its escapes file.
pub fn read_escapes(file: &Path) -> Vec<Escape> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            Some(Escape {
                method: v.get("method")?.as_str()?.to_string(),
                target: v.get("target")?.as_str()?.to_string(),
            })
        })
        .collect()
}
