//! The browser, behind one facade: everything that needs the DOM or JavaScript is here, with
//! what the server does instead (while rendering a page there is no browser: nothing to
//! focus, no clipboard, the request's cookies instead of `document.cookie`). Components call
//! these functions and stay free of `#[cfg]`.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

mod table;
pub use table::{mark_selected_row, offer_filters, on_button, table_hit, TableHit};

/// Puts the keyboard focus into `input` once it is on the page.
pub fn focus_when_mounted(input: NodeRef<leptos::html::Input>) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = input;
}

/// Focuses the element with this id as soon as it is on the page (views inside a transition
/// are attached a moment after they are built); gives up after about half a second.
pub fn focus_id_soon(id: String) {
    #[cfg(feature = "hydrate")]
    {
        fn attempt(id: String, left: u32) {
            if !focus_id(&id) && left > 0 {
                set_timeout(move || attempt(id, left - 1), std::time::Duration::from_millis(25));
            }
        }
        attempt(id, 20);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Focuses the element with this id, if there is one; whether it did.
pub fn focus_id(id: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        document()
            .get_element_by_id(id)
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
            .is_some_and(|el| el.focus().is_ok())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = id;
        false
    }
}

pub fn scroll_to_top() {
    #[cfg(feature = "hydrate")]
    window().scroll_to_with_x_and_y(0.0, 0.0);
}

/// Left edge and width of an element on screen.
pub fn left_and_width(node: NodeRef<leptos::html::Div>) -> Option<(f64, f64)> {
    #[cfg(feature = "hydrate")]
    {
        node.get().map(|el| {
            let rect = el.get_bounding_client_rect();
            (rect.left(), rect.width())
        })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = node;
        None
    }
}

/// Switches between the light and the dark theme and remembers the choice.
pub fn toggle_theme() {
    #[cfg(feature = "hydrate")]
    {
        const STORAGE_KEY: &str = "auditorium-theme";
        let Some(html) = document().document_element() else { return };
        let system_dark = window().match_media("(prefers-color-scheme: dark)").ok().flatten().is_some_and(|m| m.matches());
        let dark_now = match html.get_attribute("data-theme").as_deref() {
            Some("dark") => true,
            Some("light") => false,
            _ => system_dark,
        };
        let next = if dark_now { "light" } else { "dark" };
        let _ = html.set_attribute("data-theme", next);
        if let Ok(Some(storage)) = window().local_storage() {
            let _ = storage.set_item(STORAGE_KEY, next);
        }
    }
}

/// A `datetime-local` value (`text`, already parsed as `naive`) in the browser's zone, as UTC.
/// The browser knows its own zone's rules (including DST) for that date; the server has no
/// such zone and reads it as UTC.
pub fn local_to_utc(text: &str, naive: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
    #[cfg(feature = "hydrate")]
    {
        let _ = naive;
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(text));
        DateTime::from_timestamp_millis(date.get_time() as i64)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        Some(naive.and_utc())
    }
}

/// The browser zone's offset from UTC at `t`, in minutes.
pub fn zone_offset_minutes(t: DateTime<Utc>) -> i32 {
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

/// The browser's IANA time zone.
pub fn zone_name() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new()).resolved_options();
        js_sys::Reflect::get(&options, &"timeZone".into()).ok().and_then(|v| v.as_string())
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// The cookies of the page being rendered (server) or shown (browser).
pub fn cookies() -> String {
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
    String::new()
}

/// Remembers a preference for a year (nothing on the server).
pub fn set_cookie(name: &str, value: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Ok(doc) = document().dyn_into::<web_sys::HtmlDocument>() {
            let _ = doc.set_cookie(&format!("{name}={}; path=/; max-age=31536000; samesite=lax", value.replace('/', "%2F")));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (name, value);
}

/// `https://host:port` of the page (empty on the server).
pub fn origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        window().location().origin().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

/// Copies `text` to the clipboard and reports whether it worked.
pub fn copy_text(text: String, done: impl Fn(bool) + 'static) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let clipboard = window().navigator().clipboard();
        let ok = wasm_bindgen_futures::JsFuture::from(clipboard.write_text(&text)).await.is_ok();
        done(ok);
    });
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        done(false);
    }
}

