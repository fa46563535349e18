//! The Wristband fields that nearly every request reads (`isAuthenticated`, `userId`,
//! `tenantId`, `expiresAt`), looked up once for an open-cache entry instead of in the session's
//! B-tree on every request (a look-up there compares keys one by one, about 300 instructions).
//!
//! An entry's [`Known`] describes its own data and nothing else: an accessor uses it only while
//! the request's data is still that very map (`Inner::known`), so a request that changed its
//! session (a copy, on the first change) or replaced it reads the map itself. Every value here
//! is what the accessor's own look-up returns for the same map (the test below holds the two
//! to each other).

use serde_json::{Map, Value};

use super::guard::keys;
use super::heap_size;

/// What [`Known::of`] found in a session.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Known {
    /// `isAuthenticated` is the JSON `true`.
    pub(crate) is_authenticated: bool,
    /// `userId`, if a string.
    pub(crate) user_id: Option<Box<str>>,
    /// `tenantId`, if a string.
    pub(crate) tenant_id: Option<Box<str>>,
    /// `expiresAt`, if an integer that fits an `i64`.
    pub(crate) expires_at: Option<i64>,
}

impl Known {
    /// The fields of `data`, looked up as the accessors look them up.
    pub(crate) fn of(data: &Map<String, Value>) -> Known {
        Known {
            is_authenticated: is_authenticated(data),
            user_id: string(data, keys::USER_ID).map(Box::from),
            tenant_id: string(data, keys::TENANT_ID).map(Box::from),
            expires_at: expires_at(data),
        }
    }

    /// Bytes counted for the blocks it owns (its strings), for the open cache's budget.
    pub(crate) fn heap_bytes(&self) -> usize {
        [&self.user_id, &self.tenant_id]
            .into_iter()
            .map(|field| field.as_deref().map_or(0, |s| heap_size::block(s.len())))
            .sum()
    }
}

/// [`Session::is_authenticated`](crate::Session::is_authenticated)'s look-up.
pub(crate) fn is_authenticated(data: &Map<String, Value>) -> bool {
    data.get(keys::IS_AUTHENTICATED) == Some(&Value::Bool(true))
}

/// The string accessors' look-up (`user_id`, `tenant_id`, …).
pub(crate) fn string<'a>(data: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str)
}

/// [`Session::expires_at`](crate::Session::expires_at)'s look-up.
pub(crate) fn expires_at(data: &Map<String, Value>) -> Option<i64> {
    data.get(keys::EXPIRES_AT).and_then(Value::as_i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_field_is_what_its_own_look_up_gives() {
        let sessions = [
            json!({}),
            json!({"isAuthenticated": true, "userId": "u-1", "tenantId": "t-1",
                   "expiresAt": 1_767_225_600_000_i64}),
            json!({"isAuthenticated": "true", "userId": 7, "tenantId": null, "expiresAt": 1.5}),
            json!({"isAuthenticated": false, "userId": "", "expiresAt": -3}),
            json!({"isAuthenticated": 1, "tenantId": ["t"], "expiresAt": u64::MAX}),
            json!({"isAuthenticated": true, "userId": {"id": "u"}, "expiresAt": "1767225600000"}),
        ];
        for session in sessions {
            let data = session.as_object().unwrap();
            let known = Known::of(data);
            assert_eq!(known.is_authenticated, is_authenticated(data), "{session}");
            assert_eq!(known.user_id.as_deref(), string(data, keys::USER_ID), "{session}");
            assert_eq!(known.tenant_id.as_deref(), string(data, keys::TENANT_ID), "{session}");
            assert_eq!(known.expires_at, expires_at(data), "{session}");
        }
        let full = Known::of(
            json!({"isAuthenticated": true, "userId": "u-1", "tenantId": "t",
                                    "expiresAt": 5})
            .as_object()
            .unwrap(),
        );
        assert_eq!(
            full,
            Known {
                is_authenticated: true,
                user_id: Some("u-1".into()),
                tenant_id: Some("t".into()),
                expires_at: Some(5),
            }
        );
        assert_eq!(full.heap_bytes(), 2 * heap_size::BLOCK_OVERHEAD + 4);
    }
}
