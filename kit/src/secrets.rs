//! Secret settings without secret values in any host's configuration: a setting `NAME` is read from
//! `NAME_ARN` (an AWS Secrets Manager secret, read at start with the host's own role: deployed hosts) or from
//! `NAME` itself (the value: local hosts and tests). A [`RotatingSecret`] also accepts the secret's previous
//! value (Secrets Manager's `AWSPREVIOUS` stage, or `NAME_PREVIOUS`) and re-reads the secret every 5 minutes, and
//! at once (at most every 30 s) when it meets a plausible value it does not know: rotating it needs no restart,
//! and has no window of refusals once every host has re-read it.

use std::{
    fmt,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use subtle::ConstantTimeEq;

use crate::config::{ConfigError, Env, Secret};

/// How often, at most, an unknown presented value makes a rotating secret re-read its source.
const MIN_REREAD: Duration = Duration::from_secs(30);
/// How old the values of a rotating secret may get before the next check re-reads them anyway: the bound on how
/// long a rotation takes to reach every host, whatever strangers present meanwhile.
pub const MAX_AGE: Duration = Duration::from_secs(300);

/// Reads secret settings from the environment and, for `NAME_ARN`, from Secrets Manager.
#[derive(Clone)]
pub struct SecretReader {
    client: Option<Client>,
}

impl SecretReader {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self { client: Some(Client::new(sdk)) }
    }

    /// A reader of `NAME` values only (a `NAME_ARN` is an error): for tests and tools without AWS.
    pub fn env_only() -> Self {
        Self { client: None }
    }

    /// `NAME`, or the current value of the secret `NAME_ARN` names; an error if neither is set.
    pub async fn required(&self, env: &Env, name: &str) -> Result<Secret, ConfigError> {
        self.optional(env, name).await?.ok_or_else(|| ConfigError::Missing { name: name.to_owned() })
    }

    /// `NAME`, or the current value of the secret `NAME_ARN` names, or `None` if neither is set.
    pub async fn optional(&self, env: &Env, name: &str) -> Result<Option<Secret>, ConfigError> {
        if let Some(value) = env.optional_secret(name)? {
            return Ok(Some(value));
        }
        let arn_name = format!("{name}_ARN");
        let Some(arn) = env.optional::<String>(&arn_name)? else { return Ok(None) };
        let client = self.client(&arn_name)?;
        read(client, &arn, Stage::Current).await.and_then(|v| v.ok_or_else(|| missing_value(&arn_name))).map(Some)
    }

    /// A secret that may be rotated: `NAME` (and `NAME_PREVIOUS`), or `NAME_ARN` (its current and previous
    /// versions, re-read when an unknown value is presented).
    pub async fn rotating(&self, env: &Env, name: &str) -> Result<Option<RotatingSecret>, ConfigError> {
        if let Some(current) = env.optional_secret(name)? {
            let previous = env.optional_secret(&format!("{name}_PREVIOUS"))?;
            return Ok(Some(RotatingSecret::fixed(current, previous)));
        }
        let arn_name = format!("{name}_ARN");
        let Some(arn) = env.optional::<String>(&arn_name)? else { return Ok(None) };
        let source = Source { client: self.client(&arn_name)?.clone(), arn, setting: arn_name };
        let accepted = source.read().await?;
        let reads = tokio::sync::Mutex::new(Reads { read_at: Instant::now(), unknown_at: None });
        Ok(Some(RotatingSecret {
            inner: Arc::new(Inner { accepted: RwLock::new(accepted), source: Some(source), reads }),
        }))
    }

    fn client(&self, setting: &str) -> Result<&Client, ConfigError> {
        self.client.as_ref().ok_or_else(|| ConfigError::Invalid {
            name: setting.to_owned(),
            value: "(an ARN)".into(),
            reason: "this program reads secrets from the environment only".into(),
        })
    }
}

fn missing_value(setting: &str) -> ConfigError {
    ConfigError::Invalid {
        name: setting.to_owned(),
        value: "(an ARN)".into(),
        reason: "the secret has no string value".into(),
    }
}

#[derive(Clone, Copy)]
enum Stage {
    Current,
    Previous,
}

/// The value of a secret's version `stage`, `None` if the secret has no such version (or no string).
async fn read(client: &Client, arn: &str, stage: Stage) -> Result<Option<Secret>, ConfigError> {
    let label = match stage {
        Stage::Current => "AWSCURRENT",
        Stage::Previous => "AWSPREVIOUS",
    };
    let unreadable = |reason: String| ConfigError::Invalid { name: arn.to_owned(), value: label.into(), reason };
    match client.get_secret_value().secret_id(arn).version_stage(label).send().await {
        Ok(output) => output.secret_string.map(|value| value.parse::<Secret>().map_err(&unreadable)).transpose(),
        Err(err)
            if matches!(stage, Stage::Previous)
                && err.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(unreadable(format!(
            "cannot read the secret: {}",
            aws_sdk_secretsmanager::error::DisplayErrorContext(&err)
        ))),
    }
}

#[derive(Clone)]
struct Source {
    client: Client,
    arn: String,
    setting: String,
}

