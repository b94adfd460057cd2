"""The app's AWS resources in the local emulator: the single table (as defined in table.json).

`create` makes them if missing (idempotent) and turns on TTL; `delete` removes them. Reads the standard AWS_*
variables and TABLE_NAME. This stands in until the CDK template is deployed into the emulator instead.
"""
import json
import os
import pathlib
import sys

import boto3

HERE = pathlib.Path(__file__).parent


def dynamodb():
    return boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"])


def create():
    client = dynamodb()
    table = os.environ["TABLE_NAME"]
    definition = json.loads((HERE / "table.json").read_text())
    if table not in client.list_tables()["TableNames"]:
        client.create_table(TableName=table, **definition)
        client.get_waiter("table_exists").wait(TableName=table)
    client.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    print(f"    table {table} ready", file=sys.stderr)


def delete():
    client = dynamodb()
    table = os.environ["TABLE_NAME"]
    if table in client.list_tables()["TableNames"]:
        client.delete_table(TableName=table)
        client.get_waiter("table_not_exists").wait(TableName=table)


if __name__ == "__main__":
    {"create": create, "delete": delete}[sys.argv[1]]()
