//! Presigned S3 URLs (a PUT to upload an object, a GET to download one), signed with SigV4 exactly as
//! aws-sdk-s3 presigns them (the tests compare both, byte for byte), without an S3 client: presigning is all a
//! request path does with S3, and the S3 client brought 1.1 MB of code into the api function (its endpoint
//! rules and operation serializers, and the CRC crate of its checksums), 0.5 MB of its 4.5 MB zip.
//!
//! Addressing follows the SDK's endpoint rules for a plain bucket name: virtual-hosted
//! (`https://{bucket}.s3.{region}.{partition suffix}`, with `-fips` and `.dualstack` as configured), path-style
//! under an endpoint override (an emulator) and for bucket names that cannot be a host name.

use std::{
    fmt,
    sync::RwLock,
    time::{Duration, SystemTime},
};

use aws_config::SdkConfig;
use aws_credential_types::{
    Credentials,
    provider::{ProvideCredentials, SharedCredentialsProvider},
};
use aws_sigv4::{
    http_request::{self, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings},
    sign::v4,
};
use axum::http::{Method, Request};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Credentials this close to their expiry are resolved again before signing: a presigned URL stops working when
/// the credentials that signed it expire.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(5 * 60);

/// What an S3 object key keeps unencoded in a URL path: RFC 3986 unreserved characters and `/`.
const KEY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

/// Why no URL could be signed.
#[derive(Debug, thiserror::Error)]
#[error("cannot presign an S3 request: {0}")]
pub struct PresignError(String);

/// A presigned request: its URL and the headers the request must carry exactly (they are signed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// Signs S3 URLs with the credentials, region and endpoint of an SDK configuration; cheap to share.
pub struct Presigner {
    credentials: Option<SharedCredentialsProvider>,
    region: String,
    endpoint: Option<String>,
    fips: bool,
    dual_stack: bool,
    cached: RwLock<Option<Credentials>>,
}

impl Presigner {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            credentials: sdk.credentials_provider(),
            region: sdk.region().map(|r| r.to_string()).unwrap_or_default(),
            endpoint: sdk.endpoint_url().map(|url| url.trim_end_matches('/').to_owned()),
            fips: sdk.use_fips().unwrap_or(false),
            dual_stack: sdk.use_dual_stack().unwrap_or(false),
            cached: RwLock::default(),
        }
    }

    /// A PUT of `key` into `bucket` with this `content_type`, valid for `expires_in`.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<Presigned, PresignError> {
        let credentials = self.credentials().await?;
        self.sign(&credentials, Some(content_type), bucket, key, SystemTime::now(), expires_in)
    }

    /// A GET of `key` in `bucket`, valid for `expires_in`.
    pub async fn get(&self, bucket: &str, key: &str, expires_in: Duration) -> Result<Presigned, PresignError> {
        let credentials = self.credentials().await?;
        self.sign(&credentials, None, bucket, key, SystemTime::now(), expires_in)
    }

    async fn credentials(&self) -> Result<Credentials, PresignError> {
        let fresh = |c: &Credentials| c.expiry().is_none_or(|at| at > SystemTime::now() + CREDENTIALS_MARGIN);
        if let Some(cached) = self.cached.read().expect("the credentials lock is never poisoned").as_ref()
            && fresh(cached)
        {
            return Ok(cached.clone());
        }
        let provider = self.credentials.as_ref().ok_or_else(|| PresignError("no credentials provider".into()))?;
        let resolved = provider.provide_credentials().await.map_err(|err| PresignError(err.to_string()))?;
        *self.cached.write().expect("the credentials lock is never poisoned") = Some(resolved.clone());
        Ok(resolved)
    }

    /// A PUT with `put`'s content type, or a GET.
    fn sign(
        &self,
        credentials: &Credentials,
        put: Option<&str>,
        bucket: &str,
        key: &str,
        at: SystemTime,
        expires_in: Duration,
    ) -> Result<Presigned, PresignError> {
        let (method, operation) = if put.is_some() { (Method::PUT, "PutObject") } else { (Method::GET, "GetObject") };
        let url = format!("{}?x-id={operation}", self.object_url(bucket, key));
        let mut request = Request::builder().method(method).uri(&url);
        if let Some(content_type) = put {
            request = request.header("content-type", content_type);
        }
        let mut request = request.body(()).map_err(|err| PresignError(err.to_string()))?;
        // S3's signing rules (aws-runtime's S3 settings): the path is encoded once and not normalised; the
        // payload is not signed (the uploader's bytes are unknown here).
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = http_request::UriPathNormalizationMode::Disabled;
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires_in);
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(at)
            .settings(settings)
            .build()
            .map_err(|err| PresignError(err.to_string()))?
            .into();
        let headers = request.headers().iter().map(|(name, value)| (name.as_str(), value.to_str().unwrap_or("")));
        let signable = SignableRequest::new(request.method().as_str(), &url, headers, SignableBody::UnsignedPayload)
            .map_err(|err| PresignError(err.to_string()))?;
        let (instructions, _) =
            http_request::sign(signable, &params).map_err(|err| PresignError(err.to_string()))?.into_parts();
        instructions.apply_to_request_http1x(&mut request);
        let headers = request
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or("").to_owned()))
            .collect();
        Ok(Presigned { url: request.uri().to_string(), headers })
    }

    fn object_url(&self, bucket: &str, key: &str) -> String {
        let key = utf8_percent_encode(key, KEY);
        if let Some(endpoint) = &self.endpoint {
            return format!("{endpoint}/{bucket}/{key}");
        }
        let host = format!(
            "s3{}{}.{}.{}",
            if self.fips { "-fips" } else { "" },
            if self.dual_stack { ".dualstack" } else { "" },
            self.region,
            dns_suffix(&self.region)
        );
        if virtual_hostable(bucket) {
            format!("https://{bucket}.{host}/{key}")
        } else {
            format!("https://{host}/{bucket}/{key}")
        }
    }
}

