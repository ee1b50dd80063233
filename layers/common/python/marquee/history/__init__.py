"""Temporal audit (challenge 8): a version item per change, written in the change's own transaction.

- ``versions``: the version items (who, when, request id, fields changed, before and after), the as-of read (one
  Query, newest first, ``Limit=1``) and the history (keyset pages);
- ``settings``: the tenant's retention (the versions' TTL) and legal hold (no TTL while it is on), and the sweep that
  moves existing versions when either changes;
- ``erasure``: GDPR erasure of one customer: personal fields removed from every version, a tombstone left.

docs/patterns/08-soft-delete-and-audit.md explains the whole.
"""
