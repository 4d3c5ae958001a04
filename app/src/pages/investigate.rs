//! The investigation page at `/`. All state comes from the URL: the query string is decoded
//! into a `ViewState`, the view is fetched, and every user action navigates to a new URL.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

use crate::api::{EventPage, FieldList, Histogram};
use crate::client::{get_json, ClientError};
use crate::components::chart::VolumeChart;
use crate::components::details::DetailsPanel;
use crate::components::filters::FilterBar;
use crate::components::live::LiveToggle;
use crate::components::notices::QueryNotice;
use crate::components::search::SearchBox;
use crate::components::table::Results;
use crate::components::theme::ThemeToggle;
use crate::components::toolbar::{CopyLink, RangePicker, ZoneToggle};
use crate::live::LiveState;
use crate::query::{decode_query, encode_query, QueryProblem, ViewState};
use crate::zone::{current_cookies, zone_from_cookies, DisplayZone};

/// What every part of the page shares.
#[derive(Clone, Copy)]
pub struct Page {
    /// The view the URL describes (with the page's default when the URL is bare).
    pub view: Memo<ViewState>,
    /// Parameters of the URL that could not be used.
    pub problems: Memo<Vec<QueryProblem>>,
    /// Go to a view: a new history entry.
    pub go: Callback<ViewState>,
    pub events: Resource<Result<EventPage, ClientError>>,
    pub histogram: Resource<Result<Histogram, ClientError>>,
    pub fields: LocalResource<Result<FieldList, ClientError>>,
    pub zone: RwSignal<DisplayZone>,
    /// True while a new page of events loads (the old one stays, dimmed).
    pub loading: RwSignal<bool>,
    pub live: LiveState,
}

impl Page {
    /// The current view, without tracking.
    pub fn now(&self) -> ViewState {
        self.view.get_untracked()
    }

    pub fn apply(&self, change: impl FnOnce(ViewState) -> ViewState) {
        self.go.run(change(self.now()));
    }
}

pub fn use_page() -> Page {
    expect_context::<Page>()
}

#[component]
pub fn InvestigatePage() -> impl IntoView {
    let location = use_location();
    let navigate = use_navigate();
    let decoded = Memo::new(move |_| decode_query(&location.search.get(), &[]));
    let view = Memo::new(move |_| {
        let d = decoded.get();
        if d.is_empty { ViewState::page_default() } else { d.view }
    });
    let problems = Memo::new(move |_| decoded.get().problems);
    let go = Callback::new(move |v: ViewState| {
        navigate(&format!("/?{}", encode_query(&v)), NavigateOptions { scroll: false, ..Default::default() });
    });
    // The page of events depends on everything but the opened event.
    let events_query = Memo::new(move |_| encode_query(&view.get().with_event(None)));
    let events = Resource::new(move || events_query.get(), |q| get_json::<EventPage>(format!("/api/v1/events?{q}")));
    let fields = LocalResource::new(|| get_json::<FieldList>("/api/v1/fields".into()));
    let zone = RwSignal::new(zone_from_cookies(&current_cookies()));
    // The chart depends on the selection and the display zone, not on paging or the opened row.
    let histogram_query = Memo::new(move |_| {
        let v = view.get().with_event(None).with_live(false).with_cursor(None).with_limit(crate::query::view::DEFAULT_LIMIT);
        let z = zone.get();
        let tz = if z.shows_utc() { "UTC".to_string() } else { z.name.unwrap_or_else(|| "UTC".into()) };
        format!("{}&tz={}", encode_query(&v), tz.replace('/', "%2F"))
    });
    let histogram = Resource::new(move || histogram_query.get(), |q| get_json::<Histogram>(format!("/api/v1/histogram?{q}")));
    let page = Page { view, problems, go, events, histogram, fields, zone, loading: RwSignal::new(false), live: LiveState::new() };
    provide_context(page);
    #[cfg(feature = "hydrate")]
    crate::live_socket::keep_live(page);
    remember_browser_zone(zone);
    keyboard_shortcuts(page);

    view! {
        <div class="app">
            <header class="topbar">
                <a class="brand" href="/" aria-label="Auditorium home">
                    <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 19V9M9 19V5M14 19v-7M19 19V8"/></svg>
                    "Auditorium"
                </a>
                <div class="topbar-actions">
                    <LiveToggle/>
                    <RangePicker/>
                    <CopyLink/>
                    <ZoneToggle/>
                    <ThemeToggle/>
                </div>
            </header>
            <QueryNotice/>
            <section class="filters-row" aria-label="Filters and search">
                <FilterBar/>
                <SearchBox/>
            </section>
            <main class="content">
                <VolumeChart/>
                <Results/>
            </main>
            <DetailsPanel/>
        </div>
    }
}

/// Learns the browser's zone after hydration and remembers it, so the next page the server
/// renders already shows local times.
fn remember_browser_zone(zone: RwSignal<DisplayZone>) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(name) = crate::zone::browser_zone() {
            if zone.get_untracked().name.as_deref() != Some(name.as_str()) {
                crate::zone::set_cookie(crate::zone::ZONE_COOKIE, &name);
                zone.update(|z| z.name = Some(name));
            }
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = zone;
}

/// `/` focuses the search; Escape closes the event details.
fn keyboard_shortcuts(page: Page) {
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::keydown, move |ev: web_sys::KeyboardEvent| {
            let typing = ev
                .target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
                .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
            match ev.key().as_str() {
                "/" if !typing && !ev.ctrl_key() && !ev.meta_key() => {
                    if let Some(input) = document().get_element_by_id("search-input") {
                        ev.prevent_default();
                        if let Ok(input) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(input) {
                            let _ = input.focus();
                        }
                    }
                }
                "Escape" if page.now().event.is_some() && !ev.default_prevented() => page.apply(|v| v.with_event(None)),
                _ => {}
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = page;
}
