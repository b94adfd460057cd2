// What differs between environments. Everything not here is the same in every stage; docs/infrastructure.md
// lists these differences, and test/stages.test.ts checks that dev and prod templates differ exactly here.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

export interface Stage {
  readonly name: 'dev' | 'prod';
  /** DynamoDB point-in-time recovery (35 days of restorable history). */
  readonly pointInTimeRecovery: boolean;
  /** Whether data (table, bucket, secret) survives `cdk destroy` and stack replacement. */
  readonly removalPolicy: RemovalPolicy;
  /** Concurrency reserved for the api function: a floor it always gets and a ceiling it never exceeds. */
  readonly apiReservedConcurrency: number;
  /** How many jobs functions one queue may drive at once (event source maximum concurrency). */
  readonly jobsMaxConcurrency: number;
  /** Whether alarms notify the SNS topic (in dev they only change state). */
  readonly alarmActions: boolean;
  readonly originMinTasks: number;
  readonly originMaxTasks: number;
  readonly natGateways: number;
  readonly logRetention: RetentionDays;
}

const stages: Record<Stage['name'], Stage> = {
  dev: {
    name: 'dev',
    pointInTimeRecovery: false,
    removalPolicy: RemovalPolicy.DESTROY,
    apiReservedConcurrency: 20,
    jobsMaxConcurrency: 2,
    alarmActions: false,
    originMinTasks: 2,
    originMaxTasks: 4,
    natGateways: 1,
    logRetention: RetentionDays.ONE_WEEK,
  },
  prod: {
    name: 'prod',
    pointInTimeRecovery: true,
    removalPolicy: RemovalPolicy.RETAIN,
    apiReservedConcurrency: 400,
    jobsMaxConcurrency: 50,
    alarmActions: true,
    originMinTasks: 2,
    originMaxTasks: 40,
    natGateways: 2,
    logRetention: RetentionDays.ONE_MONTH,
  },
};

export function stageNamed(name: string): Stage {
  const stage = stages[name as Stage['name']];
  if (!stage) {
    throw new Error(`unknown stage "${name}": use -c stage=${Object.keys(stages).join('|')}`);
  }
  return stage;
}

/** Settings the same in every stage. */
export const common = {
  /** The jobs function's timeout; queue visibility is 6× this so a message is not redelivered mid-run. */
  jobsTimeout: Duration.seconds(30),
  apiTimeout: Duration.seconds(10),
  /**
   * The origin's own request timeout: below the edge's ORIGIN_TIMEOUT_MS (edge/wrangler.toml, 3 s), so the origin
   * answers 504 itself rather than being cut off by the edge while it keeps working.
   */
  originRequestTimeout: Duration.millis(2500),
  /** Receives before a message moves to its dead-letter queue (`-c maxReceiveCount=N` to change). */
  maxReceiveCount: 5,
  /** The like counter reads the table stream in calls of up to this many records... */
  likeCounterBatchSize: 1000,
  /** ...gathered for at most this long: the delay a like takes to be counted, and what coalesces a hot post. */
  likeCounterBatchingWindow: Duration.seconds(1),
  latestShards: 16,
};

/** x86_64 unless `-c arch=arm64` (Graviton: cheaper per GB-second and faster cold starts). */
export function architectureFrom(value: string | undefined): Architecture {
  switch (value ?? 'x86_64') {
    case 'x86_64':
      return Architecture.X86_64;
    case 'arm64':
      return Architecture.ARM_64;
    default:
      throw new Error(`unknown architecture "${value}": use -c arch=x86_64|arm64`);
  }
}
