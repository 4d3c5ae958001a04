//! Inline SVG icons (stroke-based, inherit the text colour).

use leptos::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IconName {
    Clock,
    ChevronDown,
    ChevronUp,
    ChevronLeft,
    ChevronRight,
    Link,
    Plus,
    Close,
    Swap,
    Search,
    Copy,
    Filter,
    Refresh,
    Alert,
    ZoomOut,
    Download,
    Trash,
    Columns,
    Bell,
    Shield,
}

fn path(name: IconName) -> &'static str {
    match name {
        IconName::Clock => "M12 7v5l3 2M21 12a9 9 0 1 1-18 0 9 9 0 0 1 18 0z",
        IconName::ChevronDown => "M6 9l6 6 6-6",
        IconName::Shield => "M12 3l7 3v6c0 4.5-3 7.7-7 9-4-1.3-7-4.5-7-9V6zM9 12l2 2 4-4",
        IconName::Bell => "M6 16V11a6 6 0 0 1 12 0v5l2 2H4l2-2zM10 20a2 2 0 0 0 4 0",
        IconName::Columns => "M4 5h16v14H4zM9.5 5v14M14.5 5v14",
        IconName::ChevronUp => "M6 15l6-6 6 6",
        IconName::ChevronLeft => "M15 6l-6 6 6 6",
        IconName::ChevronRight => "M9 6l6 6-6 6",
        IconName::Link => "M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1",
        IconName::Plus => "M12 5v14M5 12h14",
        IconName::Close => "M6 6l12 12M18 6L6 18",
        IconName::Swap => "M7 7h11l-3-3M17 17H6l3 3",
        IconName::Search => "M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14zM20 20l-4-4",
        IconName::Copy => "M9 9h10v10H9zM5 15V5h10",
        IconName::Filter => "M4 5h16l-6 7v6l-4 2v-8z",
        IconName::Refresh => "M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7",
        IconName::Alert => "M12 9v4M12 17h.01M10.3 3.9L2.4 18a2 2 0 0 0 1.7 3h15.8a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z",
        IconName::ZoomOut => "M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14zM20 20l-4-4M8 11h6",
        IconName::Download => "M12 4v11M7 10l5 5 5-5M5 20h14",
        IconName::Trash => "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
    }
}

#[component]
pub fn Icon(name: IconName) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d=path(name)/>
        </svg>
    }
}
