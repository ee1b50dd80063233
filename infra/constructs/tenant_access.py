"""Tenant access (challenge 19): the role tenant-facing functions assume per request, narrowed by a session policy.

The role may do item-level DynamoDB actions on the main table. A function assumes it with an inline session policy
whose ``dynamodb:LeadingKeys`` is ``TENANT#{tenant}#*`` (``marquee.tenancy.tenant_session``), so the effective permissions of
each request are one tenant's keys only. The function's own role has no data access to the table at all: only
``sts:AssumeRole`` (+ ``sts:TagSession``) on this role, and the role trusts exactly those function roles.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import constants
from infra.constructs.function import PythonFunction

# The item-level actions the session policy (marquee.tenancy.tenant_session) narrows: one list, in the layer's file.
ITEM_ACTIONS_FILE = constants.LAYER_DIR / "python" / "marquee" / "tenancy" / "tenant_item_actions.json"


def item_actions() -> list[str]:
    return [str(action) for action in json.loads(ITEM_ACTIONS_FILE.read_text())]


class TenantAccess(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, table: dynamodb.ITable) -> None:
        super().__init__(scope, construct_id)
        self.table = table
        self._trusted: list[iam.IRole] = []
        self.role = iam.Role(
            self,
            "Role",
            # Replaced below: the trust policy names exactly the roles of the functions granted (grant_to), nothing else
            # (no service principal, no account root).
            assumed_by=iam.AccountRootPrincipal(),
            description="Assumed per request by tenant-facing functions with a tenant session policy (LeadingKeys)",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="TenantItemsOfTheMainTable",
                actions=item_actions(),
                resources=[table.table_arn],
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TENANT#*"]}},
            )
        )

    def grant_to(self, function: PythonFunction) -> dict[str, str]:
        """Let ``function`` assume the role; return the environment variables ``TenantDataEnv`` reads."""
        self._trusted.append(function.role)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Principal": {"AWS": r.role_arn}}
                for r in self._trusted
            ],
        }
        cfn_role: Any = self.role.node.default_child
        cfn_role.add_property_override("AssumeRolePolicyDocument", trust)
        function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole", "sts:TagSession"], resources=[self.role.role_arn])
        )
        environment = {
            "TABLE_NAME": self.table.table_name,
            "TABLE_ARN": self.table.table_arn,
            "TENANT_ROLE_ARN": self.role.role_arn,
        }
        for name, value in environment.items():
            function.add_environment(name, value)
        return environment
