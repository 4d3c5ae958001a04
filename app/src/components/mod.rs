//! The parts of the investigation page.

pub mod chart;
pub mod details;
pub mod filters;
pub mod icons;
pub mod live;
pub mod notices;
pub mod search;
pub mod table;
pub mod theme;
pub mod toolbar;
