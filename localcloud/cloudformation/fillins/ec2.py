"""A delete for moto's AWS::EC2::RouteTable model, so that a stack with a VPC can be deleted.

moto 5.2.5's RouteTable model has no delete, so its route tables outlived the stack, and the VPC's delete then failed
with DependencyViolation ("The vpc ... has dependencies"): every CDK stack with a VPC (such as an Aurora cluster's)
could be created but not deleted. The table's associations go first, then the table (its routes with it).
"""

from __future__ import annotations

from typing import Any

_MARK = "__localcloud_delete__"


def install() -> None:
    from moto.ec2.models.route_tables import RouteTable

    if getattr(getattr(RouteTable, "delete", None), _MARK, False):
        return

    def delete(self: Any, account_id: str, region_name: str) -> None:
        from moto.ec2.exceptions import InvalidRouteTableIdError
        from moto.ec2.models import ec2_backends

        backend = ec2_backends[account_id][region_name]
        for association_id in list(self._associations):
            backend.disassociate_route_table(association_id)
        try:
            backend.delete_route_table(self.id)
        except InvalidRouteTableIdError:
            pass  # already gone with its VPC

    setattr(delete, _MARK, True)
    RouteTable.delete = delete  # type: ignore[attr-defined]
