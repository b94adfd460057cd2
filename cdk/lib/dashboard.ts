// One CloudWatch dashboard per environment: latency, errors, throttles, queues and the origin.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as elb from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Stage } from './stage';

/** The serverless core as the dashboard shows it (from the Core stack's `monitored()`). */
export interface Monitored {
  readonly api: lambda.IFunction;
  readonly jobs: lambda.IFunction;
  readonly table: dynamodb.ITable;
  readonly queues: { readonly name: string; readonly queue: sqs.IQueue; readonly deadLetters: sqs.IQueue }[];
  readonly alarms: cloudwatch.IAlarm[];
}

export interface DashboardProps {
  readonly stage: Stage;
  readonly monitored: Monitored;
  readonly origin: ecsPatterns.ApplicationLoadBalancedFargateService;
}

export class Dashboard extends Construct {
  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const { monitored: core, origin } = props;
    const period = Duration.minutes(1);
    const api = core.api;
    const alb = origin.loadBalancer.metrics;
    const sum = { period, statistic: 'Sum' };
    const graph = (title: string, left: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, width: 12, height: 6 });

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `stampede-${props.stage.name}`,
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      graph('API latency (ms)', [
        api.metricDuration({ period, statistic: 'p50', label: 'api Lambda p50' }),
        api.metricDuration({ period, statistic: 'p99', label: 'api Lambda p99' }),
        alb.targetResponseTime({ period, statistic: 'p50', label: 'origin p50' }).with({ label: 'origin p50 (s)' }),
        alb.targetResponseTime({ period, statistic: 'p99', label: 'origin p99' }).with({ label: 'origin p99 (s)' }),
      ]),
      graph('Requests', [api.metric('UrlRequestCount', { ...sum, label: 'api (Function URL)' }), alb.requestCount({ ...sum, label: 'origin (ALB)' })]),
    );
    dashboard.addWidgets(
      graph('Errors', [
        api.metric('Url5xxCount', { ...sum, label: 'api 5xx' }),
        api.metricErrors({ ...sum, label: 'api invocation errors' }),
        alb.httpCodeTarget(elb.HttpCodeTarget.TARGET_5XX_COUNT, { ...sum, label: 'origin 5xx' }),
        alb.httpCodeElb(elb.HttpCodeElb.ELB_5XX_COUNT, { ...sum, label: 'ALB 5xx' }),
        core.jobs.metricErrors({ ...sum, label: 'jobs errors' }),
      ]),
      graph('Throttles', [
        api.metricThrottles({ ...sum, label: 'api Lambda' }),
        core.jobs.metricThrottles({ ...sum, label: 'jobs Lambda' }),
        core.table.metric('ReadThrottleEvents', { ...sum, label: 'DynamoDB reads' }),
        core.table.metric('WriteThrottleEvents', { ...sum, label: 'DynamoDB writes' }),
      ]),
    );
    const queues = core.queues;
    dashboard.addWidgets(
      graph(
        'Dead-letter queue depth',
        queues.map((q) => q.deadLetters.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: q.name })),
      ),
      graph(
        'Age of oldest message (s)',
        queues.map((q) => q.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum', label: q.name })),
      ),
    );
    dashboard.addWidgets(
      graph('Origin tasks CPU %', [origin.service.metricCpuUtilization({ period, label: 'CPU' })]),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        alarms: core.alarms,
        width: 12,
        height: 6,
      }),
    );
  }
}
