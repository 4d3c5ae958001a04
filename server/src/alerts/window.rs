//! The threshold of one rule over a stream of matching events: "at least N within W", per
//! value of a field. Plain data, no I/O, deterministic: the same events in the same (commit)
//! order give the same crossings — which is what lets a restart re-read events it had
//! already seen without firing twice.
//!
//! A group keeps only its newest N events: the count within the window reaches N exactly
//! when the N-th newest event is still inside it. A crossing fires once; the group re-arms
//! when its count falls below N again.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

/// At most this many groups per rule (the least recently active go first).
pub const MAX_GROUPS: usize = 50_000;

#[derive(Debug)]
struct Group {
    /// (occurred at, position, id), oldest first, at most `count` of them.
    events: VecDeque<(DateTime<Utc>, i64, Uuid)>,
    newest: DateTime<Utc>,
    active: bool,
}

/// A threshold crossed: the event at position `crossing` made the count reach N.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crossing {
    pub group: String,
    pub crossing: i64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub event_ids: Vec<Uuid>,
}

#[derive(Debug)]
pub struct Threshold {
    count: usize,
    window: TimeDelta,
    groups: HashMap<String, Group>,
}

impl Threshold {
    pub fn new(count: u32, window_seconds: i64) -> Threshold {
        Threshold {
            count: count.max(1) as usize,
            window: TimeDelta::seconds(window_seconds.max(1)),
            groups: HashMap::new(),
        }
    }

    /// One matching event, in commit order. Events older than their group's window (by
    /// occurrence time) no longer count.
    pub fn observe(
        &mut self,
        group: &str,
        at: DateTime<Utc>,
        position: i64,
        id: Uuid,
    ) -> Option<Crossing> {
        if !self.groups.contains_key(group) && self.groups.len() >= MAX_GROUPS {
            self.evict();
        }
        let g = self
            .groups
            .entry(group.to_string())
            .or_insert_with(|| Group {
                events: VecDeque::new(),
                newest: at,
                active: false,
            });
        g.newest = g.newest.max(at);
        let oldest_counted = g.newest - self.window;
        while g
            .events
            .front()
            .is_some_and(|(t, _, _)| *t <= oldest_counted)
        {
            g.events.pop_front();
        }
        // Below the threshold now (the last crossing's events have left the window): the
        // next time the count reaches N is a new crossing. Checked before this event counts,
        // so a rule of 1 re-arms too.
        if g.events.len() < self.count {
            g.active = false;
        }
        if at <= oldest_counted {
            return None;
        }
        // Keep time order (commit order is nearly time order).
        let slot = g
            .events
            .iter()
            .rposition(|(t, _, _)| *t <= at)
            .map_or(0, |i| i + 1);
        g.events.insert(slot, (at, position, id));
        while g.events.len() > self.count {
            g.events.pop_front();
        }
        if g.events.len() < self.count {
            return None;
        }
        if g.active {
            return None;
        }
        g.active = true;
        let from = g.events.front().map_or(at, |e| e.0);
        let to = g.events.back().map_or(at, |e| e.0);
        Some(Crossing {
            group: group.to_string(),
            crossing: position,
            from,
            to,
            event_ids: g.events.iter().map(|e| e.2).collect(),
        })
    }

    /// Groups held (for tests and metrics).
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Drops the groups whose newest event is the oldest.
    fn evict(&mut self) {
        let mut newest: Vec<DateTime<Utc>> = self.groups.values().map(|g| g.newest).collect();
        newest.sort_unstable();
        let cut = newest[newest.len() / 10];
        self.groups.retain(|_, g| g.newest > cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::seconds(1_800_000_000 + seconds)
    }

    fn feed(th: &mut Threshold, events: &[(&str, i64)]) -> Vec<(String, i64)> {
        events
            .iter()
            .enumerate()
            .filter_map(|(i, (g, s))| {
                th.observe(g, t(*s), i as i64 + 1, Uuid::from_u128(i as u128 + 1))
            })
            .map(|c| (c.group, c.crossing))
            .collect()
    }

    #[test]
    fn fires_once_when_the_count_reaches_the_threshold_and_rearms_below_it() {
        let mut th = Threshold::new(3, 600);
        // 3 within 10 minutes: fire at the third; a fourth and fifth do not fire again.
        let fired = feed(
            &mut th,
            &[("a", 0), ("a", 60), ("a", 120), ("a", 130), ("a", 140)],
        );
        assert_eq!(fired, [("a".to_string(), 3)]);
        // An hour later the window holds one event: re-armed; three more fire again.
        let mut th = Threshold::new(3, 600);
        let fired = feed(
            &mut th,
            &[
                ("a", 0),
                ("a", 60),
                ("a", 120),
                ("a", 4000),
                ("a", 4010),
                ("a", 4020),
            ],
        );
        assert_eq!(fired, [("a".to_string(), 3), ("a".to_string(), 6)]);
    }

    #[test]
    fn a_threshold_of_one_fires_again_once_its_window_has_passed() {
        let mut th = Threshold::new(1, 60);
        // 0 fires; 30 is inside the same minute (still at the threshold); 200 is a new crossing.
        let fired = feed(
            &mut th,
            &[("a", 0), ("a", 30), ("a", 200), ("a", 210), ("a", 400)],
        );
        assert_eq!(
            fired,
            [
                ("a".to_string(), 1),
                ("a".to_string(), 3),
                ("a".to_string(), 5)
            ]
        );
    }

    #[test]
    fn spread_out_events_never_fire() {
        let mut th = Threshold::new(3, 600);
        assert!(feed(
            &mut th,
            &[("a", 0), ("a", 400), ("a", 800), ("a", 1200), ("a", 1600)]
        )
        .is_empty());
    }

    #[test]
    fn groups_count_separately() {
        let mut th = Threshold::new(2, 600);
        let fired = feed(
            &mut th,
            &[("ada", 0), ("bob", 1), ("cy", 2), ("bob", 3), ("ada", 4)],
        );
        assert_eq!(fired, [("bob".to_string(), 4), ("ada".to_string(), 5)]);
    }

    #[test]
    fn a_crossing_names_the_events_and_window() {
        let mut th = Threshold::new(2, 600);
        assert!(th.observe("", t(10), 7, Uuid::from_u128(7)).is_none());
        let c = th.observe("", t(5), 9, Uuid::from_u128(9)).expect("fires");
        assert_eq!((c.from, c.to, c.crossing), (t(5), t(10), 9));
        assert_eq!(
            c.event_ids,
            [Uuid::from_u128(9), Uuid::from_u128(7)],
            "in time order"
        );
    }

    #[test]
    fn the_same_events_give_the_same_crossings() {
        let events: Vec<(&str, i64)> = (0..500)
            .map(|i| (["a", "b", "c"][i % 3], (i as i64 * 37) % 900))
            .collect();
        let first = feed(&mut Threshold::new(4, 120), &events);
        let second = feed(&mut Threshold::new(4, 120), &events);
        assert!(!first.is_empty());
        assert_eq!(first, second);
    }

    #[test]
    fn groups_are_bounded() {
        let mut th = Threshold::new(2, 60);
        for i in 0..(MAX_GROUPS as i64 + 10) {
            th.observe(&i.to_string(), t(i), i, Uuid::from_u128(i as u128));
        }
        assert!(th.groups() <= MAX_GROUPS);
    }
}
