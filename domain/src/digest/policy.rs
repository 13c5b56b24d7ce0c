//! The digest policy (R-DIG-3): enabled and send hour, from the DB, the env, or the default.

use serde::{Deserialize, Serialize};

/// The default when neither the database nor the environment says otherwise:
/// off, and 18:00 local time once enabled.
pub const DEFAULT_POLICY: DigestPolicy = DigestPolicy {
    enabled: false,
    send_hour: SendHour(18),
};

/// Why a policy value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("send_hour must be between 0 and 23, got {0}")]
    SendHourOutOfRange(i64),
    #[error("send_hour must be a whole number between 0 and 23, got `{0}`")]
    SendHourNotANumber(String),
    #[error("enabled must be true or false, got `{0}`")]
    EnabledNotABool(String),
}

/// A local hour of the day, 0 to 23.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SendHour(u8);

impl SendHour {
    /// # Errors
    /// [`PolicyError::SendHourOutOfRange`] outside 0..=23.
    pub fn new(hour: i64) -> Result<Self, PolicyError> {
        match u8::try_from(hour) {
            Ok(h) if h <= 23 => Ok(Self(h)),
            _ => Err(PolicyError::SendHourOutOfRange(hour)),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for SendHour {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = i64::deserialize(d)?;
        SendHour::new(raw).map_err(serde::de::Error::custom)
    }
}

/// Whether the scheduled digest is on, and from which local hour it goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestPolicy {
    pub enabled: bool,
    pub send_hour: SendHour,
}

impl Default for DigestPolicy {
    fn default() -> Self {
        DEFAULT_POLICY
    }
}

impl DigestPolicy {
    /// The JSON stored in `app_settings.digest_policy`.
    pub fn to_json(self) -> serde_json::Value {
        serde_json::json!({ "enabled": self.enabled, "send_hour": self.send_hour.get() })
    }

    /// This policy with the patch's fields replaced.
    ///
    /// # Errors
    /// [`PolicyError::SendHourOutOfRange`] for a bad hour; nothing is applied then.
    pub fn apply(self, patch: &PolicyPatch) -> Result<Self, PolicyError> {
        let send_hour = match patch.send_hour {
            Some(hour) => SendHour::new(hour)?,
            None => self.send_hour,
        };
        Ok(Self {
            enabled: patch.enabled.unwrap_or(self.enabled),
            send_hour,
        })
    }
}

/// Where the effective policy came from, as `GET /api/admin/digest/policy` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicySource {
    Db,
    Env,
    Default,
}

impl PolicySource {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicySource::Db => "db",
            PolicySource::Env => "env",
            PolicySource::Default => "default",
        }
    }
}

/// `CRM_DIGEST_ENABLED` / `CRM_DIGEST_SEND_HOUR`, each optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EnvPolicy {
    pub enabled: Option<bool>,
    pub send_hour: Option<SendHour>,
}

impl EnvPolicy {
    /// Parses the two variables' raw values; a blank value counts as unset.
    /// `enabled` accepts true/false, 1/0, yes/no, on/off in any case.
    ///
    /// # Errors
    /// [`PolicyError::EnabledNotABool`], [`PolicyError::SendHourNotANumber`] or
    /// [`PolicyError::SendHourOutOfRange`], so a typo in the env is reported at
    /// start rather than silently ignored.
    pub fn parse(enabled: Option<&str>, send_hour: Option<&str>) -> Result<Self, PolicyError> {
        let enabled = match enabled.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => Some(match raw.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return Err(PolicyError::EnabledNotABool(raw.to_string())),
            }),
        };
        let send_hour = match send_hour.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => {
                let hour: i64 = raw
                    .parse()
                    .map_err(|_| PolicyError::SendHourNotANumber(raw.to_string()))?;
                Some(SendHour::new(hour)?)
            }
        };
        Ok(Self { enabled, send_hour })
    }
}

/// A partial update from `PATCH /api/admin/digest/policy`; the hour is raw
/// so that the range check happens here, once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyPatch {
    pub enabled: Option<bool>,
    pub send_hour: Option<i64>,
}

impl PolicyPatch {
    pub fn is_empty(&self) -> bool {
        self.enabled.is_none() && self.send_hour.is_none()
    }
}

