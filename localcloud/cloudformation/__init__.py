"""CloudFormation: fill-ins for the resource types moto lacks, and strict resource types on deploy."""
