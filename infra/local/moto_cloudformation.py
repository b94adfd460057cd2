"""CloudFormation models for resource types in Stampede's CDK template that moto 5.2 does not model.

moto's CloudFormation silently skips resources of unknown types and fails the whole stack when an output reads
an attribute of one. These models create the real thing in moto's own backends, so the deployed template behaves
as on AWS (function URL, queue policies, the generated secret, alarms):
  AWS::Lambda::Url, AWS::SQS::QueuePolicy, AWS::SecretsManager::Secret, AWS::CloudWatch::Alarm,
  AWS::Cognito::UserPool, AWS::Cognito::UserPoolClient, AWS::ApplicationAutoScaling::ScalableTarget,
  AWS::ApplicationAutoScaling::ScalingPolicy (the Origin stack's autoscaling).
Two properties moto's own models ignore are applied too: a table's TimeToLiveSpecification and a bucket's
NotificationConfiguration (S3 → SQS for media uploads; moto delivers those notifications). And a target group
gets the attributes CloudFormation returns for it (TargetGroupFullName, for the requests-per-target scaling).
AWS::S3::BucketPolicy stays unmodeled on purpose: moto enforces bucket policies but cannot evaluate the
`aws:SecureTransport` condition, so the TLS-only policies CDK writes would deny every request to the plain-HTTP
emulator (including the CDK asset uploads).
moto registers a model by being a direct subclass of CloudFormationModel, read on the first deploy.
"""
import json
import secrets
import string

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.awslambda.models import lambda_backends
from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends
from moto.cognitoidp.models import cognitoidp_backends
from moto.core.common_models import CloudFormationModel
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.elbv2.models import FakeTargetGroup
from moto.s3.models import FakeBucket
from moto.secretsmanager.models import secretsmanager_backends
from moto.sqs.models import sqs_backends


# moto's model metaclass files every model under the service named by its module path (moto.<service>...).
MODULE = "moto.stampede"


class _Simple:
    """Replace-on-update, nothing to clean up on delete, created at once."""

    ATTRIBUTES: tuple = ()

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr in cls.ATTRIBUTES

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        pass

    def is_created(self):
        return True


class FunctionUrl(_Simple, CloudFormationModel):
    __module__ = MODULE
    ATTRIBUTES = ("FunctionArn", "FunctionUrl")

    def __init__(self, function_arn, url):
        self.function_arn, self.url = function_arn, url

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::Lambda::Url"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json["Properties"]
        config = {k: props[k] for k in ("AuthType", "Cors", "InvokeMode") if k in props}
        url = lambda_backends[account_id][region_name].create_function_url_config(props["TargetFunctionArn"], config)
        return cls(url.function.function_arn, url.url)

    @property
    def physical_resource_id(self):
        return self.function_arn

    def get_cfn_attribute(self, attribute_name):
        return {"FunctionArn": self.function_arn, "FunctionUrl": self.url}[attribute_name]


class QueuePolicy(_Simple, CloudFormationModel):
    __module__ = MODULE
    def __init__(self, name):
        self.name = name

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::SQS::QueuePolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json["Properties"]
        backend = sqs_backends[account_id][region_name]
        for url in props["Queues"]:
            backend.set_queue_attributes(url.rstrip("/").rsplit("/", 1)[-1], {"Policy": json.dumps(props["PolicyDocument"])})
        return cls(resource_name)

    @property
    def physical_resource_id(self):
        return self.name


