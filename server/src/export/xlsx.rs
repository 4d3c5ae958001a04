//! XLSX (the `rust_xlsxwriter` crate, "constant memory" mode: rows go to temporary files as
//! they are written, so a workbook of millions of rows does not grow the server's memory).
//!
//! One sheet per 1,048,575 events (the sheet limit of 1,048,576 rows, less the header): the
//! header row is bold, frozen and has filter buttons; columns are typed (times as Excel
//! date-times in UTC to the millisecond, `status` as a number, the rest as text). Text cells
//! are neutralised like CSV's. Excel cannot hold more than 32,767 characters in a cell: a longer
//! value is cut there and says so (the NDJSON export keeps it whole).

use std::io::Write;
use std::path::Path;

use app::event::Event;
use rust_xlsxwriter::{Format, Workbook};

use super::columns::{Cell, Columns};
use super::{neutralise, Encoder, ExportError};

/// Data rows per sheet (one row is the header).
pub const ROWS_PER_SHEET: u32 = 1_048_575;
/// Excel's limit, in UTF-16 code units.
const MAX_CELL: usize = 32_767;
const CUT_NOTE: &str = " […cut: Excel holds 32,767 characters per cell]";

pub struct XlsxEncoder {
    workbook: Workbook,
    columns: Columns,
    width: u16,
    sheets: usize,
    /// Rows written on the current sheet, header included.
    row: u32,
    /// Data rows per sheet ([`ROWS_PER_SHEET`]; smaller in tests).
    rows_per_sheet: u32,
    bold: Format,
    time: Format,
    /// Set once the workbook panicked (see [`guarded`]); it is not touched again.
    broken: bool,
}

impl XlsxEncoder {
    pub fn new(columns: Columns, scratch: &Path) -> Result<XlsxEncoder, ExportError> {
        let mut workbook = Workbook::new();
        workbook.set_tempdir(scratch)?;
        let width = u16::try_from(columns.header().len()).unwrap_or(u16::MAX);
        let mut encoder = XlsxEncoder {
            workbook,
            columns,
            width,
            sheets: 0,
            row: 0,
            rows_per_sheet: ROWS_PER_SHEET,
            bold: Format::new().set_bold(),
            time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss.000"),
            broken: false,
        };
        encoder.new_sheet()?;
        Ok(encoder)
    }

    fn new_sheet(&mut self) -> Result<(), ExportError> {
        self.sheets += 1;
        let name = if self.sheets == 1 { "Events".to_string() } else { format!("Events {}", self.sheets) };
        let header = self.columns.header();
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(name)?;
        sheet.set_freeze_panes(1, 0)?;
        for (col, name) in header.iter().enumerate() {
            let col = u16::try_from(col).unwrap_or(u16::MAX);
            let width = match name.as_str() {
                "id" | "request_id" => 38.0,
                "occurred_at" | "received_at" => 24.0,
                "status" | "method" | "outcome" => 10.0,
                _ => 18.0,
            };
            sheet.set_column_width(col, width)?;
            sheet.write_string_with_format(0, col, name, &self.bold)?;
        }
        self.row = 1;
        Ok(())
    }

    /// Filter buttons over the current sheet's header and rows.
    fn close_sheet(&mut self) -> Result<(), ExportError> {
        let last_row = self.row.saturating_sub(1);
        let sheet = self.workbook.worksheet_from_index(self.sheets - 1)?;
        sheet.autofilter(0, 0, last_row, self.width.saturating_sub(1))?;
        Ok(())
    }
}

fn excel_text(text: &str) -> std::borrow::Cow<'_, str> {
    let neutral = neutralise(text);
    if neutral.encode_utf16().count() <= MAX_CELL {
        return neutral;
    }
    let budget = MAX_CELL - CUT_NOTE.encode_utf16().count();
    let mut used = 0;
    let mut cut = String::new();
    for c in neutral.chars() {
        used += c.len_utf16();
        if used > budget {
            break;
        }
        cut.push(c);
    }
    cut.push_str(CUT_NOTE);
    cut.into()
}

/// rust_xlsxwriter's constant-memory mode panics when it cannot write its temporary files (a
/// full disk): the panic becomes an ordinary error — a full disk still reads as one — and the
/// caller marks the workbook broken.
fn guarded<T>(work: impl FnOnce() -> Result<T, ExportError>) -> (Result<T, ExportError>, bool) {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(result) => (result, false),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let kind = if message.contains("StorageFull") { std::io::ErrorKind::StorageFull } else { std::io::ErrorKind::Other };
            (Err(ExportError::Io(std::io::Error::new(kind, format!("writing the workbook failed: {message}")))), true)
        }
    }
}

