//! A scenario's timeline, the picture people would rather look at: time
//! across, one lane per deployment and one for the client, every attempt a
//! mark coloured by its outcome, every client request a bar from send to
//! end coloured by what the client got, and the windows of time-scheduled
//! faults shaded. Drawn with `plotters` on its SVG backend (no system font:
//! the text is SVG `<text>`, sized by the browser). Pure: the same inputs
//! give the same bytes. Imports only the record types ([`crate::records`]).

use crate::records::RequestRecord;
use mock_providers::{Attempt, FailureClass, FaultRule, Outcome, Traffic};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;

/// The timeline's file name in a scenario's run folder.
pub const TIMELINE_FILE: &str = "timeline.svg";

/// Attempts (all lanes together; and, apart, client requests) drawn one
/// mark each, at most; beyond that every lane is drawn as [`BUCKETS`] time
/// buckets, each split by outcome share, and the picture says so.
pub const MARKS_AT_MOST: usize = 5_000;

/// Time buckets per lane once a lane's marks are aggregated.
pub const BUCKETS: usize = 400;

/// Rows a lane stacks overlapping marks in, at most (more overlap shares rows).
pub const ROWS_AT_MOST: usize = 8;

/// The colour of a shaded fault window.
pub const WINDOW_SHADE: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);

const WIDTH: u32 = 1200;
const LABEL_W: u32 = 220;
const RIGHT: u32 = 20;
const TOP: u32 = 60;
const AXIS_H: u32 = 40;
const LEGEND_H: u32 = 56;
const CLIENT_LANE_H: u32 = 64;
const DEPLOYMENT_LANE_H: u32 = 40;
const LANE_GAP: u32 = 6;

/// What a mark's colour says: the outcome class of an attempt, or what the
/// client got for a request, in one palette with one legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tone {
    /// Served (an attempt) or a good, complete answer (a request).
    Served,
    /// `rate_limit`, `quota_exhausted`; a client 429.
    RateLimit,
    /// `overloaded`, `unavailable`; a client 503 or 529.
    Overloaded,
    /// `server_error`, `bad_gateway`; another client 5xx.
    ServerError,
    /// `timeout`, `stall`; a client timeout.
    Timeout,
    /// `stream_cut`, `stream_error`, `malformed`; a broken client stream.
    Stream,
    /// `connection_reset`; another client transport error.
    Connection,
    /// `context_overflow`, `content_policy`, `auth`, `not_found`; another client 4xx.
    Rejected,
    /// Side traffic, unserved endpoints, refused requests.
    Other,
}

impl Tone {
    /// Every tone, in legend order.
    pub const ALL: [Tone; 9] = [
        Tone::Served,
        Tone::RateLimit,
        Tone::Overloaded,
        Tone::ServerError,
        Tone::Timeout,
        Tone::Stream,
        Tone::Connection,
        Tone::Rejected,
        Tone::Other,
    ];

    /// The tone of a failure class.
    pub fn of_failure(class: FailureClass) -> Tone {
        match class {
            FailureClass::RateLimit | FailureClass::QuotaExhausted => Tone::RateLimit,
            FailureClass::Overloaded | FailureClass::Unavailable => Tone::Overloaded,
            FailureClass::ServerError | FailureClass::BadGateway => Tone::ServerError,
            FailureClass::Timeout
            | FailureClass::Stall
            | FailureClass::Hang
            | FailureClass::SlowFirstToken => Tone::Timeout,
            FailureClass::StreamCut
            | FailureClass::StreamError
            | FailureClass::Malformed
            | FailureClass::MalformedEvent
            | FailureClass::NoDone => Tone::Stream,
            FailureClass::ConnectionReset => Tone::Connection,
            FailureClass::ContextOverflow
            | FailureClass::ContentPolicy
            | FailureClass::Auth
            | FailureClass::NotFound => Tone::Rejected,
        }
    }

    /// The tone of a journal attempt.
    pub fn of_attempt(a: &Attempt) -> Tone {
        if a.traffic != Traffic::Completion {
            return Tone::Other;
        }
        match a.outcome {
            Outcome::Served => Tone::Served,
            Outcome::Fault(class) => Tone::of_failure(class),
            Outcome::Refused => Tone::Other,
        }
    }

