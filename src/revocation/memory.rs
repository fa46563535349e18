//! The revocations one instance holds in memory: what every request is checked against.
//!
//! Bounded by the revocations of the last `max_age` (plus the clock skew allowed), not by the
//! number of sessions: an entry is dropped once every cookie it names has expired anyway.

use std::collections::HashMap;

use crate::session::codec::MAX_FUTURE_SKEW_SECS;
use crate::session::revocation_hook::{parse_session_id, Identity};

/// Entries (revoked sessions plus user cut-offs) past which an instance logs a warning: a
/// table this large means an unusual rate of revocations (some 50 MiB of memory per
/// instance at this size), worth a look.
pub(crate) const TABLE_WARN_ENTRIES: usize = 1_000_000;

/// A user's cut-off and until when it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UserCutoff {
    /// Sessions issued before it (ms since the epoch) are refused.
    cutoff_ms: u64,
    /// Until when the entry is kept (Unix seconds).
    until: u64,
}

/// Revoked sessions and users.
#[derive(Debug)]
pub(crate) struct Memory {
    /// Session id (its 128 bits) → until when it is refused (Unix seconds).
    sessions: HashMap<u128, u64>,
    /// User id → the latest cut-off, kept until the latest of its expiries.
    users: HashMap<Box<str>, UserCutoff>,
    /// The size past which [`Memory::crossed_warn_limit()`] says so.
    warn_limit: usize,
    /// Whether the table is over `warn_limit` (and this was already said).
    over_warn_limit: bool,
}

impl Default for Memory {
    fn default() -> Self {
        Memory::with_warn_limit(TABLE_WARN_ENTRIES)
    }
}

/// Until when (Unix seconds) a user cut-off at `cutoff_ms`, made (or learnt) at `made_at`
/// (Unix seconds), must be kept. A session issued before the cut-off may have been re-sealed
/// (a rolling renewal keeps `sessionIssuedAt`) at any time until the cut-off was made, and
/// until the cut-off itself when that lies in the future; from then on it is refused. So its
/// last cookie was sealed by `max(cutoff, made_at)` and expires `max_age` later, give or take
/// the clock skew the codec allows (which also covers the pub/sub delay to other instances).
pub(crate) fn user_entry_expiry(cutoff_ms: u64, made_at: u64, max_age: u64) -> u64 {
    (cutoff_ms / 1000).max(made_at).saturating_add(max_age + MAX_FUTURE_SKEW_SECS + 1)
}

impl Memory {
    /// An empty table that reports crossing `warn_limit` entries.
    pub(crate) fn with_warn_limit(warn_limit: usize) -> Self {
        Memory {
            sessions: HashMap::new(),
            users: HashMap::new(),
            warn_limit,
            over_warn_limit: false,
        }
    }

    /// Whether `identity` is revoked at `now` (Unix seconds).
    pub(crate) fn is_revoked(&self, identity: &Identity<'_>, now: u64) -> bool {
        if let Some(id) = identity.session_id.and_then(parse_session_id)
            && self.sessions.get(&id).is_some_and(|&until| until > now)
        {
            return true;
        }
        if let Some(user) = identity.user_id
            && self.users.get(user).is_some_and(|entry| identity.issued_at_ms < entry.cutoff_ms)
        {
            return true;
        }
        false
    }

    /// Records a revoked session; `true` if this changed anything.
    pub(crate) fn add_session(&mut self, id: u128, until: u64) -> bool {
        let slot = self.sessions.entry(id).or_insert(0);
        let changed = until > *slot;
        *slot = (*slot).max(until);
        changed
    }

    /// Records a user cut-off kept until `until` (Unix seconds): the later cut-off and the
    /// later expiry win; `true` if this changed anything.
    pub(crate) fn add_user(&mut self, user_id: &str, cutoff_ms: u64, until: u64) -> bool {
        match self.users.get_mut(user_id) {
            Some(slot) => {
                let merged = UserCutoff {
                    cutoff_ms: slot.cutoff_ms.max(cutoff_ms),
                    until: slot.until.max(until),
                };
                let changed = merged != *slot;
                *slot = merged;
                changed
            }
            None => {
                self.users.insert(user_id.into(), UserCutoff { cutoff_ms, until });
                true
            }
        }
    }

