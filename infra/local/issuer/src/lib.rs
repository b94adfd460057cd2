//! local-issuer: the identity provider of the local stack, standing in for Amazon Cognito.
//! Owns a P-256 signing key generated once per machine, the JWKS the API fetches (the same path it uses in AWS)
//! and access tokens for any subject. Must never be deployed: anyone who can reach it can get a token.

use std::{
    fs,
    io::{self, Write},
    os::unix::fs::OpenOptionsExt,
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{Json, Router, extract::State, routing::get};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use serde::Deserialize;
use serde_json::{Value, json};

/// The key file, under the state directory.
const KEY_FILE: &str = "signing-key.pem";
/// The longest lifetime `/token` grants.
pub const MAX_EXPIRES_IN: Duration = Duration::from_secs(7 * 24 * 3600);

/// An issuer: who it says it is (`iss`), whom its tokens are for (`aud`), and its key.
pub struct Issuer {
    pub url: String,
    pub audience: String,
    key: EncodingKey,
    jwk: Jwk,
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs()
}

impl Issuer {
    /// The issuer whose key is in `state_dir`, generating the key (readable by this user only) the first time.
    pub fn load_or_create(state_dir: &Path, url: &str, audience: &str) -> io::Result<Self> {
        let path = state_dir.join(KEY_FILE);
        if !path.exists() {
            fs::create_dir_all(state_dir)?;
            let secret = p256::SecretKey::random(&mut rand_core::OsRng);
            let pem = secret.to_pkcs8_pem(LineEnding::LF).map_err(io::Error::other)?;
            match fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
                Ok(mut file) => file.write_all(pem.as_bytes())?,
                // Another process created it first: use theirs.
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(err),
            }
        }
        Self::from_pem(&fs::read(&path)?, url, audience)
    }

    /// An issuer with a fresh key that is never written anywhere (a test's stranger, or a forger).
    pub fn ephemeral(url: &str, audience: &str) -> io::Result<Self> {
        let secret = p256::SecretKey::random(&mut rand_core::OsRng);
        let pem = secret.to_pkcs8_pem(LineEnding::LF).map_err(io::Error::other)?;
        Self::from_pem(pem.as_bytes(), url, audience)
    }

    fn from_pem(pem: &[u8], url: &str, audience: &str) -> io::Result<Self> {
        let key = EncodingKey::from_ec_pem(pem).map_err(io::Error::other)?;
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).map_err(io::Error::other)?;
        // The key id is the key's RFC 7638 thumbprint: stable for the key, different for every other.
        jwk.common.key_id = Some(jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).map_err(io::Error::other)?);
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        Ok(Self { url: url.trim_end_matches('/').to_owned(), audience: audience.to_owned(), key, jwk })
    }

    pub fn key_id(&self) -> &str {
        self.jwk.common.key_id.as_deref().expect("set when loaded")
    }

    /// The public key set, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// The claims of an access token for `subject` valid for `expires_in`, shaped like Cognito's (with `aud`).
    pub fn claims(&self, subject: &str, expires_in: Duration) -> Value {
        let now = now_s();
        json!({
            "iss": self.url,
            "sub": subject,
            "aud": self.audience,
            "client_id": self.audience,
            "token_use": "access",
            "iat": now,
            "exp": now + expires_in.as_secs(),
            "jti": ulid::Ulid::generate().to_string(),
        })
    }

    /// Any claims, signed with this issuer's key (ES256, with its key id).
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(claims, self.key_id())
    }

    /// Any claims, signed with this issuer's key but naming the key `kid` (how a forger would try).
    pub fn sign_as(&self, claims: &Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).expect("an ES256 key signs any JSON")
    }

    /// An access token for `subject`.
    pub fn token(&self, subject: &str, expires_in: Duration) -> String {
        self.sign(&self.claims(subject, expires_in))
    }

    /// The issuer's HTTP endpoints: its JWKS and OpenID configuration (what the API reads) and `POST /token`.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(
                "/.well-known/jwks.json",
                get(|State(issuer): State<Arc<Issuer>>| async move { Json(issuer.jwks()) }),
            )
            .route("/.well-known/openid-configuration", get(openid_configuration))
            .route("/token", axum::routing::post(token))
            .with_state(self)
    }
}

/// A random subject, like the ones an identity provider assigns.
pub fn random_subject() -> String {
    format!("local-{}", ulid::Ulid::generate().to_string().to_lowercase())
}

async fn openid_configuration(State(issuer): State<Arc<Issuer>>) -> Json<Value> {
    Json(json!({
        "issuer": issuer.url,
        "jwks_uri": format!("{}/.well-known/jwks.json", issuer.url),
        "token_endpoint": format!("{}/token", issuer.url),
        "id_token_signing_alg_values_supported": ["ES256"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
    }))
}

/// What `POST /token` takes: both optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    sub: Option<String>,
    expires_in: Option<u64>,
}

async fn token(
    State(issuer): State<Arc<Issuer>>,
    body: Option<Json<TokenRequest>>,
) -> Result<Json<Value>, (axum::http::StatusCode, String)> {
    let request = body.map(|Json(request)| request).unwrap_or_default();
    let expires_in = Duration::from_secs(request.expires_in.unwrap_or(3600));
    if expires_in > MAX_EXPIRES_IN {
        return Err((
            axum::http::StatusCode::BAD_REQUEST,
            format!("expires_in is at most {}", MAX_EXPIRES_IN.as_secs()),
        ));
    }
    let subject = request.sub.unwrap_or_else(random_subject);
    Ok(Json(json!({
        "access_token": issuer.token(&subject, expires_in),
        "token_type": "Bearer",
        "expires_in": expires_in.as_secs(),
        "sub": subject,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_kept_private() {
        let dir = std::env::temp_dir().join(format!("issuer-test-{}", ulid::Ulid::generate()));
        let first = Issuer::load_or_create(&dir, "http://127.0.0.1:1/", "aud").unwrap();
        let again = Issuer::load_or_create(&dir, "http://127.0.0.1:1", "aud").unwrap();
        assert_eq!(first.key_id(), again.key_id());
        assert_eq!(first.url, "http://127.0.0.1:1");
        let mode = fs::metadata(dir.join(KEY_FILE)).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077, 0, "only the owner may read the key");
        assert_ne!(Issuer::ephemeral("x", "aud").unwrap().key_id(), first.key_id());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn tokens_verify_against_the_published_key() {
        let issuer = Issuer::ephemeral("http://issuer", "app").unwrap();
        let token = issuer.token("someone", Duration::from_secs(60));
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(issuer.key_id()));
        let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(issuer.jwks()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(issuer.key_id()).unwrap()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.set_audience(&["app"]);
        validation.set_issuer(&["http://issuer"]);
        let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap().claims;
        assert_eq!(claims["sub"], "someone");
        assert_eq!(claims["token_use"], "access");
    }
}
