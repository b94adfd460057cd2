//! Bearer tokens: the JWT access tokens an identity provider (Amazon Cognito in AWS, the local issuer here)
//! signs. Which algorithms are accepted, and what the claims of a token with a good signature must say. The API
//! (`kit::auth`) and the edge check signatures each their own way, then both apply [`check`].

/// Signature algorithms accepted from the issuer's JWKS: asymmetric only, so no key the API holds can mint
/// tokens, and never `none`. (HS256 is accepted by the API only when a local secret is configured for it.)
pub const ALGORITHMS: [&str; 2] = ["RS256", "ES256"];

/// Clock skew tolerated on `exp` and `nbf`, in seconds.
pub const DEFAULT_LEEWAY_S: u64 = 30;

/// The longest subject accepted, in bytes: it becomes part of a storage key.
pub const MAX_SUBJECT_LEN: usize = 255;

/// What a token must have been issued for.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The `iss` claim, exactly (Cognito: `https://cognito-idp.{region}.amazonaws.com/{user pool id}`).
    pub issuer: &'a str,
    /// The app's client id: in `aud` (OIDC, RFC 9068), or, for tokens without `aud` (Cognito's access tokens),
    /// in `client_id`.
    pub audience: &'a str,
    pub leeway_s: u64,
}

/// The claims of a token that [`check`] reads; absent claims are `None` (or an empty `aud`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims<'a> {
    pub iss: Option<&'a str>,
    pub sub: Option<&'a str>,
    /// `aud` may be one string or an array of them.
    pub aud: Vec<&'a str>,
    pub client_id: Option<&'a str>,
    /// Cognito's `id` or `access`: only access tokens are accepted when it is present.
    pub token_use: Option<&'a str>,
    /// NumericDate claims: seconds since the epoch, possibly fractional.
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
}

/// Why a token with a good signature is still refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    MissingClaim(&'static str),
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    NotAnAccessToken,
    BadSubject,
}

impl Rejection {
    /// A short explanation for the client (the `error_description` and the problem's `detail`).
    pub fn describe(self) -> &'static str {
        match self {
            Self::MissingClaim("exp") => "the token has no expiry (exp)",
            Self::MissingClaim("iss") => "the token names no issuer (iss)",
            Self::MissingClaim(_) => "the token names no subject (sub)",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not valid yet (nbf)",
            Self::WrongIssuer => "the token was issued by another issuer",
            Self::WrongAudience => "the token was issued for another audience",
            Self::NotAnAccessToken => "only access tokens are accepted",
            Self::BadSubject => "the token's subject is empty, too long or has control characters",
        }
    }
}

/// Whether `alg` (from a token's header) is one the issuer's keys may have signed with.
pub fn algorithm_allowed(alg: &str) -> bool {
    ALGORITHMS.contains(&alg)
}

/// Whether `sub` can be an identity: 1 to 255 bytes, no control characters.
pub fn subject_is_valid(sub: &str) -> bool {
    !sub.is_empty() && sub.len() <= MAX_SUBJECT_LEN && !sub.chars().any(char::is_control)
}

