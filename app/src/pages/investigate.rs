//! The investigation page at `/`. All state comes from the URL: the query string is decoded
//! into a `ViewState`, the view is fetched, and every user action navigates to a new URL.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

use crate::api::{EventPage, FieldList, Histogram};
use crate::client::get_json;
use crate::components::brand::Brand;
use crate::components::chart::VolumeChart;
use crate::components::details::DetailsPanel;
use crate::components::exports::{ExportMenu, Exports, ExportsPanel};
use crate::components::filters::FilterBar;
use crate::components::live::LiveToggle;
use crate::components::notices::QueryNotice;
use crate::components::search::SearchBox;
use crate::components::sidebar::FieldSidebar;
use crate::components::table::Results;
use crate::components::theme::ThemeToggle;
use crate::components::toolbar::{CopyLink, RangePicker, ZoneToggle};
use crate::components::user_menu::{use_me, UserMenu};
use crate::live::LiveState;
use crate::page_state::{ChartData, Page, Shown};
use crate::query::columns::{columns_from_cookie, widths_from_cookie, COLUMNS_COOKIE, WIDTHS_COOKIE};
use crate::query::{decode_query, encode_query, ViewState};
use crate::zone::{cookie, current_cookies, zone_from_cookies, DisplayZone};

#[component]
pub fn InvestigatePage() -> impl IntoView {
    let location = use_location();
    let navigate = use_navigate();
    let decoded = Memo::new(move |_| decode_query(&location.search.get(), &[]));
    let view = Memo::new(move |_| {
        let d = decoded.get();
        if d.is_empty { ViewState::page_default().with_columns(d.view.columns).with_widths(d.view.widths) } else { d.view }
    });
    let problems = Memo::new(move |_| decoded.get().problems);
    let go = Callback::new(move |v: ViewState| {
        navigate(&format!("/?{}", encode_query(&v)), NavigateOptions { scroll: false, ..Default::default() });
    });
    // The page of events depends on everything but the opened event.
    // (A server-side render that was abandoned disposes the view while its resources' tasks
    // may still ask: they then keep the query they had instead of panicking.)
    let events_query = Memo::new(move |before: Option<&String>| {
        view.try_with(crate::page_state::events_query).unwrap_or_else(|| before.cloned().unwrap_or_default())
    });
    let events = Resource::new(move || events_query.get(), |q| async move {
        get_json::<EventPage>(format!("/api/v1/events?{q}")).await.map(Shown::fetched)
    });
    let fields = LocalResource::new(|| get_json::<FieldList>("/api/v1/fields".into()));
    let zone = RwSignal::new(zone_from_cookies(&current_cookies()));
    // The chart depends on the selection and the display zone, not on paging or the opened row.
    let histogram_query = Memo::new(move |before: Option<&String>| {
        let (Some(v), Some(z)) = (view.try_get(), zone.try_get()) else { return before.cloned().unwrap_or_default() };
        let v = v.with_event(None).without_layout().with_live(false).with_cursor(None).with_limit(crate::query::view::DEFAULT_LIMIT);
        let tz = if z.shows_utc() { "UTC".to_string() } else { z.name.unwrap_or_else(|| "UTC".into()) };
        format!("{}{}", encode_query(&v), crate::query::codec::extra_param("tz", &tz))
    });
    let histogram = Resource::new(move || histogram_query.get(), |q| async move {
        get_json::<Histogram>(format!("/api/v1/histogram?{q}")).await.map(ChartData)
    });
    let own_columns = RwSignal::new(columns_from_cookie(cookie(&current_cookies(), COLUMNS_COOKIE).as_deref()));
    let columns = Memo::new(move |_| view.get().columns.unwrap_or_else(|| own_columns.get()));
    let own_widths = RwSignal::new(widths_from_cookie(cookie(&current_cookies(), WIDTHS_COOKIE).as_deref()));
    let widths = Memo::new(move |_| view.get().widths.unwrap_or_else(|| own_widths.get()));
    let page = Page { view, problems, go, events, histogram, fields, zone, columns, own_columns, widths, own_widths, loading: RwSignal::new(false), live: LiveState::new() };
    provide_context(page);
    Exports::provide();
    crate::browser::keep_live(page);
    remember_browser_zone(zone);
    keyboard_shortcuts(page);

    view! {
        <div class="app">
            <header class="topbar">
                <Brand/>
                <crate::pages::insight::MainNav current="/"/>
                <div class="topbar-actions">
                    <LiveToggle/>
                    <RangePicker/>
                    <CopyLink/>
                    <AlertMe/>
                    <ExportMenu/>
                    <ZoneToggle/>
                    <ThemeToggle/>
                    <UserMenu/>
                </div>
            </header>
            <QueryNotice/>
            <ScopeNotice/>
            <section class="filters-row" aria-label="Filters and search">
                <FilterBar/>
                <SearchBox/>
            </section>
            <div class="workspace">
                <FieldSidebar/>
                <main class="content">
                    <h1 class="visually-hidden">"Audit events"</h1>
                    <VolumeChart/>
                    <ExportsPanel/>
                    <Results/>
                </main>
            </div>
            <DetailsPanel/>
        </div>
    }
}

