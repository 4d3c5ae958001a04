//! Turning values into the text people read. Pure functions, shared by server rendering and
//! the browser so both produce the same strings.

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};

use crate::api::Total;
use crate::event::{ActorType, Event};
use crate::query::{TimeRange, ViewState};

/// 1204311 → "1,204,311".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "1 event", "1,204,311 events", or "More than 10,000 events" for a lower bound.
pub fn total_label(total: Total) -> String {
    let noun = if total.count == 1 && total.exact { "event" } else { "events" };
    if total.exact {
        format!("{} {noun}", thousands(total.count))
    } else {
        format!("More than {} {noun}", thousands(total.count))
    }
}

/// A time in the display zone: the short form for the table ("Nov 21, 14:03:22", with the
/// year when it is not this year) and the exact form for hovering.
pub fn time_short(t: DateTime<Utc>, offset_minutes: i32, now: DateTime<Utc>) -> String {
    let local = t.with_timezone(&offset(offset_minutes));
    let clock = format!("{:02}:{:02}:{:02}", local.hour(), local.minute(), local.second());
    if local.year() == now.with_timezone(&offset(offset_minutes)).year() {
        format!("{}, {clock}", month_day(local))
    } else {
        format!("{} {}, {clock}", month_day(local), local.year())
    }
}

/// "Nov 21". (Written out rather than with chrono's strftime: a smaller WebAssembly bundle.)
pub fn month_day<T: Datelike>(date: T) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!("{} {}", MONTHS[date.month0() as usize], date.day())
}

/// "2026-11-21 14:03:22.481 UTC+01:00".
pub fn time_exact(t: DateTime<Utc>, offset_minutes: i32) -> String {
    let l = t.with_timezone(&offset(offset_minutes));
    format!(
        "{}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} {}",
        l.year(), l.month(), l.day(), l.hour(), l.minute(), l.second(), l.timestamp_subsec_millis(), offset_label(offset_minutes)
    )
}

/// "UTC", "UTC+01:00", "UTC-05:30".
pub fn offset_label(offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return "UTC".into();
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let m = offset_minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", m / 60, m % 60)
}

/// A time for ranges and chart labels: "Nov 21, 14:03".
pub fn time_minutes(t: DateTime<Utc>, offset_minutes: i32) -> String {
    let local = t.with_timezone(&offset(offset_minutes));
    format!("{}, {:02}:{:02}", month_day(local), local.hour(), local.minute())
}

fn offset(minutes: i32) -> FixedOffset {
    FixedOffset::east_opt(minutes * 60).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"))
}

/// What the range button says: "Last 24 hours", or "Nov 20, 10:00 – Nov 21, 10:00".
pub fn range_label(range: &TimeRange, offset_minutes: i32) -> String {
    match range {
        TimeRange::Relative(r) => r.label(),
        TimeRange::Absolute { from, to: Some(to) } => {
            // As precise as a window this short needs (a 40-second window never reads
            // "14:03 – 14:03"; an hour reads in minutes), the date once when both ends share it.
            let span = (*to - *from).num_milliseconds().abs();
            let enough = if span >= 3_600_000 { 0 } else if span >= 60_000 { 1 } else { 2 };
            let digits = precision(*from).max(precision(*to)).min(enough);
            let (a, b) = (from.with_timezone(&offset(offset_minutes)), to.with_timezone(&offset(offset_minutes)));
            let end = if a.date_naive() == b.date_naive() { clock(b, digits) } else { format!("{}, {}", month_day(b), clock(b, digits)) };
            format!("{}, {} – {end}", month_day(a), clock(a, digits))
        }
        TimeRange::Absolute { from, to: None } => {
            let a = from.with_timezone(&offset(offset_minutes));
            format!("Since {}, {}", month_day(a), clock(a, precision(*from).min(1)))
        }
    }
}

/// 0: whole minutes, 1: whole seconds, 2: milliseconds.
fn precision(t: DateTime<Utc>) -> u8 {
    match (t.second(), t.timestamp_subsec_millis()) {
        (0, 0) => 0,
        (_, 0) => 1,
        _ => 2,
    }
}

fn clock(t: DateTime<FixedOffset>, precision: u8) -> String {
    match precision {
        0 => format!("{:02}:{:02}", t.hour(), t.minute()),
        1 => format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
        _ => format!("{:02}:{:02}:{:02}.{:03}", t.hour(), t.minute(), t.second(), t.timestamp_subsec_millis()),
    }
}

/// The CSS class of a status code: `s2xx` … `s5xx`.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "s1xx",
        200..=299 => "s2xx",
        300..=399 => "s3xx",
        400..=499 => "s4xx",
        _ => "s5xx",
    }
}

