//! NDJSON: one event per line, exactly the JSON the API returns for it.

use app::event::Event;

use super::ExportError;

/// The event as the API returns it, on one line (JSON escapes line breaks inside strings).
pub fn write_line(event: &Event, out: &mut Vec<u8>) -> Result<(), ExportError> {
    serde_json::to_writer(out, event).map_err(std::io::Error::other)?;
    Ok(())
}
