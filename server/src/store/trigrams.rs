//! Which part of a search term the trigram index looks up.
//!
//! pg_trgm answers `search_text LIKE '%term%'` by reading the index entries of *every*
//! trigram of the term and intersecting them. Trigrams that occur in most events (`use`,
//! `acm`, `.io` of `user4321@acme.io`) make that read long — tens of millions of entries over
//! 30 days — although the answer is a few hundred rows. With a sample of stored search texts
//! we know which trigrams are common, and let the index look up only the cheapest part of the
//! term (`r4321`); the whole term is still checked on every row the index returns, so the
//! result never changes (the part is a substring of the term).

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, RwLock};

use sqlx::PgPool;

/// Search texts kept in the sample (about 1 MB).
const SAMPLE_ROWS: i64 = 5_000;
/// Below this many sampled events, frequencies mean little: the term is used as it is.
const MIN_SAMPLE: usize = 200;
/// A trigram in more than this share of the sampled events is common.
const COMMON_SHARE: f64 = 0.02;
/// Checking one row the index returned costs about as much as reading this many index
/// entries (measured on the 10M-event benchmark dataset).
const RECHECK_COST: f64 = 500.0;

/// Trigram frequencies in a sample of stored search texts.
#[derive(Debug, Default)]
pub struct TrigramSample {
    texts: Vec<String>,
    frequency: HashMap<[u8; 3], u32>,
}

impl TrigramSample {
    /// `texts` are search texts (lower case), as stored in `events.search_text`.
    pub fn new(texts: Vec<String>) -> Self {
        let mut frequency: HashMap<[u8; 3], u32> = HashMap::new();
        let mut seen = HashSet::new();
        for text in &texts {
            seen.clear();
            seen.extend(trigrams(text.as_bytes(), &words(text.as_bytes())));
            for trigram in &seen {
                *frequency.entry(*trigram).or_default() += 1;
            }
        }
        TrigramSample { texts, frequency }
    }

