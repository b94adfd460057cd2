// The environment every host of the app (api function, jobs function, origin container) is configured with:
// the same variables the Rust code reads (README, "Configuration").
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { common } from './stage';

export function appEnvironment(table: dynamodb.ITable): Record<string, string> {
  return {
    TABLE_NAME: table.tableName,
    LIKE_SHARDS: String(common.likeShards),
    LATEST_SHARDS: String(common.latestShards),
    LOG_FORMAT: 'json',
    RUST_LOG: 'info',
  };
}