    /// `true` once each time the table grows past its warning size (sessions and users
    /// together); it must shrink below nine tenths of it before this can say so again.
    pub(crate) fn crossed_warn_limit(&mut self) -> bool {
        let size = self.len();
        if size <= self.warn_limit / 10 * 9 {
            self.over_warn_limit = false;
        }
        if size > self.warn_limit && !self.over_warn_limit {
            self.over_warn_limit = true;
            return true;
        }
        false
    }

    /// Drops every entry whose sessions have all expired by `now`.
    pub(crate) fn sweep(&mut self, now: u64) {
        self.sessions.retain(|_, until| *until > now);
        self.users.retain(|_, entry| entry.until > now);
        self.crossed_warn_limit();
        // Give memory back after a wave of revocations has expired.
        if self.sessions.capacity() > 64 && self.sessions.len() < self.sessions.capacity() / 4 {
            self.sessions.shrink_to_fit();
        }
        if self.users.capacity() > 64 && self.users.len() < self.users.capacity() / 4 {
            self.users.shrink_to_fit();
        }
    }

    /// The revoked sessions, `(id bits, until)`.
    pub(crate) fn sessions(&self) -> impl Iterator<Item = (u128, u64)> + '_ {
        self.sessions.iter().map(|(id, until)| (*id, *until))
    }

    /// The user cut-offs, `(user id, cutoff ms, until)`.
    pub(crate) fn users(&self) -> impl Iterator<Item = (&str, u64, u64)> + '_ {
        self.users.iter().map(|(user, entry)| (&**user, entry.cutoff_ms, entry.until))
    }

    /// Entries held: revoked sessions plus user cut-offs.
    pub(crate) fn len(&self) -> usize {
        self.sessions.len() + self.users.len()
    }

    pub(crate) fn session_count(&self) -> usize {
        self.sessions.len()
    }

    pub(crate) fn user_count(&self) -> usize {
        self.users.len()
    }

    /// The heap bytes the tables take: their bucket arrays (std's `HashMap` keeps one control
    /// byte per bucket besides the entry, and up to 8/7 buckets per entry of capacity) and the
    /// user id strings.
    pub(crate) fn heap_bytes(&self) -> usize {
        fn table<K, V>(map: &HashMap<K, V>) -> usize {
            if map.capacity() == 0 {
                return 0;
            }
            let buckets = (map.capacity() * 8 / 7).next_power_of_two();
            buckets * (std::mem::size_of::<(K, V)>() + 1) + 16
        }
        table(&self.sessions)
            + table(&self.users)
            + self.users.keys().map(|user| user.len()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::revocation_hook::new_session_id;

    fn identity<'a>(id: Option<&'a str>, user: Option<&'a str>, issued_ms: u64) -> Identity<'a> {
        Identity { session_id: id, user_id: user, issued_at_ms: issued_ms }
    }

    #[test]
    fn a_revoked_id_is_refused_until_it_expires() {
        let mut memory = Memory::default();
        let id = new_session_id();
        let other = new_session_id();
        memory.add_session(parse_session_id(&id).unwrap(), 200);
        assert!(memory.is_revoked(&identity(Some(&id), None, 0), 199));
        assert!(!memory.is_revoked(&identity(Some(&id), None, 0), 200));
        assert!(!memory.is_revoked(&identity(Some(&other), None, 0), 100));
        assert!(!memory.is_revoked(&identity(Some("not-an-id"), None, 0), 100));
        memory.sweep(200);
        assert_eq!(memory.session_count(), 0);
    }

    #[test]
    fn a_user_cutoff_refuses_only_sessions_issued_before_it() {
        let mut memory = Memory::default();
        let until = user_entry_expiry(1_000_500, 1000, 3600);
        memory.add_user("u1", 1_000_500, until);
        assert!(memory.is_revoked(&identity(None, Some("u1"), 1_000_499), 1000));
        assert!(!memory.is_revoked(&identity(None, Some("u1"), 1_000_500), 1000));
        assert!(!memory.is_revoked(&identity(None, Some("u2"), 0), 1000));
        // The later cut-off wins, an earlier one changes nothing.
        assert!(!memory.add_user("u1", 900, until));
        assert!(memory.add_user("u1", 2_000_000, user_entry_expiry(2_000_000, 1500, 3600)));
        assert!(memory.is_revoked(&identity(None, Some("u1"), 1_999_999), 1000));
        // Kept for max_age (+ skew) after the cut-off, then dropped.
        memory.sweep(2000 + 3600 + 60);
        assert_eq!(memory.user_count(), 1);
        memory.sweep(2000 + 3600 + 61);
        assert_eq!(memory.user_count(), 0);
    }

    /// The review's probe: a session issued at t0 and renewed every few seconds; at t0 + 70 a
    /// cut-off at t0 + 1 is made. Its last cookie was sealed just before t0 + 70, so the entry
    /// must outlive t0 + 70 + max_age, not t0 + 1 + max_age.
    #[test]
    fn a_cutoff_in_the_past_is_kept_max_age_after_it_was_made() {
        let (t0, max_age) = (1_700_000_000u64, 20);
        let until = user_entry_expiry((t0 + 1) * 1000, t0 + 70, max_age);
        assert_eq!(until, t0 + 70 + max_age + MAX_FUTURE_SKEW_SECS + 1);
        // A cut-off in the future is kept max_age after it.
        assert_eq!(user_entry_expiry((t0 + 500) * 1000, t0, max_age), t0 + 500 + max_age + 61);

        let mut memory = Memory::default();
        memory.add_user("u1", (t0 + 1) * 1000, until);
        let renewed = identity(None, Some("u1"), t0 * 1000);
        // The renewed cookie opens until t0 + 69 + max_age; the entry holds past that.
        let last_seal_expiry = t0 + 69 + max_age;
        memory.sweep(last_seal_expiry);
        assert!(memory.is_revoked(&renewed, last_seal_expiry));
        memory.sweep(until);
        assert_eq!(memory.user_count(), 0);
        // A later learning of the same cut-off (pub/sub, catch-up) extends it, never shortens.
        memory.add_user("u1", (t0 + 1) * 1000, until);
        assert!(memory.add_user("u1", (t0 + 1) * 1000, until + 5));
        assert!(!memory.add_user("u1", (t0 + 1) * 1000, until));
        assert_eq!(memory.users().collect::<Vec<_>>(), [("u1", (t0 + 1) * 1000, until + 5)]);
    }

    #[test]
    fn crossing_the_warning_size_is_reported_once_per_crossing() {
        fn add(memory: &mut Memory, count: usize, until: u64) -> usize {
            let mut reports = 0;
            for _ in 0..count {
                memory.add_session(parse_session_id(&new_session_id()).unwrap(), until);
                reports += usize::from(memory.crossed_warn_limit());
            }
            reports
        }
        let mut memory = Memory::with_warn_limit(10);
        let mut reports = add(&mut memory, 5, 100) + add(&mut memory, 5, 200);
        assert_eq!((memory.len(), reports), (10, 0), "at the limit, not past it");
        // Past it: said once, however many more entries come.
        reports += add(&mut memory, 5, 300);
        assert_eq!((memory.len(), reports), (15, 1));
        // Shrinking back to the limit (not well below it) and growing again is the same
        // crossing…
        memory.sweep(100);
        reports += add(&mut memory, 1, 300);
        assert_eq!((memory.len(), reports), (11, 1));
        // …but once it has shrunk well below, a new crossing is said again.
        memory.sweep(200);
        assert_eq!(memory.len(), 6);
        reports += add(&mut memory, 5, 300);
        assert_eq!((memory.len(), reports), (11, 2));
        // User cut-offs count too.
        let mut users = Memory::with_warn_limit(2);
        for user in ["a", "b", "c"] {
            users.add_user(user, 1, 10);
        }
        assert!(users.crossed_warn_limit());
        assert!(!users.crossed_warn_limit());
    }

    #[test]
    fn ten_thousand_revocations_take_under_a_mebibyte() {
        let mut memory = Memory::default();
        for _ in 0..10_000 {
            memory.add_session(parse_session_id(&new_session_id()).unwrap(), u64::MAX);
        }
        assert_eq!(memory.session_count(), 10_000);
        // 16384 buckets of 33 bytes (u128 + u64 + a control byte).
        assert!(memory.heap_bytes() <= 1024 * 1024, "{}", memory.heap_bytes());
    }
}
