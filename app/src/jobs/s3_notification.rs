//! S3 event notifications (docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html),
//! reduced to what the jobs read, so a notification is never refused for a field they do not use.

use percent_encoding::percent_decode_str;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct S3Notification {
    #[serde(rename = "Records")]
    pub records: Vec<S3Record>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Record {
    pub event_name: String,
    pub s3: S3Entity,
}

#[derive(Debug, Deserialize)]
pub struct S3Entity {
    pub bucket: S3Bucket,
    pub object: S3Object,
}

#[derive(Debug, Deserialize)]
pub struct S3Bucket {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct S3Object {
    /// URL-encoded, as S3 sends it: read it with [`S3Object::decoded_key`].
    pub key: String,
    #[serde(default)]
    pub size: u64,
}

impl S3Object {
    /// The object key: notifications form-encode it (a space arrives as `+`).
    pub fn decoded_key(&self) -> String {
        percent_decode_str(&self.key.replace('+', " ")).decode_utf8_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_aws_notifications_and_decodes_keys() {
        let body = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
            "eventTime":"2026-11-22T15:49:55.451Z","eventName":"ObjectCreated:Put",
            "userIdentity":{"principalId":"AWS:AIDA"},"requestParameters":{"sourceIPAddress":"1.2.3.4"},
            "s3":{"s3SchemaVersion":"1.0","configurationId":"c","bucket":{"name":"media","arn":"arn:aws:s3:::media"},
            "object":{"key":"originals%2Fmy+photo.jpg","size":1024,"eTag":"e"}}}]}"#;
        let notification: S3Notification = serde_json::from_str(body).unwrap();
        let record = &notification.records[0];
        assert_eq!(record.event_name, "ObjectCreated:Put");
        assert_eq!(record.s3.bucket.name, "media");
        assert_eq!(record.s3.object.decoded_key(), "originals/my photo.jpg");
        assert_eq!(record.s3.object.size, 1024);
    }
}