/// The effective policy: the DB row wins, else the env (a missing half from
/// the default), else the default.
///
/// A DB value that does not parse is ignored with a warning rather than
/// stopping the scheduler: the admin panel can write a good one at any time.
pub fn resolve_policy(
    db: Option<&serde_json::Value>,
    env: &EnvPolicy,
) -> (DigestPolicy, PolicySource) {
    if let Some(value) = db {
        match DigestPolicy::deserialize(value) {
            Ok(policy) => return (policy, PolicySource::Db),
            Err(error) => tracing::warn!(%error, "ignoring unparsable app_settings.digest_policy"),
        }
    }
    if env.enabled.is_some() || env.send_hour.is_some() {
        let policy = DigestPolicy {
            enabled: env.enabled.unwrap_or(DEFAULT_POLICY.enabled),
            send_hour: env.send_hour.unwrap_or(DEFAULT_POLICY.send_hour),
        };
        return (policy, PolicySource::Env);
    }
    (DEFAULT_POLICY, PolicySource::Default)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn hour(h: i64) -> SendHour {
        SendHour::new(h).expect("test hour")
    }

    fn policy(enabled: bool, h: i64) -> DigestPolicy {
        DigestPolicy {
            enabled,
            send_hour: hour(h),
        }
    }

    #[test]
    fn send_hour_accepts_0_to_23_only() {
        let check = |input: i64, ok: bool| {
            let got = SendHour::new(input);
            assert_eq!(got.is_ok(), ok, "input {input}");
            if let Ok(h) = got {
                assert_eq!(i64::from(h.get()), input);
            } else {
                assert_eq!(got, Err(PolicyError::SendHourOutOfRange(input)));
            }
        };
        check(0, true);
        check(18, true);
        check(23, true);
        check(24, false);
        check(-1, false);
        check(256, false);
        check(i64::MAX, false);
        check(i64::MIN, false);
    }

    #[test]
    fn policy_comes_from_db_then_env_then_default() {
        let no_env = EnvPolicy::default();
        let env_on_at_9 = EnvPolicy {
            enabled: Some(true),
            send_hour: Some(hour(9)),
        };
        let check = |db: Option<serde_json::Value>,
                     env: &EnvPolicy,
                     expected: (DigestPolicy, PolicySource)| {
            assert_eq!(
                resolve_policy(db.as_ref(), env),
                expected,
                "db {db:?}, env {env:?}"
            );
        };

        check(None, &no_env, (policy(false, 18), PolicySource::Default));
        check(None, &env_on_at_9, (policy(true, 9), PolicySource::Env));
        check(
            Some(json!({"enabled": false, "send_hour": 7})),
            &env_on_at_9,
            (policy(false, 7), PolicySource::Db),
        );
        check(
            Some(json!({"enabled": true, "send_hour": 0})),
            &no_env,
            (policy(true, 0), PolicySource::Db),
        );
        // Half an env policy takes the other half from the default.
        check(
            None,
            &EnvPolicy {
                enabled: Some(true),
                send_hour: None,
            },
            (policy(true, 18), PolicySource::Env),
        );
        check(
            None,
            &EnvPolicy {
                enabled: None,
                send_hour: Some(hour(6)),
            },
            (policy(false, 6), PolicySource::Env),
        );
    }

    #[test]
    fn a_db_value_that_does_not_parse_is_ignored() {
        let env_on_at_9 = EnvPolicy {
            enabled: Some(true),
            send_hour: Some(hour(9)),
        };
        for bad in [
            json!({"enabled": true, "send_hour": 24}),
            json!({"enabled": "yes", "send_hour": 8}),
            json!({"enabled": true}),
            json!({"send_hour": 8}),
            json!({"enabled": true, "send_hour": "8"}),
            json!({"enabled": true, "send_hour": 8.5}),
            json!("enabled"),
            json!(null),
        ] {
            assert_eq!(
                resolve_policy(Some(&bad), &env_on_at_9),
                (policy(true, 9), PolicySource::Env),
                "db {bad}"
            );
            assert_eq!(
                resolve_policy(Some(&bad), &EnvPolicy::default()),
                (policy(false, 18), PolicySource::Default),
                "db {bad}"
            );
        }
    }

    #[test]
    fn a_stored_policy_reads_back_as_itself() {
        let p = policy(true, 23);
        assert_eq!(p.to_json(), json!({"enabled": true, "send_hour": 23}));
        assert_eq!(
            resolve_policy(Some(&p.to_json()), &EnvPolicy::default()),
            (p, PolicySource::Db)
        );
    }

    #[test]
    fn a_patch_replaces_only_the_fields_it_names() {
        let base = policy(false, 18);
        let check = |patch: PolicyPatch, expected: Result<DigestPolicy, PolicyError>| {
            assert_eq!(base.apply(&patch), expected, "patch {patch:?}");
        };
        check(PolicyPatch::default(), Ok(base));
        check(
            PolicyPatch {
                enabled: Some(true),
                send_hour: None,
            },
            Ok(policy(true, 18)),
        );
        check(
            PolicyPatch {
                enabled: None,
                send_hour: Some(6),
            },
            Ok(policy(false, 6)),
        );
        check(
            PolicyPatch {
                enabled: Some(true),
                send_hour: Some(24),
            },
            Err(PolicyError::SendHourOutOfRange(24)),
        );
    }

    #[test]
    fn env_values_parse_or_are_reported() {
        let check = |enabled: Option<&str>,
                     send_hour: Option<&str>,
                     expected: Result<EnvPolicy, PolicyError>| {
            assert_eq!(
                EnvPolicy::parse(enabled, send_hour),
                expected,
                "enabled {enabled:?}, send_hour {send_hour:?}"
            );
        };
        check(None, None, Ok(EnvPolicy::default()));
        check(Some(" "), Some(""), Ok(EnvPolicy::default()));
        check(
            Some("TRUE"),
            Some(" 7 "),
            Ok(EnvPolicy {
                enabled: Some(true),
                send_hour: Some(hour(7)),
            }),
        );
        check(
            Some("0"),
            None,
            Ok(EnvPolicy {
                enabled: Some(false),
                send_hour: None,
            }),
        );
        check(
            Some("maybe"),
            None,
            Err(PolicyError::EnabledNotABool("maybe".into())),
        );
        check(
            None,
            Some("six"),
            Err(PolicyError::SendHourNotANumber("six".into())),
        );
        check(None, Some("24"), Err(PolicyError::SendHourOutOfRange(24)));
    }

    #[test]
    fn sources_have_their_wire_names() {
        assert_eq!(PolicySource::Db.as_str(), "db");
        assert_eq!(PolicySource::Env.as_str(), "env");
        assert_eq!(PolicySource::Default.as_str(), "default");
    }
}
