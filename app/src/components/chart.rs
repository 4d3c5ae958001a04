//! The volume chart: stacked success/failure bars over the range. Drag across it to zoom
//! into a window, click a bar to zoom to it, zoom out with the button; keyboard users move
//! between bars with the arrows, zoom with Enter and −, pan with [ and ].

use chrono::Utc;
use leptos::prelude::*;

use crate::api::{Histogram, HistogramBucket};
use crate::chart_math::{bucket_at, compact, drag_window, fraction_of, pan, percent, window_label, with_arrivals, x_ticks, y_ticks, zoom_out};
use crate::live::arrived_after;
use crate::components::icons::{Icon, IconName};
use crate::format::thousands;
use crate::page_state::use_page;
use crate::query::TimeRange;

#[component]
pub fn VolumeChart() -> impl IntoView {
    let page = use_page();
    let pending = RwSignal::new(false);
    view! {
        <section class="chart" class:is-loading=move || pending.get() aria-label="Events over time">
            <Transition fallback=|| view! { <div class="chart-placeholder muted">"Loading chart…"</div> } set_pending=pending>
                {move || Suspend::new(async move {
                    match page.histogram.await {
                        Ok(h) => view! { <ChartBody histogram=h.0/> }.into_any(),
                        Err(e) => view! {
                            <div class="chart-placeholder chart-error" role="alert">
                                <Icon name=IconName::Alert/>
                                <span>{format!("The chart could not be loaded: {}", e.message)}</span>
                                <button type="button" class="button" on:click=move |_| page.histogram.refetch()>"Try again"</button>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Where the pointer went down and where it is now (fractions of the plot's width).
type Drag = (f64, f64);

#[component]
fn ChartBody(histogram: Histogram) -> impl IntoView {
    let page = use_page();
    let Histogram { from, to, buckets, total, bucket_seconds, position } = histogram;
    // The bars: the histogram, plus the events that arrived live after its position (new
    // bars for those past its end).
    let bars = Memo::new(move |_| page.live.received.with(|r| with_arrivals(&buckets, bucket_seconds, position, r)));
    let n = move || bars.with(Vec::len).max(1);
    let end = move || bars.with_untracked(|b| b.last().map(|x| x.end)).unwrap_or(to).max(to);
    let counts = Memo::new(move |_| bars.with(|b| b.iter().map(|x| [x.success, x.failure]).collect::<Vec<[u64; 2]>>()));
    let ticks = Memo::new(move |_| y_ticks(counts.with(|c| c.iter().map(|p| p[0] + p[1]).max().unwrap_or(0))));
    let top = move || *ticks.with(|t| t.last().copied()).as_ref().unwrap_or(&1) as f64;
    let max_is_zero = move || counts.with(|c| c.iter().all(|p| p[0] + p[1] == 0));
    let total_now = move || {
        let live = page.live.received.with(|r| arrived_after(r, position));
        crate::api::Total { count: total.count + live, exact: total.exact }
    };
    let hovered = RwSignal::new(None::<usize>);
    let drag = RwSignal::new(None::<Drag>);
    let plot = NodeRef::<leptos::html::Div>::new();
    let offset = move || page.zone.get().offset_minutes(from);

    let zoom_to = move |start, end| page.apply(|v| v.with_range(TimeRange::absolute(start, end)).with_live(false));
    let zoom_bar = move |i: usize| {
        if let Some(b) = bars.with_untracked(|b| b.get(i).cloned()) {
            zoom_to(b.start.max(from), b.end.min(end()));
        }
    };
    let fraction = move |client_x: i32| -> f64 {
        plot_geometry(plot).map(|(left, width)| ((f64::from(client_x) - left) / width.max(1.0)).clamp(0.0, 1.0)).unwrap_or(0.0)
    };
    let width_px = move || plot_geometry(plot).map(|(_, width)| width).unwrap_or(1000.0);
    let on_down = move |ev: leptos::ev::PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        let x = fraction(ev.client_x());
        if let Some(el) = plot.get() {
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
        drag.set(Some((x, x)));
    };
    let on_move = move |ev: leptos::ev::PointerEvent| {
        let x = fraction(ev.client_x());
        hovered.set(bars.with_untracked(|b| bucket_at(b, x)));
        drag.update(|d| if let Some(d) = d { d.1 = x });
    };
    let on_up = move |ev: leptos::ev::PointerEvent| {
        let Some((a, _)) = drag.get_untracked() else { return };
        drag.set(None);
        let b = fraction(ev.client_x());
        if (a - b).abs() * width_px() < 4.0 {
            if let Some(i) = bars.with_untracked(|bk| bucket_at(bk, b)) {
                zoom_bar(i);
            }
        } else if let Some((start, stop)) = bars.with_untracked(|bk| drag_window(bk, a, b, from, end())) {
            zoom_to(start, stop);
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let last = n() - 1;
        let current = hovered.get_untracked();
        let now = Utc::now();
        match ev.key().as_str() {
            "Escape" if drag.get_untracked().is_some() => drag.set(None),
            "ArrowRight" => hovered.set(Some(current.map_or(last, |i| (i + 1).min(last)))),
            "ArrowLeft" => hovered.set(Some(current.map_or(last, |i| i.saturating_sub(1)))),
            "Home" => hovered.set(Some(0)),
            "End" => hovered.set(Some(last)),
            "Enter" | " " => match current {
                Some(i) => zoom_bar(i),
                None => return,
            },
            "-" | "_" => {
                let (a, b) = zoom_out(from, to, now);
                zoom_to(a, b);
            }
            "[" | "]" => {
                let (a, b) = pan(from, to, if ev.key() == "[" { -1 } else { 1 }, now);
                zoom_to(a, b);
            }
            _ => return,
        }
        ev.prevent_default();
    };

    // Integer geometry: each bar slot is 100 units wide, the plot 1000 units high.
    let height = move |count: u64, top: f64| ((count as f64 / top) * 1000.0).round() as u64;
    // Two paths (successes, failures) rather than three shapes per bar: a tenth of the HTML.
    let paths = Memo::new(move |_| {
        let top = top();
        counts.with(|c| {
            let (mut ok, mut failed) = (String::new(), String::new());
            for (i, [success, failure]) in c.iter().enumerate() {
                let x = i as u64 * 100 + 10;
                let (hs, hf) = (height(*success, top), height(*failure, top));
                if hs > 0 {
                    ok.push_str(&format!("M{x} {}h80v{hs}h-80z", 1000 - hs));
                }
                if hf > 0 {
                    failed.push_str(&format!("M{x} {}h80v{hf}h-80z", 1000 - hs - hf));
                }
            }
            (ok, failed)
        })
    });
    let shapes = move || view! {
        {move || hovered.get().map(|i| view! { <rect class="bar-hover" x=(i * 100).to_string() y="0" width="100" height="1000"/> })}
        <path class="bar bar-success" d=move || paths.with(|p| p.0.clone())/>
        <path class="bar bar-failure" d=move || paths.with(|p| p.1.clone())/>
    };
    let grid = move || {
        let top = top();
        ticks.get().into_iter().map(|t| {
            let y = (1000 - height(t, top)).to_string();
            view! { <line class="grid" x1="0" x2=(n() * 100).to_string() y1=y.clone() y2=y/> }
        }).collect_view()
    };
    let y_labels = move || {
        let top = top();
        ticks.get().into_iter().map(|t| view! {
            <span class="y-label" style=format!("bottom: {}", percent(t as f64 / top))>{compact(t)}</span>
        }).collect_view()
    };
    let x_labels = move || {
        let o = offset();
        bars.with(|b| {
            let (start, end) = (b.first().map(|x| x.start).unwrap_or(from), b.last().map(|x| x.end).unwrap_or(to));
            x_ticks(start, end, o)
                .into_iter()
                .map(|(t, label)| view! { <span class="x-label" style=format!("left: {}", percent(fraction_of(b, t)))>{label}</span> })
                .collect_view()
        })
    };
    let tooltip = move || {
        let i = hovered.get()?;
        if drag.get().is_some() {
            return None;
        }
        let b: HistogramBucket = bars.with(|b| b.get(i).cloned())?;
        let [success, failure] = [b.success, b.failure];
        let left = (i as f64 + 0.5) / n() as f64;
        let side = if left > 0.7 { "right" } else { "left" };
        Some(view! {
            <div class=format!("chart-tooltip anchor-{side}") role="status" style=format!("left: {}", percent(left))>
                <strong>{window_label(b.start.max(from), b.end.min(end()), offset())}</strong>
                <span><i class="swatch swatch-success"></i>{format!("{} succeeded", thousands(success))}</span>
                <span><i class="swatch swatch-failure"></i>{format!("{} failed", thousands(failure))}</span>
                <span class="muted">"Click to zoom in"</span>
            </div>
        })
    };
    let selection = move || {
        let (a, b) = drag.get()?;
        let window = bars.with_untracked(|bk| drag_window(bk, a, b, from, end()));
        Some(view! {
            <div class="selection" style=format!("left: {}; width: {}", percent(a.min(b)), percent((a - b).abs()))>
                {window.map(|(s, e)| view! { <span class="selection-label">{window_label(s, e, offset())}</span> })}
            </div>
        })
    };
    let bar_words = bar_description(bucket_seconds);
    view! {
        <div class="chart-head">
            <h2 class="chart-title">"Events over time"</h2>
            <span class="legend"><i class="swatch swatch-success"></i>"Success"</span>
            <span class="legend"><i class="swatch swatch-failure"></i>"Failure"</span>
            <span class="muted chart-meta">{move || format!("{} · {bar_words}", crate::format::total_label(total_now()))}</span>
            <button type="button" class="button chart-zoom-out" title="Zoom out (−)"
                on:click=move |_| { let (a, b) = zoom_out(from, to, Utc::now()); zoom_to(a, b); }>
                <Icon name=IconName::ZoomOut/>"Zoom out"
            </button>
        </div>
        <div class="chart-frame">
            <div class="y-axis" aria-hidden="true">{y_labels}</div>
            <div class="plot" node_ref=plot tabindex="0" role="img"
                aria-label=format!("Bar chart of {} events; drag to zoom into a time window.", thousands(total.count))
                aria-describedby="chart-keys"
                on:pointerdown=on_down on:pointermove=on_move on:pointerup=on_up
                on:pointercancel=move |_| drag.set(None)
                on:pointerleave=move |_| if drag.get_untracked().is_none() { hovered.set(None) }
                on:keydown=on_key>
                <svg class="bars" viewBox=move || format!("0 0 {} 1000", n() * 100) preserveAspectRatio="none" aria-hidden="true">
                    {grid}
                    {shapes}
                </svg>
                {move || max_is_zero().then(|| view! { <div class="chart-empty muted">"No events in this time range"</div> })}
                {selection}
                {tooltip}
            </div>
            <div class="x-axis" aria-hidden="true">{x_labels}</div>
        </div>
        <p id="chart-keys" class="visually-hidden">
            "Arrow keys move between bars, Enter zooms into a bar, minus zooms out, [ and ] move the time range."
        </p>
    }
}

/// "30-minute bars", "hourly bars", "daily bars".
fn bar_description(seconds: i64) -> String {
    match seconds {
        3600 => "hourly bars".into(),
        86_400 => "daily bars".into(),
        604_800 => "weekly bars".into(),
        s if s % 86_400 == 0 => format!("{}-day bars", s / 86_400),
        s if s % 3600 == 0 => format!("{}-hour bars", s / 3600),
        s if s % 60 == 0 => format!("{}-minute bars", s / 60),
        s => format!("{s}-second bars"),
    }
}

/// Left edge and width of the plot on screen.
fn plot_geometry(plot: NodeRef<leptos::html::Div>) -> Option<(f64, f64)> {
    crate::browser::left_and_width(plot)
}