/// "Alert me when this happens": the alerts page with a new rule for this view's events.
#[component]
fn AlertMe() -> impl IntoView {
    let page = crate::page_state::use_page();
    let href = move || {
        let view = page.view.get().with_cursor(None).with_event(None).with_columns(None).with_widths(None).with_live(false);
        format!("/alerts?view={}", crate::insight::segment(&encode_query(&view)))
    };
    view! {
        <a class="button" href=href title="Alert me when this happens">
            <crate::components::icons::Icon name=crate::components::icons::IconName::Bell/>
            <span class="button-label">"Alert me"</span>
        </a>
    }
}

/// Learns the browser's zone after hydration and remembers it, so the next page the server
/// renders already shows local times. (Effects run in the browser only.)
fn remember_browser_zone(zone: RwSignal<DisplayZone>) {
    Effect::new(move |_| {
        if let Some(name) = crate::zone::browser_zone() {
            if zone.get_untracked().name.as_deref() != Some(name.as_str()) {
                crate::zone::set_cookie(crate::zone::ZONE_COOKIE, &name);
                zone.update(|z| z.name = Some(name));
            }
        }
    });
}

/// `/` focuses the search; Escape closes the event details; j / k step through them.
fn keyboard_shortcuts(page: Page) {
    crate::browser::on_key(move |key| match key.key.as_str() {
        "/" if !key.typing && !key.modifier => crate::browser::focus_id("search-input"),
        // j / k step to the older / newer event while the details are open (as in mail clients).
        "j" | "k" if !key.typing && !key.modifier => step_details(page, key.key == "j"),
        "Escape" if page.now().event.is_some() && !key.handled => {
            page.close_event();
            false
        }
        _ => false,
    });
}

/// Opens the details of the next older (or newer) event in the table; whether there was one.
fn step_details(page: Page, older: bool) -> bool {
    let Some(opened) = page.now().event else { return false };
    let (newer, next_older) = page.neighbours(opened);
    let Some(to) = (if older { next_older } else { newer }) else { return false };
    page.apply(|v| v.with_event(Some(to)));
    true
}

/// For members: the page shows the activity relevant to them, and says so.
#[component]
fn ScopeNotice() -> impl IntoView {
    let me = use_me();
    view! {
        <Suspense fallback=|| ()>
            {move || me.get().and_then(Result::ok).filter(|me| me.is_member()).map(|me| {
                let views = me.scopes.clone();
                view! {
                    <p class="scope-notice" role="note">
                        "Activity relevant to you: "
                        {if views.is_empty() {
                            view! { <span>"no scope has been given to you yet — ask an administrator."</span> }.into_any()
                        } else {
                            views.into_iter().enumerate().map(|(i, v)| view! {
                                {(i > 0).then_some(" or ")}<code><bdi>{v}</bdi></code>
                            }).collect_view().into_any()
                        }}
                    </p>
                }
            })}
        </Suspense>
    }
}