    /// The tone of what the client got.
    pub fn of_request(r: &RequestRecord) -> Tone {
        if r.ok() {
            return Tone::Served;
        }
        if let Some(e) = &r.transport_error {
            return if e.to_ascii_lowercase().contains("timed out")
                || e.to_ascii_lowercase().contains("timeout")
            {
                Tone::Timeout
            } else {
                Tone::Connection
            };
        }
        match r.status {
            Some(429) => Tone::RateLimit,
            Some(503 | 529) => Tone::Overloaded,
            Some(500..=599) => Tone::ServerError,
            Some(400..=499) => Tone::Rejected,
            // A 2xx that is not ok: its stream broke or carried an error.
            _ => Tone::Stream,
        }
    }

    /// Its colour (legible on white and on the window shade).
    pub fn colour(self) -> RGBColor {
        match self {
            Tone::Served => RGBColor(0x2C, 0xA0, 0x2C),
            Tone::RateLimit => RGBColor(0xFF, 0x7F, 0x0E),
            Tone::Overloaded => RGBColor(0x94, 0x67, 0xBD),
            Tone::ServerError => RGBColor(0xD6, 0x27, 0x28),
            Tone::Timeout => RGBColor(0x1F, 0x77, 0xB4),
            Tone::Stream => RGBColor(0xE3, 0x77, 0xC2),
            Tone::Connection => RGBColor(0x33, 0x33, 0x33),
            Tone::Rejected => RGBColor(0x8C, 0x56, 0x4B),
            Tone::Other => RGBColor(0x99, 0x99, 0x99),
        }
    }

    /// Its colour as the SVG writes it (`#2CA02C`).
    pub fn hex(self) -> String {
        hex(self.colour())
    }

    /// Its legend label.
    pub fn label(self) -> &'static str {
        match self {
            Tone::Served => "served / ok",
            Tone::RateLimit => "429 rate limit, quota",
            Tone::Overloaded => "overloaded, 503",
            Tone::ServerError => "500, 502",
            Tone::Timeout => "timeout, stall",
            Tone::Stream => "stream cut/error, malformed",
            Tone::Connection => "connection reset",
            Tone::Rejected => "4xx: context, policy, auth, 404",
            Tone::Other => "side traffic, unserved",
        }
    }
}

/// A colour as the SVG backend writes it.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// A deployment's lane.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// Deployment id.
    pub id: String,
    /// Its provider.
    pub provider: String,
}

/// One mark: an attempt on a deployment lane, or a request on the client lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    /// Start, microseconds since the mocks started.
    pub from_us: u64,
    /// End, microseconds since the mocks started.
    pub to_us: u64,
    /// Its colour.
    pub tone: Tone,
}

/// A shaded stretch of a deployment's lane: a fault's schedule window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shade {
    /// Index into [`Timeline::lanes`].
    pub lane: usize,
    /// Start, microseconds since the mocks started.
    pub from_us: u64,
    /// End, microseconds since the mocks started.
    pub to_us: u64,
}

/// Everything the picture draws, in the mocks' time (microseconds since the
/// mock set started).
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// The picture's title.
    pub title: String,
    /// Deployment lanes, in the scenario's order.
    pub lanes: Vec<Lane>,
    /// Per deployment lane, its attempts in arrival order.
    pub attempts: Vec<Vec<Span>>,
    /// Client requests in send order.
    pub requests: Vec<Span>,
    /// Fault windows.
    pub windows: Vec<Shade>,
}

/// A deployment as the timeline needs it.
#[derive(Debug, Clone, Copy)]
pub struct DeploymentLane<'a> {
    /// Deployment id.
    pub id: &'a str,
    /// Its provider.
    pub provider: &'a str,
    /// Its fault rules.
    pub faults: &'a [FaultRule],
}

