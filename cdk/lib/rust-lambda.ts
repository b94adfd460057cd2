// A Rust Lambda function built with cargo-lambda-cdk, or, with `-c lambdaCodeDir=DIR`, one whose code is a
// prebuilt DIR/<binary>/bootstrap (how the local emulator deploy and the tests synthesize without a release
// build). Both produce the same AWS::Lambda::Function apart from the code's asset location.
import * as path from 'path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface RustLambdaProps extends lambda.FunctionOptions {
  /** The workspace binary (also the function's code directory name under lambdaCodeDir). */
  readonly binary: string;
  readonly architecture: lambda.Architecture;
  readonly codeDir?: string;
}

export function rustLambda(scope: Construct, id: string, props: RustLambdaProps): lambda.Function {
  const { binary, codeDir, ...options } = props;
  if (codeDir) {
    return new lambda.Function(scope, id, {
      ...options,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(path.resolve(codeDir, binary)),
    });
  }
  return new RustFunction(scope, id, {
    ...options,
    manifestPath: path.join(REPO_ROOT, 'Cargo.toml'),
    binaryName: binary,
    bundling: { architecture: props.architecture, cargoLambdaFlags: ['--locked'] },
  });
}
