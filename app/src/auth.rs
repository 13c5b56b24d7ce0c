//! Bearer JWTs (HS256, claims `sub` = the user's email and `exp`), minted by
//! `mailroom token` and checked on every API request. The user's role and
//! `is_active` are read from the database on each request, never from the
//! token, so a demoted or deactivated user loses access at once.

use std::time::Duration;

use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::JwtSecret;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    /// Optional: SPEC §6 requires only `sub` and `exp`, so tokens the CRM
    /// signs without it are accepted.
    #[serde(default)]
    pub iat: i64,
}

/// Why a token was refused. The text goes to the client, so it names the
/// problem without echoing the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejected {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token is not valid")]
    Invalid,
}

/// Clock skew tolerated between the token's issuer and this service, on
/// `exp`, `nbf` and `iat`.
pub const LEEWAY_S: u64 = 30;

/// Signs a token for `email` valid for `ttl` from `now`.
pub fn mint(
    secret: &JwtSecret,
    email: &str,
    ttl: Duration,
    now: Timestamp,
) -> anyhow::Result<String> {
    let iat = now.as_second();
    let ttl = i64::try_from(ttl.as_secs()).map_err(|_| anyhow::anyhow!("ttl is too long"))?;
    let claims = Claims {
        sub: email.to_string(),
        exp: iat + ttl,
        iat,
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose()),
    )?)
}

/// Checks the signature, `exp`, `nbf` (when present) and `iat` (when
/// present), each with [`LEEWAY_S`] of skew; returns the claims.
///
/// A token issued in the future is refused like one not valid yet: its
/// issuer's clock is off by more than the leeway, so its `exp` is off by as
/// much and it would live longer than the issuer meant.
pub fn verify(secret: &JwtSecret, token: &str) -> Result<Claims, TokenRejected> {
    verify_at(secret, token, jiff::Timestamp::now())
}

fn verify_at(secret: &JwtSecret, token: &str, now: Timestamp) -> Result<Claims, TokenRejected> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = LEEWAY_S;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let claims = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.expose()),
        &validation,
    )
    .map(|data| data.claims)
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenRejected::Expired,
        jsonwebtoken::errors::ErrorKind::ImmatureSignature => TokenRejected::NotYetValid,
        _ => TokenRejected::Invalid,
    })?;
    let leeway = i64::try_from(LEEWAY_S).unwrap_or(i64::MAX);
    if claims.iat > now.as_second().saturating_add(leeway) {
        return Err(TokenRejected::NotYetValid);
    }
    Ok(claims)
}

/// Parses `30m`, `1h`, `7d` or plain seconds.
pub fn parse_ttl(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{input}` is not a duration like 30m, 1h or 7d"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("`{input}` is not a duration like 30m, 1h or 7d")),
    };
    if secs == 0 || secs > 366 * 86_400 {
        return Err("the ttl must be between 1 second and 366 days".into());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> JwtSecret {
        JwtSecret::new(s.repeat(8))
    }

    #[test]
    fn a_minted_token_verifies_and_carries_the_email() {
        let s = secret("abcd");
        let t = mint(
            &s,
            "ann@fund.com",
            Duration::from_secs(60),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(verify(&s, &t).unwrap().sub, "ann@fund.com");
    }

    #[test]
    fn a_token_signed_with_another_secret_or_expired_is_refused() {
        let t = mint(
            &secret("abcd"),
            "ann@fund.com",
            Duration::from_secs(60),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(verify(&secret("wxyz"), &t), Err(TokenRejected::Invalid));
        let old = Timestamp::now() - jiff::SignedDuration::from_hours(2);
        let expired = mint(
            &secret("abcd"),
            "ann@fund.com",
            Duration::from_secs(60),
            old,
        )
        .unwrap();
        assert_eq!(
            verify(&secret("abcd"), &expired),
            Err(TokenRejected::Expired)
        );
        assert_eq!(
            verify(&secret("abcd"), "not.a.jwt"),
            Err(TokenRejected::Invalid)
        );
    }

    #[test]
    fn a_token_with_only_sub_and_exp_is_accepted() {
        #[derive(Serialize)]
        struct Minimal {
            sub: &'static str,
            exp: i64,
        }
        let s = secret("abcd");
        let exp = Timestamp::now().as_second() + 600;
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Minimal {
                sub: "ann@fund.com",
                exp,
            },
            &EncodingKey::from_secret(s.expose()),
        )
        .unwrap();
        assert_eq!(verify(&s, &token).unwrap().sub, "ann@fund.com");
    }

    fn signed(s: &JwtSecret, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(s.expose()),
        )
        .unwrap()
    }

    #[test]
    fn nbf_and_iat_in_the_future_are_refused_beyond_the_leeway() {
        let s = secret("abcd");
        let now = Timestamp::now().as_second();
        let leeway = LEEWAY_S as i64;
        let check = |claims: serde_json::Value| verify(&s, &signed(&s, claims));
        let base = |extra: (&str, i64)| {
            let mut v = serde_json::json!({"sub": "ann@fund.com", "exp": now + 3600});
            v[extra.0] = extra.1.into();
            v
        };
        assert_eq!(
            check(base(("nbf", now + 3 * leeway))),
            Err(TokenRejected::NotYetValid)
        );
        assert!(
            check(base(("nbf", now + leeway / 3))).is_ok(),
            "within the leeway"
        );
        assert!(check(base(("nbf", now - 60))).is_ok());
        assert_eq!(
            check(base(("iat", now + 3 * leeway))),
            Err(TokenRejected::NotYetValid)
        );
        assert!(check(base(("iat", now + leeway / 3))).is_ok());
    }

    #[test]
    fn ttls_parse_with_units_and_refuse_nonsense() {
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("1y").is_err());
        assert!(parse_ttl("h").is_err());
    }
}