impl Timeline {
    /// Gathers a scenario's timeline. `mocks_after_us` is how long after
    /// the run's start (the clock of [`RequestRecord::started_us`]) the mocks
    /// started (the clock of the journal). An attempt on a deployment not
    /// listed gets a lane of its own, so every attempt is drawn.
    pub fn build<'r>(
        title: &str,
        deployments: &[DeploymentLane],
        attempts: &[Attempt],
        requests: impl IntoIterator<Item = &'r RequestRecord>,
        mocks_after_us: u64,
    ) -> Timeline {
        let mut lanes: Vec<Lane> = deployments
            .iter()
            .map(|d| Lane {
                id: d.id.to_string(),
                provider: d.provider.to_string(),
            })
            .collect();
        let mut marks: Vec<Vec<Span>> = vec![vec![]; lanes.len()];
        let mut sorted: Vec<&Attempt> = attempts.iter().collect();
        sorted.sort_by_key(|a| (a.received_us, a.seq));
        for a in sorted {
            let lane = match lanes.iter().position(|l| l.id == a.deployment) {
                Some(i) => i,
                None => {
                    lanes.push(Lane {
                        id: a.deployment.clone(),
                        provider: "?".into(),
                    });
                    marks.push(vec![]);
                    lanes.len() - 1
                }
            };
            marks[lane].push(Span {
                from_us: a.received_us,
                to_us: a.finished_us.max(a.received_us),
                tone: Tone::of_attempt(a),
            });
        }
        let mut requests: Vec<Span> = requests
            .into_iter()
            .map(|r| {
                let from_us = r.started_us.saturating_sub(mocks_after_us);
                Span {
                    from_us,
                    to_us: from_us + r.latency_us,
                    tone: Tone::of_request(r),
                }
            })
            .collect();
        requests.sort();
        let windows = deployments
            .iter()
            .enumerate()
            .flat_map(|(lane, d)| {
                d.faults.iter().flat_map(move |f| {
                    f.schedule
                        .windows()
                        .into_iter()
                        .map(move |(from, to)| Shade {
                            lane,
                            from_us: from.as_micros() as u64,
                            to_us: to.as_micros() as u64,
                        })
                })
            })
            .collect();
        Timeline {
            title: title.to_string(),
            lanes,
            attempts: marks,
            requests,
            windows,
        }
    }

    /// The last moment anything ended, at least one millisecond.
    pub fn horizon_us(&self) -> u64 {
        self.attempts
            .iter()
            .flatten()
            .chain(&self.requests)
            .map(|s| s.to_us)
            .max()
            .unwrap_or(0)
            .max(1_000)
    }
}

/// Where things sit in the picture, in pixels: tests read the SVG with it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// Left edge of the plot (time 0).
    pub left: u32,
    /// Right edge of the plot (the horizon).
    pub right: u32,
    /// Top edge of the plot (the client lane's top).
    pub top: u32,
    /// Bottom edge of the plot.
    pub bottom: u32,
    /// The horizon, microseconds.
    pub horizon_us: u64,
    lanes: usize,
}

impl Frame {
    /// The frame of a timeline.
    pub fn of(t: &Timeline) -> Frame {
        let lanes = t.lanes.len();
        let plot_h = CLIENT_LANE_H + lanes as u32 * (DEPLOYMENT_LANE_H + LANE_GAP);
        Frame {
            width: WIDTH,
            height: TOP + plot_h + AXIS_H + LEGEND_H,
            left: LABEL_W,
            right: WIDTH - RIGHT,
            top: TOP,
            bottom: TOP + plot_h,
            horizon_us: t.horizon_us(),
            lanes,
        }
    }

    /// The x pixel of a moment.
    pub fn x_px(&self, us: u64) -> f64 {
        self.left as f64 + (self.right - self.left) as f64 * (us as f64 / self.horizon_us as f64)
    }

    /// Top and bottom pixel of the client lane (`None`) or a deployment lane.
    pub fn lane_px(&self, lane: Option<usize>) -> (u32, u32) {
        match lane {
            None => (self.top, self.top + CLIENT_LANE_H),
            Some(i) => {
                let top =
                    self.top + CLIENT_LANE_H + LANE_GAP + i as u32 * (DEPLOYMENT_LANE_H + LANE_GAP);
                (top, top + DEPLOYMENT_LANE_H)
            }
        }
    }