impl fmt::Debug for Presigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Presigner").field("region", &self.region).field("endpoint", &self.endpoint).finish()
    }
}

/// The DNS suffix of a region's partition (the SDK's partitions.json).
fn dns_suffix(region: &str) -> &'static str {
    const PARTITIONS: [(&str, &str); 6] = [
        ("cn-", "amazonaws.com.cn"),
        ("us-isob-", "sc2s.sgov.gov"),
        ("us-isof-", "csp.hci.ic.gov"),
        ("us-iso-", "c2s.ic.gov"),
        ("eu-isoe-", "cloud.adc-e.uk"),
        ("eusc-", "amazonaws.eu"),
    ];
    PARTITIONS.iter().find(|(prefix, _)| region.starts_with(prefix)).map_or("amazonaws.com", |(_, suffix)| suffix)
}

/// Whether a bucket name can be a TLS host name label (the SDK's `isVirtualHostableS3Bucket` without dots).
fn virtual_hostable(bucket: &str) -> bool {
    (3..=63).contains(&bucket.len())
        && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !bucket.starts_with('-')
        && !bucket.ends_with('-')
}

#[cfg(test)]
mod tests {
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_s3::presigning::PresigningConfig;

    use super::*;

    fn sdk(region: &str, endpoint: Option<&str>, fips: bool, dual_stack: bool) -> SdkConfig {
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", Some("session/token+1".into()), None, "test");
        let mut sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .use_fips(fips)
            .use_dual_stack(dual_stack);
        if let Some(endpoint) = endpoint {
            sdk = sdk.endpoint_url(endpoint);
        }
        sdk.build()
    }

    /// What aws-sdk-s3 presigns, with the client the app builds (path-style under an endpoint override).
    async fn sdk_presigned(sdk: &SdkConfig, put: Option<&str>, bucket: &str, key: &str, at: SystemTime) -> Presigned {
        let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(sdk.endpoint_url().is_some()).build();
        let client = aws_sdk_s3::Client::from_conf(config);
        let presigning =
            PresigningConfig::builder().start_time(at).expires_in(Duration::from_secs(900)).build().unwrap();
        let request = match put {
            Some(content_type) => client
                .put_object()
                .bucket(bucket)
                .key(key)
                .content_type(content_type)
                .presigned(presigning)
                .await
                .unwrap(),
            None => client.get_object().bucket(bucket).key(key).presigned(presigning).await.unwrap(),
        };
        let headers = request.headers().map(|(name, value)| (name.to_owned(), value.to_owned())).collect();
        Presigned { url: request.uri().to_owned(), headers }
    }

    #[tokio::test]
    async fn urls_are_the_ones_aws_sdk_s3_presigns() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let cases = [
            ("us-east-1", None, false, false, "media-bucket-1"),
            ("eu-west-1", None, true, true, "media-bucket-1"),
            ("eu-west-1", None, false, true, "media-bucket-1"),
            ("cn-north-1", None, false, false, "media-bucket-1"),
            ("us-east-1", None, false, false, "dotted.bucket"),
            ("us-east-1", Some("http://localhost:4566/"), false, false, "media"),
        ];
        for (region, endpoint, fips, dual_stack, bucket) in cases {
            let sdk = sdk(region, endpoint, fips, dual_stack);
            let presigner = Presigner::new(&sdk);
            let credentials = presigner.credentials().await.unwrap();
            let expiry = Duration::from_secs(900);
            for (put, key) in [(Some("image/jpeg"), "originals/01J0 X+é"), (None, "thumbnails/01J0/128.jpg")] {
                let ours = presigner.sign(&credentials, put, bucket, key, at, expiry).unwrap();
                assert_eq!(ours, sdk_presigned(&sdk, put, bucket, key, at).await, "{region} {endpoint:?} {bucket}");
            }
        }
    }

    #[tokio::test]
    async fn credentials_are_resolved_again_before_they_expire() {
        let soon = SystemTime::now() + Duration::from_secs(60);
        let expiring = Credentials::new("AKID", "secret", None, Some(soon), "test");
        let presigner = Presigner::new(&SdkConfig::builder().build());
        *presigner.cached.write().unwrap() = Some(expiring);
        let refused = presigner.get("bucket", "key", Duration::from_secs(60)).await.unwrap_err();
        assert!(refused.to_string().contains("no credentials provider"), "{refused}");
    }
}
