// Who the API's users are: one Cognito user pool per stage with one public app client (no secret: browsers and
// apps sign in directly). The API trusts the pool's access tokens: AUTH_ISSUER is the pool's issuer URL, and
// AUTH_AUDIENCE the client id (Cognito access tokens carry it as `client_id`). docs/infrastructure.md says how a
// user gets a token.
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { Stage } from './stage';

/** What a host needs to verify tokens (README, "Configuration": AUTH_ISSUER, AUTH_AUDIENCE). */
export interface TokenIssuer {
  readonly issuer: string;
  readonly audience: string;
}

export class Identity extends Construct implements TokenIssuer {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  readonly issuer: string;
  readonly audience: string;

  constructor(scope: Construct, id: string, stage: Stage) {
    super(scope, id);
    this.userPool = new cognito.UserPool(this, 'Users', {
      userPoolName: `stampede-${stage.name}`,
      selfSignUpEnabled: true,
      signInAliases: { email: true },
      autoVerify: { email: true },
      passwordPolicy: { minLength: 12, requireSymbols: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      deletionProtection: stage.removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy: stage.removalPolicy,
    });
    // Sign-in by the API-style flows (SRP, or a password over TLS); OAuth (a hosted login page with callback URLs)
    // is off until an app that needs it names its URLs.
    this.client = this.userPool.addClient('Api', {
      generateSecret: false,
      disableOAuth: true,
      authFlows: { userSrp: true, userPassword: true },
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
    });
    // The `iss` of the pool's tokens; its JWKS is at `${issuer}/.well-known/jwks.json`.
    this.issuer = Fn.join('', ['https://cognito-idp.', Stack.of(this).region, '.amazonaws.com/', this.userPool.userPoolId]);
    this.audience = this.client.userPoolClientId;

    const outputs: Record<string, string> = {
      UserPoolId: this.userPool.userPoolId,
      UserPoolClientId: this.audience,
      AuthIssuer: this.issuer,
    };
    for (const [name, value] of Object.entries(outputs)) {
      new CfnOutput(Stack.of(this), name, { value });
    }
  }
}
