//! The events table's rows in the browser: they are HTML text (`crate::rows`), not hydrated
//! views, so one handler on the table finds what a click or key was aimed at, and the
//! click-to-filter buttons and the selection are put on the rows here.

#[cfg(feature = "hydrate")]
use leptos::prelude::document;

/// What a click or key on the events table's rows (written as HTML text, not hydrated: see
/// `crate::rows`) was aimed at.
#[derive(Debug, PartialEq)]
pub enum TableHit {
    /// A click-to-filter button: "only this" (`is`) or "not this", in the `column`-th column
    /// after the time, for the cell's value.
    Filter { is: bool, column: usize, value: String },
    /// A row: the event's id.
    Row(uuid::Uuid),
    Nothing,
}

/// Where `ev` (on the events table) was aimed.
pub fn table_hit(ev: &leptos::ev::Event) -> TableHit {
    #[cfg(feature = "hydrate")]
    {
        let Some(target) = ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok()) else {
            return TableHit::Nothing;
        };
        if let Ok(Some(button)) = target.closest("button[data-op]") {
            let cell = button.closest("td").ok().flatten();
            return match cell.as_ref().and_then(|c| cell_value(c).map(|v| (c, v))) {
                Some((cell, value)) => TableHit::Filter {
                    is: button.get_attribute("data-op").as_deref() == Some("is"),
                    column: cell_index(cell).saturating_sub(1),
                    value,
                },
                None => TableHit::Nothing,
            };
        }
        // A link in a row (a resource's history) is followed, not a click on the row.
        if let Ok(Some(_)) = target.closest("a[href]") {
            return TableHit::Nothing;
        }
        match target.closest("tr[id^='row-']") {
            Ok(Some(row)) => uuid::Uuid::parse_str(row.id().trim_start_matches("row-")).map_or(TableHit::Nothing, TableHit::Row),
            _ => TableHit::Nothing,
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        TableHit::Nothing
    }
}

/// Whether `ev` happened on a button.
pub fn on_button(ev: &leptos::ev::Event) -> bool {
    #[cfg(feature = "hydrate")]
    {
        ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok()).is_some_and(|el| el.tag_name() == "BUTTON")
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        false
    }
}

/// The value of a row's cell (see `crate::rows`): its `data-v`, else its first element's text.
#[cfg(feature = "hydrate")]
fn cell_value(cell: &web_sys::Element) -> Option<String> {
    cell.get_attribute("data-v").or_else(|| cell.first_element_child().and_then(|e| e.text_content()))
}

#[cfg(feature = "hydrate")]
fn cell_index(cell: &web_sys::Element) -> usize {
    js_sys::Reflect::get(cell, &"cellIndex".into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as usize
}

/// Adds the click-to-filter buttons to the cells of the row `ev` is on (hovered, touched or
/// focused), once per row. `label` names the `n`-th column after the time.
pub fn offer_filters(ev: &leptos::ev::Event, label: impl Fn(usize) -> Option<String>) {
    #[cfg(feature = "hydrate")]
    {
        let Some(target) = ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok()) else { return };
        let Ok(Some(row)) = target.closest("tr[id^='row-']") else { return };
        if row.has_attribute("data-offered") {
            return;
        }
        let _ = row.set_attribute("data-offered", "");
        let Ok(cells) = row.query_selector_all("td:not(.col-time):not(:empty)") else { return };
        for i in 0..cells.length() {
            let Some(cell) = cells.item(i).and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok()) else { continue };
            if let (Some(name), Some(value)) = (label(cell_index(&cell).saturating_sub(1)), cell_value(&cell)) {
                let mut html = crate::rows::filter_buttons_html(&name, &value);
                // A resource's cell also links to its history (type and id are in the cell).
                let kind = cell.query_selector(".resource-type").ok().flatten().and_then(|e| e.text_content());
                let id = cell.query_selector(".resource-name").ok().flatten().and_then(|e| e.get_attribute("title"));
                if let (Some(kind), Some(id)) = (kind, id.filter(|i| !i.is_empty())) {
                    html = html.replacen("</span>", &format!("{}</span>", crate::rows::history_link_html(&kind, &id)), 1);
                }
                let _ = cell.insert_adjacent_html("beforeend", &html);
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, label);
}

/// Marks the row of the opened event (and only it) as selected.
pub fn mark_selected_row(id: Option<uuid::Uuid>) {
    #[cfg(feature = "hydrate")]
    {
        let doc = document();
        if let Ok(rows) = doc.query_selector_all("table.events tr.selected") {
            for i in 0..rows.length() {
                if let Some(row) = rows.item(i).and_then(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok()) {
                    let _ = row.class_list().remove_1("selected");
                    let _ = row.remove_attribute("aria-selected");
                }
            }
        }
        if let Some(row) = id.and_then(|id| doc.get_element_by_id(&crate::page_state::row_id(id))) {
            let _ = row.class_list().add_1("selected");
            let _ = row.set_attribute("aria-selected", "true");
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}
