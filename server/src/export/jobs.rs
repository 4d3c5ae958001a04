//! Export jobs as people see them: create, list, look at, download and delete — each through
//! the same rule: a job holds what its creator could see when they made it, so it is shown
//! to those who see everything (admins, auditors) and to people whose scope is, now, exactly
//! the one it was made with (its creator included: someone whose scope was narrowed since
//! no longer sees what they exported before); only its creator or an admin deletes it. Creating, downloading
//! and deleting are recorded in Auditorium's own log (`auditorium.export.*`).

use app::exports::{ExportFile, ExportSummary, NewExport};
use app::query::Scope;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::files::ExportFiles;
use super::Format;
use crate::auth::audit::{self, Actor, Entry, Origin};
use crate::auth::{Need, Principal};
use crate::explore::decode_strict;
use crate::store::exports::{self, ExportRow, NewRow};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotReady(String),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Whether `who` may see (and download) the job.
pub fn may_see(row: &ExportRow, who: &Principal) -> bool {
    who.scope.is_all() || (!row.scope_all && row.scope_key == who.scope.key())
}

fn is_creator(row: &ExportRow, who: &Principal) -> bool {
    row.created_by.is_some() && row.created_by == who.user.as_ref().map(|u| u.id)
}

pub fn may_delete(row: &ExportRow, who: &Principal) -> bool {
    is_creator(row, who) || who.allows(Need::Manage).is_ok()
}

pub fn summary(row: &ExportRow, who: &Principal) -> ExportSummary {
    let files = Format::ALL
        .into_iter()
        .filter_map(|f| {
            let file = row.files.get(f.as_str())?;
            Some(ExportFile {
                format: f.as_str().into(),
                bytes: file["bytes"].as_u64().unwrap_or(0),
                sha256: file["sha256"].as_str().unwrap_or_default().into(),
                url: format!("/api/v1/exports/{}/{}", row.id, f.as_str()),
            })
        })
        .collect();
    ExportSummary {
        id: row.id.to_string(),
        name: row.name.clone(),
        view: row.view.clone(),
        formats: row.formats.clone(),
        status: row.status.clone(),
        rows_done: u64::try_from(row.rows_done).unwrap_or(0),
        rows_total: row.rows_total.and_then(|n| u64::try_from(n).ok()),
        created_by: row.creator_name.clone(),
        mine: is_creator(row, who),
        created_at: time(row.created_at),
        started_at: row.started_at.map(time),
        finished_at: row.finished_at.map(time),
        expires_at: time(row.expires_at),
        error: row.error.clone(),
        files,
    }
}

/// Checks a request for a job; the formats in canonical order, the name, the view.
pub fn validate(new: &NewExport, now: DateTime<Utc>) -> Result<(Vec<Format>, String, String), JobError> {
    let mut formats = Vec::new();
    for text in &new.formats {
        let format = Format::parse(text).ok_or_else(|| JobError::Invalid(format!("format {text:?} is not one of csv, ndjson, cef, xlsx")))?;
        if !formats.contains(&format) {
            formats.push(format);
        }
    }
    if formats.is_empty() {
        return Err(JobError::Invalid("choose at least one format: csv, ndjson, cef or xlsx".into()));
    }
    formats.sort();
    let name = match new.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) if n.chars().count() > 200 => return Err(JobError::Invalid("the name is longer than 200 characters".into())),
        Some(n) if n.chars().any(char::is_control) => return Err(JobError::Invalid("the name contains control characters".into())),
        Some(n) => n.to_string(),
        None => format!("Export {}", now.format("%Y-%m-%d %H:%M UTC")),
    };
    let view = new.view.trim().trim_start_matches('?').to_string();
    decode_strict(&view, &[]).map_err(|e| JobError::Invalid(e.to_string()))?;
    Ok((formats, name, view))
}

pub async fn create(pool: &PgPool, files: &ExportFiles, who: &Principal, new: &NewExport, origin: Origin) -> Result<ExportRow, JobError> {
    let now = Utc::now();
    let (formats, name, view) = validate(new, now)?;
    let expires_at = now + chrono::Duration::from_std(files.expiry).unwrap_or(chrono::Duration::days(7));
    let creator_name = match (&who.user, &who.token) {
        (Some(u), _) => u.email.clone(),
        (None, Some(t)) => format!("token {}", t.name),
        (None, None) => "Auditorium".into(),
    };
    let scope_key = who.scope.key();
    let mut tx = pool.begin().await?;
    let row = exports::insert(
        &mut *tx,
        &NewRow {
            id: Uuid::now_v7(),
            name: &name,
            view: &view,
            window_at: now,
            formats: formats.iter().map(|f| f.as_str().to_string()).collect(),
            created_by: who.user.as_ref().map(|u| u.id),
            creator_name: &creator_name,
            scope_all: who.scope.is_all(),
            scope_views: &who.scope_views,
            scope_key: &scope_key,
            expires_at,
        },
    )
    .await?;
    let entry = Entry::new("auditorium.export.created", Actor::of(who), origin)
        .on("export", row.id, &row.name)
        .note("view", json!(row.view))
        .note("formats", json!(row.formats));
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(row)
}

