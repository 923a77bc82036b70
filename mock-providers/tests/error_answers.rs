//! Every error answer of every dialect, snapshotted byte for byte (status,
//! headers, body), so a change in wording is a reviewed diff.

use mock_providers::error_answers::{error_answer, provenance, stream_error_event, ErrorContext};
use mock_providers::{Dialect, FailureClass, Fault};
use std::time::Duration;

/// The classes that are answered with an HTTP error (the rest are byte-level
/// or timing actions, covered by the server tests).
const ANSWERED: [FailureClass; 10] = [
    FailureClass::ServerError,
    FailureClass::BadGateway,
    FailureClass::Unavailable,
    FailureClass::Overloaded,
    FailureClass::RateLimit,
    FailureClass::QuotaExhausted,
    FailureClass::ContextOverflow,
    FailureClass::ContentPolicy,
    FailureClass::Auth,
    FailureClass::NotFound,
];

#[derive(serde::Serialize)]
struct Shown {
    class: &'static str,
    provenance: String,
    status: u16,
    headers: Vec<String>,
    body: String,
}

#[test]
fn error_answers_per_dialect() {
    for dialect in Dialect::ALL {
        let model = dialect.default_model();
        let shown: Vec<Shown> = ANSWERED
            .iter()
            .map(|&class| {
                let fault = Fault::new(class).retry_after(Duration::from_millis(2644));
                let ctx = ErrorContext {
                    model,
                    prompt_tokens: 1822,
                    max_tokens: Some(256),
                    context_window: 1024,
                    fault: &fault,
                    request_id: "req_snapshot",
                    now_unix: 1_795_587_318,
                };
                let a = error_answer(dialect, class, &ctx);
                Shown {
                    class: class.name(),
                    provenance: format!("{:?}", provenance(dialect, class)),
                    status: a.status,
                    headers: a.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect(),
                    body: String::from_utf8_lossy(&a.body).into_owned(),
                }
            })
            .collect();
        insta::assert_yaml_snapshot!(format!("errors_{}", dialect.name()), shown);
    }
}

#[test]
fn mid_stream_error_events() {
    let events: Vec<(String, String)> = Dialect::ALL
        .iter()
        .map(|d| {
            (
                d.name().to_string(),
                String::from_utf8_lossy(&stream_error_event(*d, "req_snapshot")).into_owned(),
            )
        })
        .collect();
    insta::assert_yaml_snapshot!(events);
}

#[test]
fn every_error_body_is_json_or_an_edge_html_page() {
    for dialect in Dialect::ALL {
        for class in ANSWERED {
            let fault = Fault::new(class);
            let ctx = ErrorContext {
                model: dialect.default_model(),
                prompt_tokens: 10,
                max_tokens: None,
                context_window: 5,
                fault: &fault,
                request_id: "r",
                now_unix: 0,
            };
            let a = error_answer(dialect, class, &ctx);
            let ct = &a
                .headers
                .iter()
                .find(|(k, _)| *k == "content-type")
                .unwrap()
                .1;
            if ct == "application/json" {
                serde_json::from_slice::<serde_json::Value>(&a.body)
                    .unwrap_or_else(|e| panic!("{dialect} {class}: {e}"));
            } else {
                assert_eq!(class, FailureClass::BadGateway, "{dialect} {class}: {ct}");
            }
        }
    }
}
