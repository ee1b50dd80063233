"""What an ``AWS::S3::Bucket`` declares about versioning, Object Lock and lifecycle, applied as the S3 APIs would.

moto 5.2.5's CloudFormation model of a bucket reads only ``BucketEncryption`` and ``Tags`` (and, through
``large_objects``, ``NotificationConfiguration`` now). A bucket that CDK declares versioned, write-once (Object Lock)
or expiring came up locally as an unversioned, unlocked bucket with no lifecycle: a delete of an audit record that AWS
refuses succeeded here. ``apply_cfn_bucket_settings`` sets, on the bucket moto created or updated:

- ``VersioningConfiguration.Status`` (``Enabled``/``Suspended``), as PutBucketVersioning;
- ``ObjectLockEnabled`` and ``ObjectLockConfiguration.Rule.DefaultRetention`` (``Mode``, ``Days`` or ``Years``), as
  CreateBucket with ``ObjectLockEnabledForBucket`` and PutObjectLockConfiguration: versioning is on, every new object
  version takes the default retention, and moto's own checks then refuse deleting a locked version (GOVERNANCE
  unless ``x-amz-bypass-governance-retention``; COMPLIANCE always) and shortening a COMPLIANCE retention;
- ``LifecycleConfiguration.Rules`` in PutBucketLifecycleConfiguration's shape (expiration days or date, noncurrent
  version expiration, incomplete multipart uploads, prefix filter), so GetBucketLifecycleConfiguration answers what
  was declared. moto does not run lifecycle actions (nothing expires by itself locally); the docs say so.

A property a later stack update removes is reset (an update replaces the declared settings, as CloudFormation's
does), except Object Lock, which AWS never lets a bucket turn off.
"""

from __future__ import annotations

from typing import Any


def _retention(properties: dict[str, Any]) -> tuple[str | None, int, int]:
    rule = ((properties.get("ObjectLockConfiguration") or {}).get("Rule") or {}).get("DefaultRetention") or {}
    return rule.get("Mode"), int(rule.get("Days") or 0), int(rule.get("Years") or 0)


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """One CloudFormation lifecycle rule in the S3 API's (XML-parsed) shape that moto's ``set_lifecycle`` takes."""
    out: dict[str, Any] = {"Status": rule.get("Status", "Enabled")}
    if rule.get("Id"):
        out["ID"] = rule["Id"]
    prefix = rule.get("Prefix")
    out["Filter"] = {"Prefix": prefix or ""}
    expiration: dict[str, Any] = {}
    if rule.get("ExpirationInDays") is not None:
        expiration["Days"] = int(rule["ExpirationInDays"])
    if rule.get("ExpirationDate"):
        expiration["Date"] = rule["ExpirationDate"]
    if rule.get("ExpiredObjectDeleteMarker") is not None:
        expiration["ExpiredObjectDeleteMarker"] = rule["ExpiredObjectDeleteMarker"]
    if expiration:
        out["Expiration"] = expiration
    noncurrent = rule.get("NoncurrentVersionExpiration") or {}
    days = noncurrent.get("NoncurrentDays", rule.get("NoncurrentVersionExpirationInDays"))
    if days is not None:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(days)}
    abort = rule.get("AbortIncompleteMultipartUpload") or {}
    if abort.get("DaysAfterInitiation") is not None:
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(abort["DaysAfterInitiation"])}
    return out


def apply_cfn_bucket_settings(bucket: Any, properties: dict[str, Any]) -> None:
    versioning = (properties.get("VersioningConfiguration") or {}).get("Status")
    lock = properties.get("ObjectLockEnabled") in (True, "true", "Enabled") or bool(
        properties.get("ObjectLockConfiguration")
    )
    if lock:
        bucket.object_lock_enabled = True
        versioning = "Enabled"  # Object Lock turns versioning on, and it cannot be suspended
    if versioning:
        bucket.versioning_status = versioning
    elif not bucket.object_lock_enabled and bucket.versioning_status == "Enabled":
        bucket.versioning_status = "Suspended"  # a versioned bucket can only be suspended, never unversioned again
    if bucket.object_lock_enabled:
        mode, days, years = _retention(properties)
        bucket.default_lock_mode, bucket.default_lock_days, bucket.default_lock_years = mode, days, years
    rules = (properties.get("LifecycleConfiguration") or {}).get("Rules") or []
    if rules:
        bucket.set_lifecycle([_lifecycle_rule(r) for r in rules])
    else:
        bucket.delete_lifecycle()