/// The jobs `who` may see, newest first.
pub async fn list(pool: &PgPool, who: &Principal) -> Result<Vec<ExportRow>, JobError> {
    Ok(exports::list(pool).await?.into_iter().filter(|r| may_see(r, who)).collect())
}

/// One job; one `who` may not see does not exist for them.
pub async fn get(pool: &PgPool, who: &Principal, id: &str) -> Result<ExportRow, JobError> {
    let missing = || JobError::NotFound(format!("there is no export {id}"));
    let id = Uuid::parse_str(id).map_err(|_| missing())?;
    exports::get(pool, id).await?.filter(|r| may_see(r, who)).ok_or_else(missing)
}

pub async fn delete(pool: &PgPool, files: &ExportFiles, who: &Principal, id: &str, origin: Origin) -> Result<(), JobError> {
    let row = get(pool, who, id).await?;
    if !may_delete(&row, who) {
        return Err(JobError::Forbidden("only the export's creator or an admin can delete it".into()));
    }
    let mut tx = pool.begin().await?;
    exports::delete(&mut *tx, row.id).await?;
    audit::record(&mut *tx, &Entry::new("auditorium.export.deleted", Actor::of(who), origin).on("export", row.id, &row.name)).await?;
    tx.commit().await?;
    files.remove(row.id);
    Ok(())
}

/// The finished ZIP of one format: its path and the name to save it as.
pub async fn download(pool: &PgPool, files: &ExportFiles, who: &Principal, id: &str, format: &str, origin: Origin) -> Result<(std::path::PathBuf, String), JobError> {
    let row = get(pool, who, id).await?;
    let format = Format::parse(format)
        .filter(|f| row.formats.iter().any(|x| x == f.as_str()))
        .ok_or_else(|| JobError::NotFound(format!("the export {} has no {format:?} file", row.id)))?;
    if row.status != "done" {
        return Err(JobError::NotReady(format!("the export is {}; its files are ready when it is done", row.status)));
    }
    let entry = Entry::new("auditorium.export.downloaded", Actor::of(who), origin)
        .on("export", row.id, &row.name)
        .note("format", json!(format.as_str()));
    audit::record(pool, &entry).await?;
    let name = format!("{}-{}.zip", super::files::file_stem(&row.name), format.extension());
    Ok((files.zip_path(row.id, format), name))
}

/// What the job reads: its view at the moment it was created, within its creator's scope
/// then.
pub fn scope_of(row: &ExportRow) -> Scope {
    if row.scope_all {
        Scope::All
    } else {
        // Stored scopes were valid when stored; one that no longer parses sees nothing.
        Scope::parse(&row.scope_views).unwrap_or(Scope::AnyOf(vec![]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(formats: &[&str], name: Option<&str>, view: &str) -> NewExport {
        NewExport { name: name.map(str::to_string), formats: formats.iter().map(|s| s.to_string()).collect(), view: view.into() }
    }

    #[test]
    fn requests_are_checked_at_the_edge() {
        let now = DateTime::from_timestamp(1_764_000_000, 0).expect("t");
        let (formats, name, view) = validate(&new(&["xlsx", "csv", "csv"], None, "?action=user.login&range=7d"), now).expect("valid");
        assert_eq!(formats, [Format::Csv, Format::Xlsx]);
        assert_eq!(name, "Export 2025-11-24 16:00 UTC");
        assert_eq!(view, "action=user.login&range=7d");
        assert!(matches!(validate(&new(&[], None, ""), now), Err(JobError::Invalid(_))));
        assert!(matches!(validate(&new(&["pdf"], None, ""), now), Err(JobError::Invalid(m)) if m.contains("pdf")));
        assert!(matches!(validate(&new(&["csv"], Some(&"n".repeat(201)), ""), now), Err(JobError::Invalid(_))));
        assert!(matches!(validate(&new(&["csv"], Some("a\u{7}"), ""), now), Err(JobError::Invalid(_))));
        assert!(matches!(validate(&new(&["csv"], None, "colour=red"), now), Err(JobError::Invalid(m)) if m.contains("colour")));
    }
}
