//! Where export files live: `<dir>/<job id>/<format>.zip` (the data directory's `exports/` by
//! default; a shared directory when several instances serve one database). A ZIP is written
//! as `<format>.zip.partial`, flushed to disk and only then renamed, so a file that can be
//! downloaded is always complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use uuid::Uuid;
use zip::write::SimpleFileOptions;
use zip::ZipWriter;

use super::{ExportError, Format};

#[derive(Clone, Debug)]
pub struct ExportFiles {
    pub dir: PathBuf,
    /// How long finished files stay.
    pub expiry: Duration,
}

impl ExportFiles {
    pub fn new(dir: PathBuf, expiry: Duration) -> ExportFiles {
        ExportFiles { dir, expiry }
    }

    pub fn job_dir(&self, id: Uuid) -> PathBuf {
        self.dir.join(id.to_string())
    }

    pub fn zip_path(&self, id: Uuid, format: Format) -> PathBuf {
        self.job_dir(id).join(format!("{}.zip", format.extension()))
    }

    /// Scratch space for workbooks being written (instant XLSX downloads).
    pub fn scratch(&self) -> Result<PathBuf, std::io::Error> {
        let dir = self.dir.join("tmp");
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Removes a job's files (nothing to remove is fine).
    pub fn remove(&self, id: Uuid) {
        match std::fs::remove_dir_all(self.job_dir(id)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(export = %id, error = %e, "could not remove an export's files"),
        }
    }

    /// Job directories that belong to no listed job (a deleted or expired job whose files
    /// could not be removed at the time).
    pub fn leftovers(&self, listed: &[Uuid]) -> Vec<Uuid> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return vec![] };
        entries
            .filter_map(|e| e.ok())
            .filter_map(|e| Uuid::parse_str(&e.file_name().to_string_lossy()).ok())
            .filter(|id| !listed.contains(id))
            .collect()
    }
}

/// A ZIP being written for one format: a file named after the export inside.
pub struct ZipOut {
    zip: ZipWriter<BufWriter<File>>,
    partial: PathBuf,
    done: PathBuf,
}

impl ZipOut {
    pub fn create(files: &ExportFiles, id: Uuid, format: Format, inner_name: &str) -> Result<ZipOut, ExportError> {
        let dir = files.job_dir(id);
        std::fs::create_dir_all(&dir)?;
        let done = files.zip_path(id, format);
        let partial = done.with_extension("zip.partial");
        let file = File::create(&partial)?;
        let mut zip = ZipWriter::new(BufWriter::with_capacity(1 << 20, file));
        let mut options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(true);
        if let Some(now) = zip_time(chrono::Utc::now()) {
            options = options.last_modified_time(now);
        }
        zip.start_file(format!("{inner_name}.{}", format.extension()), options)?;
        Ok(ZipOut { zip, partial, done })
    }

    pub fn writer(&mut self) -> &mut (dyn Write + Send) {
        &mut self.zip
    }

    /// Completes the archive, puts it on disk for good, and answers its size and SHA-256.
    pub fn complete(self) -> Result<(u64, String), ExportError> {
        let buffered = self.zip.finish()?;
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.partial, &self.done)?;
        let (bytes, sha256) = digest(&self.done)?;
        Ok((bytes, sha256))
    }
}

/// When the file was made, as ZIP records it (UTC; ZIP has no zones and counts from 1980).
fn zip_time(t: chrono::DateTime<chrono::Utc>) -> Option<zip::DateTime> {
    use chrono::{Datelike, Timelike};
    let small = |n: u32| u8::try_from(n).ok();
    zip::DateTime::from_date_and_time(u16::try_from(t.year()).ok()?, small(t.month())?, small(t.day())?, small(t.hour())?, small(t.minute())?, small(t.second())?).ok()
}

fn digest(path: &Path) -> Result<(u64, String), std::io::Error> {
    let mut hasher = Sha256::new();
    let mut file = File::open(path)?;
    let bytes = std::io::copy(&mut file, &mut hasher)?;
    let sum = hasher.finalize();
    Ok((bytes, sum.iter().map(|b| format!("{b:02x}")).collect()))
}

/// A file name from what a person typed: letters, digits, `-` and `_`; at most 80.
pub fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_') { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let stem: String = stem.chars().take(80).collect();
    if stem.is_empty() { "auditorium-export".into() } else { stem }
}

/// A failure in words a person can act on.
pub fn describe(e: &ExportError) -> String {
    let io = match e {
        ExportError::Io(io) => Some(io.kind()),
        ExportError::Zip(zip::result::ZipError::Io(io)) => Some(io.kind()),
        ExportError::Xlsx(rust_xlsxwriter::XlsxError::IoError(io)) => Some(io.kind()),
        ExportError::Xlsx(rust_xlsxwriter::XlsxError::ZipError(zip::result::ZipError::Io(io))) => Some(io.kind()),
        _ => None,
    };
    match io {
        Some(std::io::ErrorKind::StorageFull) => "the disk holding the export files is full: free space (or set --export-dir) and create the export again".into(),
        Some(std::io::ErrorKind::PermissionDenied) => "the export directory is not writable by the server".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe_names() {
        assert_eq!(file_stem("Incident 42: logins/ssh"), "Incident-42-logins-ssh");
        assert_eq!(file_stem("../../etc/passwd"), "etc-passwd");
        assert_eq!(file_stem("   "), "auditorium-export");
        assert_eq!(file_stem(".."), "auditorium-export");
        assert_eq!(file_stem(&"x".repeat(300)).len(), 80);
    }

    #[test]
    fn the_files_in_a_zip_carry_the_time_they_were_made() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-03T23:41:07Z").expect("t").with_timezone(&chrono::Utc);
        let z = zip_time(t).expect("in range");
        assert_eq!((z.year(), z.month(), z.day(), z.hour(), z.minute(), z.second()), (2026, 12, 3, 23, 41, 6));
    }

    #[test]
    fn a_full_disk_is_named() {
        let e = ExportError::Io(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert!(describe(&e).contains("disk"));
    }
}
