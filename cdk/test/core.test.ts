import { Match } from 'aws-cdk-lib/assertions';
import { only, synth } from './helpers';

const { core, coreTemplate: template } = synth('dev');

describe('data', () => {
  test('the single table: pk/sk, GSI1, TTL on expires_at, on demand, a keys-only stream', () => {
    const { resource } = only(template, 'AWS::DynamoDB::Table');
    const props = resource.Properties;
    expect(props.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(props.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'gsi1',
        KeySchema: [
          { AttributeName: 'gsi1pk', KeyType: 'HASH' },
          { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: 'expires_at', Enabled: true });
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.StreamSpecification).toEqual({ StreamViewType: 'KEYS_ONLY' });
  });

  test('the media bucket blocks public access and notifies the media queue of uploads', () => {
    const { resource } = only(template, 'AWS::S3::Bucket');
    const props = resource.Properties;
    expect(props.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const mediaQueue = core.resolve(core.queues.media.queue.queueArn);
    expect(props.NotificationConfiguration.QueueConfigurations).toEqual([
      {
        Event: 's3:ObjectCreated:*',
        Queue: mediaQueue,
        Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'originals/' }] } },
      },
    ]);
    expect(props.LifecycleConfiguration.Rules).toEqual(
      expect.arrayContaining([expect.objectContaining({ Prefix: 'originals/', Status: 'Enabled' })]),
    );
  });

  test('no Lambda-backed custom resources (the core deploys anywhere CloudFormation runs)', () => {
    const types = Object.values(template.toJSON().Resources).map((r: any) => r.Type as string);
    expect(types.filter((t) => t.startsWith('Custom::') || t === 'AWS::CloudFormation::CustomResource')).toEqual([]);
  });
});

describe('async', () => {
  const jobsTimeout = core.resolve(core.functions.jobs.timeout!.toSeconds());

  test.each(['jobs', 'media'] as const)('the %s queue redrives to its DLQ after 5 receives', (name) => {
    const workQueue = core.queues[name];
    const queue = template.toJSON().Resources[core.getLogicalId(workQueue.queue.node.defaultChild as any)];
    expect(queue.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: core.resolve(workQueue.deadLetters.queueArn),
      maxReceiveCount: 5,
    });
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * jobsTimeout);
  });

  test('maxReceiveCount is configurable', () => {
    const { core: other, coreTemplate } = synth('dev', { maxReceiveCount: 3 });
    const queue = coreTemplate.toJSON().Resources[other.getLogicalId(other.queues.jobs.queue.node.defaultChild as any)];
    expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(3);
  });

  const mappings = () => Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as any[];
  const fromQueues = () => mappings().filter((m) => m.Properties.StartingPosition === undefined);

  test('the jobs function consumes both queues with partial batch failures', () => {
    expect(fromQueues()).toHaveLength(2);
    for (const mapping of fromQueues()) {
      expect(mapping.Properties).toMatchObject({
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: 1,
        ScalingConfig: { MaximumConcurrency: 2 },
      });
    }
  });

  test('the like counter reads the table stream: one ordered batch per shard, windows for shard ids, likes only', () => {
    const stream = mappings().filter((m) => m.Properties.StartingPosition !== undefined);
    expect(stream).toHaveLength(1);
    const props = stream[0].Properties;
    expect(props.EventSourceArn).toEqual(core.resolve(core.data.table.tableStreamArn));
    expect(props).toMatchObject({
      FunctionName: core.resolve(core.functions.jobs.functionName),
      StartingPosition: 'TRIM_HORIZON',
      // More than 1 would hand one shard's changes to concurrent calls: the per-shard sequence check needs order.
      ParallelizationFactor: 1,
      TumblingWindowInSeconds: 1,
      BisectBatchOnFunctionError: false,
      DestinationConfig: { OnFailure: { Destination: core.resolve(core.queues.streamFailures.queueArn) } },
    });
    // Unset: retried until it succeeds (CloudFormation's -1), as a skipped batch's likes could never be counted.
    expect(props.MaximumRetryAttempts).toBeUndefined();
    const pattern = JSON.parse(props.FilterCriteria.Filters[0].Pattern);
    expect(pattern.dynamodb.Keys.sk.S).toEqual([{ prefix: 'LIKE#' }]);
    expect(pattern.eventName).toEqual(['INSERT', 'REMOVE']);
  });
});

