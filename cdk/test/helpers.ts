// Synthesizes the app's stacks the way bin/stampede.ts does, with placeholder Lambda code (no cargo build).
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CoreStack } from '../lib/core-stack';
import { OriginStack } from '../lib/origin-stack';
import { architectureFrom, stageNamed } from '../lib/stage';

export const FIXTURE_CODE = path.join(__dirname, 'fixtures', 'lambda');

export interface Synthesized {
  core: CoreStack;
  origin: OriginStack;
  coreTemplate: Template;
  originTemplate: Template;
}

export interface SynthContext {
  arch?: string;
  alarmEmail?: string;
  certificateArn?: string;
  maxReceiveCount?: number;
  originImage?: string;
}

export function synth(stageName: string, context: SynthContext = {}): Synthesized {
  const app = new App();
  const stage = stageNamed(stageName);
  const core = new CoreStack(app, `Stampede-${stage.name}-Core`, {
    stage,
    architecture: architectureFrom(context.arch),
    lambdaCodeDir: FIXTURE_CODE,
    alarmEmail: context.alarmEmail,
    maxReceiveCount: context.maxReceiveCount,
  });
  const origin = new OriginStack(app, `Stampede-${stage.name}-Origin`, {
    stage,
    app: core.app,
    alarmTopic: core.alarms.topic,
    monitored: core.monitored(),
    certificateArn: context.certificateArn,
    image: context.originImage,
  });
  return { core, origin, coreTemplate: Template.fromStack(core), originTemplate: Template.fromStack(origin) };
}

/** The one resource of `type` in `template` (fails if there are several). */
export function only(template: Template, type: string): { id: string; resource: any } {
  const found = Object.entries(template.findResources(type));
  expect(found).toHaveLength(1);
  return { id: found[0][0], resource: found[0][1] };
}
