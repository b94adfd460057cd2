//! The emulator's count of the calls it answers (infra/local/moto_calls.py), which scripts/bench reads as
//! DynamoDB calls per request: every call is counted once, under its operation.

/// An operation no other test calls, so parallel tests cannot move its count.
const OPERATION: &str = "DynamoDB_20120810.DescribeTimeToLive";

#[tokio::test]
async fn every_call_the_emulator_answers_is_counted_under_its_operation() {
    let config = stampede_tests::emulator_config().await; // fails clearly without the emulator
    let db = aws_sdk_dynamodb::Client::new(&kit::aws::sdk_config().await);
    let before = stampede_tests::emulator_calls(OPERATION).await;
    for _ in 0..3 {
        db.describe_time_to_live().table_name(&config.table).send().await.unwrap();
    }
    assert_eq!(stampede_tests::emulator_calls(OPERATION).await - before, 3);
}