class Secret(_Simple, CloudFormationModel):
    __module__ = MODULE
    ATTRIBUTES = ("Id",)

    def __init__(self, arn):
        self.arn = arn

    @staticmethod
    def cloudformation_name_type():
        return "Name"

    @staticmethod
    def cloudformation_type():
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def _generate(spec):
        alphabet = string.ascii_letters + string.digits
        if not spec.get("ExcludePunctuation"):
            alphabet += string.punctuation
        alphabet = "".join(c for c in alphabet if c not in spec.get("ExcludeCharacters", ""))
        return "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json.get("Properties", {})
        value = props.get("SecretString") or cls._generate(props.get("GenerateSecretString", {}))
        created = secretsmanager_backends[account_id][region_name].create_secret(
            name=resource_name,
            secret_string=value,
            secret_binary=None,
            description=props.get("Description"),
            tags=props.get("Tags"),
            kms_key_id=props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"])

    @property
    def physical_resource_id(self):
        return self.arn

    def get_cfn_attribute(self, attribute_name):
        return self.arn


class Alarm(_Simple, CloudFormationModel):
    __module__ = MODULE
    ATTRIBUTES = ("Arn",)

    def __init__(self, alarm):
        self.alarm = alarm

    @staticmethod
    def cloudformation_name_type():
        return "AlarmName"

    @staticmethod
    def cloudformation_type():
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def _queries(metrics):
        queries = []
        for metric in metrics or []:
            stat = metric.get("MetricStat")
            metric_stat = None
            if stat:
                dimensions = [Dimension(d["Name"], d["Value"]) for d in stat["Metric"].get("Dimensions", [])]
                metric_stat = MetricStat(
                    metric=Metric(stat["Metric"]["MetricName"], stat["Metric"].get("Namespace"), dimensions),
                    period=stat.get("Period"),
                    stat=stat.get("Stat"),
                    unit=stat.get("Unit"),
                )
            queries.append(
                MetricDataQuery(
                    query_id=metric.get("Id"),
                    label=metric.get("Label"),
                    period=metric.get("Period"),
                    return_data=metric.get("ReturnData"),
                    expression=metric.get("Expression"),
                    metric_stat=metric_stat,
                )
            )
        return queries or None

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=resource_name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=p.get("Period"),
            threshold=float(p["Threshold"]),
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"),
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            metric_data_queries=cls._queries(p.get("Metrics")),
            datapoints_to_alarm=p.get("DatapointsToAlarm"),
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(alarm)

    @property
    def physical_resource_id(self):
        return self.alarm.name

    def get_cfn_attribute(self, attribute_name):
        return self.alarm.alarm_arn


class UserPool(_Simple, CloudFormationModel):
    __module__ = MODULE
    ATTRIBUTES = ("Arn", "ProviderName", "ProviderURL", "UserPoolId")
    # Properties that are not user pool settings in the API's sense.
    NOT_CONFIG = ("UserPoolName", "UserPoolTags", "DeletionProtection")

    def __init__(self, pool):
        self.pool = pool

    @staticmethod
    def cloudformation_name_type():
        return "UserPoolName"

    @staticmethod
    def cloudformation_type():
        return "AWS::Cognito::UserPool"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json.get("Properties", {})
        config = {k: v for k, v in props.items() if k not in cls.NOT_CONFIG}
        pool = cognitoidp_backends[account_id][region_name].create_user_pool(props.get("UserPoolName", resource_name), config)
        return cls(pool)

    @property
    def physical_resource_id(self):
        return self.pool.id

    def get_cfn_attribute(self, attribute_name):
        provider = f"cognito-idp.{self.pool.region}.amazonaws.com/{self.pool.id}"
        return {"Arn": self.pool.arn, "ProviderName": provider, "ProviderURL": f"https://{provider}",
                "UserPoolId": self.pool.id}[attribute_name]


class UserPoolClient(_Simple, CloudFormationModel):
    __module__ = MODULE
    ATTRIBUTES = ("ClientId", "ClientSecret", "Name")

    def __init__(self, client):
        self.client = client

    @staticmethod
    def cloudformation_name_type():
        return "ClientName"

    @staticmethod
    def cloudformation_type():
        return "AWS::Cognito::UserPoolClient"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = dict(cloudformation_json.get("Properties", {}))
        pool_id = props.pop("UserPoolId")
        generate_secret = str(props.pop("GenerateSecret", False)).lower() == "true"
        props.setdefault("ClientName", resource_name)
        client = cognitoidp_backends[account_id][region_name].create_user_pool_client(pool_id, generate_secret, props)
        return cls(client)

    @property
    def physical_resource_id(self):
        return self.client.id

    def get_cfn_attribute(self, attribute_name):
        return {"ClientId": self.client.id, "ClientSecret": self.client.secret,
                "Name": self.client.extended_config.get("ClientName")}[attribute_name]


class ScalableTarget(_Simple, CloudFormationModel):
    __module__ = MODULE

    def __init__(self, namespace, resource_id, dimension):
        self.namespace, self.resource_id, self.dimension = namespace, resource_id, dimension

    @staticmethod
    def cloudformation_name_type():
        return ""

    @staticmethod
    def cloudformation_type():
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        applicationautoscaling_backends[account_id][region_name].register_scalable_target(
            p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"], int(p["MinCapacity"]),
            int(p["MaxCapacity"]), p.get("RoleARN"), p.get("SuspendedState"),
        )
        return cls(p["ServiceNamespace"], p["ResourceId"], p["ScalableDimension"])

    @property
    def physical_resource_id(self):
        # What AWS returns for Ref, and what a scaling policy's ScalingTargetId carries.
        return f"{self.resource_id}|{self.dimension}|{self.namespace}"


class ScalingPolicy(_Simple, CloudFormationModel):
    __module__ = MODULE
    ATTRIBUTES = ("Arn",)

    def __init__(self, policy):
        self.policy = policy

    @staticmethod
    def cloudformation_name_type():
        return "PolicyName"

    @staticmethod
    def cloudformation_type():
        return "AWS::ApplicationAutoScaling::ScalingPolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json["Properties"]
        resource_id, dimension, namespace = p["ScalingTargetId"].split("|")
        body = p.get("StepScalingPolicyConfiguration") or p.get("TargetTrackingScalingPolicyConfiguration")
        policy = applicationautoscaling_backends[account_id][region_name].put_scaling_policy(
            p["PolicyName"], namespace, resource_id, dimension, body, p.get("PolicyType"),
        )
        return cls(policy)

    @property
    def physical_resource_id(self):
        return self.policy.policy_arn

    def get_cfn_attribute(self, attribute_name):
        return self.policy.policy_arn


def _also_apply(model, apply):
    """Wraps `model`'s CloudFormation constructor to call apply(resource, properties, account_id, region_name)."""
    create = model.create_from_cloudformation_json.__func__

    def create_and_apply(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        resource = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        apply(resource, cloudformation_json.get("Properties", {}), account_id, region_name)
        return resource

    model.create_from_cloudformation_json = classmethod(create_and_apply)


def _table_ttl(table, properties, account_id, region_name):
    if "TimeToLiveSpecification" in properties:
        dynamodb_backends[account_id][region_name].update_time_to_live(table.name, properties["TimeToLiveSpecification"])


def _bucket_notifications(bucket, properties, account_id, region_name):
    queues = properties.get("NotificationConfiguration", {}).get("QueueConfigurations", [])
    if queues:
        bucket.set_notification_configuration({
            "QueueConfiguration": [
                {
                    "Queue": q["Queue"],
                    "Event": [q["Event"]],
                    "Filter": {"S3Key": {"FilterRule": q["Filter"]["S3Key"]["Rules"]}} if "Filter" in q else None,
                }
                for q in queues
            ]
        })


def _target_group_attribute(self, attribute_name):
    # arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID → targetgroup/NAME/ID, as AWS returns it.
    full_name = self.arn.split(":", 5)[5]
    values = {"TargetGroupFullName": full_name, "TargetGroupName": self.name, "TargetGroupArn": self.arn,
              "LoadBalancerArns": list(self.load_balancer_arns)}
    return values[attribute_name]


def patch():
    """Applies the ignored properties; the models registered themselves on import, which this checks happened
    before moto built its model map."""
    from moto.cloudformation.parsing import get_model_map

    _also_apply(Table, _table_ttl)
    _also_apply(FakeBucket, _bucket_notifications)
    FakeTargetGroup.get_cfn_attribute = _target_group_attribute
    FakeTargetGroup.has_cfn_attr = classmethod(
        lambda cls, attr: attr in ("TargetGroupFullName", "TargetGroupName", "TargetGroupArn", "LoadBalancerArns"))

    models = (FunctionUrl, QueuePolicy, Secret, Alarm, UserPool, UserPoolClient, ScalableTarget, ScalingPolicy)
    missing = [m.cloudformation_type() for m in models
               if m.cloudformation_type() not in get_model_map()]
    assert not missing, f"moto built its CloudFormation model map before these were defined: {missing}"