fn broken() -> ExportError {
    ExportError::Io(std::io::Error::other("the workbook failed earlier and cannot be completed"))
}

impl XlsxEncoder {
    fn write_event(&mut self, event: &Event) -> Result<(), ExportError> {
        if self.row > self.rows_per_sheet {
            self.close_sheet()?;
            self.new_sheet()?;
        }
        let cells = self.columns.cells(event);
        let row = self.row;
        let sheet = self.workbook.worksheet_from_index(self.sheets - 1)?;
        for (col, cell) in cells.iter().enumerate() {
            let col = u16::try_from(col).unwrap_or(u16::MAX);
            match cell {
                Cell::Empty => {}
                Cell::Text(text) => {
                    sheet.write_string(row, col, excel_text(text))?;
                }
                Cell::Number(n) => {
                    sheet.write_number(row, col, *n)?;
                }
                Cell::Time(t) => {
                    sheet.write_datetime_with_format(row, col, t.naive_utc(), &self.time)?;
                }
            }
        }
        self.row += 1;
        Ok(())
    }
}

impl Encoder for XlsxEncoder {
    fn event(&mut self, event: &Event) -> Result<(), ExportError> {
        if self.broken {
            return Err(broken());
        }
        let (result, panicked) = guarded(|| self.write_event(event));
        self.broken |= panicked;
        result
    }

    fn drain(&mut self, _out: &mut (dyn Write + Send)) -> Result<(), ExportError> {
        Ok(())
    }

    fn finish(mut self: Box<Self>, out: &mut (dyn Write + Send)) -> Result<(), ExportError> {
        if self.broken {
            return Err(broken());
        }
        guarded(|| {
            self.close_sheet()?;
            self.workbook.save_to_writer(out)?;
            Ok(())
        })
        .0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader};

    #[test]
    fn a_panic_while_writing_is_an_error_that_keeps_the_kind_of_failure() {
        let (full, panicked) = guarded::<()>(|| panic!("Couldn't write to xml file: Os {{ code: 28, kind: StorageFull }}"));
        assert!(panicked);
        assert!(matches!(full, Err(ExportError::Io(e)) if e.kind() == std::io::ErrorKind::StorageFull));
        let (fine, panicked) = guarded(|| Ok(7));
        assert_eq!((fine.ok(), panicked), (Some(7), false));
    }

    #[test]
    fn rows_past_the_sheet_limit_continue_on_a_new_sheet_with_its_own_header() {
        let scratch = std::env::temp_dir();
        let mut encoder = XlsxEncoder::new(Columns::new(vec!["team".into()]), &scratch).expect("encoder");
        encoder.rows_per_sheet = 2;
        let mut encoder: Box<dyn Encoder> = Box::new(encoder);
        for n in 0..5 {
            let mut event = crate::test_support::sample_event();
            event.actor.name = format!("=cmd{n}");
            event.status = Some(200 + n);
            encoder.event(&event).expect("event");
        }
        let mut bytes = Vec::new();
        encoder.finish(&mut bytes).expect("finish");
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("a workbook");
        assert_eq!(book.sheet_names(), ["Events", "Events 2", "Events 3"]);
        let mut names = Vec::new();
        for sheet in book.sheet_names() {
            let range = book.worksheet_range(&sheet).expect("sheet");
            let rows: Vec<_> = range.rows().collect();
            assert_eq!(rows[0][0], Data::String("id".into()), "every sheet has the header");
            let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
            let name = header.iter().position(|h| h == "actor.name").expect("actor.name column");
            let status = header.iter().position(|h| h == "status").expect("status column");
            let time = header.iter().position(|h| h == "occurred_at").expect("time column");
            for row in &rows[1..] {
                names.push(row[name].to_string());
                assert!(matches!(row[status], Data::Float(_)), "status is a number: {:?}", row[status]);
                assert!(matches!(row[time], Data::DateTime(_)), "times are date-times: {:?}", row[time]);
            }
        }
        assert_eq!(names, ["'=cmd0", "'=cmd1", "'=cmd2", "'=cmd3", "'=cmd4"]);
    }

    #[test]
    fn long_text_is_cut_at_excels_limit_and_says_so() {
        let long = "é".repeat(40_000);
        let cell = excel_text(&long);
        assert_eq!(cell.encode_utf16().count(), MAX_CELL);
        assert!(cell.ends_with(CUT_NOTE));
        assert_eq!(excel_text("=1+1"), "'=1+1");
        // A character outside the basic plane counts twice and is never split.
        let astral = "😀".repeat(20_000);
        assert!(excel_text(&astral).encode_utf16().count() <= MAX_CELL);
    }
}
