// Work queues, each with its dead-letter queue. A message that fails maxReceiveCount times moves to the DLQ;
// `jobs redrive` moves it back once fixed. Visibility is 6× the consumer's timeout (AWS's guidance for Lambda
// event sources) so a batch still running is never handed to a second consumer.
import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { common } from './stage';

export class WorkQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, maxReceiveCount: number) {
    super(scope, id);
    this.deadLetters = new sqs.Queue(this, 'DeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      visibilityTimeout: Duration.seconds(common.jobsTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetters, maxReceiveCount },
    });
  }
}

export class Queues extends Construct {
  /** Application events (likes to roll up, notifications). */
  readonly jobs: WorkQueue;
  /** S3 object-created events of media uploads. */
  readonly media: WorkQueue;
  /**
   * Where the like counter's event source mapping reports stream batches it gave up on (which shard, which
   * sequence numbers; the records stay in the stream for 24 hours). Anything here is an uncounted like.
   */
  readonly streamFailures: sqs.Queue;

  /** `maxReceiveCount`: receives before a message moves to its dead-letter queue. */
  constructor(scope: Construct, id: string, maxReceiveCount: number = common.maxReceiveCount) {
    super(scope, id);
    this.jobs = new WorkQueue(this, 'Jobs', maxReceiveCount);
    this.media = new WorkQueue(this, 'Media', maxReceiveCount);
    this.streamFailures = new sqs.Queue(this, 'StreamFailures', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
  }

  all(): WorkQueue[] {
    return [this.jobs, this.media];
  }

  /**
   * Sends object-created events under `prefix` to the media queue. Written as the bucket's own
   * NotificationConfiguration rather than CDK's custom-resource-backed addEventNotification, so the template
   * needs no Lambda-backed custom resource (and deploys into emulators that cannot run one).
   */
  notifyOnUpload(bucket: s3.Bucket, prefix: string): void {
    const queue = this.media.queue;
    const policy = new sqs.QueuePolicy(this, 'MediaFromS3', { queues: [queue] });
    policy.document.addStatements(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [queue.queueArn],
        // The bucket's ARN here would be a dependency cycle (the bucket validates the queue policy on create).
        conditions: { StringEquals: { 'aws:SourceAccount': bucket.stack.account } },
      }),
    );
    const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
    cfnBucket.notificationConfiguration = {
      queueConfigurations: [
        {
          event: 's3:ObjectCreated:*',
          queue: queue.queueArn,
          filter: { s3Key: { rules: [{ name: 'prefix', value: prefix }] } },
        },
      ],
    };
    cfnBucket.node.addDependency(policy);
  }
}