/// The badge next to an actor's name: API tokens, programs, and people using the CLI.
pub fn actor_badge(event: &Event) -> Option<&'static str> {
    match event.actor.actor_type {
        ActorType::ApiToken => Some("API"),
        ActorType::System => Some("SYSTEM"),
        ActorType::Service => Some("SERVICE"),
        ActorType::User if event.source.as_deref() == Some("cli") => Some("CLI"),
        ActorType::User => None,
    }
}

/// A JSON value in a changes table: strings bare, everything else as JSON, absence as "—".
pub fn change_value(value: Option<&serde_json::Value>) -> String {
    match value {
        None => "—".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A sentence describing what a view selects, for the empty state.
pub fn describe_filters(view: &ViewState) -> String {
    let mut parts: Vec<String> = view
        .filters()
        .iter()
        .map(|f| {
            let values: Vec<String> = f.values().iter().map(|v| v.display()).collect();
            format!("{} {} {}", f.field.label(), f.operator_label(), values.join(", "))
        })
        .collect();
    if let Some(q) = &view.search {
        parts.push(format!("matching “{q}”"));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    #[test]
    fn ranges_read_as_precisely_as_their_bounds() {
        let range = |a: &str, b: &str| range_label(&TimeRange::absolute(t(a), t(b)), 0);
        assert_eq!(range("2026-11-21T06:48:00Z", "2026-11-21T07:48:00Z"), "Nov 21, 06:48 – 07:48");
        assert_eq!(range("2026-11-21T06:48:05Z", "2026-11-21T06:48:45Z"), "Nov 21, 06:48:05 – 06:48:45");
        assert_eq!(range("2026-11-21T06:48:05.250Z", "2026-11-21T06:48:05.750Z"), "Nov 21, 06:48:05.250 – 06:48:05.750");
        assert_eq!(range("2026-11-20T22:00:00Z", "2026-11-21T02:00:00Z"), "Nov 20, 22:00 – Nov 21, 02:00");
        assert_eq!(range_label(&TimeRange::absolute(t("2026-11-20T22:00:00Z"), t("2026-11-21T02:00:00Z")), 120), "Nov 21, 00:00 – 04:00");
        assert_eq!(range("2026-11-21T06:48:05.250Z", "2026-11-21T09:12:41.750Z"), "Nov 21, 06:48 – 09:12", "hours read in minutes");
        assert_eq!(range("2026-11-21T06:48:05.250Z", "2026-11-21T06:58:41.750Z"), "Nov 21, 06:48:05 – 06:58:41");
    }

    #[test]
    fn numbers_and_totals() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_204_311), "1,204,311");
        assert_eq!(total_label(Total { count: 1, exact: true }), "1 event");
        assert_eq!(total_label(Total { count: 1_204_311, exact: true }), "1,204,311 events");
        assert_eq!(total_label(Total { count: 10_000, exact: false }), "More than 10,000 events");
    }

    #[test]
    fn times_in_the_display_zone() {
        let now = t("2026-11-21T12:00:00Z");
        assert_eq!(time_short(t("2026-11-21T13:03:22.481Z"), 60, now), "Nov 21, 14:03:22");
        assert_eq!(time_short(t("2025-12-31T23:30:00Z"), 60, now), "Jan 1, 00:30:00", "already 2026 locally");
        assert_eq!(time_short(t("2025-06-01T10:00:00Z"), 60, now), "Jun 1 2025, 11:00:00");
        assert_eq!(time_exact(t("2026-11-21T13:03:22.481Z"), 60), "2026-11-21 14:03:22.481 UTC+01:00");
        assert_eq!(time_exact(t("2026-11-21T13:03:22Z"), -330), "2026-11-21 07:33:22.000 UTC-05:30");
        assert_eq!(offset_label(0), "UTC");
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(204), "s2xx");
        assert_eq!(status_class(404), "s4xx");
        assert_eq!(status_class(503), "s5xx");
    }

    #[test]
    fn change_values_read_naturally() {
        assert_eq!(change_value(None), "—");
        assert_eq!(change_value(Some(&serde_json::json!("v1.2"))), "v1.2");
        assert_eq!(change_value(Some(&serde_json::json!(3))), "3");
        assert_eq!(change_value(Some(&serde_json::json!({"a": true}))), r#"{"a":true}"#);
    }
}

/// JSON text indented for reading — the whole document, or one of its members. In the
/// browser this uses `JSON.stringify` (serde's printer would add kilobytes to the bundle); on
/// the server, serde.
pub fn pretty_json(json: &str, member: Option<&str>) -> String {
    crate::browser::pretty_json(json, member)
}
