"""Signed webhooks (challenge 10): Standard Webhooks signing and verification, the stored items, the secrets.

One module per job: ``signing`` (secrets, signatures, outbound headers, delivery ids), ``signing_secrets`` (the
Secrets Manager document and its cache), ``inbound`` (verifying provider webhooks), ``models`` (endpoint, delivery,
attempt, queue message), ``store`` (DynamoDB), ``queue`` (SQS), ``events``, ``errors``, ``ssrf`` (the URL guard).

Signing and verification use the official ``standardwebhooks`` library (1.1.0):
- ``Webhook(secret).sign(msg_id, timestamp, body)`` gives one ``v1,<base64 HMAC-SHA256 of id.timestamp.body>``. It
  signs with one secret, so during a rotation's overlap window ``signature_header`` signs once per secret and joins
  the results with a space, as the spec allows (``webhook-signature: v1,<new> v1,<old>``);
- ``Webhook(secret).verify(body, headers)`` checks the timestamp (5 minutes either way) and compares every ``v1``
  signature with ``hmac.compare_digest`` (constant time). ``verify_inbound`` wraps it and maps every failure,
  including the library's own ``ValueError`` on a malformed header, to ``InvalidSignature`` (401).

Items in the main table (docs/patterns/10-hmac-webhooks.md):
    endpoint   pk TENANT#t#WEBHOOKS            sk ENDPOINT#{endpointId}
    delivery   pk TENANT#t#WEBHOOK#{endpointId} sk DELIVERY#{deliveryId}   (attempts inside, TTL 30 days)
    inbound    pk TENANT#t#PAYMENT#{paymentId}  sk REFUND#{ref} | CHARGEBACK#{ref}
Replays of inbound webhooks are dropped with a conditional put in the inbox table (pk ``webhooks-inbound#{id}``).

Each endpoint's signing secrets live in Secrets Manager (``{prefix}{tenant}/{endpointId}``) as a JSON document
(``SecretDocument``) and are read through Powertools parameters with a cache (``max_age``). The endpoint item carries
the document's version, so a sender whose cache predates a rotation fetches again at once. Secret values are never
logged, never put in events or in the table.
"""
