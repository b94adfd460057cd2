// The Lambda functions: `api` (the HTTP API behind a Function URL, the edge's second upstream, answering only
// requests carrying the edge secret, trusting the stage's user pool) and `jobs` (SQS consumers with partial batch
// failures, and the like counter on the table's stream). Least privilege: each gets exactly the grants it uses;
// secrets reach them by ARN, never by value.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ServingResources, appEnvironment, grantRequestPath, servingEnvironment } from './app-config';
import { Data } from './data';
import { Queues } from './queues';
import { rustLambda } from './rust-lambda';
import { Stage, common } from './stage';

export interface FunctionsProps {
  readonly stage: Stage;
  readonly data: Data;
  readonly queues: Queues;
  /** Everything the api needs to serve requests (the jobs function uses the part every host uses). */
  readonly app: ServingResources;
  readonly architecture: lambda.Architecture;
  /** Prebuilt bootstrap binaries instead of a cargo-lambda build (see rust-lambda.ts). */
  readonly codeDir?: string;
}

export class Functions extends Construct {
  readonly api: lambda.Function;
  readonly apiUrl: lambda.FunctionUrl;
  readonly jobs: lambda.Function;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    const { stage, data, queues, app } = props;
    const logGroup = (name: string) =>
      new logs.LogGroup(this, `${name}Logs`, { retention: stage.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const shared = {
      architecture: props.architecture,
      codeDir: props.codeDir,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
    };

    this.api = rustLambda(this, 'Api', {
      ...shared,
      // The app answers 504 (problem+json) a second before Lambda would cut the invocation off.
      environment: {
        ...servingEnvironment(app),
        REQUEST_TIMEOUT_MS: String(common.apiTimeout.toMilliseconds() - 1000),
      },
      binary: 'api',
      description: 'Stampede HTTP API (app::router through lambda_http)',
      memorySize: 512,
      timeout: common.apiTimeout,
      reservedConcurrentExecutions: stage.apiReservedConcurrency,
      logGroup: logGroup('Api'),
    });
    // No IAM auth (the edge cannot sign SigV4 cheaply); the app itself refuses requests without EDGE_SECRET.
    this.apiUrl = this.api.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    grantRequestPath(app, this.api);

    this.jobs = rustLambda(this, 'Jobs', {
      ...shared,
      environment: appEnvironment(app),
      binary: 'jobs',
      description: 'Stampede jobs (like counting from the table stream, like rollups, media thumbnails)',
      memorySize: 1024,
      timeout: common.jobsTimeout,
      logGroup: logGroup('Jobs'),
    });
    data.table.grantReadWriteData(this.jobs);
    app.cursorSecret.grantRead(this.jobs);
    data.mediaBucket.grantRead(this.jobs, 'originals/*');
    data.mediaBucket.grantPut(this.jobs, 'thumbnails/*');
    for (const workQueue of queues.all()) {
      this.jobs.addEventSource(
        new SqsEventSource(workQueue.queue, {
          batchSize: 10,
          maxBatchingWindow: Duration.seconds(1),
          reportBatchItemFailures: true,
          maxConcurrency: stage.jobsMaxConcurrency,
        }),
      );
      // Permanent failures are sent straight to the dead-letter queue with their reason.
      workQueue.deadLetters.grantSendMessages(this.jobs);
    }
    // The like counter (app::jobs::like_counts). The tumbling window is there for the shard id it gives each
    // call, which makes counting exactly-once; one batch per shard at a time (parallelization 1) keeps each
    // shard's changes in order. A failing batch is retried whole (counting is idempotent) until it succeeds:
    // skipping it would lose its likes for good (later batches move the counters past them), so a stuck shard
    // shows as iterator age (an alarm) instead; only records that age out of the stream (24 h) are reported to
    // streamFailures. Only like changes reach the function.
    this.jobs.addEventSource(
      new DynamoEventSource(data.table, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: common.likeCounterBatchSize,
        maxBatchingWindow: common.likeCounterBatchingWindow,
        tumblingWindow: common.likeCounterBatchingWindow,
        parallelizationFactor: 1,
        bisectBatchOnError: false,
        onFailure: new SqsDlq(queues.streamFailures),
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.or('INSERT', 'REMOVE'),
            dynamodb: { Keys: { pk: { S: lambda.FilterRule.beginsWith('USER#') }, sk: { S: lambda.FilterRule.beginsWith('LIKE#') } } },
          }),
        ],
      }),
    );
  }
}
