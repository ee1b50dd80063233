"""Identity: the Cognito user pool (tenant on every user, customer/staff/compliance groups) and the app client."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra import constants
from infra.nag import Waiver, waive


class Identity(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)

        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=constants.USER_POOL_NAME,
            self_sign_up_enabled=False,  # tenants' admins create users: a user's tenant is never self-declared
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            custom_attributes={
                constants.TENANT_ATTRIBUTE: cognito.StringAttribute(min_len=1, max_len=64, mutable=False),
            },
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=constants.REMOVAL_POLICY,
        )
        waive(
            self.user_pool,
            Waiver("AwsSolutions-COG2", "MFA is optional (TOTP): the demo and e2e tests sign in non-interactively."),
            Waiver(
                "AwsSolutions-COG8",
                "The Plus feature plan (threat protection) is a paid per-account choice and is not emulated locally; "
                "enable it per deployment.",
            ),
        )

        self.groups = {
            name: cognito.UserPoolGroup(
                self, f"{name.capitalize()}Group", user_pool=self.user_pool, group_name=name, description=description
            )
            for name, description in (
                (constants.GROUP_CUSTOMER, "Cinema customers: browse, hold seats, order."),
                (constants.GROUP_STAFF, "Tenant staff: operations, catalog, deep health."),
                (constants.GROUP_COMPLIANCE, "Compliance officers: the access trail of personal data, security settings."),
            )
        }

        # The tenant is readable by the client but never writable: only admins set it, once, at user creation.
        self.client = self.user_pool.add_client(
            "WebClient",
            user_pool_client_name=constants.USER_POOL_CLIENT_NAME,
            generate_secret=False,
            auth_flows=cognito.AuthFlow(admin_user_password=True, user_password=True),
            prevent_user_existence_errors=True,
            read_attributes=cognito.ClientAttributes()
            .with_standard_attributes(email=True, email_verified=True, given_name=True, family_name=True)
            .with_custom_attributes(constants.TENANT_ATTRIBUTE),
            write_attributes=cognito.ClientAttributes().with_standard_attributes(
                email=True, given_name=True, family_name=True
            ),
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
        )
