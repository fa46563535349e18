//! [`FakeUser`]: who signs in at the fake Wristband, and the userinfo claims it answers for
//! them (Wristband's claim names).

use serde_json::{json, Map, Value};

/// The user who signs in at the fake Wristband (set with [`FakeWristband::set_user`]).
///
/// Each authorization code, access token and refresh token remembers the user as they were
/// when it was issued.
///
/// ```
/// use wristband_rocket_session::testing::{FakeUser, FakeWristband};
///
/// # rocket::async_test(async {
/// let fake = FakeWristband::start().await;
/// fake.set_user(FakeUser {
///     user_id: "user-42".into(),
///     email: Some("ada@example.com".into()),
///     ..FakeUser::default()
/// });
/// # });
/// ```
///
/// [`FakeWristband::set_user`]: super::FakeWristband::set_user
#[derive(Clone, Debug, PartialEq)]
pub struct FakeUser {
    /// `sub`. _Default:_ `"fake-user-1"`.
    pub user_id: String,
    /// `tnt_id`. _Default:_ `"fake-tenant-1"`.
    pub tenant_id: String,
    /// The tenant name sent back to the app (`tenant_name`). _Default:_ `None`: taken from the
    /// host the browser used (`<tenant>.localhost`), else `"acme"`.
    pub tenant_name: Option<String>,
    /// `email`. _Default:_ `"fake.user@example.com"`.
    pub email: Option<String>,
    /// `email_verified`. _Default:_ `true`.
    pub email_verified: Option<bool>,
    /// `name`. _Default:_ `"Fake User"`.
    pub name: Option<String>,
    /// `given_name`. _Default:_ `"Fake"`.
    pub given_name: Option<String>,
    /// `family_name`. _Default:_ `"User"`.
    pub family_name: Option<String>,
    /// `roles`: `{"id", "name", "display_name"}` objects. _Default:_ one viewer role.
    pub roles: Vec<Value>,
    /// `custom_claims`. _Default:_ none.
    pub custom_claims: Option<Map<String, Value>>,
    /// More userinfo claims (for example `phone_number`, `locale`), added as they are; they
    /// cannot replace `sub`, `tnt_id`, `app_id` or `idp_name`.
    pub extra_claims: Map<String, Value>,
}

impl Default for FakeUser {
    fn default() -> Self {
        FakeUser {
            user_id: "fake-user-1".into(),
            tenant_id: "fake-tenant-1".into(),
            tenant_name: None,
            email: Some("fake.user@example.com".into()),
            email_verified: Some(true),
            name: Some("Fake User".into()),
            given_name: Some("Fake".into()),
            family_name: Some("User".into()),
            roles: vec![json!({
                "id": "fake-role-1",
                "name": "app:fake:viewer",
                "display_name": "Viewer",
            })],
            custom_claims: None,
            extra_claims: Map::new(),
        }
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "fake-wristband")))]
impl FakeUser {
    /// A user `user_id` of the tenant named `tenant_name` (its `tnt_id` is
    /// `fake-tenant-<tenant_name>`), with the email `<user_id>@example.com`, the name
    /// `user_id`, and the [default](FakeUser::default) viewer role.
    ///
    /// ```
    /// use wristband_rocket_session::testing::FakeUser;
    ///
    /// let user = FakeUser::new("ada", "acme");
    /// assert_eq!(user.user_id, "ada");
    /// assert_eq!(user.tenant_id, "fake-tenant-acme");
    /// assert_eq!(user.tenant_name.as_deref(), Some("acme"));
    /// assert_eq!(user.email.as_deref(), Some("ada@example.com"));
    /// ```
    pub fn new(user_id: &str, tenant_name: &str) -> FakeUser {
        FakeUser {
            user_id: user_id.into(),
            tenant_id: format!("fake-tenant-{tenant_name}"),
            tenant_name: Some(tenant_name.into()),
            email: Some(format!("{user_id}@example.com")),
            name: Some(user_id.into()),
            given_name: None,
            family_name: None,
            ..FakeUser::default()
        }
    }

    /// This user with exactly these roles, each given as a short name: `admin` becomes
    /// `{"id": "fake-role-admin", "name": "app:fake:admin", "display_name": "admin"}`, shaped
    /// like Wristband's roles.
    ///
    /// ```
    /// use wristband_rocket_session::testing::FakeUser;
    ///
    /// let user = FakeUser::default().with_roles(["admin", "billing"]);
    /// assert_eq!(user.roles.len(), 2);
    /// assert_eq!(user.roles[0]["name"], "app:fake:admin");
    /// assert_eq!(user.role_names(), ["admin", "billing"]);
    /// ```
    pub fn with_roles<S: AsRef<str>>(mut self, roles: impl IntoIterator<Item = S>) -> FakeUser {
        self.roles = roles
            .into_iter()
            .map(|role| {
                let role = role.as_ref();
                json!({
                    "id": format!("fake-role-{role}"),
                    "name": format!("app:fake:{role}"),
                    "display_name": role,
                })
            })
            .collect();
        self
    }

    /// The short names of the roles: each role's `display_name`, else its `name` without the
    /// `app:<app>:` prefix, else its `id` (as the sign-in page shows them).
    ///
    /// ```
    /// use wristband_rocket_session::testing::FakeUser;
    ///
    /// assert_eq!(FakeUser::default().role_names(), ["Viewer"]);
    /// ```
    pub fn role_names(&self) -> Vec<String> {
        let short = |role: &Value| {
            let text = |key: &str| role.get(key).and_then(Value::as_str).map(str::to_string);
            text("display_name")
                .or_else(|| text("name").map(|n| n.rsplit(':').next().unwrap_or_default().into()))
                .or_else(|| text("id"))
                .unwrap_or_default()
        };
        self.roles.iter().map(short).collect()
    }

    /// The userinfo answer for this user of application `app_id`.
    pub(super) fn userinfo(&self, app_id: &str) -> Value {
        let mut claims = self.extra_claims.clone();
        let optional = [
            ("email", self.email.clone().map(Value::from)),
            ("email_verified", self.email_verified.map(Value::from)),
            ("name", self.name.clone().map(Value::from)),
            ("given_name", self.given_name.clone().map(Value::from)),
            ("family_name", self.family_name.clone().map(Value::from)),
            ("custom_claims", self.custom_claims.clone().map(Value::Object)),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                claims.insert(name.into(), value);
            }
        }
        claims.insert("roles".into(), Value::Array(self.roles.clone()));
        claims.insert("sub".into(), self.user_id.clone().into());
        claims.insert("tnt_id".into(), self.tenant_id.clone().into());
        claims.insert("app_id".into(), app_id.into());
        claims.insert("idp_name".into(), super::state::IDP_NAME.into());
        Value::Object(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_claims_win_over_extra_claims() {
        let mut user = FakeUser::default();
        user.extra_claims.insert("sub".into(), "intruder".into());
        user.extra_claims.insert("locale".into(), "fr".into());
        user.email = None;
        let info = user.userinfo("app-1");
        assert_eq!(info["sub"], "fake-user-1");
        assert_eq!(info["app_id"], "app-1");
        assert_eq!(info["idp_name"], "wristband");
        assert_eq!(info["locale"], "fr");
        assert!(info.get("email").is_none());
    }
}