    /// The lane a pixel row falls in: `Some(None)` the client's, `Some(Some(i))`
    /// deployment `i`'s, `None` outside every lane.
    pub fn lane_at(&self, y: f64) -> Option<Option<usize>> {
        std::iter::once(None)
            .chain((0..self.lanes).map(Some))
            .find(|l| {
                let (top, bottom) = self.lane_px(*l);
                y >= top as f64 && y < bottom as f64
            })
    }
}

/// A rectangle in picture pixels (plot-relative y: from the plot's top).
type Rect = (f64, f64, f64, f64, RGBColor);

/// Places a lane's marks: one rectangle each, overlapping marks on stacked
/// rows, or, when `aggregate`, per time bucket one rectangle per outcome
/// present, heights by share.
fn lane_rects(
    frame: &Frame,
    spans: &[Span],
    band: (u32, u32),
    aggregate: bool,
    out: &mut Vec<Rect>,
) {
    let (top, bottom) = (band.0 as f64, band.1 as f64);
    let min_w = frame.horizon_us as f64 / (frame.right - frame.left) as f64;
    if aggregate {
        let mut buckets: BTreeMap<usize, BTreeMap<Tone, u64>> = BTreeMap::new();
        for s in spans {
            let b = ((s.from_us as f64 / frame.horizon_us as f64) * BUCKETS as f64) as usize;
            *buckets
                .entry(b.min(BUCKETS - 1))
                .or_default()
                .entry(s.tone)
                .or_insert(0) += 1;
        }
        let width = frame.horizon_us as f64 / BUCKETS as f64;
        for (b, tones) in buckets {
            let total: u64 = tones.values().sum();
            let mut y = top;
            for (tone, n) in tones {
                let h = (bottom - top) * n as f64 / total as f64;
                let x0 = b as f64 * width;
                out.push((x0, y, x0 + width, y + h, tone.colour()));
                y += h;
            }
        }
        return;
    }
    let mut row_ends: Vec<u64> = vec![];
    let mut rows = Vec::with_capacity(spans.len());
    for s in spans {
        let row = match row_ends.iter().position(|end| *end <= s.from_us) {
            Some(r) => r,
            None if row_ends.len() < ROWS_AT_MOST => {
                row_ends.push(0);
                row_ends.len() - 1
            }
            None => row_ends
                .iter()
                .enumerate()
                .min_by_key(|(_, end)| **end)
                .map_or(0, |(r, _)| r),
        };
        row_ends[row] = s.to_us.max(s.from_us + 1);
        rows.push(row);
    }
    let row_h = (bottom - top) / row_ends.len().max(1) as f64;
    for (s, row) in spans.iter().zip(rows) {
        let x0 = s.from_us as f64;
        let x1 = (s.to_us as f64).max(x0 + min_w);
        let y0 = top + row as f64 * row_h + 1.0;
        out.push((
            x0,
            y0,
            x1,
            (y0 + row_h - 2.0).max(y0 + 1.0),
            s.tone.colour(),
        ));
    }
}

/// A lane label cut to what the label column holds.
fn fit(label: &str) -> String {
    const AT_MOST: usize = 30;
    if label.chars().count() <= AT_MOST {
        label.to_string()
    } else {
        let kept: String = label.chars().take(AT_MOST - 1).collect();
        format!("{kept}…")
    }
}

/// Renders the timeline as an SVG document.
///
/// ```
/// use crossfire::timeline::{render, DeploymentLane, Timeline};
/// let lanes = [DeploymentLane { id: "claude", provider: "anthropic", faults: &[] }];
/// let t = Timeline::build("no traffic yet", &lanes, &[], &[], 0);
/// let svg = render(&t).unwrap();
/// assert!(svg.starts_with("<svg") && svg.contains("claude (anthropic)"));
/// ```
pub fn render(t: &Timeline) -> Result<String, String> {
    let frame = Frame::of(t);
    let mut svg = String::new();
    draw(t, &frame, &mut svg).map_err(|e| format!("cannot draw the timeline: {e}"))?;
    Ok(svg)
}