/// Closes a `<details>` menu (once one of its items was chosen).
pub fn close_details(menu: NodeRef<leptos::html::Details>) {
    #[cfg(feature = "hydrate")]
    if let Some(details) = menu.get_untracked() {
        details.set_open(false);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = menu;
}

/// Goes to `url` with a full page load (after signing in or out).
pub fn load(url: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().set_href(url);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

/// JSON text indented for reading — the whole document, or one of its members. In the
/// browser this uses `JSON.stringify` (serde's printer would add kilobytes to the bundle); on
/// the server, serde.
pub fn pretty_json(json: &str, member: Option<&str>) -> String {
    #[cfg(feature = "hydrate")]
    {
        let parsed = js_sys::JSON::parse(json).ok();
        let value = match member {
            Some(name) => parsed.and_then(|v| js_sys::Reflect::get(&v, &name.into()).ok()),
            None => parsed,
        };
        value
            .and_then(|v| js_sys::JSON::stringify_with_replacer_and_space(&v, &wasm_bindgen::JsValue::NULL, &wasm_bindgen::JsValue::from(2)).ok())
            .and_then(|s| s.as_string())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let parsed = serde_json::from_str::<serde_json::Value>(json).unwrap_or_default();
        let value = match member {
            Some(name) => parsed.get(name).cloned().unwrap_or_default(),
            None => parsed,
        };
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

/// A key press, as the page's shortcuts see it.
pub struct Key {
    pub key: String,
    /// The focus is in a text field (shortcuts leave typing alone).
    pub typing: bool,
    /// Ctrl or Cmd is held.
    pub modifier: bool,
    /// Something else already handled it.
    pub handled: bool,
}

/// Calls `handle` for every key press on the page while the calling component lives; when it
/// returns true, the key's default action is prevented.
pub fn on_key(handle: impl Fn(&Key) -> bool + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let listener = window_event_listener(leptos::ev::keydown, move |ev: web_sys::KeyboardEvent| {
            let typing = ev
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
                .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
            let key = Key { key: ev.key(), typing, modifier: ev.ctrl_key() || ev.meta_key(), handled: ev.default_prevented() };
            if handle(&key) {
                ev.prevent_default();
            }
        });
        on_cleanup(move || listener.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = handle;
}

/// Keeps the page's live tail connected while Live is on (a WebSocket in the browser; nothing
/// on the server).
pub fn keep_live(page: crate::page_state::Page) {
    #[cfg(feature = "hydrate")]
    crate::live_socket::keep_live(page);
    #[cfg(not(feature = "hydrate"))]
    let _ = page;
}

/// Waits `ms` milliseconds (in the browser; at once elsewhere).
pub async fn pause(ms: i32) {
    #[cfg(feature = "hydrate")]
    {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ms;
}

/// The width on screen of the element holding the target of `ev` (0 on the server).
pub fn parent_width(ev: &leptos::ev::Event) -> f64 {
    #[cfg(feature = "hydrate")]
    {
        ev.target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .and_then(|el| el.parent_element())
            .map_or(0.0, |p| p.get_bounding_client_rect().width())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        0.0
    }
}

/// Keeps a pointer's moves going to the element it went down on (for dragging).
pub fn capture_pointer(ev: &leptos::ev::PointerEvent) {
    #[cfg(feature = "hydrate")]
    if let Some(el) = ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok()) {
        let _ = el.set_pointer_capture(ev.pointer_id());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

/// Whether the window matches a CSS media query (never on the server).
pub fn matches_media(query: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        window().match_media(query).ok().flatten().is_some_and(|m| m.matches())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = query;
        false
    }
}
