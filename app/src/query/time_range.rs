//! Time ranges: relative (`24h`: the last 24 hours) or absolute (`from`/`to`).

use std::fmt;

use chrono::{DateTime, Duration, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimeUnit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
}

impl TimeUnit {
    fn suffix(self) -> char {
        match self {
            TimeUnit::Second => 's',
            TimeUnit::Minute => 'm',
            TimeUnit::Hour => 'h',
            TimeUnit::Day => 'd',
            TimeUnit::Week => 'w',
        }
    }

    fn seconds(self) -> i64 {
        match self {
            TimeUnit::Second => 1,
            TimeUnit::Minute => 60,
            TimeUnit::Hour => 3600,
            TimeUnit::Day => 86_400,
            TimeUnit::Week => 7 * 86_400,
        }
    }

    fn word(self) -> &'static str {
        match self {
            TimeUnit::Second => "second",
            TimeUnit::Minute => "minute",
            TimeUnit::Hour => "hour",
            TimeUnit::Day => "day",
            TimeUnit::Week => "week",
        }
    }
}

/// The longest relative range accepted: ten years.
pub const MAX_RELATIVE_SECONDS: i64 = 10 * 366 * 86_400;

/// "The last `amount` `unit`s", e.g. `15m`, `24h`, `7d`, `90d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RelativeRange {
    pub amount: u32,
    pub unit: TimeUnit,
}

impl RelativeRange {
    pub const fn new(amount: u32, unit: TimeUnit) -> Self {
        RelativeRange { amount, unit }
    }

    pub fn parse(text: &str) -> Result<RelativeRange, String> {
        let unit = match text.chars().last() {
            Some('s') => TimeUnit::Second,
            Some('m') => TimeUnit::Minute,
            Some('h') => TimeUnit::Hour,
            Some('d') => TimeUnit::Day,
            Some('w') => TimeUnit::Week,
            _ => return Err(format!("{text:?} is not a range like 15m, 24h or 7d (units s, m, h, d, w)")),
        };
        let digits = &text[..text.len() - 1];
        let amount: u32 = digits
            .parse()
            .ok()
            .filter(|n| *n > 0 && digits.chars().all(|c| c.is_ascii_digit()))
            .ok_or_else(|| format!("{text:?} needs a positive whole number before the unit"))?;
        let range = RelativeRange { amount, unit };
        if range.seconds() > MAX_RELATIVE_SECONDS {
            return Err(format!("{text:?} is longer than ten years"));
        }
        Ok(range)
    }

    pub fn seconds(self) -> i64 {
        i64::from(self.amount) * self.unit.seconds()
    }

    /// "Last 24 hours", "Last 1 hour" reads badly: "Last hour".
    pub fn label(self) -> String {
        if self.amount == 1 {
            format!("Last {}", self.unit.word())
        } else {
            format!("Last {} {}s", self.amount, self.unit.word())
        }
    }
}

impl fmt::Display for RelativeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.unit.suffix())
    }
}

/// The presets offered by the range picker.
pub const PRESETS: [RelativeRange; 5] = [
    RelativeRange::new(15, TimeUnit::Minute),
    RelativeRange::new(1, TimeUnit::Hour),
    RelativeRange::new(24, TimeUnit::Hour),
    RelativeRange::new(7, TimeUnit::Day),
    RelativeRange::new(30, TimeUnit::Day),
];

pub const DEFAULT_RANGE: RelativeRange = RelativeRange::new(24, TimeUnit::Hour);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimeRange {
    Relative(RelativeRange),
    /// `to: None` means "until now".
    Absolute { from: DateTime<Utc>, to: Option<DateTime<Utc>> },
}

impl Default for TimeRange {
    fn default() -> Self {
        TimeRange::Relative(DEFAULT_RANGE)
    }
}

/// A resolved half-open interval `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Bounds {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && t < self.to
    }

    pub fn duration(&self) -> Duration {
        self.to - self.from
    }
}

impl TimeRange {
    /// The interval this range covers at `now`.
    pub fn resolve(&self, now: DateTime<Utc>) -> Bounds {
        match *self {
            TimeRange::Relative(r) => Bounds { from: now - Duration::seconds(r.seconds()), to: now },
            TimeRange::Absolute { from, to } => Bounds { from, to: to.unwrap_or(now).max(from) },
        }
    }

    /// An absolute range, in whole milliseconds (the precision URLs carry).
    pub fn absolute(from: DateTime<Utc>, to: DateTime<Utc>) -> TimeRange {
        TimeRange::Absolute { from: from.trunc_subsecs(3), to: Some(to.trunc_subsecs(3)) }
    }
}

/// RFC 3339 in UTC, with milliseconds only when there are any: `2026-11-20T10:00:00Z`.
pub fn format_instant(t: DateTime<Utc>) -> String {
    let format = if t.timestamp_subsec_millis() == 0 { SecondsFormat::Secs } else { SecondsFormat::Millis };
    t.to_rfc3339_opts(format, true)
}

/// Parses RFC 3339 (any offset), normalised to UTC and whole milliseconds.
pub fn parse_instant(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(3))
        .map_err(|_| format!("{text:?} is not an RFC 3339 time such as 2026-11-20T10:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_ranges_parse_and_print() {
        for text in ["15m", "1h", "24h", "7d", "30d", "90d", "2w", "45s", "365d"] {
            assert_eq!(RelativeRange::parse(text).map(|r| r.to_string()), Ok(text.to_string()));
        }
        for bad in ["", "h", "0h", "-1h", "1.5h", "10y", "+5m", "99999w"] {
            assert!(RelativeRange::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn labels_read_naturally() {
        assert_eq!(RelativeRange::parse("1h").map(RelativeRange::label), Ok("Last hour".into()));
        assert_eq!(RelativeRange::parse("7d").map(RelativeRange::label), Ok("Last 7 days".into()));
    }

    #[test]
    fn resolve_relative_and_open_ended() {
        let now = parse_instant("2026-11-20T12:00:00Z").expect("valid");
        let day = TimeRange::Relative(DEFAULT_RANGE).resolve(now);
        assert_eq!(day.from, parse_instant("2026-11-19T12:00:00Z").expect("valid"));
        assert_eq!(day.to, now);
        let from = parse_instant("2026-11-20T11:00:00Z").expect("valid");
        assert_eq!(TimeRange::Absolute { from, to: None }.resolve(now).to, now);
    }

    #[test]
    fn instants_normalise_to_utc_milliseconds() {
        let t = parse_instant("2026-11-20T12:00:00.123456+02:00").expect("valid");
        assert_eq!(format_instant(t), "2026-11-20T10:00:00.123Z");
        assert_eq!(format_instant(parse_instant("2026-11-20T10:00:00Z").expect("valid")), "2026-11-20T10:00:00Z");
    }
}
