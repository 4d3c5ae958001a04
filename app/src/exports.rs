//! The JSON shapes of export jobs (`/api/v1/exports`), shared by the server, which writes
//! them, and the page, which shows them. See docs/api.md.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/exports`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewExport {
    /// Shown in the list and used for the file names; defaults to "Export <date>".
    #[serde(default)]
    pub name: Option<String>,
    /// Any of `csv`, `ndjson`, `cef`, `xlsx`.
    pub formats: Vec<String>,
    /// The view in the URL format (a query string, with or without the leading `?`).
    #[serde(default)]
    pub view: String,
}

/// One export job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSummary {
    pub id: String,
    pub name: String,
    pub view: String,
    pub formats: Vec<String>,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub rows_done: u64,
    /// Unknown until counted (and when counting would take too long).
    pub rows_total: Option<u64>,
    pub created_by: String,
    /// Whether the caller created it.
    pub mine: bool,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub expires_at: String,
    pub error: Option<String>,
    /// One ZIP per format, once done.
    pub files: Vec<ExportFile>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportFile {
    pub format: String,
    pub bytes: u64,
    pub sha256: String,
    /// Where to download it (same credentials as the API).
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportList {
    pub exports: Vec<ExportSummary>,
    /// How long a finished export's files stay (the server's `--export-expiry`), in hours.
    pub expiry_hours: u64,
}

/// The formats, with what each is for (the export dialog's choices).
pub const FORMATS: [(&str, &str, &str); 4] = [
    ("csv", "CSV", "Spreadsheets and scripts; one column per field"),
    ("ndjson", "NDJSON", "One JSON event per line, exactly as the API returns it"),
    ("cef", "CEF", "ArcSight Common Event Format, for SIEMs"),
    ("xlsx", "XLSX", "An Excel workbook with typed, filterable columns"),
];

/// "7 days", "36 hours", "1 hour".
pub fn duration_label(hours: u64) -> String {
    match hours {
        h if h >= 48 && h % 24 == 0 => format!("{} days", h / 24),
        24 => "1 day".into(),
        1 => "1 hour".into(),
        h => format!("{h} hours"),
    }
}

/// "812 B", "1.4 MB", "2.0 GB" (powers of 1,000, as file managers show them).
pub fn size_label(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

impl ExportSummary {
    /// Done as a fraction (0..=1) when the total is known.
    pub fn progress(&self) -> Option<f64> {
        match (self.status.as_str(), self.rows_total) {
            ("done", _) => Some(1.0),
            (_, Some(0)) => Some(0.0),
            (_, Some(total)) => Some((self.rows_done as f64 / total as f64).min(1.0)),
            _ => None,
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == "queued" || self.status == "running"
    }

    /// "Waiting to start", "12,000 of 40,000 events", "40,000 events", "Failed: …".
    pub fn state_label(&self) -> String {
        let n = crate::format::thousands;
        match (self.status.as_str(), self.rows_total) {
            ("queued", _) => "Waiting to start".into(),
            ("running", Some(total)) => format!("{} of {} events", n(self.rows_done), n(total)),
            ("running", None) => format!("{} events so far", n(self.rows_done)),
            ("done", _) if self.rows_done == 1 => "1 event".into(),
            ("done", _) => format!("{} events", n(self.rows_done)),
            _ => format!("Failed: {}", self.error.as_deref().unwrap_or("unknown error")),
        }
    }

    /// "About 3 min left", from the pace so far (while running, once the total is known).
    pub fn time_left(&self, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
        let total = self.rows_total?;
        if self.status != "running" || self.rows_done == 0 || self.rows_done >= total {
            return None;
        }
        let started = chrono::DateTime::parse_from_rfc3339(self.started_at.as_deref()?).ok()?;
        let elapsed = (now - started.with_timezone(&chrono::Utc)).num_milliseconds().max(0) as f64 / 1000.0;
        let left = elapsed * (total - self.rows_done) as f64 / self.rows_done as f64;
        Some(match left.round() as u64 {
            s if s < 60 => format!("about {} s left", s.max(1)),
            s if s < 3600 => format!("about {} min left", (s + 30) / 60),
            s => format!("about {:.1} h left", s as f64 / 3600.0),
        })
    }

    /// "Expires in 6 days" / "in 5 hours" / "Expired", from `expires_at` and `now`.
    pub fn expiry_label(&self, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
        let at = chrono::DateTime::parse_from_rfc3339(&self.expires_at).ok()?;
        // Rounded to the nearest hour or day: a fresh 7-day file says 7 days, not 6.
        let minutes = (at.with_timezone(&chrono::Utc) - now).num_minutes();
        let hours = (minutes + 30) / 60;
        Some(match minutes {
            m if m < 0 => "Expired".into(),
            m if m < 60 => "Expires within the hour".into(),
            _ if hours >= 48 => format!("Expires in {} days", (hours + 12) / 24),
            _ => format!("Expires in {}", duration_label(hours as u64)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: &str, done: u64, total: Option<u64>) -> ExportSummary {
        ExportSummary {
            id: "x".into(),
            name: "n".into(),
            view: String::new(),
            formats: vec!["csv".into()],
            status: status.into(),
            rows_done: done,
            rows_total: total,
            created_by: "a".into(),
            mine: true,
            created_at: String::new(),
            started_at: None,
            finished_at: None,
            expires_at: String::new(),
            error: None,
            files: vec![],
        }
    }

    #[test]
    fn progress_is_a_fraction_when_the_total_is_known() {
        assert_eq!(job("running", 25, Some(100)).progress(), Some(0.25));
        assert_eq!(job("running", 25, None).progress(), None);
        assert_eq!(job("done", 0, None).progress(), Some(1.0));
        assert_eq!(job("running", 120, Some(100)).progress(), Some(1.0));
        assert!(job("queued", 0, None).is_active() && !job("failed", 0, None).is_active());
    }

    #[test]
    fn labels_read_naturally() {
        assert_eq!(job("queued", 0, None).state_label(), "Waiting to start");
        assert_eq!(job("running", 12_000, Some(40_000)).state_label(), "12,000 of 40,000 events");
        assert_eq!(job("running", 5, None).state_label(), "5 events so far");
        assert_eq!(job("done", 1, Some(1)).state_label(), "1 event");
        let mut failed = job("failed", 0, None);
        failed.error = Some("the disk is full".into());
        assert_eq!(failed.state_label(), "Failed: the disk is full");
        assert_eq!((size_label(812), size_label(1_400_000), size_label(2_000_000_000)), ("812 B".into(), "1.4 MB".into(), "2.0 GB".into()));
        assert_eq!((duration_label(168), duration_label(36), duration_label(24), duration_label(1)), ("7 days".into(), "36 hours".into(), "1 day".into(), "1 hour".into()));
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z").expect("t").with_timezone(&chrono::Utc);
        let mut done = job("done", 3, Some(3));
        done.expires_at = "2026-12-10T12:00:00Z".into();
        assert_eq!(done.expiry_label(now).as_deref(), Some("Expires in 7 days"));
        done.expires_at = "2026-12-10T11:59:00Z".into();
        assert_eq!(done.expiry_label(now).as_deref(), Some("Expires in 7 days"), "a minute after it was made");
        done.expires_at = "2026-12-03T17:10:00Z".into();
        assert_eq!(done.expiry_label(now).as_deref(), Some("Expires in 5 hours"));
        done.expires_at = "2026-12-03T11:00:00Z".into();
        assert_eq!(done.expiry_label(now).as_deref(), Some("Expired"));
        let mut running = job("running", 25_000, Some(100_000));
        running.started_at = Some("2026-12-03T11:59:30Z".into());
        assert_eq!(running.time_left(now).as_deref(), Some("about 2 min left"), "30 s for a quarter: 90 s to go");
        running.rows_done = 75_000;
        assert_eq!(running.time_left(now).as_deref(), Some("about 10 s left"));
        assert_eq!(job("running", 0, Some(10)).time_left(now), None, "no pace yet");
        assert_eq!(done.time_left(now), None);
    }
}
