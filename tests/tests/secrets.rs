//! Secrets read by ARN from the emulator's Secrets Manager, as deployed hosts read them: a rotation of the edge
//! secret is picked up without a restart, and both the new and the previous value are accepted meanwhile.

use aws_sdk_secretsmanager::Client;
use kit::{config::Env, secrets::SecretReader};

#[tokio::test]
async fn a_rotated_edge_secret_is_accepted_at_once_and_the_previous_value_until_the_next_rotation() {
    stampede_tests::emulator_config().await; // fails clearly without the emulator
    let sdk = kit::aws::sdk_config().await;
    let secrets = Client::new(&sdk);
    let (first, second, third) = (
        "first-value-0123456789abcdef0123456789",
        "second-value-0123456789abcdef012345",
        "third-value-0123456789abcdef0123456",
    );
    let name = format!("test-edge-secret-{}", ulid::Ulid::generate());
    let arn = secrets.create_secret().name(&name).secret_string(first).send().await.unwrap().arn.unwrap();
    let env = Env::from_pairs([("EDGE_SECRET_ARN", arn.as_str())]);
    let edge = SecretReader::new(&sdk).rotating(&env, "EDGE_SECRET").await.unwrap().expect("configured");
    assert!(edge.matches(first.as_bytes()).await);
    assert!(!edge.matches(second.as_bytes()).await, "not a value of the secret yet");

    secrets.put_secret_value().secret_id(&arn).secret_string(second).send().await.unwrap();
    // The re-read is bounded to one per 30 s; this edge already spent it on the refused value above.
    let fresh = SecretReader::new(&sdk).rotating(&env, "EDGE_SECRET").await.unwrap().unwrap();
    assert!(fresh.matches(second.as_bytes()).await, "the new value");
    assert!(fresh.matches(first.as_bytes()).await, "and, until the next rotation, the previous one");

    let rotating = SecretReader::new(&sdk).rotating(&env, "EDGE_SECRET").await.unwrap().unwrap();
    // Scanners' empty or short values are refused without spending the host's re-read.
    assert!(!rotating.matches(b"").await && !rotating.matches(b"guess").await);
    secrets.put_secret_value().secret_id(&arn).secret_string(third).send().await.unwrap();
    assert!(rotating.matches(third.as_bytes()).await, "an unknown value makes a running host re-read the secret");
    assert!(rotating.matches(second.as_bytes()).await);
    assert!(!rotating.matches(first.as_bytes()).await, "two rotations retire a value");
    assert!(!edge.matches(b"").await);
}

#[tokio::test]
async fn the_cursor_secret_is_read_by_arn() {
    let config = stampede_tests::emulator_config().await;
    assert!(std::env::var_os("CURSOR_SECRET").is_none(), "scripts/test passes the stack's secret by ARN only");
    assert!(std::env::var("CURSOR_SECRET_ARN").unwrap().starts_with("arn:aws:secretsmanager:"));
    assert!(config.cursor_secret.expose().len() >= 32);
}
