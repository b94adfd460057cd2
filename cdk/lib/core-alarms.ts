// Alarms on the serverless core: dead letters, stuck queues, API 5xx rate, Lambda and DynamoDB throttles.
// In stages with alarmActions they notify the SNS topic (subscribe with `-c alarmEmail=you@example.com`).
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { Data } from './data';
import { Functions } from './functions';
import { Queues } from './queues';
import { Stage } from './stage';

export interface CoreAlarmsProps {
  readonly stage: Stage;
  readonly data: Data;
  readonly queues: Queues;
  readonly functions: Functions;
  readonly email?: string;
}

const minute = Duration.minutes(1);

export class CoreAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: CoreAlarmsProps) {
    super(scope, id);
    const { stage, data, queues, functions } = props;
    this.topic = new sns.Topic(this, 'Topic', { displayName: `Stampede ${stage.name} alarms` });
    if (props.email) {
      this.topic.addSubscription(new EmailSubscription(props.email));
    }

    for (const workQueue of queues.all()) {
      const name = workQueue.node.id;
      this.add(`${name}DeadLetters`, 'Messages in a dead-letter queue: inspect with `jobs dlq`, redrive once fixed', {
        metric: workQueue.deadLetters.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: 'Maximum' }),
        threshold: 0,
        evaluationPeriods: 1,
      });
      this.add(`${name}Age`, 'The oldest message has waited over 5 minutes: consumers are failing or too few', {
        metric: workQueue.queue.metricApproximateAgeOfOldestMessage({ period: minute, statistic: 'Maximum' }),
        threshold: 300,
        evaluationPeriods: 3,
      });
    }

    this.add('StreamFailures', 'Stream records aged out before the like counter took them: likes not counted', {
      metric: queues.streamFailures.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: 'Maximum' }),
      threshold: 0,
      evaluationPeriods: 1,
    });
    this.add('LikeCounterLag', 'The like counter is over a minute behind the table stream: a batch keeps failing', {
      metric: functions.jobs.metric('IteratorAge', { period: minute, statistic: 'Maximum' }),
      threshold: 60_000,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    });
    const url = (metricName: string) =>
      functions.api.metric(metricName, { period: minute, statistic: 'Sum' });
    this.add('Api5xxRate', 'Over 1% of API requests (Function URL) end in 5xx', {
      metric: new cloudwatch.MathExpression({
        expression: '100 * errors / MAX([requests, 1])',
        usingMetrics: { errors: url('Url5xxCount'), requests: url('UrlRequestCount') },
        period: minute,
        label: 'API 5xx %',
      }),
      threshold: 1,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
    });
    for (const fn of [functions.api, functions.jobs]) {
      this.add(`${fn.node.id}Throttles`, `The ${fn.node.id} function is throttled (concurrency exhausted)`, {
        metric: fn.metricThrottles({ period: minute, statistic: 'Sum' }),
        threshold: 0,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      });
    }
    this.add('DynamoDbThrottles', 'DynamoDB throttled requests: a hot partition or an account limit', {
      metric: new cloudwatch.MathExpression({
        expression: 'reads + writes',
        usingMetrics: {
          reads: data.table.metric('ReadThrottleEvents', { period: minute, statistic: 'Sum' }),
          writes: data.table.metric('WriteThrottleEvents', { period: minute, statistic: 'Sum' }),
        },
        period: minute,
        label: 'DynamoDB throttle events',
      }),
      threshold: 0,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    });

    if (stage.alarmActions) {
      const action = new SnsAction(this.topic);
      this.alarms.forEach((alarm) => alarm.addAlarmAction(action));
    }
  }

  private add(id: string, description: string, props: Omit<cloudwatch.AlarmProps, 'alarmDescription'>): void {
    this.alarms.push(
      new cloudwatch.Alarm(this, id, {
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...props,
        alarmDescription: description,
      }),
    );
  }
}
