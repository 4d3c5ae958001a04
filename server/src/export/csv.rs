//! CSV per RFC 4180 (the `csv` crate): CRLF line ends, fields quoted when they hold a comma,
//! quote, CR or LF, quotes doubled; UTF-8, optionally with a byte order mark. Cells that start
//! like a formula are neutralised (see [`super::neutralise`]).

use std::io::Write;

use app::event::Event;

use super::columns::Columns;
use super::{neutralise, Encoder, ExportError};

pub struct CsvEncoder {
    columns: Columns,
    writer: ::csv::Writer<Vec<u8>>,
}

fn writer(buffer: Vec<u8>) -> ::csv::Writer<Vec<u8>> {
    ::csv::WriterBuilder::new().terminator(::csv::Terminator::CRLF).from_writer(buffer)
}

impl CsvEncoder {
    pub fn new(columns: Columns, bom: bool) -> Result<CsvEncoder, ExportError> {
        let mut buffer = Vec::with_capacity(1 << 16);
        if bom {
            buffer.extend_from_slice("\u{feff}".as_bytes());
        }
        let mut writer = writer(buffer);
        writer.write_record(columns.header())?;
        Ok(CsvEncoder { columns, writer })
    }
}

impl Encoder for CsvEncoder {
    fn event(&mut self, event: &Event) -> Result<(), ExportError> {
        let cells = self.columns.cells(event);
        self.writer.write_record(cells.iter().map(|c| neutralise(&c.to_text()).into_owned()))?;
        Ok(())
    }

    fn drain(&mut self, out: &mut (dyn Write + Send)) -> Result<(), ExportError> {
        // The writer owns its buffer: take it (flushing), hand the bytes on, and start again.
        let current = std::mem::replace(&mut self.writer, writer(Vec::new()));
        let mut buffer = current.into_inner().map_err(|e| e.into_error())?;
        out.write_all(&buffer)?;
        buffer.clear();
        self.writer = writer(buffer);
        Ok(())
    }

    fn finish(mut self: Box<Self>, out: &mut (dyn Write + Send)) -> Result<(), ExportError> {
        self.drain(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str) -> Event {
        let mut event = crate::test_support::sample_event();
        event.actor.name = name.into();
        event
    }

    fn encode(bom: bool, events: &[Event]) -> String {
        let mut encoder: Box<dyn Encoder> = Box::new(CsvEncoder::new(Columns::default(), bom).expect("encoder"));
        let mut out = Vec::new();
        for e in events {
            encoder.event(e).expect("event");
        }
        encoder.finish(&mut out).expect("finish");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn quotes_per_rfc_4180_with_crlf_records() {
        let text = encode(false, &[event("Smith, \"Ada\"\nLovelace")]);
        let mut lines = text.split("\r\n");
        assert!(lines.next().expect("header").starts_with("id,occurred_at,action,actor.id,actor.name,"));
        assert!(text.contains(",\"Smith, \"\"Ada\"\"\nLovelace\","), "{text}");
        assert!(text.ends_with("\r\n"));
        assert!(text.contains(",2025-11-24T16:00:00.000000Z,"), "{text}");
    }

    #[test]
    fn optional_byte_order_mark_and_neutralised_formulas() {
        let text = encode(true, &[event("=cmd|' /C calc'!A0")]);
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains(",'=cmd|' /C calc'!A0,"), "{text}");
        assert!(!encode(false, &[]).starts_with('\u{feff}'));
    }
}
