//! Exports: the events of a view in CSV, NDJSON, CEF or XLSX.
//!
//! - `columns`, `csv`, `ndjson`, `cef`, `xlsx`: the formats (plain encoders, unit-tested
//!   against their specifications);
//! - `read`: the view's events from PostgreSQL in keyset chunks (the same filter SQL and scope
//!   as every other read), so memory stays flat whatever the size;
//! - `download`: `GET /api/v1/export`, streamed as it is read;
//! - `jobs`, `files`, `worker`: export jobs in the background, one ZIP per format, expiring.

pub mod cef;
pub mod columns;
pub mod csv;
pub mod download;
pub mod files;
pub mod jobs;
pub mod ndjson;
pub mod pipeline;
pub mod read;
pub mod worker;
pub mod xlsx;

use std::io::Write;

use app::event::Event;

pub use columns::Columns;

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Csv,
    Ndjson,
    Cef,
    Xlsx,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Csv, Format::Ndjson, Format::Cef, Format::Xlsx];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::Cef => "cef",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn parse(text: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == text)
    }

    /// The file name extension (also the format's name).
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
            Format::Cef => "text/plain; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// Options a format may take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// CSV: start with a UTF-8 byte order mark (spreadsheets then read UTF-8 correctly).
    pub bom: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing the export failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the workbook failed: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("writing the ZIP file failed: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("reading the events failed: {0}")]
    Sql(#[from] sqlx::Error),
}

impl From<::csv::Error> for ExportError {
    fn from(e: ::csv::Error) -> ExportError {
        // Keep the I/O error itself (a full disk must still read as a full disk).
        match e.into_kind() {
            ::csv::ErrorKind::Io(io) => ExportError::Io(io),
            other => ExportError::Io(std::io::Error::other(format!("{other:?}"))),
        }
    }
}

/// Writes events in one format. Row formats buffer their bytes until `drain`; the workbook
/// keeps rows in temporary files and writes itself at `finish`.
pub trait Encoder: Send {
    fn event(&mut self, event: &Event) -> Result<(), ExportError>;
    /// Moves the bytes ready so far into `out`.
    fn drain(&mut self, out: &mut (dyn Write + Send)) -> Result<(), ExportError>;
    /// Writes whatever remains.
    fn finish(self: Box<Self>, out: &mut (dyn Write + Send)) -> Result<(), ExportError>;
}

/// A format of one line per event (NDJSON, CEF): each line is written by `write` into a
/// buffer that `drain` hands on.
pub struct Lines {
    buffer: Vec<u8>,
    write: fn(&Event, &mut Vec<u8>) -> Result<(), ExportError>,
}

impl Lines {
    pub fn new(write: fn(&Event, &mut Vec<u8>) -> Result<(), ExportError>) -> Lines {
        Lines { buffer: Vec::new(), write }
    }
}

impl Encoder for Lines {
    fn event(&mut self, event: &Event) -> Result<(), ExportError> {
        (self.write)(event, &mut self.buffer)?;
        self.buffer.push(b'\n');
        Ok(())
    }

    fn drain(&mut self, out: &mut (dyn Write + Send)) -> Result<(), ExportError> {
        out.write_all(&self.buffer)?;
        self.buffer.clear();
        Ok(())
    }

    fn finish(mut self: Box<Self>, out: &mut (dyn Write + Send)) -> Result<(), ExportError> {
        self.drain(out)
    }
}

/// An encoder for `format`; `scratch` is where the workbook keeps its temporary files.
pub fn encoder(format: Format, columns: &Columns, options: Options, scratch: &std::path::Path) -> Result<Box<dyn Encoder>, ExportError> {
    Ok(match format {
        Format::Csv => Box::new(csv::CsvEncoder::new(columns.clone(), options.bom)?),
        Format::Ndjson => Box::new(Lines::new(ndjson::write_line)),
        Format::Cef => Box::new(Lines::new(cef::write_line)),
        Format::Xlsx => Box::new(xlsx::XlsxEncoder::new(columns.clone(), scratch)?),
    })
}

/// A spreadsheet cell that starts like a formula (`=`, `+`, `-`, `@`, tab, carriage return,
/// per OWASP's CSV injection guidance) is prefixed with `'` so spreadsheets show it as text.
/// A value that already starts with `'` gets one too, so the rule can be undone exactly:
/// a cell starting with `'` is its value with that first `'` removed.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => std::borrow::Cow::Owned(format!("'{text}")),
        _ => std::borrow::Cow::Borrowed(text),
    }
}

/// The inverse of [`neutralise`] (for readers of our files, and the tests).
pub fn unneutralise(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starters_are_neutralised_and_the_rule_can_be_undone() {
        for (value, cell) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("'quoted", "''quoted"),
            ("plain", "plain"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralise(value), cell);
            assert_eq!(unneutralise(&neutralise(value)), value);
        }
    }

    #[test]
    fn formats_parse_and_name_themselves() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.as_str()), Some(f));
        }
        assert_eq!(Format::parse("pdf"), None);
        assert_eq!(Format::parse("CSV"), None);
    }
}