describe('functions', () => {
  test('the api answers its own timeout before Lambda ends the invocation', () => {
    const api = template.toJSON().Resources[core.getLogicalId(core.functions.api.node.defaultChild as any)];
    expect(Number(api.Properties.Environment.Variables.REQUEST_TIMEOUT_MS)).toBe(api.Properties.Timeout * 1000 - 1000);
  });

  test('api and jobs are Rust on provided.al2023, x86_64, JSON logs, active tracing', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as any[];
    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'provided.al2023',
        Handler: 'bootstrap',
        Architectures: ['x86_64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: expect.objectContaining({ LogFormat: 'JSON' }),
      });
      const apiOnly = ['REQUEST_TIMEOUT_MS', 'EDGE_SECRET_ARN', 'AUTH_ISSUER', 'AUTH_AUDIENCE'];
      const variables = Object.keys(fn.Properties.Environment.Variables).filter((v) => !apiOnly.includes(v));
      expect(variables.sort()).toEqual(
        [
          'CURSOR_SECRET_ARN',
          'JOBS_QUEUE_URL',
          'LATEST_SHARDS',
          
          'LOG_FORMAT',
          'MEDIA_BUCKET',
          'RUST_LOG',
          'TABLE_NAME',
        ].sort(),
      );
    }
  });

  test('arm64 is one context flag away', () => {
    const arm = synth('dev', { arch: 'arm64' }).coreTemplate;
    for (const fn of Object.values(arm.findResources('AWS::Lambda::Function')) as any[]) {
      expect(fn.Properties.Architectures).toEqual(['arm64']);
    }
  });

  test('the api has a Function URL (the edge upstream), guarded by the edge secret, and reserved concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: core.resolve(core.functions.api.functionArn),
    });
    const api = template.toJSON().Resources[core.getLogicalId(core.functions.api.node.defaultChild as any)];
    expect(api.Properties.ReservedConcurrentExecutions).toBe(20);
  });

  test('S3 permissions are scoped to prefixes: the api signs uploads and thumbnail links, jobs read and write', () => {
    const bucketArn = core.resolve(core.data.mediaBucket.bucketArn);
    const statements = (Object.values(template.findResources('AWS::IAM::Policy')) as any[]).flatMap(
      (p) => p.Properties.PolicyDocument.Statement,
    );
    const s3Statements = statements.filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('s3:')));
    const resources = s3Statements.flatMap((s: any) => [s.Resource].flat()).map((r: any) => JSON.stringify(r));
    for (const prefix of ['originals/*', 'thumbnails/*']) {
      expect(resources).toContain(JSON.stringify({ 'Fn::Join': ['', [bucketArn, `/${prefix}`]] }));
    }
    expect(resources.every((r: string) => r.includes('/originals/*') || r.includes('/thumbnails/*') || r === JSON.stringify(bucketArn))).toBe(true);
  });

  test('DynamoDB permissions are scoped to the table and its indexes, stream reads to its stream', () => {
    const tableArn = core.resolve(core.data.table.tableArn);
    const streamArn = core.resolve(core.data.table.tableStreamArn);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as any[];
    const dynamoStatements = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: any) => [s.Action].flat().some((a: string) => a.startsWith('dynamodb:')));
    expect(dynamoStatements.length).toBeGreaterThanOrEqual(2);
    for (const statement of dynamoStatements) {
      const actions = [statement.Action].flat();
      if (actions.every((a: string) => a === 'dynamodb:ListStreams')) {
        expect(statement.Resource).toBe('*'); // ListStreams has no resource-level permissions
      } else if (JSON.stringify(statement.Resource) === JSON.stringify(streamArn)) {
        const streamActions = ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'];
        expect(actions.every((a: string) => streamActions.includes(a))).toBe(true);
      } else {
        expect(statement.Resource).toEqual([tableArn, { 'Fn::Join': ['', [tableArn, '/index/*']] }]);
      }
    }
    const allActions = policies.flatMap((p) => p.Properties.PolicyDocument.Statement).flatMap((s: any) => [s.Action].flat());
    expect(allActions).not.toContain('dynamodb:*');
    expect(allActions).not.toContain('*');
  });

  test('no function environment holds a secret value: secrets are passed by ARN and read with the role', () => {
    expect(Object.keys(template.findResources('AWS::SecretsManager::Secret'))).toHaveLength(2);
    const resources = template.toJSON().Resources;
    const variables = (fn: any) => resources[core.getLogicalId(fn.node.defaultChild as any)].Properties.Environment.Variables;
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function')) as any[]) {
      const environment = fn.Properties.Environment.Variables;
      expect(JSON.stringify(environment)).not.toContain('{{resolve:');
      expect(Object.keys(environment).filter((name) => /SECRET/.test(name) && !name.endsWith('_ARN'))).toEqual([]);
    }
    const api = variables(core.functions.api);
    expect(api.CURSOR_SECRET_ARN).toEqual(core.resolve(core.cursorSecret.secretArn));
    expect(api.EDGE_SECRET_ARN).toEqual(core.resolve(core.edgeSecret.secretArn));
    expect(variables(core.functions.jobs).CURSOR_SECRET_ARN).toEqual(core.resolve(core.cursorSecret.secretArn));
    expect(variables(core.functions.jobs).EDGE_SECRET_ARN).toBeUndefined();

    const reads = (role: string) =>
      (Object.values(template.findResources('AWS::IAM::Policy')) as any[])
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((s: any) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
        .map((s: any) => JSON.stringify(s.Resource));
    const role = (fn: any) => core.getLogicalId(fn.role.node.defaultChild);
    expect(reads(role(core.functions.api)).sort()).toEqual(
      [core.cursorSecret, core.edgeSecret].map((secret) => JSON.stringify(core.resolve(secret.secretArn))).sort(),
    );
    expect(reads(role(core.functions.jobs))).toEqual([JSON.stringify(core.resolve(core.cursorSecret.secretArn))]);
    template.hasOutput('EdgeSecretArn', {});
  });
});

