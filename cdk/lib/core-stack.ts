// The serverless core of an environment: data, queues, functions and their alarms. Everything the API needs to
// run on Lambda; this is the stack the local emulator deploy and the integration tests run on.
import { CfnOutput, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CoreAlarms } from './core-alarms';
import { Monitored } from './dashboard';
import { Data } from './data';
import { ServingResources } from './app-config';
import { Functions } from './functions';
import { Identity } from './identity';
import { Queues } from './queues';
import { Stage } from './stage';

export interface CoreStackProps extends StackProps {
  readonly stage: Stage;
  readonly architecture: lambda.Architecture;
  readonly lambdaCodeDir?: string;
  readonly alarmEmail?: string;
  readonly maxReceiveCount?: number;
}

export class CoreStack extends Stack {
  readonly data: Data;
  readonly queues: Queues;
  readonly functions: Functions;
  readonly alarms: CoreAlarms;
  readonly cursorSecret: secretsmanager.Secret;
  readonly edgeSecret: secretsmanager.Secret;
  readonly identity: Identity;
  /** What the hosts serving the API (the api function here, the origin in its own stack) are given. */
  readonly app: ServingResources;

  constructor(scope: Construct, id: string, props: CoreStackProps) {
    super(scope, id, props);
    const { stage } = props;
    this.data = new Data(this, 'Data', stage);
    this.queues = new Queues(this, 'Queues', props.maxReceiveCount);
    this.queues.notifyOnUpload(this.data.mediaBucket, 'originals/');
    this.cursorSecret = new secretsmanager.Secret(this, 'CursorSecret', {
      description: 'Signs pagination cursors (CURSOR_SECRET); the same for every instance of the app',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: stage.removalPolicy,
    });
    // Regenerated if the stack is replaced: `scripts/edge-deploy` then hands the new value to the edge again.
    // Rotating it needs no downtime: the hosts accept its current and previous versions (docs/edge.md).
    this.edgeSecret = new secretsmanager.Secret(this, 'EdgeSecret', {
      description: 'Proves a request came through the edge (EDGE_SECRET): the origin and the api function refuse others',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.identity = new Identity(this, 'Identity', stage);
    this.app = {
      table: this.data.table,
      jobsQueue: this.queues.jobs.queue,
      mediaBucket: this.data.mediaBucket,
      cursorSecret: this.cursorSecret,
      edgeSecret: this.edgeSecret,
      identity: this.identity,
    };
    this.functions = new Functions(this, 'Functions', {
      stage,
      data: this.data,
      queues: this.queues,
      app: this.app,
      architecture: props.architecture,
      codeDir: props.lambdaCodeDir,
    });
    this.alarms = new CoreAlarms(this, 'Alarms', {
      stage,
      data: this.data,
      queues: this.queues,
      functions: this.functions,
      email: props.alarmEmail,
    });

    const outputs: Record<string, string> = {
      TableName: this.data.table.tableName,
      // For `jobs --stream` locally: the like counter's event source.
      TableStreamArn: this.data.table.tableStreamArn!,
      MediaBucketName: this.data.mediaBucket.bucketName,
      JobsQueueUrl: this.queues.jobs.queue.queueUrl,
      JobsDeadLetterQueueUrl: this.queues.jobs.deadLetters.queueUrl,
      MediaQueueUrl: this.queues.media.queue.queueUrl,
      MediaDeadLetterQueueUrl: this.queues.media.deadLetters.queueUrl,
      ApiFunctionUrl: this.functions.apiUrl.url,
      // For `scripts/deploy function`: new code onto these functions, their configuration left to this stack.
      ApiFunctionName: this.functions.api.functionName,
      JobsFunctionName: this.functions.jobs.functionName,
      CursorSecretArn: this.cursorSecret.secretArn,
      EdgeSecretArn: this.edgeSecret.secretArn,
      AlarmTopicArn: this.alarms.topic.topicArn,
    };
    for (const [name, value] of Object.entries(outputs)) {
      new CfnOutput(this, name, { value });
    }
  }

  /** What the environment's dashboard (in the Origin stack) shows of this stack. */
  monitored(): Monitored {
    return {
      api: this.functions.api,
      jobs: this.functions.jobs,
      table: this.data.table,
      queues: this.queues.all().map((q) => ({ name: q.node.id, queue: q.queue, deadLetters: q.deadLetters })),
      alarms: this.alarms.alarms,
    };
  }
}