    /// The part of `term` (lower case) for the index condition: the term itself, or a
    /// substring of it that is cheaper to look up and still selective.
    pub fn index_needle<'t>(&self, term: &'t str) -> &'t str {
        if self.texts.len() < MIN_SAMPLE {
            return term;
        }
        let bytes = term.as_bytes();
        let words = words(bytes);
        let all = trigrams(bytes, &words);
        let common = (self.texts.len() as f64 * COMMON_SHARE) as u32;
        if !all.iter().any(|t| self.frequency(t) > common) {
            return term;
        }
        // Candidates: each longest stretch of consecutive uncommon trigrams within a word.
        let mut candidates: Vec<Range<usize>> = Vec::new();
        for word in words.iter().filter(|w| w.len() >= 3) {
            let mut start = None;
            for at in word.start..=word.end - 3 {
                let uncommon = self.frequency(&trigram(bytes, at)) <= common;
                match (uncommon, start) {
                    (true, None) => start = Some(at),
                    (false, Some(s)) => {
                        candidates.push(s..at + 2);
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(s) = start {
                candidates.push(s..word.end);
            }
        }
        let mut best = (self.cost(term, &all), term);
        for range in candidates {
            let part = &term[range.clone()];
            let cost = self.cost(part, &trigrams(bytes, &[range]));
            if cost < best.0 {
                best = (cost, part);
            }
        }
        best.1
    }

    /// Index entries read plus rows checked, for looking up `needle` with these trigrams.
    fn cost(&self, needle: &str, trigrams: &[[u8; 3]]) -> f64 {
        let entries: f64 = trigrams.iter().map(|t| f64::from(self.frequency(t))).sum();
        let rows = self.texts.iter().filter(|text| text.contains(needle)).count() as f64;
        entries + RECHECK_COST * rows.max(0.5)
    }

    fn frequency(&self, trigram: &[u8; 3]) -> u32 {
        self.frequency.get(trigram).copied().unwrap_or(0)
    }
}

/// Runs of ASCII letters and digits: what pg_trgm (in the database's C locale) builds
/// trigrams from; other characters separate words.
fn words(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, b) in bytes.iter().enumerate() {
        match (b.is_ascii_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(s..bytes.len());
    }
    out
}

fn trigram(bytes: &[u8], at: usize) -> [u8; 3] {
    [bytes[at], bytes[at + 1], bytes[at + 2]]
}

/// The trigrams inside `words` (word boundaries' padded trigrams are left out).
fn trigrams(bytes: &[u8], words: &[Range<usize>]) -> Vec<[u8; 3]> {
    words.iter().filter(|w| w.len() >= 3).flat_map(|w| (w.start..w.end - 2).map(|at| trigram(bytes, at))).collect()
}

static SAMPLE: RwLock<Option<Arc<TrigramSample>>> = RwLock::new(None);

/// The sample in use, once [`refresh`] has loaded one.
pub fn current() -> Option<Arc<TrigramSample>> {
    SAMPLE.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Replaces the sample with a fresh one of about 5,000 stored events (random blocks of the
/// table), returning its size.
pub async fn refresh(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let stored: i64 = sqlx::query_scalar("SELECT last_seq FROM event_sequence").fetch_one(pool).await?;
    let percent = (SAMPLE_ROWS as f64 * 100.0 / stored.max(1) as f64).min(100.0);
    let texts: Vec<String> =
        sqlx::query_scalar("SELECT search_text FROM events TABLESAMPLE SYSTEM ($1) LIMIT $2")
            .bind(percent)
            .bind(SAMPLE_ROWS * 4)
            .fetch_all(pool)
            .await?;
    let size = texts.len();
    *SAMPLE.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(TrigramSample::new(texts)));
    Ok(size)
}

/// Background upkeep: a fresh sample every ten minutes (every minute while the store holds
/// too few events for one).
pub async fn keep_fresh(pool: PgPool) {
    loop {
        let size = refresh(&pool).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "sampling search texts failed: {e}");
            0
        });
        let minutes = if size < MIN_SAMPLE { 1 } else { 10 };
        tokio::time::sleep(std::time::Duration::from_secs(60 * minutes)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1,000 events of 1,000 users `user<n>@acme.io`, a few of them with a timeout error.
    fn sample() -> TrigramSample {
        TrigramSample::new(
            (0..1000)
                .map(|i| {
                    let error = if i % 50 == 0 { "\nrequest timeout" } else { "" };
                    format!("user.login\nact_{i}\nuser {i}\nuser{i}@acme.io\n10.0.{}.{}{error}", i % 256, i / 256)
                })
                .collect(),
        )
    }

    #[test]
    fn a_rare_part_of_a_term_is_looked_up_instead_of_its_common_trigrams() {
        // `use`, `ser`, `acm`, `cme` are in every event; `r43`, `432`, `321` in one or two.
        assert_eq!(sample().index_needle("user432@acme.io"), "r432");
    }

    #[test]
    fn a_term_without_common_trigrams_is_looked_up_whole() {
        assert_eq!(sample().index_needle("timeout"), "timeout");
        assert_eq!(sample().index_needle("zebra crossing"), "zebra crossing");
    }

    #[test]
    fn a_term_of_only_common_trigrams_is_looked_up_whole() {
        assert_eq!(sample().index_needle("acme.io"), "acme.io");
        assert_eq!(sample().index_needle("user"), "user");
    }

    #[test]
    fn short_terms_are_looked_up_whole_and_non_ascii_letters_separate_words() {
        assert_eq!(sample().index_needle("io"), "io");
        // Only ASCII letters and digits make trigrams: `code` is the rare part here.
        assert_eq!(sample().index_needle("ünïcode user"), "code");
        assert_eq!(sample().index_needle("üser432ü@acme"), "r432");
    }

    #[test]
    fn without_a_sample_the_term_is_used_as_it_is() {
        assert_eq!(TrigramSample::default().index_needle("user432@acme.io"), "user432@acme.io");
    }

    #[test]
    fn the_needle_is_always_a_substring_of_the_term() {
        let sample = sample();
        for term in ["user1@acme.io", "act_999", "10.0.3.7", "user.login user 12", "a", "", "@@@", "user999999@acme.io"] {
            let needle = sample.index_needle(term);
            assert!(term.contains(needle), "{needle:?} not in {term:?}");
        }
    }
}