/// Checks the claims of a token whose signature is good, at `now_s` (seconds since the epoch).
pub fn check(claims: &Claims<'_>, expected: &Expected<'_>, now_s: f64) -> Result<(), Rejection> {
    let leeway = expected.leeway_s as f64;
    let exp = claims.exp.ok_or(Rejection::MissingClaim("exp"))?;
    if now_s >= exp + leeway {
        return Err(Rejection::Expired);
    }
    if claims.nbf.is_some_and(|nbf| now_s + leeway < nbf) {
        return Err(Rejection::NotYetValid);
    }
    if claims.iss.ok_or(Rejection::MissingClaim("iss"))? != expected.issuer {
        return Err(Rejection::WrongIssuer);
    }
    // A token that names its audience is for that audience only, whoever it was issued to.
    let audience_matches = if claims.aud.is_empty() {
        claims.client_id == Some(expected.audience)
    } else {
        claims.aud.contains(&expected.audience)
    };
    if !audience_matches {
        return Err(Rejection::WrongAudience);
    }
    if claims.token_use.is_some_and(|usage| usage != "access") {
        return Err(Rejection::NotAnAccessToken);
    }
    if !subject_is_valid(claims.sub.ok_or(Rejection::MissingClaim("sub"))?) {
        return Err(Rejection::BadSubject);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_800_000_000.0;
    const EXPECTED: Expected<'static> = Expected { issuer: "https://issuer", audience: "app", leeway_s: 30 };

    fn good() -> Claims<'static> {
        Claims {
            iss: Some("https://issuer"),
            sub: Some("user-1"),
            aud: vec!["app"],
            exp: Some(NOW + 300.0),
            ..Claims::default()
        }
    }

    #[test]
    fn a_good_token_passes_and_cognito_access_tokens_match_by_client_id() {
        assert_eq!(check(&good(), &EXPECTED, NOW), Ok(()));
        let cognito = Claims { aud: vec![], client_id: Some("app"), token_use: Some("access"), ..good() };
        assert_eq!(check(&cognito, &EXPECTED, NOW), Ok(()));
        let several = Claims { aud: vec!["other", "app"], ..good() };
        assert_eq!(check(&several, &EXPECTED, NOW), Ok(()));
        let for_another_api = Claims { aud: vec!["another-api"], client_id: Some("app"), ..good() };
        assert_eq!(check(&for_another_api, &EXPECTED, NOW), Err(Rejection::WrongAudience), "issued to us, for them");
    }

    #[test]
    fn time_claims_allow_the_leeway_and_no_more() {
        let expired = |exp: f64| check(&Claims { exp: Some(exp), ..good() }, &EXPECTED, NOW);
        assert_eq!(expired(NOW - 29.0), Ok(()));
        assert_eq!(expired(NOW - 30.0), Err(Rejection::Expired));
        assert_eq!(check(&Claims { exp: None, ..good() }, &EXPECTED, NOW), Err(Rejection::MissingClaim("exp")));
        let nbf = |nbf: f64| check(&Claims { nbf: Some(nbf), ..good() }, &EXPECTED, NOW);
        assert_eq!(nbf(NOW + 30.0), Ok(()));
        assert_eq!(nbf(NOW + 31.0), Err(Rejection::NotYetValid));
    }

    #[test]
    fn issuer_audience_use_and_subject_are_enforced() {
        let with = |claims: Claims<'static>| check(&claims, &EXPECTED, NOW);
        assert_eq!(with(Claims { iss: Some("https://issuer/"), ..good() }), Err(Rejection::WrongIssuer));
        assert_eq!(with(Claims { iss: None, ..good() }), Err(Rejection::MissingClaim("iss")));
        assert_eq!(with(Claims { aud: vec!["other"], ..good() }), Err(Rejection::WrongAudience));
        assert_eq!(with(Claims { aud: vec![], client_id: Some("other"), ..good() }), Err(Rejection::WrongAudience));
        assert_eq!(with(Claims { token_use: Some("id"), ..good() }), Err(Rejection::NotAnAccessToken));
        assert_eq!(with(Claims { sub: None, ..good() }), Err(Rejection::MissingClaim("sub")));
        assert_eq!(with(Claims { sub: Some(""), ..good() }), Err(Rejection::BadSubject));
        assert_eq!(with(Claims { sub: Some("a\nb"), ..good() }), Err(Rejection::BadSubject));
        let long: &'static str = Box::leak("s".repeat(256).into_boxed_str());
        assert_eq!(with(Claims { sub: Some(long), ..good() }), Err(Rejection::BadSubject));
    }

    #[test]
    fn only_asymmetric_algorithms() {
        assert!(algorithm_allowed("RS256") && algorithm_allowed("ES256"));
        for alg in ["none", "None", "HS256", "RS512", "", "es256"] {
            assert!(!algorithm_allowed(alg), "{alg}");
        }
    }
}
