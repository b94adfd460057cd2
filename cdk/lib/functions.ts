// The Lambda functions: `api` (the HTTP API behind a Function URL, the edge's second upstream, answering only
// requests carrying the edge secret) and `jobs` (SQS consumers with partial batch failures). Least privilege:
// each gets exactly the grants it uses.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { AppResources, appEnvironment, grantRequestPath } from './app-config';
import { Data } from './data';
import { Queues } from './queues';
import { rustLambda } from './rust-lambda';
import { Stage, common } from './stage';

export interface FunctionsProps {
  readonly stage: Stage;
  readonly data: Data;
  readonly queues: Queues;
  readonly cursorSecret: secretsmanager.ISecret;
  /** Sent by the edge on every request; the api refuses requests without it. */
  readonly edgeSecret: secretsmanager.ISecret;
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
    const { stage, data, queues } = props;
    const resources: AppResources = { table: data.table, jobsQueue: queues.jobs.queue, mediaBucket: data.mediaBucket };
    const environment = {
      ...appEnvironment(resources),
      // Resolved by CloudFormation at deploy time; the value never appears in the template.
      CURSOR_SECRET: props.cursorSecret.secretValue.unsafeUnwrap(),
    };
    const logGroup = (name: string) =>
      new logs.LogGroup(this, `${name}Logs`, { retention: stage.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const shared = {
      architecture: props.architecture,
      codeDir: props.codeDir,
      environment,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: lambda.Tracing.ACTIVE,
    };

    this.api = rustLambda(this, 'Api', {
      ...shared,
      // The app answers 504 (problem+json) a second before Lambda would cut the invocation off.
      environment: {
        ...environment,
        REQUEST_TIMEOUT_MS: String(common.apiTimeout.toMilliseconds() - 1000),
        EDGE_SECRET: props.edgeSecret.secretValue.unsafeUnwrap(),
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
    grantRequestPath(resources, this.api);

    this.jobs = rustLambda(this, 'Jobs', {
      ...shared,
      binary: 'jobs',
      description: 'Stampede SQS jobs (like rollups, media thumbnails)',
      memorySize: 1024,
      timeout: common.jobsTimeout,
      logGroup: logGroup('Jobs'),
    });
    data.table.grantReadWriteData(this.jobs);
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
  }
}
