#!/usr/bin/env node
// Stampede's AWS environments: `cdk deploy --all -c stage=dev|prod`. Context:
//   stage          dev (default) | prod — what differs is in lib/stage.ts and docs/infrastructure.md
//   arch           x86_64 (default) | arm64 — Lambda architecture (arm64 needs the aarch64 Rust target)
//   alarmEmail     subscribe this address to the alarm topic
//   maxReceiveCount receives before a job message is dead-lettered (default 5)
//   certificateArn HTTPS on the origin's load balancer
//   originImage    an image in a registry for the origin instead of building origin/Dockerfile (needs no Docker)
//   lambdaCodeDir  prebuilt DIR/{api,jobs}/bootstrap instead of a cargo-lambda build (local emulator, tests)
import { App } from 'aws-cdk-lib';
import { CoreStack } from '../lib/core-stack';
import { OriginStack } from '../lib/origin-stack';
import { architectureFrom, stageNamed } from '../lib/stage';

const app = new App();
const context = (key: string): string | undefined => app.node.tryGetContext(key);
const stage = stageNamed(context('stage') ?? 'dev');
const tags = { project: 'stampede', stage: stage.name };

// Environment-agnostic (no account/region): nothing needs a lookup, and the same synth serves any account.
const core = new CoreStack(app, `Stampede-${stage.name}-Core`, {
  tags,
  stage,
  architecture: architectureFrom(context('arch')),
  lambdaCodeDir: context('lambdaCodeDir'),
  alarmEmail: context('alarmEmail'),
  maxReceiveCount: context('maxReceiveCount') === undefined ? undefined : Number(context('maxReceiveCount')),
});
new OriginStack(app, `Stampede-${stage.name}-Origin`, {
  tags,
  stage,
  app: core.app,
  alarmTopic: core.alarms.topic,
  monitored: core.monitored(),
  certificateArn: context('certificateArn'),
  image: context('originImage'),
});
