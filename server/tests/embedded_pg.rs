//! The embedded cluster with the machine's real PostgreSQL programs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use server::embedded_pg::{EmbeddedPostgres, LeaseKind, DATABASE};

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auditorium-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn start(dir: &Path, kind: LeaseKind) -> EmbeddedPostgres {
    EmbeddedPostgres::locate(dir).and_then(|c| c.start(kind)).expect("the embedded cluster starts")
}

async fn can_query(cluster: &EmbeddedPostgres) -> bool {
    let Ok(pool) = server::db::connect(&cluster.url("postgres"), Duration::from_secs(5), 1).await else {
        return false;
    };
    let ok = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&pool).await.is_ok();
    pool.close().await;
    ok
}

/// Waits (bounded) until no process works in `dir` any more.
fn wait_until_no_process_in(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let dir = dir.canonicalize().expect("exists");
    while Instant::now() < deadline {
        let busy = std::fs::read_dir("/proc")
            .expect("procfs")
            .flatten()
            .any(|p| std::fs::read_link(p.path().join("cwd")).is_ok_and(|cwd| cwd == dir));
        if !busy {
            return;
        }
        std::thread::yield_now();
    }
    panic!("processes still run in {}", dir.display());
}

#[tokio::test]
async fn the_last_user_stops_the_cluster() {
    let dir = scratch_dir("leases");
    let pinned = start(&dir, LeaseKind::Pinned);
    let process = start(&dir, LeaseKind::Process);
    assert!(can_query(&process).await);
    assert!(process.url(DATABASE).contains("host="), "a unix socket, never a TCP port");
    process.release().expect("release");
    assert!(pinned.running_pid().is_some(), "the `db start` lease keeps it running");
    let still_used = EmbeddedPostgres::locate(&dir).and_then(|c| c.stop(false)).expect("stop");
    assert!(still_used.is_empty());
    assert!(pinned.running_pid().is_none(), "stopped once nobody uses it");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_stale_pid_file_from_a_killed_server_does_not_block_the_next_start() {
    let dir = scratch_dir("stale");
    let cluster = start(&dir, LeaseKind::Process);
    let pgdata = cluster.data_dir().to_path_buf();
    let pid = cluster.running_pid().expect("running");

    // kill -9 the postmaster: postmaster.pid stays behind.
    Command::new("kill").args(["-9", &pid.to_string()]).status().expect("kill");
    wait_until_no_process_in(&pgdata);
    assert!(pgdata.join("postmaster.pid").exists());
    // ... and its number now belongs to another, unrelated process.
    let mut impostor = Command::new("sleep").arg("60").spawn().expect("sleep");
    let pid_file = std::fs::read_to_string(pgdata.join("postmaster.pid")).expect("pid file");
    let rewritten = pid_file.replacen(&pid.to_string(), &impostor.id().to_string(), 1);
    std::fs::write(pgdata.join("postmaster.pid"), rewritten).expect("rewrite");

    // The dead process's lease is ignored; the next start recovers and works.
    drop(cluster);
    let again = start(&dir, LeaseKind::Process);
    assert!(again.running_pid().is_some_and(|p| p != impostor.id()));
    assert!(can_query(&again).await);
    again.release().expect("release");
    assert!(EmbeddedPostgres::locate(&dir).expect("locate").running_pid().is_none());
    let _ = impostor.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
