//! Request-local session state: loaded at most once, and one place that decides what the
//! response must write.

use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value};

/// What the response phase must do with the session cookie.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Pending {
    /// Nothing was changed: write nothing (but remove an invalid presented cookie).
    #[default]
    Nothing,
    /// Seal the data and write the cookie(s) with a fresh expiry.
    Write,
    /// Remove the session cookie(s) and the CSRF cookie.
    Destroy,
}

/// How the presented cookie was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Loaded {
    /// Not read yet (lazy): nothing was decrypted.
    #[default]
    No,
    /// Read: there was no cookie, or it opened.
    Valid,
    /// Read: a cookie was presented and refused.
    Invalid,
}

/// The session of one request, kept in `Request::local_cache` and shared by every guard of
/// that request and by the response fairing.
#[derive(Debug, Default)]
pub(crate) struct SessionState(Mutex<Inner>);

/// The data behind the lock.
#[derive(Debug, Default)]
pub(crate) struct Inner {
    data: Map<String, Value>,
    loaded: Loaded,
    pending: Pending,
}

impl SessionState {
    /// Locks the state. A poisoned lock (a handler panicked while holding it) still yields the
    /// data: the response is a 500 then, and 5xx responses write no cookie.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    /// The data, loading it first with `load` if this request has not read it yet.
    /// `load` returns the opened session, or `None` if a presented cookie was refused.
    pub(crate) fn data(
        &mut self,
        load: impl FnOnce() -> Option<Map<String, Value>>,
    ) -> &mut Map<String, Value> {
        if self.loaded == Loaded::No {
            match load() {
                Some(data) => {
                    self.data = data;
                    self.loaded = Loaded::Valid;
                }
                None => self.loaded = Loaded::Invalid,
            }
        }
        &mut self.data
    }

    /// Replaces the data without reading the presented cookie (for `clear` and logins).
    pub(crate) fn replace(&mut self, data: Map<String, Value>) {
        self.data = data;
        if self.loaded == Loaded::No {
            self.loaded = Loaded::Valid;
        }
        self.mark(Pending::Write);
    }

    /// The one place that decides what the response writes. `Destroy` followed by a write
    /// starts a new session; a write never undoes a destroy of the old cookie's content
    /// because `destroy` empties the data first.
    pub(crate) fn mark(&mut self, pending: Pending) {
        self.pending = pending;
    }

    /// Destroys the session: no data, removal cookies in the response.
    pub(crate) fn destroy(&mut self) {
        self.data.clear();
        if self.loaded == Loaded::No {
            self.loaded = Loaded::Valid;
        }
        self.mark(Pending::Destroy);
    }

    pub(crate) fn pending(&self) -> Pending {
        self.pending
    }

    pub(crate) fn loaded(&self) -> Loaded {
        self.loaded
    }

    /// The data as it is, without loading (for the response phase).
    pub(crate) fn current(&mut self) -> &mut Map<String, Value> {
        &mut self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn loads_once_and_only_when_asked() {
        let state = SessionState::default();
        let mut inner = state.lock();
        assert_eq!(inner.loaded(), Loaded::No);
        let mut calls = 0;
        inner.data(|| {
            calls += 1;
            Some(json!({"a": 1}).as_object().unwrap().clone())
        });
        inner.data(|| {
            calls += 1;
            None
        });
        assert_eq!(calls, 1);
        assert_eq!(inner.loaded(), Loaded::Valid);
        assert_eq!(inner.pending(), Pending::Nothing);
    }

    #[test]
    fn refused_cookie_is_remembered_and_data_is_empty() {
        let state = SessionState::default();
        let mut inner = state.lock();
        assert!(inner.data(|| None).is_empty());
        assert_eq!(inner.loaded(), Loaded::Invalid);
    }

    #[test]
    fn destroy_then_write_starts_afresh() {
        let state = SessionState::default();
        let mut inner = state.lock();
        inner.data(|| Some(json!({"old": 1}).as_object().unwrap().clone()));
        inner.destroy();
        assert_eq!(inner.pending(), Pending::Destroy);
        assert!(inner.current().is_empty());
        inner.replace(json!({"new": 2}).as_object().unwrap().clone());
        assert_eq!(inner.pending(), Pending::Write);
        assert!(!inner.current().contains_key("old"));
    }
}
