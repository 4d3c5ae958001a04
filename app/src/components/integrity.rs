//! What the log's owners must be able to rely on, said on the page: days removed by the
//! retention policy (a view that starts earlier says so rather than look complete), and how
//! far the hash chain has been verified — or what the verifier found.

use leptos::prelude::*;

use crate::api::EventPage;
use crate::components::icons::{Icon, IconName};
use crate::format::{month_day, time_exact};
use crate::page_state::use_page;
use crate::query::TimeRange;

/// Shown when the view starts before the oldest day still kept.
#[component]
pub fn RetentionNotice(page: EventPage) -> impl IntoView {
    let ctx = use_page();
    let kept = page.retained_from.filter(|kept| page.from < *kept)?;
    let day = format!("{}, {}", month_day(kept), chrono::Datelike::year(&kept));
    let to = match ctx.view.get_untracked().range {
        TimeRange::Absolute { to, .. } => to,
        TimeRange::Relative(_) => None,
    };
    Some(view! {
        <div class="notice notice-info retention-notice" role="status">
            <Icon name=IconName::Clock/>
            <div>
                <strong>{format!("Events before {day} are no longer kept.")}</strong>
                " The retention policy removed those days, so this view shows only what remains."
            </div>
            <button type="button" class="button" on:click=move |_| ctx.apply(|v| v.with_range(TimeRange::Absolute { from: kept, to }))>
                {format!("Start at {day}")}
            </button>
        </div>
    })
}

/// "Verified up to …", or the problem the background verifier found.
#[component]
pub fn IntegrityStatus(page: EventPage) -> impl IntoView {
    let zone = use_page().zone;
    if let Some(problem) = page.integrity_problem {
        return Some(
            view! {
                <p class="integrity is-bad" role="alert">
                    <Icon name=IconName::Alert/>
                    <span><strong>"Integrity check failed: "</strong>{problem}</span>
                </p>
            }
            .into_any(),
        );
    }
    let upto = page.verified_upto?;
    Some(
        view! {
            <p class="integrity" title="Every event up to this time was recomputed against the hash chain written as it was stored">
                <Icon name=IconName::Shield/>
                <span>"Log verified up to "{move || time_exact(upto, zone.get().offset_minutes(upto))}</span>
            </p>
        }
        .into_any(),
    )
}
