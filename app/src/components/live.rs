//! The live tail's controls: the Live toggle with its status, pause/resume, and the
//! "N new events" button.

use leptos::prelude::*;

use crate::format::thousands;
use crate::live::LiveStatus;
use crate::page_state::use_page;

#[component]
pub fn LiveToggle() -> impl IntoView {
    let page = use_page();
    let on = move || page.view.get().live;
    let status = move || page.live.status.get();
    let toggle = move |_| {
        if page.now().live {
            page.apply(|v| v.with_live(false));
        } else {
            page.apply(|v| v.live_on());
        }
    };
    view! {
        <div class="live-controls">
            <button type="button" class="button live-toggle" class:on=on aria-pressed=move || on().to_string()
                title="Show new events as they happen" on:click=toggle>
                <span class="live-dot" aria-hidden="true"
                    class:streaming=move || on() && status() == LiveStatus::Live && !page.live.paused.get()
                    class:trouble=move || on() && matches!(status(), LiveStatus::Reconnecting | LiveStatus::Failed(_))></span>
                <span class="live-label" aria-live="polite">
                    {move || if !on() { "Live".to_string() } else if page.live.paused.get() { "Paused".to_string() } else { status().label() }}
                </span>
            </button>
            <Show when=on>
                <button type="button" class="button" aria-pressed=move || page.live.paused.get().to_string()
                    on:click=move |_| {
                        let paused = !page.live.paused.get_untracked();
                        page.live.paused.set(paused);
                        if !paused {
                            page.live.release();
                        }
                    }>
                    {move || if page.live.paused.get() { "Resume" } else { "Pause" }}
                </button>
            </Show>
        </div>
    }
}

/// Shown while new events wait (the reader scrolled, opened a row, paused, or is on an older
/// page): one click shows them at the top.
#[component]
pub fn NewEventsButton() -> impl IntoView {
    let page = use_page();
    let count = move || page.live.waiting.with(Vec::len);
    let any_waiting = move || count() > 0;
    let show = move |_| {
        page.live.paused.set(false);
        if page.now().cursor.is_some() || page.now().event.is_some() {
            page.apply(|v| v.with_cursor(None).with_event(None));
        } else {
            page.live.release();
        }
        crate::browser::scroll_to_top();
    };
    view! {
        <Show when=any_waiting>
            <button type="button" class="new-events" on:click=show>
                {move || format!("{} new {} — show", thousands(count() as u64), if count() == 1 { "event" } else { "events" })}
            </button>
        </Show>
    }
}
