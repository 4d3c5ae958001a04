//! The time zone times are shown in: the browser's own (remembered in a cookie, so the server
//! renders the same text the browser will), or UTC when the user prefers it.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

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
    let get = |name: &str| {
        cookies.split(';').filter_map(|kv| kv.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    };
    DisplayZone { name: get(ZONE_COOKIE).filter(|z| !z.is_empty()).map(|z| z.replace("%2F", "/")), utc: get(UTC_COOKIE).as_deref() == Some("1") }
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
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t.timestamp_millis() as f64));
        -(date.get_timezone_offset() as i32)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = t;
        0
    }
}

/// The cookies of the page being rendered (server) or shown (browser).
pub fn current_cookies() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.headers.get(http::header::COOKIE).and_then(|v| v.to_str().ok()).map(str::to_string))
            .unwrap_or_default()
    }
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        document().dyn_into::<web_sys::HtmlDocument>().ok().and_then(|d| d.cookie().ok()).unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        String::new()
    }
}

/// Remembers a preference for a year.
#[cfg(feature = "hydrate")]
pub fn set_cookie(name: &str, value: &str) {
    use wasm_bindgen::JsCast;
    if let Ok(doc) = document().dyn_into::<web_sys::HtmlDocument>() {
        let _ = doc.set_cookie(&format!("{name}={}; path=/; max-age=31536000; samesite=lax", value.replace('/', "%2F")));
    }
}

/// The browser's IANA time zone.
#[cfg(feature = "hydrate")]
pub fn browser_zone() -> Option<String> {
    let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new()).resolved_options();
    js_sys::Reflect::get(&options, &"timeZone".into()).ok().and_then(|v| v.as_string())
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
