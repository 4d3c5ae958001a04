//! NDJSON: one event per line, exactly the JSON the API returns for it.

use std::io::Write;

use app::event::Event;

use super::{Encoder, ExportError};

#[derive(Default)]
pub struct NdjsonEncoder {
    buffer: Vec<u8>,
}

impl Encoder for NdjsonEncoder {
    fn event(&mut self, event: &Event) -> Result<(), ExportError> {
        serde_json::to_writer(&mut self.buffer, event).map_err(std::io::Error::other)?;
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
