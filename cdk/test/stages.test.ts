// `cdk synth -c stage=prod` must differ from dev exactly where lib/stage.ts (and docs/infrastructure.md) say:
// every difference between the two templates matches a documented one, and every documented one occurs.
import { synth } from './helpers';

const DOCUMENTED: Record<string, RegExp> = {
  'table point-in-time recovery': /^Core\.Resources\.DataTable\w+\.Properties\.PointInTimeRecoverySpecification\./,
  'table deletion protection': /^Core\.Resources\.DataTable\w+\.Properties\.DeletionProtectionEnabled$/,
  'retain data on delete':
    /^Core\.Resources\.(DataTable|DataMedia|CursorSecret|IdentityUsers)\w+\.(DeletionPolicy|UpdateReplacePolicy)$/,
  'user pool deletion protection': /^Core\.Resources\.IdentityUsers\w+\.Properties\.DeletionProtection$/,
  'api reserved concurrency': /^Core\.Resources\.FunctionsApi\w+\.Properties\.ReservedConcurrentExecutions$/,
  'jobs maximum concurrency': /^Core\.Resources\.FunctionsJobsSqsEventSource\w+\.Properties\.ScalingConfig\.MaximumConcurrency$/,
  // Including the alarm topic's export, which exists only where the origin's alarm notifies it.
  'alarm actions':
    /^((Core\.Resources\.Alarms\w+|Origin\.Resources\.Alb5xxRate\w+)\.Properties\.AlarmActions\.|Core\.Outputs\.ExportsOutputRefAlarmsTopic)/,
  'log retention': /^Core\.Resources\.Functions\w+Logs\w+\.Properties\.RetentionInDays$/,
  'origin maximum tasks': /^Origin\.Resources\.OriginServiceTaskCountTarget\w+\.Properties\.MaxCapacity$/,
  'a NAT gateway per zone': /^Origin\.Resources\.(VpcPublicSubnet2(EIP|NATGateway)\w+\.|VpcPrivateSubnet2DefaultRoute\w+\.Properties\.NatGatewayId\.)/,
};

/**
 * The template with its own stage taken out: the stage's name becomes STAGE, and the hash CDK appends to a
 * logical id that contains the stack name is dropped (it differs only because the name does).
 */
function normalized(template: object, stage: string): object {
  const text = JSON.stringify(template)
    .replace(new RegExp(`stampede[- ]?${stage}`, 'gi'), 'StampedeSTAGE')
    .replace(/(StampedeSTAGE\w*?)[0-9A-F]{8,}(?=\W)/g, '$1')
    .replace(new RegExp(`"${stage}"`, 'g'), '"STAGE"');
  return JSON.parse(text);
}

/** Every leaf of `value` as path → JSON text. */
function leaves(value: unknown, path: string, out: Map<string, string>): Map<string, string> {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      leaves(child, `${path}.${key}`, out);
    }
  } else {
    out.set(path, JSON.stringify(value));
  }
  return out;
}

function templates(stage: string): Map<string, string> {
  const { coreTemplate, originTemplate } = synth(stage);
  const out = new Map<string, string>();
  leaves(normalized(coreTemplate.toJSON(), stage), 'Core', out);
  leaves(normalized(originTemplate.toJSON(), stage), 'Origin', out);
  return out;
}

test('prod differs from dev exactly where documented', () => {
  const dev = templates('dev');
  const prod = templates('prod');
  const differences = [...new Set([...dev.keys(), ...prod.keys()])].filter((path) => dev.get(path) !== prod.get(path));

  const undocumented = differences.filter((path) => !Object.values(DOCUMENTED).some((pattern) => pattern.test(path)));
  expect(undocumented).toEqual([]);
  const absent = Object.entries(DOCUMENTED)
    .filter(([, pattern]) => !differences.some((path) => pattern.test(path)))
    .map(([name]) => name);
  expect(absent).toEqual([]);
});
