// The container origin: the same router as the api function, on ECS Fargate behind an ALB, for the steady
// baseline load (the edge prefers it and fails over to the api function). Plus the environment's dashboard.
// It takes what it uses from the Core stack (the app's resources, the alarm topic, what the dashboard shows),
// not the stack itself.
import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as certificates from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as elb from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ServingResources, grantRequestPath, servingEnvironment } from './app-config';
import { Dashboard, Monitored } from './dashboard';
import { REPO_ROOT } from './rust-lambda';
import { Stage, common } from './stage';

export interface OriginStackProps extends StackProps {
  readonly stage: Stage;
  readonly app: ServingResources;
  readonly alarmTopic: sns.ITopic;
  readonly monitored: Monitored;
  /** An ACM certificate for the ALB (HTTPS, HTTP redirected); without it the ALB listens on plain HTTP. */
  readonly certificateArn?: string;
  /**
   * An image already in a registry instead of building `origin/Dockerfile` (which needs Docker): how the local
   * emulator deploys this stack, and how a pipeline that builds images elsewhere would.
   */
  readonly image?: string;
}

export class OriginStack extends Stack {
  readonly service: ecsPatterns.ApplicationLoadBalancedFargateService;

  constructor(scope: Construct, id: string, props: OriginStackProps) {
    super(scope, id, props);
    const { stage, app } = props;

    const vpc = new ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: stage.natGateways });
    // DynamoDB traffic stays on the AWS network and off the NAT gateways' per-GB bill.
    vpc.addGatewayEndpoint('DynamoDb', { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB });
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    // A stopping task fails /readyz at once and keeps serving for the drain delay: the time the ALB takes to see
    // it unhealthy, for a SIGTERM the ALB was not told of (ECS deregisters a task before it stops it on deploys and
    // scale-in, but a Spot interruption or a stop call races the deregistration). ECS waits for the drain and the
    // requests still in flight before it kills the container.
    const healthCheck = { interval: Duration.seconds(10), healthyThresholdCount: 2, unhealthyThresholdCount: 3 };
    const drainDelay = Duration.seconds(healthCheck.interval.toSeconds() * healthCheck.unhealthyThresholdCount);
    const slowestRequest = Math.ceil(common.originRequestTimeout.toSeconds({ integral: false }));
    const stopTimeout = drainDelay.plus(Duration.seconds(slowestRequest + 5));

    const https = props.certificateArn !== undefined;
    this.service = new ecsPatterns.ApplicationLoadBalancedFargateService(this, 'Origin', {
      cluster,
      cpu: 512,
      memoryLimitMiB: 1024,
      desiredCount: stage.originMinTasks,
      minHealthyPercent: 100,
      circuitBreaker: { rollback: true },
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      publicLoadBalancer: true,
      protocol: https ? elb.ApplicationProtocol.HTTPS : elb.ApplicationProtocol.HTTP,
      certificate: https ? certificates.Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn!) : undefined,
      redirectHTTP: https,
      taskImageOptions: {
        image: props.image
          ? ecs.ContainerImage.fromRegistry(props.image)
          : ecs.ContainerImage.fromAsset(REPO_ROOT, { file: 'origin/Dockerfile', platform: Platform.LINUX_AMD64 }),
        containerPort: 8080,
        // Secrets by ARN, read by the task's own role at start (and re-read when the edge secret rotates).
        environment: {
          ...servingEnvironment(app),
          BIND_ADDR: '0.0.0.0:8080',
          REQUEST_TIMEOUT_MS: String(common.originRequestTimeout.toMilliseconds()),
          DRAIN_DELAY_MS: String(drainDelay.toMilliseconds()),
        },
      },
    });
    // Readiness, not a database check: a DynamoDB brownout must not have ECS replace every task at once.
    this.service.targetGroup.configureHealthCheck({ path: '/readyz', healthyHttpCodes: '200', ...healthCheck });
    // A deregistered task's in-flight requests get as long as a drain.
    this.service.targetGroup.setAttribute('deregistration_delay.timeout_seconds', String(drainDelay.toSeconds()));
    const taskDefinition = this.service.taskDefinition.node.defaultChild as ecs.CfnTaskDefinition;
    taskDefinition.addPropertyOverride('ContainerDefinitions.0.StopTimeout', stopTimeout.toSeconds());
    grantRequestPath(app, this.service.taskDefinition.taskRole);

    const scaling = this.service.service.autoScaleTaskCount({
      minCapacity: stage.originMinTasks,
      maxCapacity: stage.originMaxTasks,
    });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });
    scaling.scaleOnRequestCount('Requests', { requestsPerTarget: 1000, targetGroup: this.service.targetGroup });

    const alb = this.service.loadBalancer.metrics;
    const minute = Duration.minutes(1);
    const alb5xx = new cloudwatch.Alarm(this, 'Alb5xxRate', {
      alarmDescription: 'Over 1% of origin requests end in 5xx (from the targets or the ALB itself)',
      metric: new cloudwatch.MathExpression({
        expression: '100 * (targets + elb) / MAX([requests, 1])',
        usingMetrics: {
          targets: alb.httpCodeTarget(elb.HttpCodeTarget.TARGET_5XX_COUNT, { period: minute, statistic: 'Sum' }),
          elb: alb.httpCodeElb(elb.HttpCodeElb.ELB_5XX_COUNT, { period: minute, statistic: 'Sum' }),
          requests: alb.requestCount({ period: minute, statistic: 'Sum' }),
        },
        period: minute,
        label: 'origin 5xx %',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (stage.alarmActions) {
      alb5xx.addAlarmAction(new SnsAction(props.alarmTopic));
    }

    new Dashboard(this, 'Dashboard', { stage, monitored: props.monitored, origin: this.service });
    new CfnOutput(this, 'AlbUrl', {
      value: `${https ? 'https' : 'http'}://${this.service.loadBalancer.loadBalancerDnsName}`,
    });
  }
}