impl Source {
    /// Both versions at once: a start waits for them (one round trip to Secrets Manager instead of two).
    async fn read(&self) -> Result<Vec<Secret>, ConfigError> {
        let (current, previous) = tokio::try_join!(
            read(&self.client, &self.arn, Stage::Current),
            read(&self.client, &self.arn, Stage::Previous)
        )?;
        let current = current.ok_or_else(|| missing_value(&self.setting))?;
        Ok([Some(current), previous].into_iter().flatten().collect())
    }
}

struct Inner {
    accepted: RwLock<Vec<Secret>>,
    source: Option<Source>,
    reads: tokio::sync::Mutex<Reads>,
}

/// When a secret read from Secrets Manager was last read, and last re-read for an unknown value.
struct Reads {
    read_at: Instant,
    unknown_at: Option<Instant>,
}

/// A shared secret checked on every request (the edge secret): its current value and, during a rotation, the
/// previous one. Cheap to clone.
#[derive(Clone)]
pub struct RotatingSecret {
    inner: Arc<Inner>,
}

impl RotatingSecret {
    /// Values that never change (from the environment).
    pub fn fixed(current: Secret, previous: Option<Secret>) -> Self {
        let accepted = [Some(current), previous].into_iter().flatten().collect();
        let reads = tokio::sync::Mutex::new(Reads { read_at: Instant::now(), unknown_at: None });
        Self { inner: Arc::new(Inner { accepted: RwLock::new(accepted), source: None, reads }) }
    }

    fn accepts(&self, presented: &[u8]) -> bool {
        let accepted = self.inner.accepted.read().expect("the secret lock is never poisoned");
        // Every value is compared, in constant time, so timing tells nothing about which one nearly matched.
        accepted.iter().fold(false, |found, secret| found | bool::from(presented.ct_eq(secret.expose())))
    }

    /// Whether `presented` is the current or the previous value. Values older than [`MAX_AGE`] are re-read first
    /// (by one caller; the others use the old values meanwhile), and an unknown value of plausible length makes
    /// a re-read at once, at most every 30 s: a rotation is picked up on its first use.
    pub async fn matches(&self, presented: &[u8]) -> bool {
        let Some(source) = &self.inner.source else { return self.accepts(presented) };
        if let Ok(mut reads) = self.inner.reads.try_lock()
            && reads.read_at.elapsed() >= MAX_AGE
        {
            self.reread(source, &mut reads).await;
        }
        if self.accepts(presented) {
            return true;
        }
        // Values too short to be the secret (an empty header from a scanner) never spend the re-read.
        if presented.len() < stampede_contract::secret::MIN_LEN {
            return false;
        }
        let mut reads = self.inner.reads.lock().await;
        if reads.unknown_at.is_some_and(|at| at.elapsed() < MIN_REREAD) {
            return self.accepts(presented);
        }
        reads.unknown_at = Some(Instant::now());
        self.reread(source, &mut reads).await;
        self.accepts(presented)
    }

    async fn reread(&self, source: &Source, reads: &mut Reads) {
        reads.read_at = Instant::now();
        match source.read().await {
            Ok(values) => *self.inner.accepted.write().expect("the secret lock is never poisoned") = values,
            Err(err) => tracing::warn!(error = %err, "could not re-read a rotating secret; keeping the values known"),
        }
    }
}

impl From<Secret> for RotatingSecret {
    fn from(current: Secret) -> Self {
        Self::fixed(current, None)
    }
}

impl fmt::Debug for RotatingSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RotatingSecret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(value: &str) -> Secret {
        value.parse().unwrap()
    }

    #[tokio::test]
    async fn fixed_secrets_accept_the_current_and_the_previous_value_only() {
        let (current, previous) = ("c".repeat(32), "p".repeat(32));
        let rotating = RotatingSecret::fixed(secret(&current), Some(secret(&previous)));
        assert!(rotating.matches(current.as_bytes()).await);
        assert!(rotating.matches(previous.as_bytes()).await);
        assert!(!rotating.matches("x".repeat(32).as_bytes()).await);
        assert!(!rotating.matches(b"").await);
        assert!(!RotatingSecret::from(secret(&current)).matches(previous.as_bytes()).await);
        assert_eq!(format!("{rotating:?}"), "RotatingSecret(..)");
    }

    #[tokio::test]
    async fn values_come_from_the_environment_and_arns_need_aws() {
        let value = "v".repeat(32);
        let env = Env::from_pairs([("GIVEN", value.as_str()), ("ONLY_ARN_ARN", "arn:aws:secretsmanager:x")]);
        let reader = SecretReader::env_only();
        assert_eq!(reader.required(&env, "GIVEN").await.unwrap().expose(), value.as_bytes());
        assert!(reader.optional(&env, "UNSET").await.unwrap().is_none());
        assert_eq!(reader.required(&env, "UNSET").await.unwrap_err(), ConfigError::Missing { name: "UNSET".into() });
        let refused = reader.optional(&env, "ONLY_ARN").await.unwrap_err().to_string();
        assert!(refused.contains("ONLY_ARN_ARN"), "{refused}");
    }
}
