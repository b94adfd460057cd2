// What every host of the app (api function, jobs function, origin container) is configured with: the same
// variables the Rust code reads (README, "Configuration"), and the grants the request path needs. Secrets are
// passed by ARN and read by the host with its own role at start: no secret value is in any configuration.
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { TokenIssuer } from './identity';
import { common } from './stage';

/** What every host of the app uses. */
export interface AppResources {
  readonly table: dynamodb.ITable;
  readonly jobsQueue: sqs.IQueue;
  readonly mediaBucket: s3.IBucket;
  readonly cursorSecret: secretsmanager.ISecret;
}

/** What a host serving the API (the api function, the origin) uses besides. */
export interface ServingResources extends AppResources {
  /** Sent by the edge with every request; the host refuses requests without it. */
  readonly edgeSecret: secretsmanager.ISecret;
  readonly identity: TokenIssuer;
}

export function appEnvironment(resources: AppResources): Record<string, string> {
  return {
    TABLE_NAME: resources.table.tableName,
    JOBS_QUEUE_URL: resources.jobsQueue.queueUrl,
    MEDIA_BUCKET: resources.mediaBucket.bucketName,
    CURSOR_SECRET_ARN: resources.cursorSecret.secretArn,
    LATEST_SHARDS: String(common.latestShards),
    LOG_FORMAT: 'json',
    RUST_LOG: 'info',
  };
}

export function servingEnvironment(resources: ServingResources): Record<string, string> {
  return {
    ...appEnvironment(resources),
    EDGE_SECRET_ARN: resources.edgeSecret.secretArn,
    AUTH_ISSUER: resources.identity.issuer,
    AUTH_AUDIENCE: resources.identity.audience,
  };
}

/**
 * What serving requests needs: the table, sending events to the jobs queue, signing upload URLs for originals
 * and download URLs for thumbnails (a presigned URL carries the signer's permissions), and reading its secrets.
 */
export function grantRequestPath(resources: ServingResources, grantee: iam.IGrantable): void {
  resources.table.grantReadWriteData(grantee);
  resources.jobsQueue.grantSendMessages(grantee);
  resources.mediaBucket.grantPut(grantee, 'originals/*');
  resources.mediaBucket.grantRead(grantee, 'thumbnails/*');
  resources.cursorSecret.grantRead(grantee);
  resources.edgeSecret.grantRead(grantee);
}