describe('identity', () => {
  test('a user pool with a public app client per stage', () => {
    for (const stage of ['dev', 'prod']) {
      const { coreTemplate } = stage === 'dev' ? { coreTemplate: template } : synth(stage);
      coreTemplate.hasResourceProperties('AWS::Cognito::UserPool', {
        UserPoolName: `stampede-${stage}`,
        UsernameAttributes: ['email'],
      });
      const { resource: client } = only(coreTemplate, 'AWS::Cognito::UserPoolClient');
      expect(client.Properties.GenerateSecret).toBe(false);
      expect(client.Properties.ExplicitAuthFlows).toEqual(
        expect.arrayContaining(['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH']),
      );
    }
  });

  test("the api trusts the pool: its issuer and the client id reach the function", () => {
    const api = template.toJSON().Resources[core.getLogicalId(core.functions.api.node.defaultChild as any)];
    const env = api.Properties.Environment.Variables;
    const poolRef = core.resolve(core.identity.userPool.userPoolId);
    expect(env.AUTH_ISSUER).toEqual({
      'Fn::Join': ['', ['https://cognito-idp.', { Ref: 'AWS::Region' }, '.amazonaws.com/', poolRef]],
    });
    expect(env.AUTH_AUDIENCE).toEqual(core.resolve(core.identity.client.userPoolClientId));
    for (const output of ['UserPoolId', 'UserPoolClientId', 'AuthIssuer']) {
      template.hasOutput(output, {});
    }
  });
});

describe('observability', () => {
  test('alarms: each DLQ above 0, queue age, API 5xx rate, Lambda and DynamoDB throttles', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];
    const dlqAlarms = alarms.filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(dlqAlarms).toHaveLength(3); // two dead-letter queues, and the like counter's stream failures
    for (const alarm of dlqAlarms) {
      expect(alarm.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    }
    expect(alarms.filter((a) => a.Properties.MetricName === 'ApproximateAgeOfOldestMessage')).toHaveLength(2);
    expect(alarms.filter((a) => a.Properties.MetricName === 'Throttles')).toHaveLength(2);
    expect(alarms.filter((a) => a.Properties.MetricName === 'IteratorAge')).toHaveLength(1);
    const expressions = alarms.flatMap((a) => (a.Properties.Metrics ?? []).map((m: any) => m.Expression)).filter(Boolean);
    expect(expressions).toEqual(expect.arrayContaining([expect.stringContaining('errors / MAX([requests, 1])'), 'reads + writes']));
  });

  test('dev alarms only change state; an alarm email subscribes to the topic', () => {
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[]) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
    synth('dev', { alarmEmail: 'ops@example.com' }).coreTemplate.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  test('outputs feed the edge, the local stack and code deploys onto the functions', () => {
    const outputs = Object.keys(template.toJSON().Outputs);
    expect(outputs).toEqual(
      expect.arrayContaining(['TableName', 'TableStreamArn', 'MediaBucketName', 'JobsQueueUrl', 'JobsDeadLetterQueueUrl', 'MediaQueueUrl', 'ApiFunctionUrl']),
    );
    template.hasOutput('ApiFunctionName', { Value: core.resolve(core.functions.api.functionName) });
    template.hasOutput('JobsFunctionName', { Value: core.resolve(core.functions.jobs.functionName) });
  });
});

test('the table is referenced, never named: a second environment never collides', () => {
  template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: Match.absent() });
});
