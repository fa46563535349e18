//! The revocations one instance holds in memory: what every request is checked against.
//!
//! Bounded by the revocations of the last `max_age` (plus the clock skew allowed), not by the
//! number of sessions: an entry is dropped once every cookie it names has expired anyway.

use std::collections::HashMap;

use crate::codec::MAX_FUTURE_SKEW_SECS;
use crate::revocation_hook::{parse_session_id, Identity};

/// Revoked sessions and users.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    /// Session id (its 128 bits) → until when it is refused (Unix seconds).
    sessions: HashMap<u128, u64>,
    /// User id → the cut-off (ms since the epoch): sessions issued before it are refused.
    users: HashMap<Box<str>, u64>,
}

/// Until when (Unix seconds) a user cut-off at `cutoff_ms` must be kept: a session issued
/// before it was refused from then on, so its last seal is no later than the cut-off.
pub(crate) fn user_entry_expiry(cutoff_ms: u64, max_age: u64) -> u64 {
    (cutoff_ms / 1000).saturating_add(max_age + MAX_FUTURE_SKEW_SECS + 1)
}

impl Memory {
    /// Whether `identity` is revoked at `now` (Unix seconds).
    pub(crate) fn is_revoked(&self, identity: &Identity<'_>, now: u64) -> bool {
        if let Some(id) = identity.session_id.and_then(parse_session_id) {
            if self.sessions.get(&id).is_some_and(|&until| until > now) {
                return true;
            }
        }
        if let Some(user) = identity.user_id {
            if self.users.get(user).is_some_and(|&cutoff| identity.issued_at_ms < cutoff) {
                return true;
            }
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

    /// Records a user cut-off (the later one wins); `true` if this changed anything.
    pub(crate) fn add_user(&mut self, user_id: &str, cutoff_ms: u64) -> bool {
        match self.users.get_mut(user_id) {
            Some(slot) if *slot >= cutoff_ms => false,
            Some(slot) => {
                *slot = cutoff_ms;
                true
            }
            None => {
                self.users.insert(user_id.into(), cutoff_ms);
                true
            }
        }
    }

    /// Drops every entry whose sessions have all expired by `now`.
    pub(crate) fn sweep(&mut self, now: u64, max_age: u64) {
        self.sessions.retain(|_, until| *until > now);
        self.users.retain(|_, cutoff| user_entry_expiry(*cutoff, max_age) > now);
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

    /// The user cut-offs, `(user id, cutoff ms)`.
    pub(crate) fn users(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.users.iter().map(|(user, cutoff)| (&**user, *cutoff))
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
    use crate::revocation_hook::new_session_id;

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
        memory.sweep(200, 3600);
        assert_eq!(memory.session_count(), 0);
    }

    #[test]
    fn a_user_cutoff_refuses_only_sessions_issued_before_it() {
        let mut memory = Memory::default();
        memory.add_user("u1", 1_000_500);
        assert!(memory.is_revoked(&identity(None, Some("u1"), 1_000_499), 1000));
        assert!(!memory.is_revoked(&identity(None, Some("u1"), 1_000_500), 1000));
        assert!(!memory.is_revoked(&identity(None, Some("u2"), 0), 1000));
        // The later cut-off wins, an earlier one changes nothing.
        assert!(!memory.add_user("u1", 900));
        assert!(memory.add_user("u1", 2_000_000));
        assert!(memory.is_revoked(&identity(None, Some("u1"), 1_999_999), 1000));
        // Kept for max_age (+ skew) after the cut-off, then dropped.
        memory.sweep(2000 + 3600 + 60, 3600);
        assert_eq!(memory.user_count(), 1);
        memory.sweep(2000 + 3600 + 61, 3600);
        assert_eq!(memory.user_count(), 0);
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
