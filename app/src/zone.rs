//! The time zone times are shown in: the browser's own (remembered in a cookie, so the server
//! renders the same text the browser will), or UTC when the user prefers it.

use chrono::{DateTime, Utc};

pub const ZONE_COOKIE: &str = "auditorium_tz";
pub const UTC_COOKIE: &str = "auditorium_utc";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayZone {
    /// IANA name of the browser's zone, once known.
    pub name: Option<String>,
    /// Show UTC regardless of the browser's zone.
    pub utc: bool,
}

impl DisplayZone {
    /// Whether times are shown in UTC (chosen, or because the browser's zone is not known yet).
    pub fn shows_utc(&self) -> bool {
        self.utc || self.name.is_none()
    }

    /// Minutes east of UTC at `t`.
    pub fn offset_minutes(&self, t: DateTime<Utc>) -> i32 {
        if self.shows_utc() {
            0
        } else {
            zone_offset(self.name.as_deref().unwrap_or("UTC"), t)
        }
    }

    /// "UTC" or the zone's name, for labels.
    pub fn label(&self) -> String {
        if self.shows_utc() { "UTC".into() } else { self.name.clone().unwrap_or_else(|| "UTC".into()) }
    }
}

/// The zone as the cookies say, read the same way on both sides.
pub fn zone_from_cookies(cookies: &str) -> DisplayZone {
    let get = |name: &str| cookie(cookies, name);
    DisplayZone { name: get(ZONE_COOKIE).filter(|z| !z.is_empty()).map(|z| z.replace("%2F", "/")), utc: get(UTC_COOKIE).as_deref() == Some("1") }
}

/// One cookie's value from a `Cookie` header (or `document.cookie`).
pub fn cookie(cookies: &str, name: &str) -> Option<String> {
    cookies.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
}

#[cfg(feature = "ssr")]
fn zone_offset(name: &str, t: DateTime<Utc>) -> i32 {
    use chrono::Offset;
    match name.parse::<chrono_tz::Tz>() {
        Ok(tz) => t.with_timezone(&tz).offset().fix().local_minus_utc() / 60,
        Err(_) => 0,
    }
}

/// In the browser the named zone is the browser's own: JavaScript knows its offsets.
#[cfg(not(feature = "ssr"))]
fn zone_offset(_name: &str, t: DateTime<Utc>) -> i32 {
    crate::browser::zone_offset_minutes(t)
}

/// The cookies of the page being rendered (server) or shown (browser).
pub fn current_cookies() -> String {
    crate::browser::cookies()
}

/// Remembers a preference for a year.
pub fn set_cookie(name: &str, value: &str) {
    crate::browser::set_cookie(name, value);
}

/// The browser's IANA time zone.
pub fn browser_zone() -> Option<String> {
    crate::browser::zone_name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_decide_the_zone() {
        let z = zone_from_cookies("a=b; auditorium_tz=Europe%2FBerlin; auditorium_utc=0");
        assert_eq!(z, DisplayZone { name: Some("Europe/Berlin".into()), utc: false });
        assert!(!z.shows_utc());
        assert!(zone_from_cookies("auditorium_tz=Europe%2FBerlin; auditorium_utc=1").shows_utc());
        assert!(zone_from_cookies("").shows_utc(), "unknown zone: UTC until the browser tells");
    }
}
