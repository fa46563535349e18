//! Which verified tokens enter the verified-token cache: those verified a second time.
//!
//! Remembering a token costs more than its bytes suggest: a copy of the token, the entry, and,
//! once the cache is at its budget, the eviction of an older entry whose claims (a few dozen
//! blocks, long out of the processor's caches) are freed. For a token that is never sent again
//! (a client that fetches a token per call, a flood of fresh tokens) that is pure loss: it made
//! a first sight about 3.5 % slower than jsonwebtoken's bare decode in wall clock, for about
//! 1 % more instructions. So a token's first verification only notes its fingerprint, and its
//! second one (a token that is reused) remembers it: one more RSA check per reused token, none
//! of the cache's churn for the others.
//!
//! - **A fixed table**: [`SLOTS`] fingerprints (64 bits each, 32 KiB), a slot chosen by the
//!   fingerprint; a token noted there may be overwritten by another before its second sight,
//!   and is then remembered at a later one. Nothing grows, whatever clients send.
//! - **Only verified tokens reach it**: a forged or tampered token fails before, so a client
//!   cannot fill it with made-up values; a fingerprint that matches by chance only admits a
//!   token that verified anyway. Admission is a matter of cost, never of trust: every check of
//!   `WristbandJwt` runs on a token that is not remembered, and a remembered one keeps the
//!   checks the cache keeps (see `jwks`).
//! - **Keyed**: std's randomly keyed SipHash of the token's last 16 bytes (the end of its RS256
//!   signature, different for every token), hashed as the value cache hashes them
//!   ([`suffix_hash`]).

use std::hash::RandomState;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::session::open_cache::suffix_hash;

/// How many fingerprints the table holds.
pub(crate) const SLOTS: usize = 4096;

/// The fingerprints of tokens verified once and not remembered yet.
pub(crate) struct SeenOnce {
    slots: Box<[AtomicU64]>,
    hasher: RandomState,
}

impl std::fmt::Debug for SeenOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeenOnce").field("slots", &self.slots.len()).finish_non_exhaustive()
    }
}

impl Default for SeenOnce {
    fn default() -> Self {
        SeenOnce {
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl SeenOnce {
    /// For a token that just verified: `true` if it was verified before (its fingerprint is
    /// taken out: the caller remembers the token), `false` if this is its first verification
    /// as far as the table knows (its fingerprint is noted).
    pub(crate) fn second_sight(&self, token: &str) -> bool {
        // Never 0, the empty slot.
        let print = suffix_hash(&self.hasher, token) | 1;
        let slot = &self.slots[(print >> 32) as usize % SLOTS];
        if slot.load(Ordering::Relaxed) == print {
            slot.store(0, Ordering::Relaxed);
            true
        } else {
            slot.store(print, Ordering::Relaxed);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_admitted_at_its_second_sight_and_noted_again_after() {
        let seen = SeenOnce::default();
        let token = format!("header.payload.{}", "s".repeat(40));
        assert!(!seen.second_sight(&token), "first sight");
        assert!(seen.second_sight(&token), "second sight");
        // Admitted and taken out: if it is forgotten by the cache, it starts over.
        assert!(!seen.second_sight(&token));
        assert!(seen.second_sight(&token));
    }

    #[test]
    fn tokens_with_other_signatures_are_told_apart() {
        let seen = SeenOnce::default();
        let tokens: Vec<String> = (0..1000).map(|i| format!("h.p.signature-{i:08}")).collect();
        for token in &tokens {
            assert!(!seen.second_sight(token), "{token}");
        }
        // 1,000 fingerprints in 4,096 slots: most are still there (about 790 are expected to
        // be admitted); those overwritten by another token sharing their slot, before or
        // during this second pass, are noted again instead.
        let admitted = tokens.iter().filter(|token| seen.second_sight(token)).count();
        assert!(admitted > 700, "{admitted} of 1000 admitted");
        assert!(admitted < 1000, "no slot shared by 1,000 fingerprints in 4,096 slots?");
    }
}
