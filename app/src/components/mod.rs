//! The parts of the pages: the investigation page's, and the account pieces (user menu,
//! admin tables).

pub mod brand;
pub mod cells;
pub mod chart;
pub mod columns;
pub mod details;
pub mod exports;
pub mod filters;
pub mod icons;
pub mod integrity;
pub mod live;
pub mod notices;
pub mod search;
pub mod sidebar;
pub mod table;
pub mod theme;
pub mod toolbar;
pub mod user_menu;
