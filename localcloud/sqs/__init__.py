"""SQS: the event source mapping poller, and queue URLs that point at the local cloud."""
