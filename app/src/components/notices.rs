//! A visible notice when the URL has parts that could not be used: the rest of the view
//! still applies, so a slightly broken link is never a broken page.

use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::page_state::use_page;

#[component]
pub fn QueryNotice() -> impl IntoView {
    let page = use_page();
    let dismissed = RwSignal::new(false);
    view! {
        <Show when=move || !page.problems.get().is_empty() && !dismissed.get()>
            <div class="notice" role="alert">
                <Icon name=IconName::Alert/>
                <div>
                    <strong>"Some parts of this link could not be used and were ignored:"</strong>
                    <ul>
                        {move || page.problems.get().into_iter().map(|p| view! {
                            <li><code>{p.param}</code>": "{p.message}</li>
                        }).collect_view()}
                    </ul>
                </div>
                <button type="button" class="icon-button" aria-label="Dismiss" on:click=move |_| dismissed.set(true)>
                    <Icon name=IconName::Close/>
                </button>
            </div>
        </Show>
    }
}
