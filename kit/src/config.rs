//! Typed configuration from environment variables, with errors that name the variable and say what is wrong.
//!
//! Reads go through [`Env`], so tests can supply a map instead of mutating the process environment.

use std::{collections::HashMap, fmt, fmt::Display, str::FromStr, sync::Arc};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {name} is required but not set")]
    Missing { name: String },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid { name: String, value: String, reason: String },
}

/// A source of configuration variables: the process environment, or a fixed map in tests.
pub struct Env {
    lookup: Box<Lookup>,
}

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

impl Env {
    /// The process environment. Empty values count as unset.
    pub fn process() -> Self {
        Self { lookup: Box::new(|name| std::env::var(name).ok()) }
    }

    /// Variables looked up by `lookup`.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self { lookup: Box::new(lookup) }
    }

    pub fn from_pairs<const N: usize>(pairs: [(&str, &str); N]) -> Self {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self { lookup: Box::new(move |name| map.get(name).cloned()) }
    }

    fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// A variable that must be set and parse.
    pub fn required<T>(&self, name: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.optional(name)?.ok_or_else(|| ConfigError::Missing { name: name.to_owned() })
    }

    /// A variable that may be unset; when set it must parse.
    pub fn optional<T>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.raw(name)
            .map(|value| {
                value.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
                    name: name.to_owned(),
                    reason: e.to_string(),
                    value,
                })
            })
            .transpose()
    }

    /// A variable with a default for when it is unset; when set it must parse.
    pub fn or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        Ok(self.optional(name)?.unwrap_or(default))
    }

    /// A [`Secret`] that must be set; an invalid value is not repeated in the error.
    pub fn secret(&self, name: &str) -> Result<Secret, ConfigError> {
        self.optional_secret(name)?.ok_or_else(|| ConfigError::Missing { name: name.to_owned() })
    }

    /// A [`Secret`] that may be unset; an invalid value is not repeated in the error.
    pub fn optional_secret(&self, name: &str) -> Result<Option<Secret>, ConfigError> {
        self.optional(name).map_err(|err| match err {
            ConfigError::Invalid { name, reason, .. } => {
                ConfigError::Invalid { name, reason, value: "(hidden)".into() }
            }
            missing => missing,
        })
    }

    /// Milliseconds as a [`std::time::Duration`], with a default.
    pub fn millis_or(&self, name: &str, default_ms: u64) -> Result<std::time::Duration, ConfigError> {
        self.or(name, default_ms).map(std::time::Duration::from_millis)
    }
}

/// A secret setting (a signing key, a shared header value): at least 32 characters, never printed, not even by
/// `Debug`.
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        stampede_contract::secret::check(s)?;
        Ok(Self(s.into()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_defaults_and_reports_bad_values_by_name() {
        let env = Env::from_pairs([("PORT", "8080"), ("SHARDS", "lots"), ("BLANK", "  ")]);
        assert_eq!(env.required::<u16>("PORT"), Ok(8080));
        assert_eq!(env.or::<u16>("MISSING", 7), Ok(7));
        assert_eq!(env.or::<u16>("BLANK", 7), Ok(7));
        assert_eq!(env.required::<String>("MISSING"), Err(ConfigError::Missing { name: "MISSING".into() }));
        let err = env.required::<u16>("SHARDS").unwrap_err();
        assert_eq!(err.to_string(), r#"environment variable SHARDS="lots" is invalid: invalid digit found in string"#);
        assert_eq!(env.millis_or("MISSING", 250), Ok(std::time::Duration::from_millis(250)));
    }

    #[test]
    fn secrets_are_long_and_never_printed() {
        let env = Env::from_pairs([("SHORT", "tiny"), ("GOOD", "0123456789abcdef0123456789abcdef")]);
        let short = env.secret("SHORT").unwrap_err().to_string();
        assert!(short.contains("SHORT") && short.contains("at least 32") && !short.contains("tiny"), "{short}");
        assert!(env.optional_secret("MISSING").unwrap().is_none());
        assert_eq!(env.secret("MISSING").unwrap_err(), ConfigError::Missing { name: "MISSING".into() });
        let secret = env.secret("GOOD").unwrap();
        assert_eq!(secret.expose(), b"0123456789abcdef0123456789abcdef");
        assert_eq!(format!("{secret:?}"), "Secret(..)");
    }
}
