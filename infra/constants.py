"""Names and fixed settings of the Marquee CDK app. Everything the app names is named here."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy

APP_NAME = "Marquee"
STACK_ID = "Marquee"
SERVICE_PREFIX = "marquee"

# Paths are resolved from this file, never from the current directory or a machine-specific root.
REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
LAYER_DIR = REPO_ROOT / "layers" / "common"
STATEMACHINES_DIR = REPO_ROOT / "statemachines"
LAYER_CACHE_DIR = REPO_ROOT / ".cache" / "layers"

# CDK context: `-c marquee:target=local` builds the layer for the host (the local cloud); `aws` (default) for Lambda.
TARGET_CONTEXT_KEY = "marquee:target"
TARGET_AWS = "aws"
TARGET_LOCAL = "local"
TARGETS = (TARGET_AWS, TARGET_LOCAL)

# Lambda's Python, and the wheel tags pip must fetch for it (see infra/bundling.py).
PYTHON_VERSION = "3.11"
LAMBDA_WHEEL_PLATFORM = "manylinux2014_x86_64"

API_NAME = "marquee-api"
API_STAGE_NAME = "v1"

METRICS_NAMESPACE = "Marquee"
LOG_LEVEL = "INFO"

USER_POOL_NAME = "marquee-users"
USER_POOL_CLIENT_NAME = "marquee-web"
TENANT_ATTRIBUTE = "tenant_id"  # appears in tokens as `custom:tenant_id`
GROUP_CUSTOMER = "customer"
GROUP_STAFF = "staff"
GROUP_COMPLIANCE = "compliance"  # compliance officers: read the access trail, set security settings

TABLE_TTL_ATTRIBUTE = "expires_at"
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"  # Powertools idempotency's own attribute name
QUEUE_MAX_RECEIVE_COUNT = 5
QUEUE_VISIBILITY_TIMEOUT = Duration.seconds(60)
DLQ_RETENTION = Duration.days(14)

# The relational store (Aurora PostgreSQL Serverless v2, Data API only): its database and master user.
DB_NAME = "marquee"
DB_MASTER_USERNAME = "marquee_admin"

HEALTH_PROBE_ASL = STATEMACHINES_DIR / "health_probe.asl.json"
ORDER_SAGA_ASL = STATEMACHINES_DIR / "order_saga.asl.json"

# Health function: each dependency probe gets this budget; slower successes are reported as "warn".
HEALTH_CHECK_TIMEOUT_MS = 2000
HEALTH_CHECK_WARN_MS = 1000
DB_HEALTH_CHECK_TIMEOUT_MS = 5000  # the Aurora probe's own: a serverless v2 cluster's first statement can be slow
CACHE_HEALTH_CHECK_TIMEOUT_MS = 1000  # the Valkey PING's own: a cache slower than this is failing the request path

# A reference stack must leave nothing behind on `cdk destroy`. A production fork sets RETAIN for stateful resources.
REMOVAL_POLICY = RemovalPolicy.DESTROY

# Multi-region (design question 1). `-c marquee:regions=us-east-1,eu-west-1` makes the stack one of two regional cells
# (the same app in each region, the region from CDK_DEFAULT_REGION or `-c marquee:region=`). The first region is the
# home of the global tables: its stack declares them (AWS::DynamoDB::GlobalTable, a replica in every region, fixed
# names since a replica has its table's name); the other regions' stacks use their replica by that name. A replica's
# stream ARN carries a label known only once the replica exists, so the other regions' deploys pass it as context
# (devkit/deploy.py looks it up with DescribeTable, as a CDK context lookup would). Without `marquee:regions` the stack
# is single-region, with regional tables, exactly as every test and demo deploys it.
REGIONS_CONTEXT_KEY = "marquee:regions"
REGION_CONTEXT_KEY = "marquee:region"
MAIN_TABLE_STREAM_ARN_CONTEXT_KEY = "marquee:mainTableStreamArn"
GLOBAL_TABLE_NAME = "marquee-main"  # the main table: catalog, seats, orders, payments, the outbox
# The idempotency records too: a payment retried in the other region after a failover is still not charged twice.
GLOBAL_IDEMPOTENCY_TABLE_NAME = "marquee-idempotency"

# Stack outputs. Their logical IDs are fixed (the local cloud, the CLI and the e2e tests read them by these names).
OUTPUT_API_ID = "ApiId"
OUTPUT_API_URL = "ApiUrl"
OUTPUT_STAGE_NAME = "StageName"
OUTPUT_TABLE_NAME = "TableName"
OUTPUT_QUEUE_URL = "QueueUrl"
OUTPUT_DLQ_URL = "DlqUrl"
OUTPUT_EVENT_BUS_NAME = "EventBusName"
OUTPUT_SECRET_ARN = "SecretArn"  # noqa: S105 - an output name, not a secret
OUTPUT_STATE_MACHINE_ARN = "StateMachineArn"
OUTPUT_USER_POOL_ID = "UserPoolId"
OUTPUT_USER_POOL_CLIENT_ID = "UserPoolClientId"
OUTPUT_REGION = "Region"
OUTPUT_ORDER_SAGA_ARN = "OrderSagaArn"
OUTPUT_DB_CLUSTER_ARN = "DbClusterArn"
OUTPUT_DB_SECRET_ARN = "DbSecretArn"  # noqa: S105 - an output name, not a secret
OUTPUT_DB_NAME = "DbName"
OUTPUT_MIGRATE_FUNCTION_NAME = "MigrateFunctionName"
OUTPUT_OPS_TABLE_NAME = "OpsTableName"  # the backfill's checkpoint (`marquee migrate-items`)
# `-c marquee:localEndpoint=http://localhost:<port>` (the local cloud's deploy passes it; cdklocal users may): the stack
# also outputs LocalApiUrl, the API at that emulator's LocalStack-style URL. ApiUrl stays the AWS URL.
LOCAL_ENDPOINT_CONTEXT_KEY = "marquee:localEndpoint"
OUTPUT_LOCAL_API_URL = "LocalApiUrl"

# Feature flags (AppConfig): names, the initial flags, and how long a function caches them (seconds). A flag change
# reaches every running function within FLAGS_MAX_AGE_SECONDS (Powertools' AppConfig store cache).
FLAGS_APPLICATION = "marquee"
FLAGS_ENVIRONMENT = "live"
FLAGS_PROFILE = "feature-flags"
FLAGS_MAX_AGE_SECONDS = 5
FEATURE_FLAGS_FILE = REPO_ROOT / "infra" / "feature_flags.json"

# Payments (challenge 2) and their providers' circuit breakers (challenge 4). The provider URLs come from CDK context;
# on AWS set them to your provider's URLs (-c marquee:paymentPrimaryUrl=https://... ); the local cloud's deploy passes
# its simulated providers (http://127.0.0.1:<a port the OS picked>, as the running cloud reports them).
PAYMENT_PRIMARY_URL_CONTEXT_KEY = "marquee:paymentPrimaryUrl"
PAYMENT_SECONDARY_URL_CONTEXT_KEY = "marquee:paymentSecondaryUrl"
PAYMENT_PROVIDER_PLACEHOLDER_URL = "https://payments.example.invalid"  # set your provider's URL
PAYMENT_PRIMARY_SECRET_NAME = "marquee/payments/primary"  # noqa: S105 - a secret's name, not its value
PAYMENT_SECONDARY_SECRET_NAME = "marquee/payments/secondary"  # noqa: S105 - a secret's name, not its value
PAYMENTS_IDEMPOTENCY_TTL_SECONDS = 24 * 3600  # IETF Idempotency-Key draft: records live at least 24 h
PAYMENTS_SETTINGS = {
    "PAYMENTS_CONNECT_TIMEOUT_MS": "500",
    "PAYMENTS_READ_TIMEOUT_MS": "2000",  # a provider slower than this counts as failing
    "PAYMENTS_SECRET_MAX_AGE_S": "300",  # Powertools parameters cache; the provider accepts the previous key too
    "PAYMENTS_ATTEMPT_LEASE_MS": "15000",  # > both providers' connect + read timeouts
    "BREAKER_FAILURE_THRESHOLD": "5",
    "BREAKER_WINDOW_MS": "30000",
    "BREAKER_COOLDOWN_MS": "5000",
    "BREAKER_SUCCESS_THRESHOLD": "2",
    "BREAKER_PROBE_LEASE_MS": "5000",
}

# Cross-service integrity (design question 8): the reconciler's schedule, and the age below which an order, payment,
# charge or attempt counts as still in its saga (longer than a saga's worst case: retries, CHARGE_SETTLE_SECONDS, the
# compensations' backoff).
INTEGRITY_SCHEDULE_MINUTES = 15
INTEGRITY_GRACE_SECONDS_BY_TARGET = {TARGET_AWS: "900", TARGET_LOCAL: "120"}

# Secrets (challenge 16), docs/patterns/16-secrets.md. Payment functions cache a provider secret for this many seconds
# (Powertools parameters max_age): 300 s on AWS; 5 s on the local target, so that a test or the tour sees a rotated key
# in use within seconds. The provider accepts the previous key as well, so a cache age never fails a call.
PAYMENTS_SECRET_MAX_AGE_S_BY_TARGET = {TARGET_AWS: "300", TARGET_LOCAL: "5"}
SECRET_ROTATION_DAYS = 30  # the provider API keys' rotation schedule
SECRET_ROTATION_SETTINGS = {
    "PROVIDER_TIMEOUT_MS": "3000",  # each call of the provider's key API (register, ping)
    "API_KEY_LENGTH": "40",  # as the keys generated at deploy (infra/constructs/payments.py)
}

# Booking core (catalog, seat holds, outbox): see docs/booking-data-model.md.
HOLD_LEASE_DEFAULT_SECONDS = 600  # a showtime's holdLeaseSeconds when staff do not set one
OUTBOX_EVENT_SOURCE = "marquee.booking"
OUTBOX_RELAY_BATCH_SIZE = 10
OUTBOX_RELAY_MAX_RETRIES = 10  # bisecting does not count; then the batch's position goes to the relay's failure queue
INBOX_TTL_DAYS = 30

# Webhooks (challenge 10), docs/patterns/10-hmac-webhooks.md. The AWS retry schedule: after failed attempt n, wait
# WEBHOOK_RETRY_DELAYS_S[n-1] seconds (+ up to 10 % jitter): 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h; 8 attempts over
# ~17.6 h. The local target gets 1 s delays (tests) and a lower disable threshold; nothing else differs.
WEBHOOK_SECRET_PREFIX = "marquee/webhook-endpoints/"  # noqa: S105 - a name prefix, not a secret
WEBHOOK_MAX_ATTEMPTS = 8  # the delivery queue's maxReceiveCount: then the DLQ
WEBHOOK_RETRY_DELAYS_S = (5, 60, 300, 1800, 7200, 18000, 36000)
WEBHOOK_LOCAL_RETRY_DELAYS_S = (1, 1, 1, 1, 1, 1, 1)
WEBHOOK_DISABLE_AFTER_FAILURES = 20  # consecutive failed attempts of an endpoint, across its deliveries
WEBHOOK_LOCAL_DISABLE_AFTER_FAILURES = 10  # > WEBHOOK_MAX_ATTEMPTS, so a local test sees both the DLQ and the disable
WEBHOOK_TIMEOUT_MS = 5000
WEBHOOK_ROTATION_OVERLAP_S = 24 * 3600  # both signatures for a day after a rotation
WEBHOOK_SECRET_MAX_AGE_S = 300  # Powertools parameters cache; a rotation bypasses it (version check)
OUTPUT_WEBHOOK_DLQ_URL = "WebhookDlqUrl"
OUTPUT_WEBHOOK_INBOUND_SECRET_ARN = "WebhookInboundSecretArn"  # noqa: S105 - an output name, not a secret

# Notifications (challenge 6, design question 10), docs/patterns/06-queues-retries-dlqs.md. One SQS FIFO queue and
# FIFO DLQ per channel; a primary and a backup provider per channel, whose URLs come from CDK context
# (-c marquee:notificationProvider:email-primary=https://...; the local cloud's deploy passes its simulated providers,
# as the running cloud reports them). Retry timing per target: the visibility timeout is 6 x the worker timeout
# (AWS's advice for SQS event sources); backoff is exponential with jitter, base * 2**(attempt - 1) capped.
NOTIFICATION_CHANNELS = ("email", "sms", "push")
NOTIFICATION_PROVIDER_ROLES = ("primary", "backup")
NOTIFICATION_EVENT_TYPES = ["OrderConfirmed", "OrderFailed", "PaymentRefunded"]  # = NOTIFYING_EVENTS (a test checks)
NOTIFICATION_QUEUE_PREFIX = "marquee-notify-"
NOTIFICATION_SECRET_PREFIX = "marquee/notifications/"  # noqa: S105 - a name prefix, not a secret
NOTIFICATION_PROVIDER_URL_CONTEXT_PREFIX = "marquee:notificationProvider:"
NOTIFICATION_PROVIDER_PLACEHOLDER_URL = "https://notifications.example.invalid"  # set your provider's URL
NOTIFICATIONS_BY_TARGET = {
    TARGET_AWS: {
        "worker_timeout_s": 30,
        "max_receive_count": 5,
        "NOTIFY_BACKOFF_BASE_S": "5",
        "NOTIFY_BACKOFF_CAP_S": "900",
        "NOTIFY_CLAIM_LEASE_MS": "60000",  # > the worker timeout
        "BREAKER_COOLDOWN_MS": "30000",
        "NOTIFY_SECRET_MAX_AGE_S": "300",  # Powertools parameters cache; the provider accepts the previous key too
    },
    TARGET_LOCAL: {  # short backoff, so that the tests and the tour see retries and the DLQ in seconds
        "worker_timeout_s": 15,  # a loaded laptop runs a batch of 10 in seconds; a timeout costs the visibility
        "max_receive_count": 4,
        "NOTIFY_BACKOFF_BASE_S": "1",
        "NOTIFY_BACKOFF_CAP_S": "2",
        "NOTIFY_CLAIM_LEASE_MS": "30000",  # > the worker timeout: a killed worker's claim expires after it
        "BREAKER_COOLDOWN_MS": "3000",
        "NOTIFY_SECRET_MAX_AGE_S": "5",  # as payments locally: a rotation's new key is in use within seconds
    },
}
NOTIFICATIONS_SETTINGS = {
    "NOTIFY_CONNECT_TIMEOUT_MS": "500",
    "NOTIFY_READ_TIMEOUT_MS": "2000",
    "BREAKER_FAILURE_THRESHOLD": "3",
    "BREAKER_WINDOW_MS": "30000",
    "BREAKER_SUCCESS_THRESHOLD": "2",
    "BREAKER_PROBE_LEASE_MS": "5000",
}
NOTIFICATIONS_LOG_PAGE_SIZE = 50

# CQRS read models (challenge 5), docs/patterns/05-cqrs.md: the projected event types reach one SQS FIFO queue through
# a router (message group = tenant#aggregate id), and one projector writes every read model. A test checks this list
# against the projector's own (marquee.projections.projector.PROJECTED_TYPES).
PROJECTED_EVENT_TYPES = [
    "CinemaDeleted",
    "CinemaOpened",
    "CinemaRestored",
    "HoldCreated",
    "HoldReleased",
    "MovieChanged",
    "MovieDeleted",
    "MovieRestored",
    "OrderConfirmed",
    "OrderFailed",
    "OrderPlaced",
    "SeatsReleased",
    "SeatsReserved",
    "ShowtimeDeleted",
    "ShowtimeRestored",
    "ShowtimeScheduled",
]
PROJECTIONS_QUEUE_NAME = "marquee-projections.fifo"
PROJECTIONS_DLQ_NAME = "marquee-projections-dlq.fifo"
PROJECTOR_TIMEOUT = Duration.seconds(30)
PROJECTIONS_MAX_RECEIVE_COUNT = 5
OUTPUT_PROJECTIONS_DLQ_URL = "ProjectionsDlqUrl"

# The edge (challenges 1 and 7): ElastiCache Serverless for Valkey (infra/constructs/cache.py). Usage limits cap its
# bill; the invalidator listens for these events (a test checks them against marquee.cache.showtimes).
CACHE_NAME = "marquee-edge"
CACHE_ENGINE_MAJOR_VERSION = "8"
CACHE_PORT = 6379  # and 6380 for reads from replicas
CACHE_MAX_DATA_GB = 1
CACHE_MAX_ECPU_PER_SECOND = 5000
CACHE_INVALIDATING_EVENT_TYPES = [
    "CinemaDeleted",
    "CinemaOpened",
    "CinemaRestored",
    "HoldCreated",
    "HoldReleased",
    "MovieChanged",
    "MovieDeleted",
    "MovieRestored",
    "OrderConfirmed",
    "SeatsReleased",
    "SeatsReserved",
    "ShowtimeDeleted",
    "ShowtimeRestored",
    "ShowtimeScheduled",
]

# API Gateway's own limits (defence in depth in front of the per-tenant rate limits, docs/patterns/01-rate-limiting.md).
API_STAGE_RATE_LIMIT = 500  # requests per second, every caller together
API_STAGE_BURST_LIMIT = 1000
API_HOLDS_RATE_LIMIT = 100  # POST /showtimes/{id}/holds
API_HOLDS_BURST_LIMIT = 200
API_PARTNER_PLAN_NAME = "marquee-partners"
API_PARTNER_KEY_NAME = "marquee-partner-example"
API_PARTNER_RATE_LIMIT = 20  # per key
API_PARTNER_BURST_LIMIT = 40
API_PARTNER_DAILY_QUOTA = 100_000

# Sensitive-data audit (design question 7): how long the access trail keeps a record (S3 lifecycle expiration).
ACCESS_TRAIL_RETENTION_DAYS = 5 * 365 + 1

# Zero-downtime deploys (design question 2): the alias user-facing routes invoke, moved version by version by CodeDeploy.
LIVE_ALIAS = "live"

# The API aggregator (challenge 17): each section's own timeout (ms); recommendations are a nice-to-have, so tighter.
OVERVIEW_SECTION_TIMEOUTS_MS = {"catalog": 1500, "availability": 1500, "myOrders": 1500, "recommendations": 800}
# Real-time recommendations (design question 5): the events the recommendations function turns into Valkey signals.
RECOMMENDATION_EVENT_TYPES = ["OrderConfirmed", "ShowtimeScheduled", "MovieChanged", "MovieDeleted", "MovieRestored"]

# Imports (challenge 15): presigned multipart parts of 16 MiB (more when a file would need over 10,000), URLs valid 1 h;
# a file over 256 MiB is validated by byte ranges, 8 at a time. Validators get 512 MB for the CPU share (Lambda scales
# CPU with memory); their RSS stays under 128 MB (bench/imports.py).
IMPORT_PART_SIZE_BYTES = 16 * 1024 * 1024
IMPORT_URL_EXPIRY_SECONDS = 3600
# The imports bucket aborts a multipart upload left unfinished this long; an UPLOADING job older than this is checked
IMPORT_ABORT_INCOMPLETE_UPLOAD_DAYS = 7
IMPORT_RANGE_BYTES = 256 * 1024 * 1024
IMPORT_MAX_PARALLEL_RANGES = 8
IMPORT_VALIDATOR_MEMORY_MB = 512
IMPORT_MAX_ERRORS_PER_FIELD = 100
IMPORT_VALIDATOR_FUNCTION_NAME = "marquee-import-validator"  # fixed: it invokes itself (range tasks) and S3 invokes it

# Expand and contract of the hold item's seats (design question 2, infra/hold_shape.py): the phase this repository's
# stack deploys unless `-c marquee:holdShapePhase=...` says otherwise (marquee.booking.hold_shape.DEFAULT_PHASE).
HOLD_SHAPE_PHASE_CONTEXT_KEY = "marquee:holdShapePhase"
HOLD_SHAPE_PHASE = "migrate"

# Tenant sharding (challenge 9): `-c marquee:shards=N` shard tables (the main table is s0, N-1 more), the first
# `marquee:shardRing` of them on the consistent-hash ring (default: s0 alone, so a deploy moves no tenant; the others
# take tenants by `marquee shards move`). 2 to 8: each shard is one table and one relay mapping (the 500-resource limit).
SHARDS_CONTEXT_KEY = "marquee:shards"
SHARD_RING_CONTEXT_KEY = "marquee:shardRing"
DEFAULT_SHARDS = 3
DEFAULT_SHARD_RING = 1
MIN_SHARDS = 2
MAX_SHARDS = 8
SHARD_STALENESS_S = 5  # how long a function caches the shard map (the mover waits this out before it fences)
OUTPUT_SHARD_CONTROL_TABLE_NAME = "ShardControlTableName"  # devkit/shards.py reads these three
OUTPUT_SHARD_TABLE_NAMES = "ShardTableNames"
OUTPUT_SHARD_RING_SIZE = "ShardRingSize"
OUTPUT_SHARD_OPERATOR_POLICY_ARN = "ShardOperatorPolicyArn"

# Maintenance fallback (design question 9) for when a service's function cannot run at all: `-c marquee:mockServices=
# payments,holds` deploys those services' routes as API Gateway MOCK integrations answering the maintenance problem
# (503, Retry-After). The run-time switch is the maintenance_mode flag (`marquee maintenance on`); this needs a deploy.
MOCK_SERVICES_CONTEXT_KEY = "marquee:mockServices"
MOCK_RETRY_AFTER_S = 300
