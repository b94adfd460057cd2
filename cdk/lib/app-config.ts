// What every host of the app (api function, jobs function, origin container) is configured with: the same
// variables the Rust code reads (README, "Configuration"), and the grants the request path needs.
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { common } from './stage';

export interface AppResources {
  readonly table: dynamodb.ITable;
  readonly jobsQueue: sqs.IQueue;
  readonly mediaBucket: s3.IBucket;
}

export function appEnvironment(resources: AppResources): Record<string, string> {
  return {
    TABLE_NAME: resources.table.tableName,
    JOBS_QUEUE_URL: resources.jobsQueue.queueUrl,
    MEDIA_BUCKET: resources.mediaBucket.bucketName,
    LIKE_SHARDS: String(common.likeShards),
    LATEST_SHARDS: String(common.latestShards),
    LOG_FORMAT: 'json',
    RUST_LOG: 'info',
  };
}

/**
 * What serving requests needs: the table, sending events to the jobs queue, and signing upload URLs for
 * originals and download URLs for thumbnails (a presigned URL carries the signer's permissions).
 */
export function grantRequestPath(resources: AppResources, grantee: iam.IGrantable): void {
  resources.table.grantReadWriteData(grantee);
  resources.jobsQueue.grantSendMessages(grantee);
  resources.mediaBucket.grantPut(grantee, 'originals/*');
  resources.mediaBucket.grantRead(grantee, 'thumbnails/*');
}