fn draw(
    t: &Timeline,
    frame: &Frame,
    svg: &mut String,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let root = SVGBackend::with_string(svg, (frame.width, frame.height)).into_drawing_area();
    root.fill(&WHITE)?;
    let text = |size: u32| ("sans-serif", size).into_font().color(&BLACK);
    root.draw(&Text::new(
        format!(
            "{}: attempts per deployment, client requests on top",
            t.title
        ),
        (10, 8),
        text(18),
    ))?;
    let horizon_s = frame.horizon_us as f64 / 1e6;
    // The chart's plot is exactly the frame's: y counts pixels from its top.
    let area = root.margin(
        frame.top,
        frame.height - frame.bottom - AXIS_H,
        frame.left,
        frame.width - frame.right,
    );
    let plot_h = (frame.bottom - frame.top) as f64;
    // Ticks fall about a tenth of the horizon apart: enough decimals for that.
    let decimals = (1.0 - horizon_s.log10().floor()).clamp(0.0, 6.0) as usize;
    let mut chart = ChartBuilder::on(&area)
        .x_label_area_size(AXIS_H)
        .build_cartesian_2d(0f64..horizon_s, plot_h..0f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(10)
        .x_desc("seconds since the mock providers started")
        .x_label_formatter(&|x| format!("{x:.decimals$}"))
        .light_line_style(WHITE)
        .draw()?;
    let rel = |(a, b): (u32, u32)| (a - frame.top, b - frame.top);
    let shade = WINDOW_SHADE.filled();
    for w in &t.windows {
        let from = (w.from_us as f64 / 1e6).min(horizon_s);
        let to = (w.to_us as f64 / 1e6).min(horizon_s);
        if from >= to {
            continue;
        }
        let (top, bottom) = rel(frame.lane_px(Some(w.lane)));
        chart.draw_series(std::iter::once(Rectangle::new(
            [(from, top as f64), (to, bottom as f64)],
            shade,
        )))?;
    }
    let mut notes = vec![];
    let mut rects: Vec<Rect> = vec![];
    let mut ends: Vec<(f64, f64, f64)> = vec![];
    if t.requests.len() > MARKS_AT_MOST {
        lane_rects(
            frame,
            &t.requests,
            rel(frame.lane_px(None)),
            true,
            &mut rects,
        );
        notes.push(format!(
            "{} requests: the client lane is drawn as {BUCKETS} time buckets (by send time), split by outcome share",
            t.requests.len()
        ));
    } else {
        lane_rects(
            frame,
            &t.requests,
            rel(frame.lane_px(None)),
            false,
            &mut rects,
        );
        // Each request's end, marked: where the client had its answer.
        ends = rects.iter().map(|r| (r.2, r.1, r.3)).collect();
    }
    let attempts: usize = t.attempts.iter().map(Vec::len).sum();
    let aggregate = attempts > MARKS_AT_MOST;
    for (i, spans) in t.attempts.iter().enumerate() {
        lane_rects(
            frame,
            spans,
            rel(frame.lane_px(Some(i))),
            aggregate,
            &mut rects,
        );
    }
    if aggregate {
        notes.push(format!(
            "{attempts} attempts (over {MARKS_AT_MOST}): every deployment lane is drawn as {BUCKETS} time buckets, split by outcome share"
        ));
    }
    chart.draw_series(
        rects.into_iter().map(|(x0, y0, x1, y1, c)| {
            Rectangle::new([(x0 / 1e6, y0), (x1 / 1e6, y1)], c.filled())
        }),
    )?;
    chart.draw_series(ends.into_iter().map(|(x, y0, y1)| {
        PathElement::new(vec![(x / 1e6, y0), (x / 1e6, y1)], BLACK.stroke_width(2))
    }))?;
    // Lane labels and separators, in picture pixels.
    let label = text(13).pos(Pos::new(HPos::Right, VPos::Center));
    let lanes = std::iter::once((None, "client requests".to_string())).chain(
        t.lanes
            .iter()
            .enumerate()
            .map(|(i, l)| (Some(i), fit(&format!("{} ({})", l.id, l.provider)))),
    );
    for (lane, name) in lanes {
        let (top, bottom) = frame.lane_px(lane);
        root.draw(&Text::new(
            name,
            (frame.left as i32 - 8, ((top + bottom) / 2) as i32),
            label.clone(),
        ))?;
        root.draw(&PathElement::new(
            vec![
                (frame.left as i32, bottom as i32),
                (frame.right as i32, bottom as i32),
            ],
            RGBColor(0xEE, 0xEE, 0xEE),
        ))?;
    }
    // The legend, below the axis.
    let legend_top = (frame.bottom + AXIS_H + 8) as i32;
    let small = text(13);
    let mut entries: Vec<(RGBColor, &str)> =
        Tone::ALL.iter().map(|t| (t.colour(), t.label())).collect();
    entries.push((WINDOW_SHADE, "fault window"));
    let per_row = 5;
    for (k, (colour, name)) in entries.into_iter().enumerate() {
        let x = 10 + (k % per_row) as i32 * 235;
        let y = legend_top + (k / per_row) as i32 * 20;
        root.draw(&Rectangle::new([(x, y), (x + 14, y + 12)], colour.filled()))?;
        root.draw(&Text::new(name, (x + 20, y), small.clone()))?;
    }
    for (k, note) in notes.into_iter().enumerate() {
        root.draw(&Text::new(
            note,
            (10, 28 + k as i32 * 14),
            text(11).color(&RGBColor(0x66, 0x00, 0x00)),
        ))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mock_providers::{Dialect, Fault, Schedule};
    use std::time::Duration;

    fn attempt(seq: u64, deployment: &str, outcome: Outcome, from_ms: u64, to_ms: u64) -> Attempt {
        let line = serde_json::json!({
            "seq": seq, "attempt": seq, "traffic": Traffic::Completion, "deployment": deployment,
            "dialect": Dialect::Openai, "method": "POST", "path": "/v1/chat/completions",
            "model": "gpt-4o", "marker": null, "stream": false, "bytes_in": 0,
            "prompt_tokens": null, "token_counter": null, "max_tokens": null,
            "outcome": outcome, "cause": null, "status": 200, "usage": null, "bytes_out": 0,
            "events_sent": 0, "completed": true, "received_unix_ms": 0,
            "received_us": from_ms * 1000, "first_byte_us": null, "finished_us": to_ms * 1000
        });
        serde_json::from_value(line).unwrap()
    }

    fn request(n: u64, started_ms: u64, latency_ms: u64, status: u16) -> RequestRecord {
        RequestRecord {
            n,
            marker: format!("xf:t:{n}"),
            traffic: 0,
            model: "m".into(),
            stream: false,
            started_us: started_ms * 1000,
            latency_us: latency_ms * 1000,
            ttfb_us: None,
            first_token_us: None,
            status: Some(status),
            transport_error: None,
            stream_complete: None,
            stream_error: None,
            headers: Default::default(),
            usage: None,
            cost: None,
            error_body: None,
            bytes_sent: 0,
        }
    }

    /// A rect of the SVG: its lane (`None` outside every lane), x, width, fill.
    fn rects(svg: &str, frame: &Frame) -> Vec<(Option<Option<usize>>, f64, f64, String)> {
        let doc = roxmltree::Document::parse(svg).unwrap();
        // The white background is no mark.
        doc.descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("fill") != Some("#FFFFFF"))
            .map(|n| {
                let num = |a: &str| n.attribute(a).unwrap().parse::<f64>().unwrap();
                let mid = num("y") + num("height") / 2.0;
                (
                    frame.lane_at(mid),
                    num("x"),
                    num("width"),
                    n.attribute("fill").unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Marks (not window shades) in a lane, by fill.
    fn marks_in(svg: &str, frame: &Frame, lane: Option<usize>) -> Vec<String> {
        let mut found: Vec<String> = rects(svg, frame)
            .into_iter()
            .filter(|(l, _, _, fill)| *l == Some(lane) && *fill != hex(WINDOW_SHADE))
            .map(|(_, _, _, fill)| fill)
            .collect();
        found.sort();
        found
    }

    fn sample() -> (Vec<FaultRule>, Vec<Attempt>, Vec<RequestRecord>) {
        let faults = vec![FaultRule {
            fault: Fault::new(FailureClass::RateLimit),
            schedule: Schedule::Window {
                from: Duration::from_millis(1000),
                to: Duration::from_millis(3000),
            },
        }];
        let attempts = vec![
            attempt(1, "claude", Outcome::Served, 200, 400),
            attempt(
                2,
                "claude",
                Outcome::Fault(FailureClass::RateLimit),
                1100,
                1150,
            ),
            attempt(3, "gpt", Outcome::Served, 1160, 1400),
            attempt(
                4,
                "claude",
                Outcome::Fault(FailureClass::RateLimit),
                1200,
                1210,
            ),
            attempt(
                5,
                "gpt",
                Outcome::Fault(FailureClass::StreamCut),
                1220,
                1900,
            ),
            attempt(
                6,
                "claude",
                Outcome::Fault(FailureClass::Overloaded),
                3500,
                3600,
            ),
        ];
        // The run started 100 ms before the mocks.
        let requests = vec![
            request(1, 300, 210, 200),
            request(2, 1200, 210, 200),
            request(3, 1300, 600, 200),
            request(4, 3600, 150, 529),
        ];
        (faults, attempts, requests)
    }

    fn sample_timeline() -> Timeline {
        let (faults, attempts, requests) = sample();
        let lanes = [
            DeploymentLane {
                id: "claude",
                provider: "anthropic",
                faults: &faults,
            },
            DeploymentLane {
                id: "gpt",
                provider: "openai",
                faults: &[],
            },
        ];
        Timeline::build("sample", &lanes, &attempts, &requests, 100_000)
    }

    #[test]
    fn every_attempt_is_one_mark_in_its_lane_coloured_by_its_outcome() {
        let t = sample_timeline();
        let svg = render(&t).unwrap();
        let frame = Frame::of(&t);
        let (_, attempts, _) = sample();
        for (i, id) in ["claude", "gpt"].into_iter().enumerate() {
            let mut want: Vec<String> = attempts
                .iter()
                .filter(|a| a.deployment == id)
                .map(|a| Tone::of_attempt(a).hex())
                .collect();
            want.sort();
            assert_eq!(marks_in(&svg, &frame, Some(i)), want, "lane {id}");
        }
        assert_eq!(Tone::of_failure(FailureClass::RateLimit).hex(), "#FF7F0E");
    }

    #[test]
    fn the_fault_window_is_shaded_over_its_time_range_in_its_lane() {
        let t = sample_timeline();
        let svg = render(&t).unwrap();
        let frame = Frame::of(&t);
        let shades: Vec<_> = rects(&svg, &frame)
            .into_iter()
            .filter(|r| r.3 == hex(WINDOW_SHADE) && r.0.is_some())
            .collect();
        assert_eq!(shades.len(), 1, "{shades:?}");
        let (lane, x, w, _) = &shades[0];
        assert_eq!(*lane, Some(Some(0)));
        assert!((x - frame.x_px(1_000_000)).abs() <= 1.5, "{x}");
        assert!((x + w - frame.x_px(3_000_000)).abs() <= 1.5, "{}", x + w);
    }

    #[test]
    fn client_bars_span_send_to_end_one_per_request_coloured_by_status() {
        let t = sample_timeline();
        let svg = render(&t).unwrap();
        let frame = Frame::of(&t);
        let bars: Vec<_> = rects(&svg, &frame)
            .into_iter()
            .filter(|r| r.0 == Some(None))
            .collect();
        assert_eq!(bars.len(), 4);
        let green = Tone::Served.hex();
        assert_eq!(bars.iter().filter(|b| b.3 == green).count(), 3);
        assert_eq!(
            bars.iter()
                .filter(|b| b.3 == Tone::Overloaded.hex())
                .count(),
            1
        );
        // Request 3 was sent 1300 ms into the run, 1200 ms into the mocks' time.
        let third = bars
            .iter()
            .find(|b| (b.1 - frame.x_px(1_200_000)).abs() <= 1.5);
        let third = third.unwrap_or_else(|| panic!("{bars:?}"));
        assert!((third.1 + third.2 - frame.x_px(1_800_000)).abs() <= 1.5);
    }

    #[test]
    fn the_same_inputs_give_the_same_picture() {
        let svg = render(&sample_timeline()).unwrap();
        assert_eq!(svg, render(&sample_timeline()).unwrap());
        insta::assert_snapshot!(svg);
    }

    /// A long run must not write a picture of hundreds of megabytes.
    #[test]
    fn twenty_thousand_attempts_are_drawn_as_buckets_and_said_so() {
        let outcomes = [
            Outcome::Served,
            Outcome::Fault(FailureClass::RateLimit),
            Outcome::Fault(FailureClass::ServerError),
        ];
        let attempts: Vec<Attempt> = (0..20_000u64)
            .map(|i| {
                let lane = ["a", "b"][(i % 2) as usize];
                attempt(i + 1, lane, outcomes[(i % 3) as usize], i * 3, i * 3 + 40)
            })
            .collect();
        let requests: Vec<RequestRecord> = (0..10_000u64)
            .map(|i| request(i + 1, i * 6, 45, 200))
            .collect();
        let lanes = [
            DeploymentLane {
                id: "a",
                provider: "openai",
                faults: &[],
            },
            DeploymentLane {
                id: "b",
                provider: "anthropic",
                faults: &[],
            },
        ];
        let started = std::time::Instant::now();
        let t = Timeline::build("long", &lanes, &attempts, &requests, 0);
        let svg = render(&t).unwrap();
        eprintln!(
            "20000 attempts, 10000 requests: {} bytes in {:?}",
            svg.len(),
            started.elapsed()
        );
        assert!(svg.len() < 1_000_000, "{} bytes", svg.len());
        assert!(
            svg.contains(
                "20000 attempts (over 5000): every deployment lane is drawn as 400 time buckets"
            ),
            "{svg}"
        );
        assert!(svg.contains("10000 requests: the client lane is drawn as 400 time buckets"));
        let frame = Frame::of(&t);
        let in_lane_a = marks_in(&svg, &frame, Some(0));
        assert!(in_lane_a.len() <= BUCKETS * 3, "{}", in_lane_a.len());
        assert!(in_lane_a.contains(&Tone::ServerError.hex()));
    }

    #[test]
    fn names_with_markup_characters_and_long_ids_still_make_valid_svg() {
        let attempts = [attempt(
            1,
            "a<b>&c-with-a-very-long-deployment-id",
            Outcome::Served,
            0,
            5,
        )];
        let lanes = [DeploymentLane {
            id: "a<b>&c-with-a-very-long-deployment-id",
            provider: "openai",
            faults: &[],
        }];
        let t = Timeline::build("x & <y>", &lanes, &attempts, &[], 0);
        let svg = render(&t).unwrap();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let texts: Vec<&str> = doc
            .descendants()
            .filter_map(|n| n.text())
            .map(str::trim)
            .collect();
        assert!(texts.iter().any(|t| t.starts_with("x & <y>")), "{texts:?}");
        assert!(
            texts.contains(&"a<b>&c-with-a-very-long-deplo…"),
            "{texts:?}"
        );
        assert_eq!(
            marks_in(&svg, &Frame::of(&t), Some(0)),
            [Tone::Served.hex()]
        );
    }

    #[test]
    fn only_time_schedules_have_windows() {
        let w = Schedule::Window {
            from: Duration::from_secs(1),
            to: Duration::from_secs(2),
        };
        assert_eq!(
            w.windows(),
            vec![(Duration::from_secs(1), Duration::from_secs(2))]
        );
        assert!(Schedule::Always.windows().is_empty());
        assert!(Schedule::First(3).windows().is_empty());
        let secs = Duration::from_secs;
        let outage = Schedule::Outage {
            from: secs(10),
            length: secs(60),
        };
        assert_eq!(outage.windows(), vec![(secs(10), secs(70))]);
        // Down 20 s, up 20 s, three times, from 5 s: the down stretches.
        let flap = Schedule::Flap {
            from: secs(5),
            down: secs(20),
            up: secs(20),
            times: 3,
        };
        let windows = flap.windows();
        assert_eq!(
            windows,
            vec![
                (secs(5), secs(25)),
                (secs(45), secs(65)),
                (secs(85), secs(105))
            ]
        );
        // Each shaded stretch is exactly where the schedule fires.
        for (from, to) in windows {
            assert!(flap.fires(1, from) && flap.fires(1, to - Duration::from_millis(1)));
            assert!(!flap.fires(1, to));
        }
    }
}
