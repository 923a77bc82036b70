//! `--junit FILE`: one test suite per scenario, one test case per expectation
//! and per finding, for a CI's test view.

use crate::outcome::{Event, RunSummary};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::path::PathBuf;
use std::time::Duration;

/// Writes JUnit XML when the run finishes.
#[derive(Debug)]
pub struct JunitReporter {
    path: PathBuf,
}

/// The JUnit document of a run.
pub fn render(summary: &RunSummary) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("crossfire");
    for s in &summary.scenarios {
        let mut suite = TestSuite::new(s.name.as_str());
        suite.set_time(Duration::from_millis(s.duration_ms));
        // What ran, beside what it did: a CI's history must tell a gateway
        // upgrade from a config change.
        suite.add_property(("gateway", s.gateway));
        if let Some(v) = &s.gateway_version {
            suite.add_property(("gateway_version", v.as_str()));
        }
        if let Some(m) = s.audit.as_ref().and_then(|a| a.cost.price_map.as_deref()) {
            suite.add_property(("gateway_price_map", m));
        }
        if let Some(e) = &s.error {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(e.as_str()).set_type("infrastructure");
            let mut case = TestCase::new("gateway and mocks start", status);
            case.set_classname(s.name.as_str());
            suite.add_test_case(case);
        }
        for v in &s.verdicts {
            let status = if v.held {
                TestCaseStatus::success()
            } else {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(v.detail.as_str()).set_type("expectation");
                if let Some(example) = &v.example {
                    st.set_description(format!("example: {example}"));
                }
                st
            };
            let mut case = TestCase::new(v.expectation.as_str(), status);
            case.set_classname(s.name.as_str());
            suite.add_test_case(case);
        }
        for f in &s.findings {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(f.message.as_str())
                .set_type(f.kind)
                .set_description(f.path.as_str());
            // `failover_illusion` -> "failover illusion: request #3".
            let name = format!("{}: request #{}", f.kind.replace('_', " "), f.request);
            let mut case = TestCase::new(name, st);
            case.set_classname(s.name.as_str());
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.to_string()
}

impl JunitReporter {
    /// A reporter writing to `path`.
    pub fn new(path: PathBuf) -> JunitReporter {
        JunitReporter { path }
    }

    /// Consumes an event.
    pub fn event(&mut self, e: &Event) {
        if let Event::RunFinished(summary) = e {
            super::write(
                &self.path,
                render(summary)
                    .map(String::into_bytes)
                    .map_err(|e| e.to_string()),
            );
        }
    }
}
