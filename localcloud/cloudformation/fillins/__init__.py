"""CloudFormation fill-ins: resource types moto's CloudFormation lacks, created for real in moto's backends.

Nothing here is public: `localcloud.cloudformation.resource_types.install()` registers these models with moto.
"""
