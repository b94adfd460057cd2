//! Bearer tokens at the edge: a write's token is verified here so the per-user write limit counts the subject
//! the identity provider vouches for, never a name a client chose. This module parses a compact JWT and applies
//! the contract's rules (`stampede_contract::token`, the API's too); the shell checks the signature with
//! WebCrypto against the provider's JWKS.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::Deserialize;
use stampede_contract::token::{self, Claims, Expected};

/// A signature algorithm the issuer's keys may sign with (the contract's allow-list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Es256,
}

impl Alg {
    /// The JOSE name (`alg` of a header or a JWK).
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }
}

/// Why a token is refused: a short reason for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid(pub &'static str);

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct OwnedClaims {
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default)]
    aud: Audience,
    client_id: Option<String>,
    token_use: Option<String>,
    exp: Option<f64>,
    nbf: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Audience {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

/// A token split into what its signature covers and what it claims.
pub struct Parsed {
    pub alg: Alg,
    pub kid: String,
    /// `base64url(header).base64url(claims)`: the bytes the signature is over.
    pub signing_input: String,
    pub signature: Vec<u8>,
    claims: OwnedClaims,
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive).
pub fn bearer(authorization: &str) -> Result<&str, Invalid> {
    match authorization.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(token.trim()),
        _ => Err(Invalid("the Authorization header is not `Bearer <token>`")),
    }
}

fn segment<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, Invalid> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| Invalid("the token is malformed"))?;
    serde_json::from_slice(&bytes).map_err(|_| Invalid("the token is malformed"))
}

/// Splits and decodes a compact JWT; refuses any algorithm but the accepted ones, and tokens naming no key.
pub fn parse(token: &str) -> Result<Parsed, Invalid> {
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Invalid("the token is malformed"));
    };
    let parsed_header: Header = segment(header)?;
    let alg = match parsed_header.alg.as_str() {
        alg if !token::algorithm_allowed(alg) => {
            return Err(Invalid("the token's signature algorithm is not accepted"));
        }
        "RS256" => Alg::Rs256,
        _ => Alg::Es256,
    };
    let kid = parsed_header.kid.ok_or(Invalid("the token's header names no key (kid)"))?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| Invalid("the token is malformed"))?;
    Ok(Parsed { alg, kid, signing_input: format!("{header}.{claims}"), signature, claims: segment(claims)? })
}

impl Parsed {
    /// Applies the contract's claim rules at `now_s`; returns the subject.
    pub fn check(&self, expected: &Expected<'_>, now_s: f64) -> Result<&str, Invalid> {
        let c = &self.claims;
        let aud = match &c.aud {
            Audience::None => Vec::new(),
            Audience::One(one) => vec![one.as_str()],
            Audience::Many(many) => many.iter().map(String::as_str).collect(),
        };
        let view = Claims {
            iss: c.iss.as_deref(),
            sub: c.sub.as_deref(),
            aud,
            client_id: c.client_id.as_deref(),
            token_use: c.token_use.as_deref(),
            exp: c.exp,
            nbf: c.nbf,
        };
        token::check(&view, expected, now_s).map_err(|rejection| Invalid(rejection.describe()))?;
        Ok(c.sub.as_deref().expect("checked: the token has a subject"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn token(header: serde_json::Value, claims: serde_json::Value) -> String {
        format!("{}.{}.{}", b64(&header), b64(&claims), URL_SAFE_NO_PAD.encode(b"signature"))
    }

    const EXPECTED: Expected<'static> = Expected { issuer: "https://issuer", audience: "app", leeway_s: 30 };

    #[test]
    fn a_good_token_parses_and_names_its_subject() {
        let claims = json!({"iss": "https://issuer", "sub": "u1", "aud": ["x", "app"], "exp": 2_000});
        let parsed = parse(&token(json!({"alg": "ES256", "kid": "k1"}), claims)).unwrap();
        assert_eq!((parsed.alg, parsed.kid.as_str()), (Alg::Es256, "k1"));
        assert_eq!(parsed.signature, b"signature");
        assert_eq!(parsed.signing_input.matches('.').count(), 1);
        assert_eq!(parsed.check(&EXPECTED, 1_000.0), Ok("u1"));
        assert_eq!(parsed.check(&EXPECTED, 3_000.0), Err(Invalid("the token has expired")));
        let cognito =
            json!({"iss": "https://issuer", "sub": "u2", "client_id": "app", "token_use": "access", "exp": 2_000});
        let parsed = parse(&token(json!({"alg": "RS256", "kid": "k"}), cognito)).unwrap();
        assert_eq!((parsed.alg, parsed.check(&EXPECTED, 1_000.0)), (Alg::Rs256, Ok("u2")));
    }

    #[test]
    fn malformed_unsigned_and_keyless_tokens_are_refused() {
        let claims = json!({"sub": "u"});
        for alg in ["none", "HS256", "RS512"] {
            assert!(parse(&token(json!({"alg": alg, "kid": "k"}), claims.clone())).is_err(), "{alg}");
        }
        assert_eq!(
            parse(&token(json!({"alg": "ES256"}), claims.clone())).err(),
            Some(Invalid("the token's header names no key (kid)"))
        );
        for bad in ["", "a.b", "a.b.c.d", "!!.!!.!!", &format!("{}.e30.", b64(&json!({"alg": "ES256"})))] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(bearer("Bearer abc"), Ok("abc"));
        assert_eq!(bearer("bearer  abc "), Ok("abc"));
        assert!(bearer("Basic abc").is_err() && bearer("Bearer").is_err());
    }
}
