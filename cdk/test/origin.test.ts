import * as fs from 'fs';
import * as path from 'path';
import { Match } from 'aws-cdk-lib/assertions';
import { only, synth } from './helpers';

const { originTemplate: template } = synth('dev');

test('Fargate service of at least 2 tasks behind a public ALB, health-checked on /readyz', () => {
  const { resource: service } = only(template, 'AWS::ECS::Service');
  expect(service.Properties).toMatchObject({ LaunchType: 'FARGATE', DesiredCount: 2 });
  expect(service.Properties.DeploymentConfiguration).toMatchObject({
    DeploymentCircuitBreaker: { Enable: true, Rollback: true },
    MinimumHealthyPercent: 100,
  });
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
    HealthCheckPath: '/readyz',
    Matcher: { HttpCode: '200' },
    TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
  });
});

test('a stopping task drains for as long as the ALB takes to see it unhealthy, and ECS waits for it', () => {
  const { resource: group } = only(template, 'AWS::ElasticLoadBalancingV2::TargetGroup');
  const detection = group.Properties.HealthCheckIntervalSeconds * group.Properties.UnhealthyThresholdCount;
  const { resource: task } = only(template, 'AWS::ECS::TaskDefinition');
  const container = task.Properties.ContainerDefinitions[0];
  const env = Object.fromEntries(container.Environment.map((e: any) => [e.Name, e.Value]));
  expect(Number(env.DRAIN_DELAY_MS)).toBe(detection * 1000);
  // The drain, then the slowest request in flight, before SIGKILL (Fargate allows up to 120 s).
  expect(container.StopTimeout * 1000).toBeGreaterThan(Number(env.DRAIN_DELAY_MS) + Number(env.REQUEST_TIMEOUT_MS));
  expect(container.StopTimeout).toBeLessThanOrEqual(120);
});

test('tasks spread over two availability zones', () => {
  const subnets = Object.values(template.findResources('AWS::EC2::Subnet')) as any[];
  const privateSubnets = subnets.filter((s) => s.Properties.MapPublicIpOnLaunch === false);
  const zones = new Set(privateSubnets.map((s) => JSON.stringify(s.Properties.AvailabilityZone)));
  expect(zones.size).toBe(2);
});

test('autoscaling on CPU and on requests per target, from 2 tasks', () => {
  template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 4 });
  const policies = Object.values(template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy')) as any[];
  const metrics = policies.map(
    (p) => p.Properties.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType,
  );
  expect(metrics.sort()).toEqual(['ALBRequestCountPerTarget', 'ECSServiceAverageCPUUtilization']);
});

test('the container gets the app configuration, its secrets by ARN (read by the task role), the issuer, table access', () => {
  const { resource: task } = only(template, 'AWS::ECS::TaskDefinition');
  const container = task.Properties.ContainerDefinitions[0];
  const env = Object.fromEntries(container.Environment.map((e: any) => [e.Name, e.Value]));
  expect(env.BIND_ADDR).toBe('0.0.0.0:8080');
  expect(Object.keys(env)).toEqual(
    expect.arrayContaining([
      'TABLE_NAME',
      'JOBS_QUEUE_URL',
      'MEDIA_BUCKET',
      'LATEST_SHARDS',
      'CURSOR_SECRET_ARN',
      'EDGE_SECRET_ARN',
      'AUTH_ISSUER',
      'AUTH_AUDIENCE',
    ]),
  );
  expect(container.Secrets).toBeUndefined();
  expect(JSON.stringify(env)).not.toContain('{{resolve:');
  expect(container.PortMappings[0].ContainerPort).toBe(8080);
  const taskRole = task.Properties.TaskRoleArn['Fn::GetAtt'][0];
  const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as any[])
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(taskRole))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
  expect(statements.some((s: any) => [s.Action].flat().includes('dynamodb:PutItem'))).toBe(true);
  const secretReads = statements.filter((s: any) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
  expect(secretReads).toHaveLength(2);
});

test('a DynamoDB gateway endpoint keeps table traffic off the NAT gateways', () => {
  template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
});

test('dashboard and the ALB 5xx alarm', () => {
  const { resource: dashboard } = only(template, 'AWS::CloudWatch::Dashboard');
  const body = JSON.stringify(dashboard.Properties.DashboardBody);
  for (const title of ['API latency', 'Errors', 'Throttles', 'Dead-letter queue depth', 'Age of oldest message']) {
    expect(body).toContain(title);
  }
  for (const metric of ['TargetResponseTime', 'HTTPCode_Target_5XX_Count', 'ReadThrottleEvents', 'Url5xxCount', 'p99']) {
    expect(body).toContain(metric);
  }
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];
  expect(alarms).toHaveLength(1);
  expect(JSON.stringify(alarms[0].Properties.Metrics)).toContain('HTTPCode_ELB_5XX_Count');
});

test('HTTPS when given a certificate', () => {
  const tls = synth('dev', { certificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/abc' }).originTemplate;
  tls.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Protocol: 'HTTPS', Port: 443 });
});

test('the image is built from origin/Dockerfile, or named (how the emulator deploys the stack without Docker)', () => {
  const image = (t: any) => only(t, 'AWS::ECS::TaskDefinition').resource.Properties.ContainerDefinitions[0].Image;
  expect(JSON.stringify(image(template))).toContain('cdk-hnb659fds-container-assets');
  const named = synth('dev', { originImage: 'registry.example.com/stampede-origin:1.2.3' }).originTemplate;
  expect(image(named)).toBe('registry.example.com/stampede-origin:1.2.3');
});

test("the image's build context holds every member of the Rust workspace (docker build needs them all)", () => {
  const root = path.resolve(__dirname, '..', '..');
  const manifest = fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8');
  const members = JSON.parse(/members\s*=\s*(\[[^\]]*\])/.exec(manifest)![1]) as string[];
  const allowed = fs
    .readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('!'))
    .map((line) => line.slice(1).replace(/\/$/, ''));
  expect(members.filter((member) => !allowed.some((a) => member === a || member.startsWith(`${a}/`)))).toEqual([]);
});

test("every host gives up before the edge stops waiting for it: it answers 504 itself, not mid-work", () => {
  // The edge's timeouts, as deployed (the [vars] of edge/wrangler.toml).
  const wrangler = fs.readFileSync(path.join(__dirname, '..', '..', 'edge', 'wrangler.toml'), 'utf8');
  const deployedVars = wrangler.split(/^\[/m).find((section) => section.startsWith('vars]'))!;
  const edgeVar = (name: string) => Number(new RegExp(`^${name} = "(\\d+)"`, 'm').exec(deployedVars)![1]);
  const { resource: task } = only(template, 'AWS::ECS::TaskDefinition');
  const env = Object.fromEntries(task.Properties.ContainerDefinitions[0].Environment.map((e: any) => [e.Name, e.Value]));
  expect(Number(env.REQUEST_TIMEOUT_MS)).toBeLessThan(edgeVar('ORIGIN_TIMEOUT_MS'));

  const { core, coreTemplate } = synth('dev');
  const api = coreTemplate.toJSON().Resources[core.getLogicalId(core.functions.api.node.defaultChild as any)];
  const apiRequestTimeout = Number(api.Properties.Environment.Variables.REQUEST_TIMEOUT_MS);
  expect(apiRequestTimeout).toBeLessThan(api.Properties.Timeout * 1000);
  expect(api.Properties.Timeout * 1000).toBeLessThanOrEqual(edgeVar('LAMBDA_TIMEOUT_MS'));
});
